import type { RecordRing } from '../native/record-ring.js';
import type { BodyParts } from '../protocol/body-parts.js';
import { MSG_HEADER_LENGTH } from '../protocol/message.js';
import { walkMpubMessages } from '../native/fallback/frame-scanner.js';

/**
 * Message bodies to publish: body i is buf[starts[i], starts[i] + lens[i]), i < count; or, when
 * `parts` is set, one message (count 1) whose body of lens[0] bytes is `parts` (a PUB that
 * spanned socket reads, held as ranges of them: FrameParser SRC_PARTS); or, when segCount > 0,
 * messages in several buffers (an MPUB that spanned reads): body i is in segBufs[k] for the
 * segment k with segEnds[k - 1] <= i < segEnds[k] (segEnds[-1] = 0), and `buf` is unused.
 */
export interface MessageBatch {
  buf: Uint8Array;
  starts: Int32Array;
  lens: Int32Array;
  count: number;
  parts: BodyParts | null;
  segBufs: Uint8Array[];
  segEnds: number[];
  segCount: number;
}

const EMPTY = new Uint8Array(0);
const copyBytes = Buffer.prototype.copy;
/** segBufs and segEnds of the batches in one buffer (empty, never written). */
const NO_BUFS: Uint8Array[] = [];
const NO_ENDS: number[] = [];

/** A batch of `count` bodies in `buf` (no segments). */
export function contiguousBatch(buf: Uint8Array, starts: Int32Array, lens: Int32Array, count: number): MessageBatch {
  return { buf, starts, lens, count, parts: null, segBufs: NO_BUFS, segEnds: NO_ENDS, segCount: 0 };
}

/**
 * Offset arrays and a one-message batch that publishes reuse instead of allocating per command.
 * One per nsqd: every user hands its batch to Topic.putMessages, which copies the bodies out,
 * before anything else can run.
 */
export class PublishScratch {
  /** MPUB message offsets (parseMpubBody), grown as needed. */
  starts = new Int32Array(0);
  lens = new Int32Array(0);
  private readonly one: MessageBatch = contiguousBatch(EMPTY, new Int32Array(1), new Int32Array(1), 1);
  /** The MPUB batch whose messages lie in several buffers (splitParts), its segment arrays reused. */
  private readonly multi: MessageBatch = { buf: EMPTY, starts: this.starts, lens: this.lens, count: 0, parts: null, segBufs: [], segEnds: [], segCount: 0 };
  /** Where messages that straddle two reads are joined (splitParts), grown as needed. */
  private stitch: Buffer = Buffer.allocUnsafe(4096);

  /** The batch of the one body buf[start, start + len), or `parts` (len bytes); valid until the next call. */
  single(buf: Uint8Array, start: number, len: number, parts: BodyParts | null = null): MessageBatch {
    const one = this.one;
    one.buf = buf;
    one.starts[0] = start;
    one.lens[0] = len;
    one.parts = parts;
    return one;
  }

  /** Drop the references to the last batch's buffers (socket chunks), once it is copied. */
  release(): void {
    this.one.buf = EMPTY;
    this.one.parts = null;
    const m = this.multi;
    for (let k = 0; k < m.segCount; k++) m.segBufs[k] = EMPTY;
    m.segCount = 0;
  }

  /**
   * The messages of an MPUB body held in parts (FrameParser SRC_PARTS: [int32 count]([int32
   * size][bytes])×count as ranges of the reads it came in), which the scanner has walked and
   * checked: one segment per read for the messages wholly inside it, and the messages that
   * straddle two reads joined in `stitch` (a segment between those). Nothing else is copied: the
   * queue copies each body once, as from a contiguous MPUB. Null when the parts do not hold
   * `count` messages of 1..maxMsgSize bytes as the scan said (never, unless the reads changed).
   * Valid until release().
   */
  splitParts(parts: BodyParts, maxMsgSize: number): MessageBatch | null {
    if (parts.count === 0 || parts.length < 4) return null;
    this.cParts = parts;
    this.cK = 0;
    this.cBuf = parts.bufs[0]!;
    this.cP = parts.from[0]!;
    this.cTo = parts.to[0]!;
    let left = parts.length - 4;
    const count = this.readSize();
    if (count < 1 || count > left) return this.endSplit(null);
    if (this.starts.length < count) {
      const cap = Math.max(count, this.starts.length * 2);
      this.starts = new Int32Array(cap);
      this.lens = new Int32Array(cap);
    }
    const starts = this.starts;
    const lens = this.lens;
    const m = this.multi;
    const segBufs = m.segBufs;
    const segEnds = m.segEnds;
    let seg = -1;
    let segBuf: Uint8Array = EMPTY;
    let stitchAt = 0;
    for (let i = 0; i < count; i++) {
      // The messages wholly inside this range (the twin's walk, which stops at the first that is not).
      const walked = walkMpubMessages(this.cBuf, this.cP, this.cTo, count - i, maxMsgSize, starts, lens, i);
      const whole = walked >= 0 ? walked : -walked - 1;
      if (whole > 0) {
        if (this.cBuf !== segBuf) {
          if (seg >= 0) segEnds[seg] = i;
          segBufs[++seg] = this.cBuf;
          segBuf = this.cBuf;
        }
        i += whole;
        const after = starts[i - 1]! + lens[i - 1]!;
        left -= after - this.cP;
        this.cP = after;
      }
      if (i === count) break;
      if (left < 4) return this.endSplit(null);
      const size = this.readSize();
      left -= 4;
      if (size < 1 || size > maxMsgSize || size > left) return this.endSplit(null);
      left -= size;
      if (this.cP === this.cTo) this.nextRange();
      let src: Uint8Array;
      if (this.cTo - this.cP >= size) {
        src = this.cBuf;
        starts[i] = this.cP;
        this.cP += size;
      } else {
        // It straddles reads: joined in the stitch buffer.
        if (this.stitch.length - stitchAt < size) {
          // A new buffer (the messages stitched so far stay in the old one).
          this.stitch = Buffer.allocUnsafe(Math.max(size, this.stitch.length * 2));
          stitchAt = 0;
        }
        src = this.stitch;
        starts[i] = stitchAt;
        let need = size;
        while (need > 0) {
          if (this.cP === this.cTo && !this.nextRange()) return this.endSplit(null);
          const take = Math.min(need, this.cTo - this.cP);
          copyBytes.call(this.cBuf, src, stitchAt, this.cP, this.cP + take);
          stitchAt += take;
          this.cP += take;
          need -= take;
        }
      }
      lens[i] = size;
      // Consecutive messages in one buffer share a segment (their offsets are into it).
      if (src !== segBuf) {
        if (seg >= 0) segEnds[seg] = i;
        segBufs[++seg] = src;
        segBuf = src;
      }
    }
    segEnds[seg] = count;
    m.starts = starts;
    m.lens = lens;
    m.count = count;
    m.segCount = seg + 1;
    return this.endSplit(m);
  }

  /** splitParts' cursor: range cK of cParts, at cP of cBuf (the range ends at cTo). */
  private cParts: BodyParts | null = null;
  private cK = 0;
  private cBuf: Uint8Array = EMPTY;
  private cP = 0;
  private cTo = 0;

  /** Move the cursor to the next range; false at the last. */
  private nextRange(): boolean {
    const parts = this.cParts!;
    if (this.cK + 1 >= parts.count) return false;
    const k = ++this.cK;
    this.cBuf = parts.bufs[k]!;
    this.cP = parts.from[k]!;
    this.cTo = parts.to[k]!;
    return true;
  }

  /** The big-endian int32 at the cursor (its bytes may span ranges); -1 when the ranges end. */
  private readSize(): number {
    if (this.cTo - this.cP >= 4) {
      const b = this.cBuf;
      const p = this.cP;
      this.cP = p + 4;
      return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) | 0;
    }
    let v = 0;
    for (let n = 0; n < 4; n++) {
      while (this.cP === this.cTo) if (!this.nextRange()) return -1;
      v = (v << 8) | this.cBuf[this.cP++]!;
    }
    return v | 0;
  }

  private endSplit(b: MessageBatch | null): MessageBatch | null {
    this.cParts = null;
    this.cBuf = EMPTY;
    return b;
  }
}

/** Store the batch's messages (headers[26 i..] then body i) in `ring`, as many as fit; returns how many. */
export function pushBatchMessages(ring: RecordRing, headers: Uint8Array, b: MessageBatch): number {
  if (b.parts !== null) return ring.pushMessageParts(headers, b.parts) ? 1 : 0;
  if (b.segCount === 0) return ring.pushMessages(headers, b.buf, b.starts, b.lens, 0, b.count);
  // One call per segment: per read the MPUB came in, and per run of messages joined from two.
  let first = 0;
  for (let k = 0; k < b.segCount; k++) {
    const end = b.segEnds[k]!;
    const got = ring.pushMessages(headers, b.segBufs[k]!, b.starts, b.lens, first, end - first);
    if (got < end - first) return first + got;
    first = end;
  }
  return first;
}

/** The buffer holding body i of a batch. */
function bodyBuffer(b: MessageBatch, i: number): Uint8Array {
  if (b.segCount === 0) return b.buf;
  // Binary search for the segment whose end is the first past i.
  let lo = 0;
  let hi = b.segCount - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (b.segEnds[mid]! > i) hi = mid;
    else lo = mid + 1;
  }
  return b.segBufs[lo]!;
}

/** Message i's payload (its 26-byte header, then its body) as one new Buffer. */
export function joinPayload(headers: Uint8Array, i: number, b: MessageBatch): Buffer {
  const len = b.lens[i]!;
  const out = Buffer.allocUnsafe(MSG_HEADER_LENGTH + len);
  out.set(headers.subarray(i * MSG_HEADER_LENGTH, (i + 1) * MSG_HEADER_LENGTH), 0);
  if (b.parts !== null) {
    b.parts.copyTo(out, MSG_HEADER_LENGTH);
  } else {
    copyBytes.call(bodyBuffer(b, i), out, MSG_HEADER_LENGTH, b.starts[i]!, b.starts[i]! + len);
  }
  return out;
}
