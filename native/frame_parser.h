// Scans V2 protocol commands out of a contiguous byte range (the C++ twin of
// src/native/fallback/frame-scanner.ts; the record and state layouts are those of
// src/native/backend.ts). Pure function: no allocation, every access bounds-checked.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nsq {

// Record slots (RECORD_STRIDE int32 per command).
constexpr int kRecordStride = 8;
constexpr int kRCode = 0, kRStatus = 1, kRSrc = 2, kRLineStart = 3, kRLineEnd = 4, kRBodyStart = 5, kRBodyLen = 6, kRSize = 7;
// State slots.
constexpr int kStateSlots = 19;
constexpr int kSConsumed = 0, kSStage = 1, kSNeed = 2, kSCode = 3, kSLineLen = 4, kSIndex = 5;
// Where an incomplete MPUB's walk stopped (message kSIndex's size field, from the command start)
// and its check word; inputs to resume that walk on a later call (read and cleared by every call).
constexpr int kSMpubAt = 6, kSMpubCheck = 7, kSResumeAt = 8, kSResumeIndex = 9, kSResumeCheck = 10;
// MPUB messages the call walked (src/native/backend.ts S_WALKED).
constexpr int kSWalked = 11;
// Inputs to walk on through an MPUB whose start is not in buf (src/native/backend.ts S_RESUME_BASE).
constexpr int kSResumeBase = 12, kSResumeLineLen = 13, kSResumeSize = 14, kSResumeCount = 15, kSResumePrefix = 16;
// The range a bound scan covers (src/native/backend.ts S_SCAN_START): read and cleared by the binding.
constexpr int kSScanStart = 17, kSScanEnd = 18;

// The check word binding a resume point to its message index and to the MPUB's size and count
// (src/native/backend.ts mpubResumeCheck).
inline int32_t MpubResumeCheck(int32_t at, int32_t index, int32_t size, int32_t count) {
  uint32_t v = static_cast<uint32_t>(at) ^ (static_cast<uint32_t>(index) * 0x9e3779b1u) ^
               (static_cast<uint32_t>(size) * 0x85ebca6bu) ^ static_cast<uint32_t>(count) ^ 0x4d505542u;
  return static_cast<int32_t>(v);
}
// Stages.
constexpr int kStageNone = 0, kStageLine = 1, kStageSize = 2, kStageBody = 3, kStageStopped = 4;
constexpr int kStageMpubCount = 5, kStageMpubMsgSize = 6, kStageMpubMsgBody = 7;
// Statuses.
constexpr int kComplete = 0, kBadSize = 1, kLineTooLong = 2, kBadCount = 3, kBadMsgSize = 4, kTooBig = 5;
// Command codes.
enum Cmd : int32_t { kUnknown = 0, kIdentify, kAuth, kSub, kPub, kMpub, kDpub, kRdy, kFin, kReq, kTouch, kCls, kNop };

constexpr int64_t kMaxLineLength = 16384;

struct ScanLimits {
  int64_t max_msg_size;
  int64_t max_body_size;
};

// Scans buf[start, end) (end <= len). Writes up to records_len / kRecordStride records and the
// state; returns the record count, or -1 when the arguments are inconsistent.
int32_t Scan(const uint8_t* buf, size_t len, size_t start, size_t end, int32_t* records, size_t records_len,
             int32_t* state, size_t state_len, const ScanLimits& limits);

// Lists the messages of an MPUB body buf[start, start + len) ([int32 count]([int32 size][bytes])
// x count): message i is buf[starts[i], starts[i] + lens[i]). Returns the count, or -1 (the caller
// then words nsqd's error) when the range is not in buf, the count is < 1 or exceeds an array,
// or a message is not 1..max_msg_size bytes within the range.
int64_t SplitMpub(const uint8_t* buf, size_t buf_len, size_t start, size_t len, int64_t max_msg_size, int32_t* starts,
                  size_t starts_len, int32_t* lens, size_t lens_len);

}  // namespace nsq
