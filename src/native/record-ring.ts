import { RING_CHUNK_BYTES, type RecordCodec } from './backend.js';
import type { BodyParts } from '../protocol/body-parts.js';
import { FRAME_TYPE_MESSAGE, writeFrameHeader } from '../protocol/frames.js';

/**
 * Queued messages as ready-to-send V2 message frames ([int32 size][int32 type 2][payload]) in a
 * list of byte chunks: a queued message costs its bytes plus 8, not a JS object, and delivering
 * it is one copy of the frame. Chunks grow geometrically up to MAX_CHUNK and are recycled, so
 * growing never copies what is queued. A popped record stays where it is: the caller holds a
 * reference (chunk + offset) until it is done with the message and then releases it; a chunk is
 * reused once every record in it was popped and released.
 */

/** Bytes before the payload in a stored record (the frame header). */
export const RECORD_HEADER = 8;
const MIN_CHUNK = 16 * 1024;
const MAX_CHUNK = RING_CHUNK_BYTES;

/**
 * Full-size chunks no ring needs any more, shared by every ring of the process: a draining
 * queue's memory is refilled by a growing one instead of fresh pages (first-touch page faults
 * cost about 1 ns per byte on these machines, more than the copy). Bounded to 64 MiB.
 */
const pool: Chunk[] = [];
const POOL_MAX = 64;

/** How far ahead of the record it pops shift() reads, in bytes (4 KiB did best in drain A/Bs against 2 and 8 KiB). */
const TOUCH_AHEAD = 4096;
const copyBytes = Buffer.prototype.copy;

/** One block of records; `refs` counts records popped and not yet released. */
export class Chunk {
  readonly buf: Buffer;
  /** Write position. */
  w = 0;
  /** Read position. */
  r = 0;
  /** Popped, unreleased records. */
  refs = 0;
  /** Set once the queue has moved past this chunk (no more writes or reads). */
  retired = false;

  constructor(buf: Buffer) {
    this.buf = buf;
  }
}

/** A FIFO of message records, bounded by a record count. */
export class RecordRing {
  /** Most records held at once (--mem-queue-size; an ephemeral channel without one moves it). */
  maxCount: number;
  private chunks: Chunk[] = [];
  private head = 0;
  private n = 0;
  private payloadBytes = 0;
  private spare: Chunk | null = null;
  private nextSize = MIN_CHUNK;
  /** Offset of the frame of the record returned by the last shift(). */
  offset = 0;
  /** Payload length of the record returned by the last shift(). */
  length = 0;
  /** Records listed by the last shiftBatch(). */
  batchCount = 0;
  /** A sink for the bytes shift() reads ahead (stored so the reads have a use). */
  touched = 0;
  private readonly codec: RecordCodec;

  /** A ring holding at most `maxCount` records; `codec` does the batch byte work (native or TS). */
  constructor(maxCount: number, codec: RecordCodec) {
    this.maxCount = maxCount;
    this.codec = codec;
  }

  /**
   * Append payloads src[starts[i], starts[i] + lens[i]) for i in [first, first + count), as many
   * as the count bound allows (all when `force`); returns how many were stored.
   */
  pushBatch(src: Uint8Array, starts: Int32Array, lens: Int32Array, first: number, count: number, force = false): number {
    const room = force ? count : Math.min(count, this.maxCount - this.n);
    let done = 0;
    while (done < room) {
      let tail = this.chunks[this.chunks.length - 1];
      const nextLen = lens[first + done]!;
      if (tail === undefined || tail.buf.length - tail.w < RECORD_HEADER + nextLen) tail = this.addChunk(RECORD_HEADER + nextLen);
      const k = this.codec.pushRecords(tail.buf, tail.w, src, starts, lens, first + done, room - done);
      if (k <= 0) throw new RangeError('pushRecords rejected its arguments');
      let w = tail.w;
      let bytes = 0;
      for (let i = first + done; i < first + done + k; i++) {
        w += RECORD_HEADER + lens[i]!;
        bytes += lens[i]!;
      }
      tail.w = w;
      this.n += k;
      this.payloadBytes += bytes;
      done += k;
    }
    return done;
  }

  /**
   * Append just-published messages (header i = headers[26 i, +26), then body src[starts[i],
   * +lens[i])) for i in [first, first + count), as many as the count bound allows; returns how
   * many were stored. One RecordCodec call per chunk.
   */
  pushMessages(headers: Uint8Array, src: Uint8Array, starts: Int32Array, lens: Int32Array, first: number, count: number): number {
    const room = Math.min(count, this.maxCount - this.n);
    let done = 0;
    while (done < room) {
      let tail = this.chunks[this.chunks.length - 1];
      const next = RECORD_HEADER + 26 + lens[first + done]!;
      if (tail === undefined || tail.buf.length - tail.w < next) tail = this.addChunk(next);
      const k = this.codec.pushMessages(tail.buf, tail.w, headers, src, starts, lens, first + done, room - done);
      if (k <= 0) throw new RangeError('pushMessages rejected its arguments');
      let w = tail.w;
      let bytes = 0;
      for (let i = first + done; i < first + done + k; i++) {
        w += RECORD_HEADER + 26 + lens[i]!;
        bytes += 26 + lens[i]!;
      }
      tail.w = w;
      this.n += k;
      this.payloadBytes += bytes;
      done += k;
    }
    return done;
  }

  /**
   * Append one just-published message whose body is `parts` (held across socket reads), after
   * the 26-byte header headers[0, 26); false when full. The parts are copied straight into the
   * record: the body is copied once, as a contiguous one is.
   */
  pushMessageParts(headers: Uint8Array, parts: BodyParts): boolean {
    if (this.n >= this.maxCount) return false;
    const len = parts.length;
    const need = RECORD_HEADER + 26 + len;
    let tail = this.chunks[this.chunks.length - 1];
    if (tail === undefined || tail.buf.length - tail.w < need) tail = this.addChunk(need);
    const b = tail.buf;
    const w = tail.w;
    writeFrameHeader(b, w, 26 + len + 4, FRAME_TYPE_MESSAGE);
    copyBytes.call(headers, b, w + RECORD_HEADER, 0, 26);
    tail.w = parts.copyTo(b, w + RECORD_HEADER + 26);
    this.n++;
    this.payloadBytes += 26 + len;
    return true;
  }

  /**
   * Pop up to `max` of the oldest records from one chunk without copying: fills offsets (of
   * frames) and lens (of payloads), sets batchCount, and returns their chunk with one reference
   * for the whole batch (release it once), or null when empty.
   */
  shiftBatch(max: number, offsets: Int32Array, lens: Int32Array): Chunk | null {
    if (this.n === 0) return null;
    let c = this.chunks[this.head]!;
    while (c.r === c.w) {
      this.retire(c);
      c = this.chunks[++this.head]!;
    }
    const k = this.codec.scanRecords(c.buf, c.r, c.w, Math.min(max, this.n), offsets, lens);
    if (k <= 0) throw new RangeError('scanRecords found a corrupt record');
    let bytes = 0;
    for (let i = 0; i < k; i++) bytes += lens[i]!;
    c.r = offsets[k - 1]! + RECORD_HEADER + lens[k - 1]!;
    c.refs++;
    this.n -= k;
    this.payloadBytes -= bytes;
    this.batchCount = k;
    this.afterShift();
    return c;
  }

  /** Records held. */
  get count(): number {
    return this.n;
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.payloadBytes;
  }

  /** Append payload src[start, start+len) as a frame; false when full (unless `force`). */
  push(src: Uint8Array, start: number, len: number, force = false): boolean {
    if (this.n >= this.maxCount && !force) return false;
    const need = RECORD_HEADER + len;
    let tail = this.chunks[this.chunks.length - 1];
    if (tail === undefined || tail.buf.length - tail.w < need) tail = this.addChunk(need);
    const b = tail.buf;
    const w = tail.w;
    writeFrameHeader(b, w, len + 4, FRAME_TYPE_MESSAGE);
    if (len <= 32) {
      for (let i = 0; i < len; i++) b[w + 8 + i] = src[start + i]!;
    } else if (start === 0 && len === src.length) {
      b.set(src, w + 8);
    } else {
      Buffer.prototype.copy.call(src, b, w + 8, start, start + len);
    }
    tail.w = w + need;
    this.n++;
    this.payloadBytes += len;
    return true;
  }

  private addChunk(need: number): Chunk {
    let c: Chunk | undefined;
    if (this.spare !== null && this.spare.buf.length >= need) {
      c = this.spare;
      this.spare = null;
    } else if (this.nextSize >= MAX_CHUNK && need <= MAX_CHUNK) {
      c = pool.pop();
    }
    if (c !== undefined) {
      c.w = c.r = c.refs = 0;
      c.retired = false;
    } else {
      c = new Chunk(this.codec.allocChunk(Math.max(need, this.nextSize)));
      if (this.nextSize < MAX_CHUNK) this.nextSize *= 2;
    }
    this.chunks.push(c);
    return c;
  }

  /**
   * Pop the oldest record without copying: returns its chunk (with refs+1) and sets `offset` (of
   * the frame) and `length` (of the payload); null when empty. Release the chunk when done.
   */
  shift(): Chunk | null {
    if (this.n === 0) return null;
    let c = this.chunks[this.head]!;
    while (c.r === c.w) {
      this.retire(c);
      c = this.chunks[++this.head]!;
    }
    const b = c.buf;
    const r = c.r;
    // Each record's size says where the next begins: shifting is a chain of dependent loads, and
    // after a long publish the records are in memory, not in cache, so every link would wait out
    // a miss. Reading a few lines ahead (an address known now) starts those misses early.
    const ahead = r + TOUCH_AHEAD;
    if (ahead + 192 < c.w) this.touched = b[ahead]! ^ b[ahead + 64]! ^ b[ahead + 128]! ^ b[ahead + 192]!;
    const len = (((b[r]! << 24) | (b[r + 1]! << 16) | (b[r + 2]! << 8) | b[r + 3]!) >>> 0) - 4;
    this.offset = r;
    this.length = len;
    c.r = r + RECORD_HEADER + len;
    c.refs++;
    this.n--;
    this.payloadBytes -= len;
    this.afterShift();
    return c;
  }

  private afterShift(): void {
    if (this.head > 32 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    if (this.n === 0) {
      // Everything popped: the tail chunk will take no more reads, start fresh next push.
      for (let i = this.head; i < this.chunks.length; i++) this.retire(this.chunks[i]!);
      this.chunks = [];
      this.head = 0;
      this.nextSize = MIN_CHUNK;
    }
  }

  /** A popped record is done with: its chunk may be reused. */
  release(c: Chunk): void {
    if (--c.refs === 0 && c.retired) this.recycle(c);
  }

  private retire(c: Chunk): void {
    c.retired = true;
    if (c.refs === 0) this.recycle(c);
  }

  private recycle(c: Chunk): void {
    if (c.buf.length === MAX_CHUNK) {
      if (this.spare === null) this.spare = c;
      else if (pool.length < POOL_MAX) pool.push(c);
      return;
    }
    if (c.buf.length < MAX_CHUNK && (this.spare === null || this.spare.buf.length < c.buf.length)) this.spare = c;
  }

  /**
   * Move every queued record to `dest`, which must be empty, without copying: its chunks change
   * hands (a topic's backlog becoming its only channel's queue). Returns the number moved.
   */
  transferTo(dest: RecordRing): number {
    if (dest.n !== 0 || this.n === 0) return 0;
    const moved = this.n;
    const chunks = this.chunks.slice(this.head);
    // Popped records of these chunks were released by this ring already (refs 0); from now on
    // releases are dest's, and a chunk retired there is recycled there.
    dest.chunks = chunks;
    dest.head = 0;
    dest.n = moved;
    dest.payloadBytes = this.payloadBytes;
    dest.nextSize = Math.max(dest.nextSize, this.nextSize);
    this.chunks = [];
    this.head = 0;
    this.n = 0;
    this.payloadBytes = 0;
    this.nextSize = MIN_CHUNK;
    return moved;
  }

  /** Drop every queued record (popped ones stay valid until released). */
  clear(): void {
    for (let i = this.head; i < this.chunks.length; i++) this.chunks[i]!.retired = true;
    this.chunks = [];
    this.head = 0;
    this.n = 0;
    this.payloadBytes = 0;
    this.nextSize = MIN_CHUNK;
  }
}
