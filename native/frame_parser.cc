#include "frame_parser.h"

#include <algorithm>
#include <cstring>

namespace nsq {
namespace {

Cmd Classify(const uint8_t* p, size_t n) {
  switch (n) {
    case 3:
      if (std::memcmp(p, "FIN", 3) == 0) return kFin;
      if (std::memcmp(p, "RDY", 3) == 0) return kRdy;
      if (std::memcmp(p, "REQ", 3) == 0) return kReq;
      if (std::memcmp(p, "PUB", 3) == 0) return kPub;
      if (std::memcmp(p, "SUB", 3) == 0) return kSub;
      if (std::memcmp(p, "NOP", 3) == 0) return kNop;
      if (std::memcmp(p, "CLS", 3) == 0) return kCls;
      return kUnknown;
    case 4:
      if (std::memcmp(p, "MPUB", 4) == 0) return kMpub;
      if (std::memcmp(p, "DPUB", 4) == 0) return kDpub;
      if (std::memcmp(p, "AUTH", 4) == 0) return kAuth;
      return kUnknown;
    case 5:
      return std::memcmp(p, "TOUCH", 5) == 0 ? kTouch : kUnknown;
    case 8:
      return std::memcmp(p, "IDENTIFY", 8) == 0 ? kIdentify : kUnknown;
    default:
      return kUnknown;
  }
}

int32_t ReadInt32(const uint8_t* p) {
  uint32_t v = (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
  return static_cast<int32_t>(v);
}

// An MPUB walk is a chain of dependent loads (each size says where the next one is), so every
// cache miss on it costs its full latency. This asks for the size field kPrefetchAhead messages
// past the one whose size field is at p, guessing that they are as large as it (a batch's
// messages mostly are): a hint that nothing reads, so a wrong guess costs one wasted prefetch,
// never a wrong result or a branch mispredict. Only addresses inside [0, end) are asked for.
// Measured (bench/micro, one MPUB of 1,024 x 200 B in L2): 330 -> 503 M msgs/s.
constexpr int64_t kPrefetchAhead = 6;
inline void PrefetchNextSizes(const uint8_t* buf, int64_t p, int32_t msz, int64_t end) {
  const int64_t q = p + kPrefetchAhead * (4 + static_cast<int64_t>(msz));
  if (q < end) __builtin_prefetch(buf + q);
}

// A stream of PUBs is a chain too: each command's size says where the next line is, and with
// bodies of a few KiB every line is on a page of its own, which the hardware prefetcher does not
// reach. This asks for the line after the next one, guessing that the next command is as long as
// the one at pos that ends at next: a hint, as above, and only inside [0, end).
inline void PrefetchNextLine(const uint8_t* buf, size_t pos, size_t next, size_t end) {
  const size_t q = next + (next - pos);
  if (q < end) __builtin_prefetch(buf + q);
}

// MPUB walks speculate that a message is as large as the one before it (batches mostly are):
// when its size field says so and the message fits, the walk moves on by the size it already
// holds instead of the one it just loaded. The two are equal then, but only the loaded one waits
// for the load: advancing by the held size takes the load off the chain from one message to the
// next, so the CPU runs ahead on the predicted branch and overlaps the loads (sizes that vary
// make the compare fail, and the predictor soon stops expecting it to hold). The checks the fast
// path skips held for the previous message of that size. kNoSize sends the first message down
// the checked path: a size field may equal it, but no position plus it fits (every range ends
// below 2^31). Measured on one MPUB of 1,024 messages in L2, ns per message, before -> after:
// 16 B 1.79 -> 0.80, 200 B 2.08 -> 0.89, 4 KiB 4.25 -> 1.81, one size in eight differing
// 2.07 -> 1.06, random 1-400 B 3.43 -> 3.58. The TypeScript twin walks the same way.
constexpr int64_t kNoSize = INT32_MAX;

class Scanner {
 public:
  Scanner(const uint8_t* buf, size_t end, int32_t* records, size_t capacity, int32_t* state, const ScanLimits& l)
      : buf_(buf), end_(end), records_(records), capacity_(capacity), state_(state), limits_(l) {
    max_messages_ = (l.max_body_size - 4) / 5;
  }

  int32_t Run(size_t pos) {
    // A resume hint applies only to an MPUB at the first position, in this call.
    const int64_t resume_at = state_[kSResumeAt];
    const int32_t resume_index = state_[kSResumeIndex];
    const int32_t resume_check = state_[kSResumeCheck];
    const PartsInputs parts{state_[kSResumeBase], state_[kSResumeLineLen], state_[kSResumeSize], state_[kSResumeCount],
                            state_[kSResumePrefix]};
    std::fill(state_ + kSResumeAt, state_ + kSResumeCheck + 1, 0);
    std::fill(state_ + kSResumeBase, state_ + kSResumePrefix + 1, 0);
    const size_t start = pos;
    size_t n = 0;
    if (parts.base != 0) {
      // The rest of an MPUB whose start is not in buf: its record first, then the scan goes on.
      const int64_t q = ResumeParts(start, resume_at, resume_index, resume_check, parts);
      if (q < 0) return ret_;
      pos = static_cast<size_t>(q);
      n = 1;
    }
    while (pos < end_) {
      if (n == capacity_) break;
      const uint8_t* nlp = static_cast<const uint8_t*>(std::memchr(buf_ + pos, '\n', end_ - pos));
      if (nlp == nullptr) {
        if (static_cast<int64_t>(end_ - pos) >= kMaxLineLength) return Stop(n, kLineTooLong, kUnknown, pos, pos, -1, -1);
        return Incomplete(pos, kStageLine, -1, kUnknown, 0, 0, n);
      }
      size_t nl = static_cast<size_t>(nlp - buf_);
      if (static_cast<int64_t>(nl - pos + 1) > kMaxLineLength) return Stop(n, kLineTooLong, kUnknown, pos, pos, -1, -1);
      size_t line_end = nl;
      if (line_end > pos && buf_[line_end - 1] == '\r') line_end--;
      size_t word_end = pos;
      while (word_end < line_end && buf_[word_end] != ' ') word_end++;
      Cmd code = Classify(buf_ + pos, word_end - pos);
      int64_t limit = 0;
      if (code == kPub || code == kDpub) limit = limits_.max_msg_size;
      else if (code == kMpub || code == kIdentify || code == kAuth) limit = limits_.max_body_size;
      if (limit == 0) {
        Record(n++, code, kComplete, pos, line_end, -1, -1, -1);
        pos = nl + 1;
        continue;
      }
      const int64_t line_len = static_cast<int64_t>(nl + 1 - pos);
      const size_t size_at = nl + 1;
      if (end_ - size_at < 4) return Incomplete(pos, kStageSize, line_len + 4, code, line_len, 0, n);
      const int32_t size = ReadInt32(buf_ + size_at);
      if (size <= 0 || size > limit) return Stop(n, kBadSize, code, pos, line_end, -1, size);
      const size_t body_at = size_at + 4;
      if (code != kMpub) {
        if (end_ - body_at < static_cast<size_t>(size)) return Incomplete(pos, kStageBody, line_len + 4 + size, code, line_len, 0, n);
        Record(n++, code, kComplete, pos, line_end, body_at, size, size);
        PrefetchNextLine(buf_, pos, body_at + size, end_);
        pos = Repeats(pos, body_at + size, static_cast<size_t>(line_len), line_end - pos, code, limit, n);
        continue;
      }
      // MPUB: walk the messages as nsqd reads them; body_size is only range-checked.
      const int64_t declared = line_len + 4 + size;
      const int64_t rel = static_cast<int64_t>(pos);
      if (end_ - body_at < 4) {
        return Incomplete(pos, kStageMpubCount, std::max<int64_t>(declared, static_cast<int64_t>(body_at) + 4 - rel), code, line_len, 0, n);
      }
      const int32_t count = ReadInt32(buf_ + body_at);
      if (count <= 0 || count > max_messages_) return Stop(n, kBadCount, code, pos, line_end, -1, count);
      int64_t p = static_cast<int64_t>(body_at) + 4;
      const int64_t e = static_cast<int64_t>(end_);
      int32_t i = 0;
      if (n == 0 && pos == start && resume_index > 0 && resume_index < count && resume_at >= p - rel && resume_at <= e - rel &&
          resume_check == MpubResumeCheck(static_cast<int32_t>(resume_at), resume_index, size, count)) {
        // Messages before the resume point were walked (and found valid) by an earlier call.
        p = rel + resume_at;
        i = resume_index;
      }
      p = WalkMpub(n, rel, pos, pos, line_end, p, i, i, count, size, line_len);
      if (p < 0) return ret_;
      Record(n++, code, kComplete, pos, line_end, body_at, static_cast<int32_t>(p - static_cast<int64_t>(body_at)), size);
      pos = static_cast<size_t>(p);
    }
    return Incomplete(pos, kStageNone, 0, kUnknown, 0, 0, n);
  }

 private:
  // The S_RESUME_BASE inputs of a call (read, then cleared, at its start).
  struct PartsInputs {
    int64_t base;
    int64_t line_len;
    int32_t size;
    int32_t count;
    int32_t prefix;
  };

  // Walks messages i.. of an MPUB from buf_[p] (`count` in all; those from `first` count as
  // walked): its first byte is at buffer position `rel` (before the scan's start when it is
  // resumed from parts; only positions from p on are read), its line is line_len bytes and its
  // body_size `size`. Returns the position after its last message; or -1 when the call ends at
  // it (incomplete at `consumed`, or an error record n with the line at ls-le), with Run()'s
  // result in ret_.
  int64_t WalkMpub(size_t n, int64_t rel, size_t consumed, size_t ls, size_t le, int64_t p, int32_t i, int32_t first,
                   int32_t count, int32_t size, int64_t line_len) {
    const int64_t body_at = rel + line_len + 4;
    const int64_t declared = line_len + 4 + size;
    const int64_t max_end = body_at + limits_.max_body_size;
    const int64_t e = static_cast<int64_t>(end_);
    // A message as large as the one before it takes the fast path (see kNoSize).
    const int64_t lim = std::min(e, max_end);
    int64_t same = kNoSize;
    for (; i < count; i++) {
      if (same != kNoSize) {
        // Runs of messages as large as the last one, four at a time: the four size loads do
        // not depend on one another, and one branch covers them (what the one-message fast
        // path below would do four times over). Measured (FrameParser, MPUBs of 200 messages
        // in 64 KiB reads, medians of 15 rounds, 3 runs): 16 B 3.6-4.7 -> 1.8-2.5 us a read,
        // 200 B 1.65-1.85 -> 1.03-1.43 us.
        const int64_t stride = 4 + same;
        while (count - i >= 4 && p + 4 * stride <= lim) {
          const bool all = (ReadInt32(buf_ + p) == same) & (ReadInt32(buf_ + p + stride) == same) &
                           (ReadInt32(buf_ + p + 2 * stride) == same) & (ReadInt32(buf_ + p + 3 * stride) == same);
          if (!all) break;
          p += 4 * stride;
          i += 4;
        }
        if (i == count) break;
      }
      if (p + 4 > lim) {
        if (p + 4 > max_end) return StopWalk(n, kTooBig, ls, le, p + 4 - body_at, size);
        walked_ += i - first;
        Incomplete(consumed, kStageMpubMsgSize, MpubNeed(declared, p + 4 - rel, e - rel, max_end - rel), kMpub, line_len, i, n);
        ret_ = ResumePoint(p - rel, i, size, count, n);
        return -1;
      }
      const int32_t msz = ReadInt32(buf_ + p);
      if (msz == same && p + 4 + same <= lim) {
        p += 4 + same;
        continue;
      }
      if (msz <= 0 || msz > limits_.max_msg_size) return StopWalk(n, kBadMsgSize, ls, le, i, msz);
      PrefetchNextSizes(buf_, p, msz, e);
      p += 4;
      if (p + msz > max_end) return StopWalk(n, kTooBig, ls, le, p + msz - body_at, size);
      if (e - p < msz) {
        walked_ += i - first;
        Incomplete(consumed, kStageMpubMsgBody, MpubNeed(declared, p + msz - rel, e - rel, max_end - rel), kMpub, line_len, i, n);
        ret_ = ResumePoint(p - 4 - rel, i, size, count, n);
        return -1;
      }
      p += msz;
      same = msz;
    }
    walked_ += count - first;
    return p;
  }

  int64_t StopWalk(size_t n, int32_t status, size_t ls, size_t le, int64_t body_len, int64_t size) {
    ret_ = Stop(n, status, kMpub, ls, le, body_len, size);
    return -1;
  }

  // The kSResumeBase walk (src/native/backend.ts S_RESUME_BASE): record 0 and the position after
  // the MPUB, or -1 with Run()'s result in ret_.
  int64_t ResumeParts(size_t start, int64_t at, int32_t index, int32_t check, const PartsInputs& in) {
    const int64_t base = in.base;
    const int64_t line_len = in.line_len;
    const int32_t size = in.size;
    const int32_t count = in.count;
    const int32_t prefix = in.prefix;
    const int64_t held = base - at;
    const bool prefix_ok = held <= 0 ? prefix == 0 : (held >= 4 || (prefix >= 0 && prefix < (int32_t{1} << (8 * held))));
    if (!(base > 0 && line_len >= 1 && line_len <= kMaxLineLength && size >= 1 && size <= limits_.max_body_size &&
          count >= 1 && count <= max_messages_ && index >= 0 && index < count && at >= line_len + 8 &&
          base - (line_len + 4) <= limits_.max_body_size &&
          check == MpubResumeCheck(static_cast<int32_t>(at), index, size, count) && prefix_ok)) {
      ret_ = -1;
      return -1;
    }
    const int64_t s = static_cast<int64_t>(start);
    const int64_t e = static_cast<int64_t>(end_);
    const int64_t rel = s - base;
    const int64_t body_at = rel + line_len + 4;
    const int64_t max_end = body_at + limits_.max_body_size;
    const int64_t declared = line_len + 4 + size;
    int64_t p = rel + at;
    int32_t i = index;
    if (held > 0) {
      // Message i's size field began before buf: kSResumePrefix is its first bytes, or all of
      // it when its body began before buf too.
      const int64_t rest = held >= 4 ? 0 : 4 - held;
      if (e - s < rest) {
        Incomplete(start, kStageMpubMsgSize, MpubNeed(declared, at + 4, e - rel, max_end - rel), kMpub, line_len, i, 0);
        ret_ = ResumePoint(at, i, size, count, 0);
        return -1;
      }
      uint32_t v = static_cast<uint32_t>(prefix);
      for (int64_t k = 0; k < rest; k++) v = (v << 8) | buf_[start + static_cast<size_t>(k)];
      const int32_t msz = static_cast<int32_t>(v);
      if (msz <= 0 || msz > limits_.max_msg_size) return StopWalk(0, kBadMsgSize, 0, 0, i, msz);
      p += 4;
      if (p + msz > max_end) return StopWalk(0, kTooBig, 0, 0, p + msz - body_at, size);
      if (e - p < msz) {
        Incomplete(start, kStageMpubMsgBody, MpubNeed(declared, p + msz - rel, e - rel, max_end - rel), kMpub, line_len, i, 0);
        ret_ = ResumePoint(at, i, size, count, 0);
        return -1;
      }
      if (p + msz < s) {
        // A message that ended before buf: not where an earlier walk stopped.
        ret_ = -1;
        return -1;
      }
      p += msz;
      i++;
    }
    p = WalkMpub(0, rel, start, 0, 0, p, i, index, count, size, line_len);
    if (p < 0) return -1;
    Record(0, kMpub, kComplete, 0, 0, line_len + 4, static_cast<int32_t>(p - body_at), size);
    return p;
  }

  // Publishers repeat themselves: a stream of PUBs is mostly one line ("PUB topic\n") after
  // another, often with one size. The command just recorded at `at` (a line of `line_len` bytes,
  // its size field and `size` bytes, ending at `next`) is a template. While the bytes at the next
  // position repeat its line and size field and a whole command fits, that command is recorded
  // without memchr, Classify or the size checks, all of which it would pass exactly as the
  // template did (its first '\n' is where the template's is). The position then moves on by the
  // stride it holds, not by a size it loads, so the walk is no chain of loads: the CPU runs ahead
  // on the predicted compare and overlaps the next commands' cache and TLB misses (with bodies of
  // a few KiB each line is on its own page), and a prefetch reaches kRepeatAhead commands
  // further. A repeated line with another size takes that size through the normal checks and
  // becomes the template. Anything else goes back to the normal path, which sees it as if the
  // repeats had been scanned one by one: the records and state are the twin's, byte for byte.
  static constexpr size_t kRepeatAhead = 4;
  size_t Repeats(size_t at, size_t next, size_t line_len, size_t line_end_off, int32_t code, int64_t limit, size_t& n) {
    const size_t head = line_len + 4;
    size_t stride = next - at;
    const uint8_t* t = buf_ + at;
    int32_t size = static_cast<int32_t>(stride - head);
    size_t q = next;
    while (n < capacity_ && end_ - q >= head) {
      if (!SameBytes(buf_ + q, t, head)) {
        if (!SameBytes(buf_ + q, t, line_len)) break;
        const int32_t other = ReadInt32(buf_ + q + line_len);
        if (other <= 0 || other > limit) break;
        size = other;
        stride = head + static_cast<size_t>(other);
        t = buf_ + q;
      }
      if (end_ - q < stride) break;
      const size_t ahead = q + kRepeatAhead * stride;
      if (ahead < end_) __builtin_prefetch(buf_ + ahead);
      Record(n++, code, kComplete, q, q + line_end_off, static_cast<int64_t>(q + head), size, size);
      q += stride;
    }
    return q;
  }

  // Whether a[0, len) equals b[0, len): 8-byte words, the last one overlapping (bytes below 8).
  static bool SameBytes(const uint8_t* a, const uint8_t* b, size_t len) {
    if (len < 8) return std::memcmp(a, b, len) == 0;
    uint64_t x, y;
    size_t k = 0;
    for (; k + 8 < len; k += 8) {
      std::memcpy(&x, a + k, 8);
      std::memcpy(&y, b + k, 8);
      if (x != y) return false;
    }
    std::memcpy(&x, a + len - 8, 8);
    std::memcpy(&y, b + len - 8, 8);
    return x == y;
  }

  static int64_t MpubNeed(int64_t declared, int64_t checkpoint, int64_t held, int64_t max) {
    int64_t need = std::max(declared, checkpoint);
    if (held >= declared) need = std::max(need, std::min(2 * held, max));
    return need;
  }

  void Record(size_t n, int32_t code, int32_t status, size_t ls, size_t le, int64_t bs, int64_t bl, int64_t size) {
    int32_t* r = records_ + n * kRecordStride;
    r[kRCode] = code;
    r[kRStatus] = status;
    r[kRSrc] = 0;
    r[kRLineStart] = static_cast<int32_t>(ls);
    r[kRLineEnd] = static_cast<int32_t>(le);
    r[kRBodyStart] = static_cast<int32_t>(bs);
    r[kRBodyLen] = static_cast<int32_t>(bl);
    r[kRSize] = static_cast<int32_t>(size);
  }

  int32_t Incomplete(size_t consumed, int32_t stage, int64_t need, int32_t code, int64_t line_len, int32_t index, size_t n) {
    state_[kSConsumed] = static_cast<int32_t>(consumed);
    state_[kSStage] = stage;
    state_[kSNeed] = static_cast<int32_t>(need);
    state_[kSCode] = code;
    state_[kSLineLen] = static_cast<int32_t>(line_len);
    state_[kSIndex] = index;
    state_[kSMpubAt] = 0;
    state_[kSMpubCheck] = 0;
    state_[kSWalked] = static_cast<int32_t>(walked_);
    return static_cast<int32_t>(n);
  }

  // Where an incomplete MPUB's walk stopped: message `index`'s size field at `at` from its start.
  int32_t ResumePoint(int64_t at, int32_t index, int32_t size, int32_t count, size_t n) {
    state_[kSMpubAt] = static_cast<int32_t>(at);
    state_[kSMpubCheck] = MpubResumeCheck(static_cast<int32_t>(at), index, size, count);
    return static_cast<int32_t>(n);
  }

  int32_t Stop(size_t n, int32_t status, int32_t code, size_t ls, size_t le, int64_t body_len, int64_t size) {
    Record(n, code, status, ls, le, -1, body_len, size);
    Incomplete(end_, kStageStopped, -1, code, 0, 0, n);
    return static_cast<int32_t>(n + 1);
  }

  const uint8_t* buf_;
  size_t end_;
  int32_t* records_;
  size_t capacity_;
  int32_t* state_;
  ScanLimits limits_;
  int64_t max_messages_;
  int64_t walked_ = 0;
  int32_t ret_ = 0;
};

}  // namespace

int32_t Scan(const uint8_t* buf, size_t len, size_t start, size_t end, int32_t* records, size_t records_len,
             int32_t* state, size_t state_len, const ScanLimits& limits) {
  if (buf == nullptr && len != 0) return -1;
  if (start > end || end > len || state_len < static_cast<size_t>(kStateSlots)) return -1;
  if (end > static_cast<size_t>(INT32_MAX)) return -1;
  size_t capacity = records_len / kRecordStride;
  if (capacity == 0) return -1;
  Scanner s(buf, end, records, capacity, state, limits);
  return s.Run(start);
}

int64_t SplitMpub(const uint8_t* buf, size_t buf_len, size_t start, size_t len, int64_t max_msg_size, int32_t* starts,
                  size_t starts_len, int32_t* lens, size_t lens_len) {
  // Offsets go out as int32.
  if (buf == nullptr || start > buf_len || len > buf_len - start || start + len > 0x7fffffff || len < 4) return -1;
  const size_t end = start + len;
  const int32_t count = ReadInt32(buf + start);
  if (count < 1 || static_cast<size_t>(count) > starts_len || static_cast<size_t>(count) > lens_len) return -1;
  size_t pos = start + 4;
  int64_t same = kNoSize;
  for (int32_t i = 0; i < count; i++) {
    if (same != kNoSize) {
      // Four messages as large as the last one at a time, as in the scanner's walk.
      const size_t stride = 4 + static_cast<size_t>(same);
      while (count - i >= 4 && end - pos >= 4 * stride) {
        const bool all = (ReadInt32(buf + pos) == same) & (ReadInt32(buf + pos + stride) == same) &
                         (ReadInt32(buf + pos + 2 * stride) == same) & (ReadInt32(buf + pos + 3 * stride) == same);
        if (!all) break;
        for (int k = 0; k < 4; k++) {
          starts[i + k] = static_cast<int32_t>(pos + k * stride + 4);
          lens[i + k] = static_cast<int32_t>(same);
        }
        pos += 4 * stride;
        i += 4;
      }
      if (i == count) break;
    }
    if (end - pos < 4) return -1;
    const int32_t size = ReadInt32(buf + pos);
    if (size == same && static_cast<int64_t>(end - pos) - 4 >= same) {
      starts[i] = static_cast<int32_t>(pos + 4);
      lens[i] = static_cast<int32_t>(same);
      pos += 4 + static_cast<size_t>(same);
      continue;
    }
    if (size >= 1) PrefetchNextSizes(buf, static_cast<int64_t>(pos), size, static_cast<int64_t>(end));
    pos += 4;
    if (size < 1 || size > max_msg_size || static_cast<size_t>(size) > end - pos) return -1;
    starts[i] = static_cast<int32_t>(pos);
    lens[i] = size;
    pos += static_cast<size_t>(size);
    same = size;
  }
  return count;
}

}  // namespace nsq
