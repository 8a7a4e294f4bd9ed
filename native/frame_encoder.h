// Gathers stored message frames into one output buffer per flush (C++ twin of the TypeScript
// FrameEncoder): one call copies every frame of a flush.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nsq {

struct Span {
  const uint8_t* data;
  size_t len;
};

// Copies count frames, frame i being sources[index[i]].data[offsets[i], offsets[i] + lengths[i]),
// into out[out_offset, ...). Returns the offset after the last frame, or -1 when any frame
// lies outside its source or the output has no room (nothing is guaranteed written then).
int64_t Gather(uint8_t* out, size_t out_len, size_t out_offset, const Span* sources, size_t source_count,
               const int32_t* index, const int32_t* offsets, const int32_t* lengths, size_t count);

}  // namespace nsq
