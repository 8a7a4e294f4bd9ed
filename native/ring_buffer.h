// Batch operations on a chunk of stored message records ([int32 size = len + 4][int32 type 2]
// [payload]), the C++ twin of the RecordRing's chunk operations: write many payloads as
// records in one call, and list many records in one call.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nsq {

// Writes payloads src[starts[i], starts[i] + lens[i]) for i in [first, first + count) as
// records into dest from dest_pos, stopping before the first that does not fit. Returns how many
// were written (the caller advances by 8 + len each), or -1 on out-of-range arguments.
int32_t PushRecords(uint8_t* dest, size_t dest_len, size_t dest_pos, const uint8_t* src, size_t src_len,
                    const int32_t* starts, const int32_t* lens, size_t first, size_t count);

// Writes messages i in [first, first + count) as records whose payload is headers[26 i, 26 i + 26)
// followed by src[starts[i], starts[i] + lens[i]) (a message header and its body, joined while
// copying), stopping before the first that does not fit. Returns how many were written (each
// takes 8 + 26 + lens[i] bytes), or -1 on out-of-range arguments.
int32_t PushMessages(uint8_t* dest, size_t dest_len, size_t dest_pos, const uint8_t* headers, size_t headers_len,
                     const uint8_t* src, size_t src_len, const int32_t* starts, const int32_t* lens, size_t first,
                     size_t count);

// Lists up to max records of buf between read_pos and write_pos: out_offsets gets each frame's
// offset, out_lens each payload's length. Returns the count, or -1 when a stored size is corrupt
// (a record would run past write_pos).
int32_t ScanRecords(const uint8_t* buf, size_t buf_len, size_t read_pos, size_t write_pos, size_t max,
                    int32_t* out_offsets, int32_t* out_lens);

// Writes one byte in every page of [p, p + len) so the kernel maps them now (called on a worker
// thread for chunks the ring will fill later: their first-touch page faults leave the main thread).
void TouchPages(uint8_t* p, size_t len);

}  // namespace nsq
