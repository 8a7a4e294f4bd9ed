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
  S_RESUME_BASE,
  S_RESUME_COUNT,
  S_RESUME_LINE_LEN,
  S_RESUME_PREFIX,
  S_RESUME_SIZE,
  S_STAGE,
  R_BODY_LEN,
  R_BODY_START,
  R_LINE_END,
  R_LINE_START,
  R_STATUS,
  ScanStatus,
  writeRecord,
  Cmd,
  type FrameScanner,
} from '../native/backend.js';
import { readInt32 } from '../native/fallback/frame-scanner.js';
import { BodyParts } from './body-parts.js';

/** Record source: offsets point into the chunk given to feed(). */
export const SRC_CHUNK = 0;
/** Record source: offsets point into the carry buffer (a command that spanned chunks). */
export const SRC_CARRY = 1;
/** Record source: offsets point into the partial buffer (the incomplete command at the end). */
export const SRC_PARTIAL = 2;
/**
 * Record source: a PUB, DPUB or MPUB that spanned chunks, held without copying it. Its line and
 * size field are in source(SRC_PARTS) where they arrived (the record's line offsets, its body
 * offset just after the size), and its body is `bodyParts`: ranges of the chunks it arrived in, and
 * copies of pieces too small to be worth holding a chunk for. An MPUB's messages were walked
 * and checked by the scans of those chunks, one scan a chunk (S_RESUME_BASE).
 */
export const SRC_PARTS = 3;

/**
 * PUB and DPUB bodies from this size are held across chunks as ranges of them (SRC_PARTS)
 * instead of being copied into the carry: the consumer copies a body into its queue anyway, so
 * the carry's copy was a second one, and with the native scanner it took more of a read's time
 * than the scan (PUB 4 KiB in 64 KiB reads: 752-768 ns a read copied, 377-500 ns held; 64 KiB
 * bodies 2244 → 647 ns). Below it the copy of a few hundred bytes costs less than the ranges
 * (1 KiB bodies: 1051 ns copied, 1176 held).
 */
export const PARTS_MIN_BODY = 2048;
/**
 * A piece of a held body shorter than this is copied into an owned buffer rather than held as a
 * range of its chunk, so the parts of a body stay few (≤ 2 per PARTS_MIN_PIECE bytes) however a
 * client cuts its stream, and a small read does not stay alive for a few bytes. Larger values
 * cost more than they save: at 4 KiB bodies, 512 took 619-629 ns a read against 377-500 at 256.
 */
export const PARTS_MIN_PIECE = 256;
/** Largest owned buffer small pieces are copied into. */
export const PARTS_ACC_MAX = 16 * 1024;

const EMPTY = Buffer.alloc(0);
const copyBytes = Buffer.prototype.copy;

/** Where a FrameParser holds a body in parts (thresholds in bytes; Infinity never). */
export interface PartsPolicy {
  /** Smallest PUB/DPUB body, and MPUB declared body, held in parts (PARTS_MIN_BODY). */
  minBody: number;
  /** Smallest piece held as a range of its chunk (PARTS_MIN_PIECE). */
  minPiece: number;
}

/**
 * The V2 read path: turns socket chunks into command records, many per call, using a
 * FrameScanner (native or TypeScript) over contiguous bytes. Commands that span chunks are
 * completed in a carry buffer, so the scanner never sees a partial command twice and
 * correctness does not depend on how the stream is split (one byte at a time included).
 *
 * A PUB or DPUB body, or an MPUB's declared body, of PARTS_MIN_BODY bytes or more that spans
 * chunks is not copied: it is held as ranges of the chunks it arrived in (SRC_PARTS,
 * `bodyParts`), and the scan of each chunk walks on through the MPUB's messages in it. MPUB
 * bodies in 64 KiB reads (200 messages of 200 B: nearly every read ends inside one) went from
 * 3.31 to 1.31 ns a message with the native scanner, 5.78 to 5.43 with the TypeScript one: the
 * copy into the partial buffer had been two thirds of the native time. A chunk must therefore not
 * change once fed, as socket reads do not.
 *
 * Use: `feed(chunk)`, then call `next()` until it returns 0; each call fills `records` with up
 * to `capacity` commands whose offsets refer to `source(records[i*STRIDE + R_SRC])`. Records
 * stay valid until the next feed().
 */
export class FrameParser {
  /** RECORD_STRIDE int32 slots per record. */
  readonly records: Int32Array;
  /** records from record 1 on (null at capacity 1): where a scan writes after a completed held command. */
  private readonly recordsAfterFirst: Int32Array | null;
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
  /**
   * For an MPUB held in parts (walked on by each read's scan, S_RESUME_BASE): its message count
   * (the first bytes of its parts), and the bytes known of the size field at partialMpubAt
   * (fieldHeld of them, big-endian in fieldVal), which the scan needs when that field began in
   * an earlier read.
   */
  private partialCount = 0;
  private fieldVal = 0;
  private fieldHeld = 0;
  private stopped = false;
  private readonly minBody: number;
  private readonly minPiece: number;
  /** Whether the pending command's body is held in `parts` (its line and size at headBuf[headOff]). */
  private inParts = false;
  private parts = new BodyParts();
  /** Owned buffer small pieces are copied into; acc[accStart, accLen) is not yet in `parts`. */
  private acc: Buffer = EMPTY;
  private accStart = 0;
  private accLen = 0;
  /**
   * The last owned buffer of the body now in `carryParts`, and one whose body died with a
   * feed(), free to take the next body's small pieces: recycled as the partial and carry
   * buffers are, instead of a fresh allocation of a few KiB each time a read ends or begins
   * with a few bytes of a large body (about one read in eight with 4 KiB PUBs). Two spares:
   * a read may complete a body that used one and hold the next in another.
   */
  private accInCarry: Buffer = EMPTY;
  private spareAcc: Buffer = EMPTY;
  private spareAcc2: Buffer = EMPTY;
  /** The body of the SRC_PARTS record (the two swap as the partial and carry buffers do). */
  private carryParts = new BodyParts();
  /**
   * Where the line and size field of the command held in parts are: headBuf from headOff, left
   * in the read they came in (or in the buffer they were held in before the body went to
   * parts), not copied; and the buffer of those of the SRC_PARTS record (its records say where).
   */
  private headBuf: Uint8Array = EMPTY;
  private headOff = 0;
  private carryHead: Uint8Array = EMPTY;

  constructor(scanner: Pick<FrameScanner, 'scan'>, capacity = 512, parts: PartsPolicy = { minBody: PARTS_MIN_BODY, minPiece: PARTS_MIN_PIECE }) {
    this.scanner = scanner;
    this.records = new Int32Array(capacity * RECORD_STRIDE);
    this.recordsAfterFirst = capacity > 1 ? this.records.subarray(RECORD_STRIDE) : null;
    this.minBody = parts.minBody;
    // (At least 1: an empty piece is never a range.)
    this.minPiece = Math.max(1, parts.minPiece);
  }

  /** The buffer a record's offsets refer to (for SRC_PARTS, its line and size field). */
  source(src: number): Uint8Array {
    return src === SRC_CHUNK ? this.chunk : src === SRC_CARRY ? this.carry : src === SRC_PARTS ? this.carryHead : this.partial;
  }

  /** The body of the SRC_PARTS record: ranges whose lengths sum to its R_BODY_LEN. */
  get bodyParts(): BodyParts {
    return this.carryParts;
  }

  /** A record's body as one buffer (a new one when it is held in parts): for tests and cold paths. */
  body(src: number, bodyStart: number, bodyLen: number): Uint8Array {
    if (src === SRC_PARTS) return this.carryParts.join();
    return this.source(src).subarray(bodyStart, bodyStart + bodyLen);
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

  /** The buffer holding the pending command's line (once complete), from pendingLineStart to pendingLineEnd. */
  get pendingLineSource(): Uint8Array {
    return this.inParts ? this.headBuf : this.partial;
  }

  /** Where the pending command's line starts in pendingLineSource. */
  get pendingLineStart(): number {
    return this.inParts ? this.headOff : 0;
  }

  /** Line end (exclusive, without `\r\n`) of the pending command in pendingLineSource. */
  get pendingLineEnd(): number {
    const buf = this.pendingLineSource;
    const start = this.pendingLineStart;
    let end = start + this.partialLineLen - 1;
    if (end > start && buf[end - 1] === 0x0d) end--;
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
    // The last SRC_PARTS record died with the previous chunk: let go of the reads it held.
    if (this.carryParts.count > 0) {
      this.carryParts.clear();
      this.carryHead = EMPTY;
      if (this.accInCarry !== EMPTY) {
        if (this.spareAcc === EMPTY) this.spareAcc = this.accInCarry;
        else this.spareAcc2 = this.accInCarry;
        this.accInCarry = EMPTY;
      }
    }
  }

  /** Parse the next batch of records from the current chunk; 0 when the chunk is used up. */
  next(): number {
    // A used-up chunk has nothing more to give, whatever is held (the call that ends each read).
    if (this.stopped || this.pos >= this.chunk.length) return 0;
    let done = 0;
    if (this.partialLen > 0) {
      if (this.inParts) {
        if (this.partialCode === Cmd.MPUB) return this.resumeMpubParts();
        done = this.completePartsBody();
      } else {
        done = this.completePartial();
      }
      // (A rescan of held bytes may also have recorded commands after the held one.)
      if (this.stopped || this.partialLen > 0 || done > 1 || (done === 1 && this.recordsAfterFirst === null)) return done;
    }
    // (completePartial may have replaced the chunk.)
    const chunk = this.chunk;
    const end = chunk.length;
    if (this.pos >= end) return done;
    const state = this.state;
    // After a completed held command (record 0), the scan fills the records after it: one
    // next() for a read's commands, not one for the held command and one for the rest.
    const n = done + this.scanner.scan(chunk, this.pos, end, done === 0 ? this.records : this.recordsAfterFirst!, state);
    return this.afterScan(chunk, n);
  }

  /** Move on past what the scan of chunk that just returned n records took; returns n. */
  private afterScan(chunk: Uint8Array, n: number): number {
    const state = this.state;
    const end = chunk.length;
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
    this.pos = end;
    // An incomplete command at `consumed`: keep its bytes for the next chunk.
    const code = state[S_CODE]!;
    if (stage === STAGE_BODY && (code === Cmd.PUB || code === Cmd.DPUB)) {
      // A PUB awaiting the rest of its body, as every read of a stream of large PUBs ends: only
      // the facts a body needs are taken (an MPUB's walk fields are 0 while nothing is held).
      this.partialStage = STAGE_BODY;
      this.partialNeed = state[S_NEED]!;
      this.partialCode = code;
      this.partialLineLen = state[S_LINE_LEN]!;
      this.partialIndex = 0;
    } else {
      this.takePending(state);
    }
    this.holdPartial(chunk, consumed, end);
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

  /** Hold chunk[from, end), the start of the pending command: copied into the partial buffer, or its body in parts. */
  private holdPartial(chunk: Uint8Array, from: number, end: number): void {
    if (this.wantsParts() || this.wantsMpubParts(chunk, from)) {
      // The line and size field stay in the read (it does not change once fed): copying them
      // out was a tenth of a 64 KiB read of 4 KiB PUBs natively (Buffer#copy several times that).
      if (this.partialCode === Cmd.MPUB) {
        this.toMpubParts(chunk, from, end);
        return;
      }
      const head = this.partialLineLen + 4;
      this.partialLen = head;
      this.startParts(chunk, from);
      this.addPiece(chunk, from + head, end);
      return;
    }
    this.holdCopy(chunk, from, end);
  }

  /**
   * Hold the pending MPUB, whose bytes so far are buf[from, end), in parts: its line and size
   * field stay where they are, and the bytes after them are the first piece.
   */
  private toMpubParts(buf: Uint8Array, from: number, end: number): void {
    const head = this.partialLineLen + 4;
    this.partialCount = readInt32(buf, from + head);
    this.partialLen = head;
    this.startParts(buf, from);
    this.addPiece(buf, from + head, end);
    this.fieldHeld = 0;
    this.fieldVal = 0;
    this.noteField(buf, from, 0, end);
  }

  /**
   * Whether the pending command (just taken from a scan of chunk, from `from`) is an MPUB whose
   * walk stopped inside its messages, declaring a body worth holding in parts: the consumer
   * copies its messages out anyway, and the copy into `partial` was most of a 64 KiB read's
   * time for MPUBs of 200 B messages (each read ends inside one).
   */
  private wantsMpubParts(chunk: Uint8Array, from: number): boolean {
    return (
      (this.partialStage === STAGE_MPUB_MSG_SIZE || this.partialStage === STAGE_MPUB_MSG_BODY) &&
      this.partialMpubAt !== 0 &&
      readInt32(chunk, from + this.partialLineLen) >= this.minBody
    );
  }

  /**
   * Take what chunk holds of the size field at partialMpubAt: chunk[cFrom, end) are the held
   * MPUB's bytes from command offset cBase (the field's earlier bytes came with earlier reads).
   */
  private noteField(chunk: Uint8Array, cFrom: number, cBase: number, end: number): void {
    const at = this.partialMpubAt;
    const cEnd = cBase + (end - cFrom);
    for (let o = Math.max(at + this.fieldHeld, cBase); o < at + 4 && o < cEnd; o++) {
      this.fieldVal = (this.fieldVal << 8) | chunk[cFrom + (o - cBase)]!;
      this.fieldHeld++;
    }
  }

  /**
   * next() for an MPUB held in parts: one scan walks on through its messages in this chunk and,
   * once they end, records it (record 0, SRC_PARTS) and the commands after it.
   */
  private resumeMpubParts(): number {
    const chunk = this.chunk;
    const end = chunk.length;
    const pos = this.pos;
    if (pos >= end) return 0;
    const state = this.state;
    const base = this.partialLen;
    const at = this.partialMpubAt;
    state[S_RESUME_BASE] = base;
    state[S_RESUME_AT] = at;
    state[S_RESUME_INDEX] = this.partialIndex;
    state[S_RESUME_CHECK] = this.partialMpubCheck;
    state[S_RESUME_LINE_LEN] = this.partialLineLen;
    state[S_RESUME_SIZE] = readInt32(this.headBuf, this.headOff + this.partialLineLen);
    state[S_RESUME_COUNT] = this.partialCount;
    state[S_RESUME_PREFIX] = base > at ? this.fieldVal : 0;
    const n = this.scanner.scan(chunk, pos, end, this.records, state);
    if (n < 0) throw new Error('FrameScanner refused to resume a held MPUB');
    if (n === 0) {
      // Still incomplete: this chunk is more of it.
      this.takePending(state);
      if (this.partialMpubAt !== at) {
        this.fieldHeld = 0;
        this.fieldVal = 0;
      }
      this.addPiece(chunk, pos, end);
      this.noteField(chunk, pos, base, end);
      this.pos = end;
      return 0;
    }
    const rec = this.records;
    if (rec[R_STATUS] === ScanStatus.COMPLETE) {
      this.addPiece(chunk, pos, pos + this.partialLineLen + 4 + rec[R_BODY_LEN]! - base);
      rec[R_BODY_START] = rec[R_BODY_START]! + this.headOff;
    }
    rec[R_SRC] = SRC_PARTS;
    rec[R_LINE_START] = this.headOff;
    rec[R_LINE_END] = this.pendingLineEnd;
    this.heldBecomesCarry();
    return this.afterScan(chunk, n);
  }

  /** holdPartial() of a command whose bytes are copied. */
  private holdCopy(chunk: Uint8Array, from: number, end: number): void {
    const len = end - from;
    const need = this.partialNeed;
    const cap = need > 0 ? need : Math.max(len, 256);
    if (this.partial.length < cap || this.partial === this.carry) this.partial = Buffer.allocUnsafe(Math.max(cap, 256));
    copyBytes.call(chunk, this.partial, 0, from, end);
    this.partialLen = len;
  }

  /** Whether the pending command (just taken from a scan) is a PUB or DPUB awaiting a body worth holding in parts. */
  private wantsParts(): boolean {
    return (
      this.partialStage === STAGE_BODY &&
      (this.partialCode === Cmd.PUB || this.partialCode === Cmd.DPUB) &&
      this.partialNeed - this.partialLineLen - 4 >= this.minBody
    );
  }

  /** Hold the pending command's body in parts, its line and size field at buf[from, ...). */
  private startParts(buf: Uint8Array, from: number): void {
    this.inParts = true;
    this.headBuf = buf;
    this.headOff = from;
    this.parts.clear();
    this.acc = EMPTY;
    this.accStart = this.accLen = 0;
  }

  /** Add chunk[from, to) to the held body: as a range of the chunk, or copied when short. */
  private addPiece(chunk: Uint8Array, from: number, to: number): void {
    const len = to - from;
    // The common case kept small enough for V8 to inline where a read's body pieces are added.
    if (len >= this.minPiece && this.accLen === this.accStart) {
      this.parts.add(chunk, from, to);
      this.partialLen += len;
    } else if (len > 0) {
      this.addPieceSlow(chunk, from, to, len);
    }
  }

  /** addPiece() of a short piece, or after short pieces were copied. */
  private addPieceSlow(chunk: Uint8Array, from: number, to: number, len: number): void {
    if (len >= this.minPiece) {
      this.closeAcc();
      this.parts.add(chunk, from, to);
    } else {
      if (this.acc.length - this.accLen < len) {
        this.closeAcc();
        // Room for what the body still needs (it is at least this piece), up to PARTS_ACC_MAX.
        const want = Math.max(len, Math.min(this.partialNeed - this.partialLen, PARTS_ACC_MAX));
        if (this.spareAcc.length >= want) {
          this.acc = this.spareAcc;
          this.spareAcc = EMPTY;
        } else if (this.spareAcc2.length >= want) {
          this.acc = this.spareAcc2;
          this.spareAcc2 = EMPTY;
        } else {
          this.acc = Buffer.allocUnsafe(want);
        }
        this.accStart = this.accLen = 0;
      }
      copyBytes.call(chunk, this.acc, this.accLen, from, to);
      this.accLen += len;
    }
    this.partialLen += len;
  }

  /** Move the copied bytes not yet in `parts` there. */
  private closeAcc(): void {
    if (this.accLen > this.accStart) {
      this.parts.add(this.acc, this.accStart, this.accLen);
      this.accStart = this.accLen;
    }
  }

  /** Copy chunk[from, to) after the held bytes (no view of the chunk is made: that cost more than a copy of a few KiB). */
  private append(chunk: Uint8Array, from: number, to: number): void {
    const needLen = this.partialLen + (to - from);
    if (this.partial.length < needLen) {
      const grown = Buffer.allocUnsafe(Math.max(needLen, this.partialNeed, this.partial.length * 2));
      this.partial.copy(grown, 0, 0, this.partialLen);
      this.partial = grown;
    }
    copyBytes.call(chunk, this.partial, this.partialLen, from, to);
    this.partialLen = needLen;
  }

  /** Move bytes of the chunk into the partial command until it completes or the chunk ends. */
  private completePartial(): number {
    // Most held commands await the rest of a body whose size was checked: that path is kept
    // apart and small, so that V8 inlines it into next() whatever else a stream has sent.
    return this.partialStage === STAGE_BODY ? this.completeBodyBytes() : this.completeHeld();
  }

  /**
   * next()'s completion of a PUB or DPUB body held in parts: its record (record 0, SRC_PARTS) is
   * written here, and the held state handed to the carry, with no more field traffic than that
   * takes (this runs once a read in a stream of large PUBs).
   */
  private completePartsBody(): number {
    const chunk = this.chunk;
    const pos = this.pos;
    const need = this.partialNeed;
    const take = Math.min(need - this.partialLen, chunk.length - pos);
    this.addPiece(chunk, pos, pos + take);
    this.pos = pos + take;
    if (this.partialLen < need) return 0;
    const lineLen = this.partialLineLen;
    const size = need - lineLen - 4;
    const head = this.headOff;
    writeRecord(this.records, 0, this.partialCode, ScanStatus.COMPLETE, head, this.pendingLineEnd, head + lineLen + 4, size, size);
    this.records[R_SRC] = SRC_PARTS;
    this.heldBecomesCarry();
    return 1;
  }

  /** completePartial() for a body command (PUB, DPUB, IDENTIFY, AUTH) held for the rest of its body, copied. */
  private completeBodyBytes(): number {
    const chunk = this.chunk;
    const end = chunk.length;
    if (this.pos >= end) return 0;
    const take = Math.min(this.partialNeed - this.partialLen, end - this.pos);
    this.append(chunk, this.pos, this.pos + take);
    this.pos += take;
    // Its size was checked before it was held, so it is complete once its body is: its record
    // is known without scanning it again.
    return this.partialLen < this.partialNeed ? 0 : this.completeBody();
  }

  /** completePartial() for a command held inside its line, its size field or an MPUB's messages. */
  private completeHeld(): number {
    const chunk = this.chunk;
    const end = chunk.length;
    const state = this.state;
    for (;;) {
      if (this.partialStage === STAGE_BODY) return this.inParts ? this.completePartsBody() : this.completeBodyBytes();
      if (this.pos >= end) return 0;
      if (this.partialStage === STAGE_LINE) {
        const nl = chunk.indexOf(0x0a, this.pos);
        if (nl === -1) {
          this.append(chunk, this.pos, end);
          this.pos = end;
          if (this.partialLen < MAX_LINE_LENGTH) return 0;
          // Let the scanner report LINE_TOO_LONG on the held bytes.
        } else {
          // The scanner reports LINE_TOO_LONG if the joined line exceeds the limit.
          this.append(chunk, this.pos, nl + 1);
          this.pos = nl + 1;
        }
      } else {
        // A size field, or an MPUB's messages (held whole, never in parts).
        const take = Math.min(this.partialNeed - this.partialLen, end - this.pos);
        this.append(chunk, this.pos, this.pos + take);
        this.pos += take;
        // An MPUB is rescanned on every arrival: its messages may end before the declared size.
        if (this.partialLen < this.partialNeed && this.partialStage < STAGE_MPUB_COUNT) return 0;
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
      if (this.wantsParts()) {
        // The held bytes are exactly the line and size field (a body is only held once they are);
        // `partial` keeps them (it becomes the carry when the body completes, and is not written
        // before the feed() after that).
        this.startParts(held, 0);
        continue;
      }
      if (this.wantsMpubParts(held, 0)) {
        // An MPUB whose header came in pieces: from here on it is held in parts, the bytes held
        // after its size field (a range of this buffer, which keeps them until the MPUB ends
        // and stays the carry until the next feed) their first piece.
        this.toMpubParts(held, 0, this.partialLen);
        return this.resumeMpubParts();
      }
      if (stage !== STAGE_LINE && this.partial.length < this.partialNeed) {
        const grown = Buffer.allocUnsafe(this.partialNeed);
        grown.set(this.partial.subarray(0, this.partialLen), 0);
        this.partial = grown;
      }
    }
  }

  /** The record of the held body command copied whole (partialLen === partialNeed); it becomes the carry. */
  private completeBody(): number {
    const size = this.partialNeed - this.partialLineLen - 4;
    writeRecord(this.records, 0, this.partialCode, ScanStatus.COMPLETE, 0, this.pendingLineEnd, this.partialLineLen + 4, size, size);
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
    if (this.inParts) {
      // The carry's ranges were let go by the feed() before this completion (a feed completes
      // at most one held command), so they take the next body.
      this.closeAcc();
      const spareParts = this.carryParts;
      this.carryParts = this.parts;
      this.parts = spareParts;
      this.accInCarry = this.acc;
      this.acc = EMPTY;
      this.carryHead = this.headBuf;
      this.headBuf = EMPTY;
      this.inParts = false;
    }
    this.partialLen = 0;
    this.partialStage = STAGE_NONE;
    this.partialMpubAt = 0;
  }

  private markSource(n: number, src: number): void {
    for (let i = 0; i < n; i++) this.records[i * RECORD_STRIDE + R_SRC] = src;
  }
}
