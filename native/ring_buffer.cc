#include "ring_buffer.h"

#include <cstring>
#include <unistd.h>

namespace nsq {

namespace {

constexpr size_t kHeader = 26;

// Frames [size][type 2][payload] for i in [first, first + count) while they fit; the payload is
// headers[26 i, +26) when headers is given, then src[starts[i], +lens[i]).
int32_t PushFrames(uint8_t* dest, size_t dest_len, size_t dest_pos, const uint8_t* headers, const uint8_t* src,
                   size_t src_len, const int32_t* starts, const int32_t* lens, size_t first, size_t count) {
  if (dest_pos > dest_len) return -1;
  const size_t hl = headers != nullptr ? kHeader : 0;
  size_t pos = dest_pos;
  size_t done = 0;
  for (size_t i = first; i < first + count; i++) {
    const int32_t st = starts[i];
    const int32_t len = lens[i];
    if (st < 0 || len < 0 || static_cast<size_t>(st) > src_len || static_cast<size_t>(len) > src_len - static_cast<size_t>(st)) return -1;
    const size_t need = 8 + hl + static_cast<size_t>(len);
    if (need > dest_len - pos) break;
    const uint32_t size = static_cast<uint32_t>(hl + static_cast<size_t>(len)) + 4;
    uint8_t* d = dest + pos;
    d[0] = static_cast<uint8_t>(size >> 24);
    d[1] = static_cast<uint8_t>(size >> 16);
    d[2] = static_cast<uint8_t>(size >> 8);
    d[3] = static_cast<uint8_t>(size);
    d[4] = 0;
    d[5] = 0;
    d[6] = 0;
    d[7] = 2;
    if (hl > 0) std::memcpy(d + 8, headers + i * kHeader, kHeader);
    // memcpy with a null pointer is undefined even for 0 bytes (an empty Uint8Array has none).
    if (len > 0) std::memcpy(d + 8 + hl, src + st, static_cast<size_t>(len));
    pos += need;
    done++;
  }
  return static_cast<int32_t>(done);
}

}  // namespace

int32_t PushRecords(uint8_t* dest, size_t dest_len, size_t dest_pos, const uint8_t* src, size_t src_len,
                    const int32_t* starts, const int32_t* lens, size_t first, size_t count) {
  return PushFrames(dest, dest_len, dest_pos, nullptr, src, src_len, starts, lens, first, count);
}

int32_t PushMessages(uint8_t* dest, size_t dest_len, size_t dest_pos, const uint8_t* headers, size_t headers_len,
                     const uint8_t* src, size_t src_len, const int32_t* starts, const int32_t* lens, size_t first,
                     size_t count) {
  if (first + count > headers_len / kHeader) return -1;
  return PushFrames(dest, dest_len, dest_pos, headers, src, src_len, starts, lens, first, count);
}

int32_t ScanRecords(const uint8_t* buf, size_t buf_len, size_t read_pos, size_t write_pos, size_t max,
                    int32_t* out_offsets, int32_t* out_lens) {
  if (read_pos > write_pos || write_pos > buf_len) return -1;
  size_t pos = read_pos;
  size_t n = 0;
  while (n < max && write_pos - pos >= 8) {
    const uint32_t size = (uint32_t(buf[pos]) << 24) | (uint32_t(buf[pos + 1]) << 16) | (uint32_t(buf[pos + 2]) << 8) | uint32_t(buf[pos + 3]);
    if (size < 4 || size - 4 > write_pos - pos - 8) return -1;
    out_offsets[n] = static_cast<int32_t>(pos);
    out_lens[n] = static_cast<int32_t>(size - 4);
    pos += 8 + (size - 4);
    n++;
  }
  return static_cast<int32_t>(n);
}

void TouchPages(uint8_t* p, size_t len) {
  if (p == nullptr || len == 0) return;
  const long page = sysconf(_SC_PAGESIZE);
  const size_t step = page > 0 ? static_cast<size_t>(page) : 4096;
  volatile uint8_t* v = p;
  for (size_t off = 0; off < len; off += step) v[off] = 0;
  v[len - 1] = 0;
}

}  // namespace nsq
