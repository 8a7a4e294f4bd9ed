import type { Chunk } from '../native/record-ring.js';

/** Offset of the 16 id bytes inside a stored frame ([size][type][ts 8][attempts 2][id 16]...). */
export const FRAME_ID_OFFSET = 18;
/** Offset of the attempts field inside a stored frame. */
export const FRAME_ATTEMPTS_OFFSET = 16;

// The id being looked up or added, as four big-endian words (set by loadId; no allocation).
let W0 = 0;
let W1 = 0;
let W2 = 0;
let W3 = 0;

function loadId(b: Uint8Array, o: number): void {
  W0 = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  W1 = (b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!;
  W2 = (b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!;
  W3 = (b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!;
}

/**
 * Hash of the loaded id. nsqd ids are hex of (time << 22 | node << 12 | sequence), so the last 8
 * characters (the low 32 bits) already differ between any two ids of one millisecond; the
 * middle 8 are folded in more cheaply for ids made elsewhere.
 */
function hashId(): number {
  let h = W3 ^ Math.imul(W2, 0x9e3779b1) ^ Math.imul(W1, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) | 0;
}

/**
 * Messages keyed by their 16-byte id with a min-heap on a time: nsqd's in-flight and deferred
 * priority queues in one structure. A message is a stored frame: bytes at `frame(slot)` from
 * `offset(slot)`, optionally inside a RecordRing chunk (`chunk(slot)`) that must be released when
 * the message leaves. Lookups by id need no strings (open addressing over the id bytes, deletion
 * by backward shift, so no tombstones pile up), and no read of the frame: each slot keeps its id
 * as four words next to its hash, because the frame sits in a ring chunk long out of cache by
 * the time its FIN comes (comparing against the frame was 12% of nsqd's drain CPU). A slot's
 * numbers (times, token, offset, client, generation, hash, bucket, id) share one 64-byte row,
 * and its frame and chunk sit side by side in one array, so adding or finishing a message
 * touches a few cache lines rather than one per field. The heap deletes lazily: removing or
 * rescheduling a message only bumps its generation, stale heap entries are skipped when they
 * surface and compacted when they outnumber live ones. With deadlines that mostly increase
 * (now + msg_timeout), insertion is O(1) on average and FIN is O(1).
 */
export class MessageTable {
  /** Each slot's frame and chunk: refs[2 * slot] and refs[2 * slot + 1]. */
  private refs: (Buffer | Chunk | null)[] = [];
  /** Each slot's row of ROW_BYTES: the F_* float64 fields, and the I_* int32 fields of the same bytes. */
  private rowsF = new Float64Array(16 * ROW_F64);
  private rowsI = new Int32Array(this.rowsF.buffer);
  private free = new Int32Array(16);
  private freeLen = 0;
  private slotCount = 0;
  private buckets = new Int32Array(64);
  private live = 0;
  /** Heap entries of HEAP_BYTES: time (float64), then slot and generation (int32). */
  private heapF = new Float64Array(64 * HEAP_F64);
  private heapI = new Int32Array(this.heapF.buffer);
  private heapLen = 0;

  /** Number of messages held. */
  get size(): number {
    return this.live;
  }

  frame(slot: number): Buffer {
    return this.refs[2 * slot] as Buffer;
  }

  offset(slot: number): number {
    return this.rowsI[slot * ROW_I32 + I_OFFSET]!;
  }

  chunk(slot: number): Chunk | null {
    return this.refs[2 * slot + 1] as Chunk | null;
  }

  clientId(slot: number): number {
    return this.rowsI[slot * ROW_I32 + I_CLIENT]!;
  }

  time(slot: number): number {
    return this.rowsF[slot * ROW_F64 + F_TIME]!;
  }

  start(slot: number): number {
    return this.rowsF[slot * ROW_F64 + F_START]!;
  }

  /** The backend token stored with a slot (-1: none). */
  token(slot: number): number {
    return this.rowsF[slot * ROW_F64 + F_TOKEN]!;
  }

  /** Find the slot of the message whose id is the 16 bytes at buf[off]; -1 if absent. */
  find(buf: Uint8Array, off: number): number {
    const mask = this.buckets.length - 1;
    loadId(buf, off);
    const h = hashId();
    let i = h & mask;
    for (;;) {
      const b = this.buckets[i]!;
      if (b === 0) return -1;
      const slot = b - 1;
      if (this.holds(slot, h)) return slot;
      i = (i + 1) & mask;
    }
  }

  /** Whether `slot` holds the loaded id, whose hash is h. */
  private holds(slot: number, h: number): boolean {
    const r = this.rowsI;
    const w = slot * ROW_I32;
    return r[w + I_HASH] === h && r[w + I_ID] === W0 && r[w + I_ID + 1] === W1 && r[w + I_ID + 2] === W2 && r[w + I_ID + 3] === W3;
  }

  /** Add a message; its slot, or -1 when a message with the same id is already held. */
  add(frame: Buffer, offset: number, chunk: Chunk | null, clientId: number, time: number, start: number, token = -1): number {
    if ((this.live + 1) * 2 > this.buckets.length) this.resize(this.buckets.length * 2);
    const mask = this.buckets.length - 1;
    loadId(frame, offset + FRAME_ID_OFFSET);
    const h = hashId();
    let i = h & mask;
    for (;;) {
      const b = this.buckets[i]!;
      if (b === 0) break;
      if (this.holds(b - 1, h)) return -1;
      i = (i + 1) & mask;
    }
    const slot = this.freeLen > 0 ? this.free[--this.freeLen]! : this.newSlot();
    this.buckets[i] = slot + 1;
    const r = this.rowsI;
    const w = slot * ROW_I32;
    r[w + I_BUCKET] = i;
    r[w + I_HASH] = h;
    r[w + I_ID] = W0;
    r[w + I_ID + 1] = W1;
    r[w + I_ID + 2] = W2;
    r[w + I_ID + 3] = W3;
    r[w + I_OFFSET] = offset;
    r[w + I_CLIENT] = clientId;
    const f = this.rowsF;
    const d = slot * ROW_F64;
    f[d + F_TIME] = time;
    f[d + F_START] = start;
    f[d + F_TOKEN] = token;
    this.refs[2 * slot] = frame;
    this.refs[2 * slot + 1] = chunk;
    this.live++;
    this.heapPush(slot, r[w + I_GEN]!, time);
    return slot;
  }

  /** Remove a slot; read its frame, offset and chunk first. */
  remove(slot: number): void {
    const buckets = this.buckets;
    const mask = buckets.length - 1;
    const r = this.rowsI;
    // Backward-shift deletion: pull later entries of the probe run into the gap.
    let gap = r[slot * ROW_I32 + I_BUCKET]!;
    let j = (gap + 1) & mask;
    for (;;) {
      const b = buckets[j]!;
      if (b === 0) break;
      const home = r[(b - 1) * ROW_I32 + I_HASH]! & mask;
      // Move b into the gap unless its home lies cyclically in (gap, j].
      const inRange = gap <= j ? home > gap && home <= j : home > gap || home <= j;
      if (!inRange) {
        buckets[gap] = b;
        r[(b - 1) * ROW_I32 + I_BUCKET] = gap;
        gap = j;
      }
      j = (j + 1) & mask;
    }
    buckets[gap] = 0;
    this.refs[2 * slot] = null;
    this.refs[2 * slot + 1] = null;
    const g = slot * ROW_I32 + I_GEN;
    r[g] = (r[g]! + 1) | 0;
    this.live--;
    if (this.freeLen === this.free.length) {
      const f = new Int32Array(this.free.length * 2);
      f.set(this.free);
      this.free = f;
    }
    this.free[this.freeLen++] = slot;
  }

  /** Give a slot a new time. */
  reschedule(slot: number, time: number): void {
    const r = this.rowsI;
    const g = slot * ROW_I32 + I_GEN;
    r[g] = (r[g]! + 1) | 0;
    this.rowsF[slot * ROW_F64 + F_TIME] = time;
    this.heapPush(slot, r[g]!, time);
  }

  /**
   * The slot with the earliest time if it is ≤ now, else -1. The slot stays held but leaves the
   * time order: the caller removes or reschedules it.
   */
  due(now: number): number {
    const hf = this.heapF;
    const hi = this.heapI;
    while (this.heapLen > 0) {
      const slot = hi[H_SLOT]!;
      if (hi[H_GEN] !== this.rowsI[slot * ROW_I32 + I_GEN]) {
        this.heapPop();
        continue;
      }
      if (hf[H_TIME]! > now) return -1;
      this.heapPop();
      return slot;
    }
    return -1;
  }

  /** Every held slot, in no particular order (a snapshot). */
  slots(): number[] {
    const out: number[] = [];
    const n = this.buckets.length;
    for (let i = 0; i < n; i++) {
      const b = this.buckets[i]!;
      if (b !== 0) out.push(b - 1);
    }
    return out;
  }

  /** Forget every message (callers release chunks first if they hold any). */
  clear(): void {
    this.refs = [];
    this.rowsF = new Float64Array(16 * ROW_F64);
    this.rowsI = new Int32Array(this.rowsF.buffer);
    this.free = new Int32Array(16);
    this.freeLen = 0;
    this.slotCount = 0;
    this.buckets = new Int32Array(64);
    this.live = 0;
    this.heapLen = 0;
  }

  private newSlot(): number {
    const slot = this.slotCount++;
    if (slot * ROW_F64 >= this.rowsF.length) {
      const rows = new Float64Array(this.rowsF.length * 2);
      rows.set(this.rowsF);
      this.rowsF = rows;
      this.rowsI = new Int32Array(rows.buffer);
    }
    this.refs.push(null, null);
    return slot;
  }

  private resize(size: number): void {
    const buckets = new Int32Array(size);
    const mask = size - 1;
    const old = this.buckets;
    const r = this.rowsI;
    for (let k = 0; k < old.length; k++) {
      const b = old[k]!;
      if (b === 0) continue;
      let i = r[(b - 1) * ROW_I32 + I_HASH]! & mask;
      while (buckets[i] !== 0) i = (i + 1) & mask;
      buckets[i] = b;
      r[(b - 1) * ROW_I32 + I_BUCKET] = i;
    }
    this.buckets = buckets;
  }

  private heapPush(slot: number, gen: number, time: number): void {
    if (this.heapLen > 1024 && this.heapLen > 3 * this.live) this.compact();
    if (this.heapLen * HEAP_F64 === this.heapF.length) {
      const f = new Float64Array(this.heapF.length * 2);
      f.set(this.heapF);
      this.heapF = f;
      this.heapI = new Int32Array(f.buffer);
    }
    const hf = this.heapF;
    const hi = this.heapI;
    let pos = this.heapLen++;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (hf[parent * HEAP_F64 + H_TIME]! <= time) break;
      moveEntry(hf, hi, parent, pos);
      pos = parent;
    }
    setEntry(hf, hi, pos, slot, gen, time);
  }

  private heapPop(): void {
    const n = --this.heapLen;
    if (n === 0) return;
    const hi = this.heapI;
    this.siftDown(0, hi[n * HEAP_I32 + H_SLOT]!, hi[n * HEAP_I32 + H_GEN]!, this.heapF[n * HEAP_F64 + H_TIME]!, n);
  }

  /** Place the entry (slot, gen, time) at `pos` or below, in a heap of `n` entries. */
  private siftDown(pos: number, slot: number, gen: number, time: number, n: number): void {
    const hf = this.heapF;
    const hi = this.heapI;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      if (child + 1 < n && hf[(child + 1) * HEAP_F64 + H_TIME]! < hf[child * HEAP_F64 + H_TIME]!) child++;
      if (hf[child * HEAP_F64 + H_TIME]! >= time) break;
      moveEntry(hf, hi, child, pos);
      pos = child;
    }
    setEntry(hf, hi, pos, slot, gen, time);
  }

  /**
   * Drop stale heap entries in place (each live slot has exactly one entry of its current
   * generation), then restore heap order bottom-up: linear in the heap, no allocation.
   */
  private compact(): void {
    const hf = this.heapF;
    const hi = this.heapI;
    const r = this.rowsI;
    const len = this.heapLen;
    let n = 0;
    for (let i = 0; i < len; i++) {
      if (hi[i * HEAP_I32 + H_GEN] !== r[hi[i * HEAP_I32 + H_SLOT]! * ROW_I32 + I_GEN]) continue;
      moveEntry(hf, hi, i, n);
      n++;
    }
    this.heapLen = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i, hi[i * HEAP_I32 + H_SLOT]!, hi[i * HEAP_I32 + H_GEN]!, hf[i * HEAP_F64 + H_TIME]!, n);
  }
}

// A slot's row: ROW_BYTES = 64, read as float64 (F_*) or int32 (I_*) indices of the same bytes.
const ROW_F64 = 8;
const ROW_I32 = 16;
const F_TIME = 0;
const F_START = 1;
const F_TOKEN = 2;
const I_OFFSET = 6;
const I_CLIENT = 7;
const I_GEN = 8;
const I_HASH = 9;
const I_BUCKET = 10;
/** Four int32: the id as big-endian words. */
const I_ID = 11;

// A heap entry: 16 bytes, the time as float64 index H_TIME, slot and generation as int32.
const HEAP_F64 = 2;
const HEAP_I32 = 4;
const H_TIME = 0;
const H_SLOT = 2;
const H_GEN = 3;

/** Copy heap entry `from` to `to` (slot and generation as int32: a float64 copy could alter NaN bit patterns). */
function moveEntry(hf: Float64Array, hi: Int32Array, from: number, to: number): void {
  hf[to * HEAP_F64 + H_TIME] = hf[from * HEAP_F64 + H_TIME]!;
  hi[to * HEAP_I32 + H_SLOT] = hi[from * HEAP_I32 + H_SLOT]!;
  hi[to * HEAP_I32 + H_GEN] = hi[from * HEAP_I32 + H_GEN]!;
}

function setEntry(hf: Float64Array, hi: Int32Array, pos: number, slot: number, gen: number, time: number): void {
  hf[pos * HEAP_F64 + H_TIME] = time;
  hi[pos * HEAP_I32 + H_SLOT] = slot;
  hi[pos * HEAP_I32 + H_GEN] = gen;
}
