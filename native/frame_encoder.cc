#include "frame_encoder.h"

#include <cstring>

namespace nsq {

int64_t Gather(uint8_t* out, size_t out_len, size_t out_offset, const Span* sources, size_t source_count,
               const int32_t* index, const int32_t* offsets, const int32_t* lengths, size_t count) {
  if (out_offset > out_len) return -1;
  size_t pos = out_offset;
  for (size_t i = 0; i < count; i++) {
    const int32_t s = index[i];
    const int32_t off = offsets[i];
    const int32_t len = lengths[i];
    if (s < 0 || static_cast<size_t>(s) >= source_count || off < 0 || len < 0) return -1;
    const Span& src = sources[s];
    if (static_cast<size_t>(off) > src.len || static_cast<size_t>(len) > src.len - static_cast<size_t>(off)) return -1;
    if (static_cast<size_t>(len) > out_len - pos) return -1;
    // memcpy with a null pointer is undefined even for 0 bytes (an empty Uint8Array has none).
    if (len > 0) std::memcpy(out + pos, src.data + off, static_cast<size_t>(len));
    pos += static_cast<size_t>(len);
  }
  return static_cast<int64_t>(pos);
}

}  // namespace nsq
