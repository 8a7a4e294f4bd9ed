/**
 * Interfaces of the hot paths. Each has a pure-TypeScript implementation in ./fallback and a C++
 * twin in native/; callers get one through ./index.ts and never import either directly.
 */

/** Command codes the frame scanner classifies a line into (by its first word). */
export const enum Cmd {
  UNKNOWN = 0,
  IDENTIFY = 1,
  AUTH = 2,
  SUB = 3,
  PUB = 4,
  MPUB = 5,
  DPUB = 6,
  RDY = 7,
  FIN = 8,
  REQ = 9,
  TOUCH = 10,
  CLS = 11,
  NOP = 12,
}

/** Status of one scanned command record. */
export const enum ScanStatus {
  /** Line (and body, if the command has one) complete. */
  COMPLETE = 0,
  /** Declared body size is ≤ 0 or above the command's limit; scanning stopped. */
  BAD_SIZE = 1,
  /** No newline within the 16 KiB line limit; scanning stopped. */
  LINE_TOO_LONG = 2,
  /** MPUB message count ≤ 0 or above (max-body-size − 4) / 5 (R_SIZE holds it); scanning stopped. */
  BAD_COUNT = 3,
  /** MPUB message size ≤ 0 or above max-msg-size (R_SIZE holds it, R_BODY_LEN the index); scanning stopped. */
  BAD_MSG_SIZE = 4,
  /** MPUB messages run past max-body-size bytes (R_BODY_LEN holds how far); scanning stopped. */
  TOO_BIG = 5,
}

/** int32 slots per record in a records array. */
export const RECORD_STRIDE = 8;
/** Record slot: command code (Cmd). */
export const R_CODE = 0;
/** Record slot: status (ScanStatus). */
export const R_STATUS = 1;
/** Record slot: which buffer the offsets refer to (a FrameParser source id). */
export const R_SRC = 2;
/** Record slot: offset of the line's first byte. */
export const R_LINE_START = 3;
/** Record slot: offset just past the line, excluding `\n` and an optional `\r`. */
export const R_LINE_END = 4;
/** Record slot: offset of the body (after the int32 size), or -1. */
export const R_BODY_START = 5;
/** Record slot: body length in bytes, or -1 when the command has no body. */
export const R_BODY_LEN = 6;
/** Record slot: the declared int32 size (also for BAD_SIZE records). */
export const R_SIZE = 7;

/** Write record n (source 0: the scanned buffer), as the C++ scanner does (native/frame_parser.cc Record). */
export function writeRecord(records: Int32Array, n: number, code: number, status: number, lineStart: number, lineEnd: number, bodyStart: number, bodyLen: number, size: number): void {
  const base = n * RECORD_STRIDE;
  records[base + R_CODE] = code;
  records[base + R_STATUS] = status;
  records[base + R_SRC] = 0;
  records[base + R_LINE_START] = lineStart;
  records[base + R_LINE_END] = lineEnd;
  records[base + R_BODY_START] = bodyStart;
  records[base + R_BODY_LEN] = bodyLen;
  records[base + R_SIZE] = size;
}

/** Slots of the scanner's state array, written by every scan() call. */
export const S_CONSUMED = 0;
/** State slot: stage of the incomplete command at S_CONSUMED (0 none, 1 line, 2 size, 3 body, 4 stopped). */
export const S_STAGE = 1;
/** State slot: total bytes the incomplete command needs from its start, or -1 while its line is incomplete. */
export const S_NEED = 2;
/** State slot: command code of the incomplete command once its line is complete. */
export const S_CODE = 3;
/** State slot: length of the incomplete command's line including the newline, once complete. */
export const S_LINE_LEN = 4;
/** State slot: for an incomplete MPUB, the index of the message being read. */
export const S_INDEX = 5;
/**
 * State slot: for an MPUB incomplete inside its messages (stage 6 or 7), where message S_INDEX's
 * size field starts, counted from the command's start; else 0.
 */
export const S_MPUB_AT = 6;
/** State slot: with S_MPUB_AT, a check word binding it to S_INDEX and to the command's size and count. */
export const S_MPUB_CHECK = 7;
/**
 * Input slots, read and cleared by every scan() call: to resume the walk of an MPUB held since
 * an earlier call, the caller copies that call's S_MPUB_AT, S_INDEX and S_MPUB_CHECK here and
 * scans the held bytes again from the command's start (with more bytes after them). Messages
 * before S_RESUME_INDEX are not walked again, so a large MPUB arriving in many reads costs one
 * walk, not one per read. A hint whose check word does not match the MPUB at `start` is ignored.
 */
export const S_RESUME_AT = 8;
export const S_RESUME_INDEX = 9;
export const S_RESUME_CHECK = 10;
/**
 * State slot: MPUB messages the call walked, for callers that weigh a call's work (the routing
 * scanner): every message of each complete MPUB from where its walk began (its first, or the
 * resume point), and those of an MPUB left incomplete before its message S_INDEX. An MPUB that
 * stopped the scan with an error is not counted.
 */
export const S_WALKED = 11;
/**
 * Input slots, read and cleared by every scan() call, to walk on through the messages of an
 * MPUB whose start is not in `buf` (held since earlier reads as ranges of them, FrameParser
 * SRC_PARTS): buf[start] is byte S_RESUME_BASE (> 0) of that MPUB, whose line is
 * S_RESUME_LINE_LEN bytes, declared body size S_RESUME_SIZE and message count S_RESUME_COUNT;
 * the walk goes on at S_RESUME_AT (message S_RESUME_INDEX's size field, with the check word
 * S_RESUME_CHECK). When that size field began before `buf`, its first S_RESUME_BASE -
 * S_RESUME_AT (1..3) bytes are S_RESUME_PREFIX, big-endian. The MPUB's record is record 0 (its
 * line at 0-0, its body at S_RESUME_LINE_LEN + 4, as command offsets), and the scan goes on
 * after it as usual; while it is still incomplete the call writes no record and reports it with
 * S_CONSUMED = start. Inputs that do not describe such a walk make the call return -1.
 */
export const S_RESUME_BASE = 12;
export const S_RESUME_LINE_LEN = 13;
export const S_RESUME_SIZE = 14;
export const S_RESUME_COUNT = 15;
export const S_RESUME_PREFIX = 16;
/**
 * Input slots, read and cleared by every scan() call: the range the addon's bound scan covers,
 * written by the native wrapper from its start and end arguments (two int32 stores in place of
 * two N-API number conversions). The TypeScript scanner takes the range from its arguments and
 * clears these alike, so that both leave the same state.
 */
export const S_SCAN_START = 17;
export const S_SCAN_END = 18;
/** Number of slots in a state array. */
export const STATE_SLOTS = 19;

/** The check word of an MPUB resume point (S_MPUB_CHECK), from the point and the command's declared size and count. */
export function mpubResumeCheck(at: number, index: number, size: number, count: number): number {
  return (at ^ Math.imul(index, 0x9e3779b1) ^ Math.imul(size, 0x85ebca6b) ^ count ^ 0x4d505542) | 0;
}

/** Stage values of S_STAGE. */
export const STAGE_NONE = 0;
export const STAGE_LINE = 1;
export const STAGE_SIZE = 2;
export const STAGE_BODY = 3;
export const STAGE_STOPPED = 4;
/** MPUB stages: reading the message count, message S_INDEX's size, or its body. */
export const STAGE_MPUB_COUNT = 5;
export const STAGE_MPUB_MSG_SIZE = 6;
export const STAGE_MPUB_MSG_BODY = 7;

/** Longest command line nsqd reads, newline included (Go's 16 KiB bufio.Reader). */
export const MAX_LINE_LENGTH = 16384;

/**
 * Scans a contiguous byte range for complete V2 protocol commands and writes one record per
 * command into `records` (RECORD_STRIDE slots each), stopping at the first incomplete command,
 * at an error record, or when `records` is full. `state` receives where it stopped. Size limits
 * are checked before any body byte is needed, so a huge declared size never makes the caller
 * buffer it. MPUB is walked message by message as nsqd reads it (its body_size is only
 * range-checked); its record's body is the count plus the messages, however long that is, up to
 * max-body-size. One call per socket read; never one per message.
 */
export interface FrameScanner {
  /**
   * Returns the number of records written; -1 (nothing written) when records has no room for one,
   * start..end is not a range of buf, or state is shorter than STATE_SLOTS.
   */
  scan(buf: Uint8Array, start: number, end: number, records: Int32Array, state: Int32Array): number;
  /**
   * List the messages of an MPUB body buf[start, start + len) ([int32 count]([int32 size][bytes])
   * × count): message i is buf[starts[i], starts[i] + lens[i]). Returns the count, or -1 (the
   * caller then words nsqd's error) when the range is not in buf, the count is < 1 or exceeds
   * an array, or a message is not 1..max-msg-size bytes within the range. One call per MPUB.
   */
  splitMpub(buf: Uint8Array, start: number, len: number, starts: Int32Array, lens: Int32Array): number;
}

/** Limits a scanner enforces on declared body sizes. */
export interface ScanLimits {
  /** --max-msg-size: largest PUB/DPUB body. */
  maxMsgSize: number;
  /** --max-body-size: largest MPUB/IDENTIFY/AUTH body. */
  maxBodySize: number;
}

/**
 * Writes message frames into one output buffer per flush: the stored frames of a flush are
 * copied in one call, not one call per message.
 */
export interface FrameEncoder {
  /**
   * Copy `count` frames, frame i being sources[index[i]][offsets[i], offsets[i] + lengths[i]),
   * into out from outOffset. Returns the offset after the last frame, or -1 (nothing promised
   * written) when a frame lies outside its source or out has no room.
   */
  gather(out: Uint8Array, outOffset: number, sources: readonly Uint8Array[], index: Int32Array, offsets: Int32Array, lengths: Int32Array, count: number): number;
  /**
   * Write the 26-byte headers of `count` published messages into out[0, 26 count): timestamp
   * nowMs in ns (int64, Math.round), attempts 0, and the next `count` ids of the generator whose
   * state is `ids` (ID_* slots): NSQ's ((tick - twepoch) << 22) | node << 12 | sequence, tick =
   * ns >> 20, as 16 lowercase hex bytes; a tick whose 4096 sequences are used moves the
   * generator on to the next tick (where nsqd sleeps). Returns count and updates `ids`, or -1
   * with nothing written when out is too short, count is not an integer ≥ 0, nowMs is outside
   * [0, 2^63 ns) or `ids` holds what no generator can. One call per published batch.
   */
  writeHeaders(out: Uint8Array, count: number, nowMs: number, ids: Float64Array): number;
}

/** Id generator state slot: the last tick used (-1 before the first id). */
export const ID_LAST_TICK = 0;
/** Id generator state slot: the sequence within the last tick (0..4095). */
export const ID_SEQUENCE = 1;
/** Id generator state slot: the node bits, (node id & 0x3ff) << 12. */
export const ID_NODE = 2;
/** Slots of an id generator state (a Float64Array). */
export const ID_STATE_SLOTS = 3;

/** A fresh id generator state for NSQ node id `nodeId` (--node-id). */
export function idState(nodeId: number): Float64Array {
  return Float64Array.of(-1, 0, (nodeId & 0x3ff) << 12);
}

/**
 * The RingBuffer's byte work on one chunk of records ([int32 size = len + 4][int32 type 2]
 * [payload]): many records written or listed per call.
 */
export interface RecordCodec {
  /**
   * Write payloads src[starts[i], starts[i] + lens[i]) for i in [first, first + count) as
   * records into dest from destPos, stopping before the first that does not fit. Returns how
   * many were written, or -1 on out-of-range arguments.
   */
  pushRecords(dest: Uint8Array, destPos: number, src: Uint8Array, starts: Int32Array, lens: Int32Array, first: number, count: number): number;
  /**
   * Like pushRecords, but record i's payload is the 26-byte message header headers[26 i, +26)
   * followed by the body src[starts[i], +lens[i]): a published message is stored in one copy,
   * header and body joined on the way. Returns how many were written, or -1.
   */
  pushMessages(dest: Uint8Array, destPos: number, headers: Uint8Array, src: Uint8Array, starts: Int32Array, lens: Int32Array, first: number, count: number): number;
  /**
   * List up to `max` records of buf in [readPos, writePos): outOffsets gets each frame's
   * offset, outLens each payload length. Returns the count, or -1 when a size is corrupt.
   */
  scanRecords(buf: Uint8Array, readPos: number, writePos: number, max: number, outOffsets: Int32Array, outLens: Int32Array): number;
  /**
   * Memory for a ring chunk of `size` bytes. The native codec hands out full-size chunks
   * (RING_CHUNK_BYTES) whose pages a worker thread already touched, so a growing queue's
   * first-touch page faults (about 1 ns per byte here, more than the copy) leave the main thread.
   */
  allocChunk(size: number): Buffer;
}

/** Size of a full ring chunk; rings grow up to it and recycle chunks of it. */
export const RING_CHUNK_BYTES = 1024 * 1024;

/** One batch of segment-file writes (op i writes data[offsets[i], +lengths[i]) at positions[i] of fds[i]). */
export interface WriteBatch {
  fds: Int32Array;
  positions: Float64Array;
  data: Uint8Array;
  offsets: Int32Array;
  lengths: Int32Array;
  /** Per op: bit 0 fdatasync its file after the batch's writes, bit 1 fsync. */
  flags: Uint8Array;
  count: number;
}

/** Runs write batches off the main thread: all writes in order, then one sync per file asked. */
export interface IoExecutor {
  /** `done(errno, completed)`: errno 0 on success; completed = ops whose writes finished. */
  execute(batch: WriteBatch, done: (errno: number, completed: number) => void): void;
}

/** Exclusive lock of a data directory (nsqd's dirlock). */
export interface DirLocker {
  /** A handle ≥ 0, or -errno (EWOULDBLOCK when another process holds it). */
  lock(path: string): number;
  unlock(handle: number): void;
}

/** Factory the backend provides for every hot path. */
export interface Backend {
  /** Whether this backend is the C++ addon. */
  readonly native: boolean;
  /** A scanner enforcing `limits`. */
  createFrameScanner(limits: ScanLimits): FrameScanner;
  readonly frameEncoder: FrameEncoder;
  readonly records: RecordCodec;
  readonly io: IoExecutor;
  readonly dirLocker: DirLocker;
}
