import {
  MAX_LINE_LENGTH,
  RECORD_STRIDE,
  R_SRC,
  STAGE_BODY,
  STAGE_LINE,
  STAGE_SIZE,
  STAGE_MPUB_COUNT,
  STAGE_MPUB_MSG_BODY,
  STAGE_MPUB_MSG_SIZE,
  STAGE_NONE,
  STAGE_STOPPED,
  STATE_SLOTS,
  S_CODE,
  S_CONSUMED,
  S_INDEX,
  S_LINE_LEN,
  S_MPUB_AT,
  S_MPUB_CHECK,
  S_NEED,
  S_RESUME_AT,
  S_RESUME_CHECK,
  S_RESUME_INDEX,
  S_STAGE,
  ScanStatus,
  writeRecord,
  type Cmd,
  type FrameScanner,
} from '../native/backend.js';

/** Record source: offsets point into the chunk given to feed(). */
export const SRC_CHUNK = 0;
/** Record source: offsets point into the carry buffer (a command that spanned chunks). */
export const SRC_CARRY = 1;
/** Record source: offsets point into the partial buffer (the incomplete command at the end). */
export const SRC_PARTIAL = 2;

const EMPTY = Buffer.alloc(0);

/**
 * The V2 read path: turns socket chunks into command records, many per call, using a
 * FrameScanner (native or TypeScript) over contiguous bytes. Commands that span chunks are
 * completed in a carry buffer, so the scanner never sees a partial command twice and
 * correctness does not depend on how the stream is split (one byte at a time included).
 *
 * Use: `feed(chunk)`, then call `next()` until it returns 0; each call fills `records` with up
 * to `capacity` commands whose offsets refer to `source(records[i*STRIDE + R_SRC])`. Records
 * stay valid until the next feed().
 */
export class FrameParser {
  /** RECORD_STRIDE int32 slots per record. */
  readonly records: Int32Array;
  private readonly scanner: Pick<FrameScanner, 'scan'>;
  private readonly state = new Int32Array(STATE_SLOTS);
  private chunk: Uint8Array = EMPTY;
  private pos = 0;
  private carry: Buffer = EMPTY;
  private partial: Buffer = Buffer.allocUnsafe(256);
  private partialLen = 0;
  private partialStage = STAGE_NONE;
  private partialNeed = -1;
  private partialCode = 0;
  private partialLineLen = 0;
  private partialIndex = 0;
  /** Where the held MPUB's walk stopped, and its check word (the scanner's S_MPUB_AT, S_MPUB_CHECK). */
  private partialMpubAt = 0;
  private partialMpubCheck = 0;
  private stopped = false;

  constructor(scanner: Pick<FrameScanner, 'scan'>, capacity = 512) {
    this.scanner = scanner;
    this.records = new Int32Array(capacity * RECORD_STRIDE);
  }

  /** The buffer a record's offsets refer to. */
  source(src: number): Uint8Array {
    return src === SRC_CHUNK ? this.chunk : src === SRC_CARRY ? this.carry : this.partial;
  }

  /** Whether scanning stopped for good (a BAD_SIZE or LINE_TOO_LONG record was produced). */
  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Stage of the incomplete command held back at the end of the input: 0 none, 1 inside its
   * line, 2 awaiting its body size, 3 awaiting its body; for MPUB 5 awaiting the message count,
   * 6 awaiting message `pendingIndex`'s size, 7 awaiting its body.
   */
  get pendingStage(): number {
    return this.partialLen === 0 ? STAGE_NONE : this.partialStage;
  }

  /** For a pending MPUB, the index of the message being read. */
  get pendingIndex(): number {
    return this.partialIndex;
  }

  /** Command code of the pending command once its line is complete (stage ≥ 2). */
  get pendingCode(): Cmd {
    return this.partialCode as Cmd;
  }

  /** Line end (exclusive, without `\r\n`) of the pending command in source(SRC_PARTIAL); its line starts at 0. */
  get pendingLineEnd(): number {
    let end = this.partialLineLen - 1;
    if (end > 0 && this.partial[end - 1] === 0x0d) end--;
    return end;
  }

  /** Bytes buffered for the pending command (line, size and partial body so far). */
  get pendingBytes(): number {
    return this.partialLen;
  }

  /**
   * Bytes that have arrived of the field the pending command awaits: its body size, its body, or
   * for an MPUB its message count, message `pendingIndex`'s size or that message's body. nsqd reads
   * each field with io.ReadFull, so a stream that ends inside one fails with `EOF` when none of
   * its bytes came and `unexpected EOF` otherwise.
   */
  get pendingFieldBytes(): number {
    if (this.partialLen === 0) return 0;
    switch (this.partialStage) {
      case STAGE_SIZE:
        return this.partialLen - this.partialLineLen;
      case STAGE_BODY:
      case STAGE_MPUB_COUNT:
        return this.partialLen - this.partialLineLen - 4;
      case STAGE_MPUB_MSG_SIZE:
        return this.partialLen - this.partialMpubAt;
      case STAGE_MPUB_MSG_BODY:
        return this.partialLen - this.partialMpubAt - 4;
      default:
        return 0;
    }
  }

  /** Start parsing a new chunk. */
  feed(chunk: Uint8Array): void {
    this.chunk = chunk;
    this.pos = 0;
  }

  /** Parse the next batch of records from the current chunk; 0 when the chunk is used up. */
  next(): number {
    if (this.stopped) return 0;
    const chunk = this.chunk;
    const end = chunk.length;
    let n = 0;
    if (this.partialLen > 0) {
      n = this.completePartial();
      if (n > 0 || this.stopped || this.partialLen > 0) return n;
    }
    if (this.pos >= end) return 0;
    const state = this.state;
    n = this.scanner.scan(chunk, this.pos, end, this.records, state);
    const stage = state[S_STAGE]!;
    if (stage === STAGE_STOPPED) {
      this.stopped = true;
      this.pos = end;
      return n;
    }
    const consumed = state[S_CONSUMED]!;
    if (stage === STAGE_NONE) {
      this.pos = consumed;
      return n;
    }
    // An incomplete command at `consumed`: keep its bytes for the next chunk.
    this.takePending(state);
    this.holdPartial(chunk, consumed, end);
    this.pos = end;
    return n;
  }

  /** Note what the scan that just returned says of the incomplete command it stopped at. */
  private takePending(state: Int32Array): void {
    this.partialStage = state[S_STAGE]!;
    this.partialNeed = state[S_NEED]!;
    this.partialCode = state[S_CODE]!;
    this.partialLineLen = state[S_LINE_LEN]!;
    this.partialIndex = state[S_INDEX]!;
    this.partialMpubAt = state[S_MPUB_AT]!;
    this.partialMpubCheck = state[S_MPUB_CHECK]!;
  }

  /** Copy chunk[from, end), the start of the pending command, into the partial buffer. */
  private holdPartial(chunk: Uint8Array, from: number, end: number): void {
    const len = end - from;
    const need = this.partialNeed;
    const cap = need > 0 ? need : Math.max(len, 256);
    if (this.partial.length < cap || this.partial === this.carry) this.partial = Buffer.allocUnsafe(Math.max(cap, 256));
    this.partial.set(chunk.subarray(from, end), 0);
    this.partialLen = len;
  }

  private append(bytes: Uint8Array): void {
    const needLen = this.partialLen + bytes.length;
    if (this.partial.length < needLen) {
      const grown = Buffer.allocUnsafe(Math.max(needLen, this.partialNeed, this.partial.length * 2));
      grown.set(this.partial.subarray(0, this.partialLen), 0);
      this.partial = grown;
    }
    this.partial.set(bytes, this.partialLen);
    this.partialLen = needLen;
  }

  /** Move bytes of the chunk into the partial command until it completes or the chunk ends. */
  private completePartial(): number {
    const chunk = this.chunk;
    const end = chunk.length;
    const state = this.state;
    for (;;) {
      if (this.pos >= end) return 0;
      if (this.partialStage === STAGE_LINE) {
        const nl = chunk.indexOf(0x0a, this.pos);
        if (nl === -1) {
          this.append(chunk.subarray(this.pos, end));
          this.pos = end;
          if (this.partialLen < MAX_LINE_LENGTH) return 0;
          // Let the scanner report LINE_TOO_LONG on the held bytes.
        } else {
          // The scanner reports LINE_TOO_LONG if the joined line exceeds the limit.
          this.append(chunk.subarray(this.pos, nl + 1));
          this.pos = nl + 1;
        }
      } else {
        const want = this.partialNeed - this.partialLen;
        const take = Math.min(want, end - this.pos);
        this.append(chunk.subarray(this.pos, this.pos + take));
        this.pos += take;
        // An MPUB is rescanned on every arrival: its messages may end before the declared size.
        if (this.partialLen < this.partialNeed && this.partialStage < STAGE_MPUB_COUNT) return 0;
        // A body command (PUB, DPUB, IDENTIFY, AUTH) whose size the scanner checked before holding
        // it is complete once its body is: its record is known without scanning it again.
        if (this.partialStage === STAGE_BODY) return this.completeBody();
      }
      // Re-scan the held bytes: either a complete command, a stop, or a later stage. An MPUB's
      // walk resumes at the message where the last scan stopped.
      const held = this.partial;
      if (this.partialMpubAt !== 0) {
        state[S_RESUME_AT] = this.partialMpubAt;
        state[S_RESUME_INDEX] = this.partialIndex;
        state[S_RESUME_CHECK] = this.partialMpubCheck;
      }
      const n = this.scanner.scan(held, 0, this.partialLen, this.records, state);
      const stage = state[S_STAGE]!;
      if (stage === STAGE_STOPPED || n > 0) {
        this.markSource(n, SRC_CARRY);
        const consumed = state[S_CONSUMED]!;
        const heldLen = this.partialLen;
        this.heldBecomesCarry();
        if (stage === STAGE_STOPPED) {
          this.stopped = true;
        } else if (consumed < heldLen) {
          // More was held than the command needed (an MPUB whose body_size overstated its
          // messages): those bytes come before the rest of the chunk.
          this.chunk = Buffer.concat([held.subarray(consumed, heldLen), chunk.subarray(this.pos)]);
          this.pos = 0;
        }
        return n;
      }
      this.takePending(state);
      if (stage !== STAGE_LINE && this.partial.length < this.partialNeed) {
        const grown = Buffer.allocUnsafe(this.partialNeed);
        grown.set(this.partial.subarray(0, this.partialLen), 0);
        this.partial = grown;
      }
    }
  }

  /** The record of the held body command, now whole (partialLen === partialNeed); it becomes the carry. */
  private completeBody(): number {
    const bodyStart = this.partialLineLen + 4;
    const size = this.partialNeed - bodyStart;
    writeRecord(this.records, 0, this.partialCode, ScanStatus.COMPLETE, 0, this.pendingLineEnd, bodyStart, size, size);
    this.markSource(1, SRC_CARRY);
    this.heldBecomesCarry();
    return 1;
  }

  /**
   * The held command is complete and becomes the carry. The previous carry's records died with
   * the feed() before this one (a feed completes at most one held command), so its buffer takes
   * the next partial command instead of a fresh allocation per command that spans reads.
   */
  private heldBecomesCarry(): void {
    const spare = this.carry;
    this.carry = this.partial;
    this.partial = spare.length >= 256 ? spare : Buffer.allocUnsafe(256);
    this.partialLen = 0;
    this.partialStage = STAGE_NONE;
    this.partialMpubAt = 0;
  }

  private markSource(n: number, src: number): void {
    for (let i = 0; i < n; i++) this.records[i * RECORD_STRIDE + R_SRC] = src;
  }
}
