#include "frame_encoder.h"

#include <cmath>
#include <cstdint>
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

namespace {

// NSQ's id epoch in ticks (Twitter snowflake's 1288834974288).
constexpr int64_t kTwepoch = 1288834974288;
// Largest now_ms whose ns fit int64.
constexpr double kMaxNowMs = 9223372036854.0;

bool IsInteger(double v, double lo, double hi) { return v >= lo && v <= hi && std::floor(v) == v; }

void PutBE32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

constexpr uint8_t kHexDigits[] = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

void PutHex32(uint8_t* p, uint32_t v) {
  for (int i = 7; i >= 0; i--) {
    p[i] = kHexDigits[v & 15];
    v >>= 4;
  }
}

}  // namespace

int64_t WriteHeaders(uint8_t* out, size_t out_len, size_t count, double now_ms, double* state, size_t state_len) {
  if (state == nullptr || state_len < kIdStateSlots || !(now_ms >= 0 && now_ms <= kMaxNowMs)) return -1;
  const double last_d = state[kIdLastTick], seq_d = state[kIdSequence], node_d = state[kIdNode];
  if (!IsInteger(last_d, -1, 9007199254740991.0) || !IsInteger(seq_d, 0, 4095) || !IsInteger(node_d, 0, 0x3ff << 12) ||
      (static_cast<uint32_t>(node_d) & 0xfff) != 0) {
    return -1;
  }
  if (count > out_len / kMsgHeaderLength || (count > 0 && out == nullptr)) return -1;
  const double x = now_ms * 1e6;
  double ns = std::floor(x);
  if (x - ns >= 0.5) ns += 1.0;
  const uint64_t ts = static_cast<uint64_t>(ns);
  const uint32_t ts_hi = static_cast<uint32_t>(ts >> 32), ts_lo = static_cast<uint32_t>(ts);
  const int64_t tick = static_cast<int64_t>(std::floor(x / 1048576.0));
  int64_t last = static_cast<int64_t>(last_d);
  uint32_t seq = static_cast<uint32_t>(seq_d);
  const uint64_t node = static_cast<uint64_t>(node_d);
  // Within one tick a header differs from the previous only in the id's last 3 hex digits (the
  // sequence): the first 23 bytes are built once per tick and copied.
  uint8_t tmpl[kMsgHeaderLength];
  PutBE32(tmpl, ts_hi);
  PutBE32(tmpl + 4, ts_lo);
  tmpl[8] = 0;
  tmpl[9] = 0;
  int64_t tmpl_tick = INT64_MIN;  // no tick built yet (ticks are >= -1)
  uint8_t* p = out;
  for (size_t i = 0; i < count; i++, p += kMsgHeaderLength) {
    int64_t t = tick;
    if (t <= last) {
      t = last;
      seq = (seq + 1) & 0xfff;
      if (seq == 0) t = ++last;
    } else {
      seq = 0;
      last = t;
    }
    if (t != tmpl_tick) {
      const uint64_t id = (static_cast<uint64_t>(t - kTwepoch) << 22) | node;
      PutHex32(tmpl + 10, static_cast<uint32_t>(id >> 32));
      PutHex32(tmpl + 18, static_cast<uint32_t>(id));
      tmpl_tick = t;
    }
    std::memcpy(p, tmpl, kMsgHeaderLength - 3);
    p[23] = kHexDigits[(seq >> 8) & 15];
    p[24] = kHexDigits[(seq >> 4) & 15];
    p[25] = kHexDigits[seq & 15];
  }
  state[kIdLastTick] = static_cast<double>(last);
  state[kIdSequence] = static_cast<double>(seq);
  return static_cast<int64_t>(count);
}

}  // namespace nsq
