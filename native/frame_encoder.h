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

// Slots of a message id generator's state (a Float64Array the caller keeps): the last tick
// (unix ns >> 20) used, the sequence within it, and the node bits ((node id & 0x3ff) << 12).
constexpr size_t kIdLastTick = 0, kIdSequence = 1, kIdNode = 2, kIdStateSlots = 3;
// Bytes of a message header: int64 timestamp, uint16 attempts, 16-byte id.
constexpr size_t kMsgHeaderLength = 26;

// Writes count message headers into out[0, 26 count): the timestamp now_ms in ns (rounded as
// JavaScript's Math.round), attempts 0, and the generator's next count ids, NSQ's 64-bit
// ((tick - twepoch) << 22) | node | sequence as 16 lowercase hex bytes; a tick whose 4096
// sequences are used moves the generator to the next tick. Returns count and updates state,
// or returns -1 with nothing written when out is too short, now_ms is outside [0, 2^63 ns)
// or state holds what no generator can (not integers, sequence > 4095, stray node bits).
int64_t WriteHeaders(uint8_t* out, size_t out_len, size_t count, double now_ms, double* state, size_t state_len);

}  // namespace nsq
