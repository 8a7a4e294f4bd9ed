import type { Chunk } from '../native/fallback/ring-buffer.js';

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
 * the time its FIN comes (comparing against the frame was 12% of nsqd's drain CPU). The heap deletes lazily: removing or
 * rescheduling a message only bumps its generation, stale heap entries are skipped when they
 * surface and compacted when they outnumber live ones. With deadlines that mostly increase
 * (now + msg_timeout), insertion is O(1) on average and FIN is O(1).
 */
export class MessageTable {
  private frames: (Buffer | null)[] = [];
  private offsets = new Int32Array(16);
  private chunks: (Chunk | null)[] = [];
  private clientIds = new Int32Array(16);
  private times = new Float64Array(16);
  private starts = new Float64Array(16);
  /** Backend token of each message (durable queues), or -1. */
  private tokens = new Float64Array(16);
  private gens = new Int32Array(16);
  /** Each slot's id hash and bucket, so removal needs no hashing or probing. */
  private hashes = new Int32Array(16);
  /** Each slot's id as four big-endian words. */
  private ids = new Int32Array(64);
  private bucketOf = new Int32Array(16);
  private free = new Int32Array(16);
  private freeLen = 0;
  private slotCount = 0;
  private buckets = new Int32Array(64);
  private live = 0;
  private heapSlot = new Int32Array(64);
  private heapGen = new Int32Array(64);
  private heapTime = new Float64Array(64);
  private heapLen = 0;

  /** Number of messages held. */
  get size(): number {
    return this.live;
  }

  frame(slot: number): Buffer {
    return this.frames[slot]!;
  }

  offset(slot: number): number {
    return this.offsets[slot]!;
  }

  chunk(slot: number): Chunk | null {
    return this.chunks[slot]!;
  }

  clientId(slot: number): number {
    return this.clientIds[slot]!;
  }

  time(slot: number): number {
    return this.times[slot]!;
  }

  start(slot: number): number {
    return this.starts[slot]!;
  }

  /** The backend token stored with a slot (-1: none). */
  token(slot: number): number {
    return this.tokens[slot]!;
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
      if (this.hashes[slot] === h && this.sameId(slot)) return slot;
      i = (i + 1) & mask;
    }
  }

  /** Whether `slot` holds the loaded id. */
  private sameId(slot: number): boolean {
    const ids = this.ids;
    const w = slot * 4;
    return ids[w] === W0 && ids[w + 1] === W1 && ids[w + 2] === W2 && ids[w + 3] === W3;
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
      if (this.hashes[b - 1] === h && this.sameId(b - 1)) return -1;
      i = (i + 1) & mask;
    }
    const slot = this.freeLen > 0 ? this.free[--this.freeLen]! : this.newSlot();
    this.buckets[i] = slot + 1;
    this.bucketOf[slot] = i;
    this.hashes[slot] = h;
    const ids = this.ids;
    const w = slot * 4;
    ids[w] = W0;
    ids[w + 1] = W1;
    ids[w + 2] = W2;
    ids[w + 3] = W3;
    this.frames[slot] = frame;
    this.offsets[slot] = offset;
    this.chunks[slot] = chunk;
    this.clientIds[slot] = clientId;
    this.times[slot] = time;
    this.starts[slot] = start;
    this.tokens[slot] = token;
    this.live++;
    this.heapPush(slot, this.gens[slot]!, time);
    return slot;
  }

  /** Remove a slot; read its frame, offset and chunk first. */
  remove(slot: number): void {
    const buckets = this.buckets;
    const mask = buckets.length - 1;
    // Backward-shift deletion: pull later entries of the probe run into the gap.
    let gap = this.bucketOf[slot]!;
    let j = (gap + 1) & mask;
    for (;;) {
      const b = buckets[j]!;
      if (b === 0) break;
      const home = this.hashes[b - 1]! & mask;
      // Move b into the gap unless its home lies cyclically in (gap, j].
      const inRange = gap <= j ? home > gap && home <= j : home > gap || home <= j;
      if (!inRange) {
        buckets[gap] = b;
        this.bucketOf[b - 1] = gap;
        gap = j;
      }
      j = (j + 1) & mask;
    }
    buckets[gap] = 0;
    this.frames[slot] = null;
    this.chunks[slot] = null;
    this.gens[slot] = (this.gens[slot]! + 1) | 0;
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
    this.gens[slot] = (this.gens[slot]! + 1) | 0;
    this.times[slot] = time;
    this.heapPush(slot, this.gens[slot]!, time);
  }

  /**
   * The slot with the earliest time if it is ≤ now, else -1. The slot stays held but leaves the
   * time order: the caller removes or reschedules it.
   */
  due(now: number): number {
    while (this.heapLen > 0) {
      const slot = this.heapSlot[0]!;
      if (this.heapGen[0] !== this.gens[slot]) {
        this.heapPop();
        continue;
      }
      if (this.heapTime[0]! > now) return -1;
      this.heapPop();
      return slot;
    }
    return -1;
  }

  /** Every held slot, in no particular order (a snapshot). */
  slots(): number[] {
    const out: number[] = [];
    const mask = this.buckets.length;
    for (let i = 0; i < mask; i++) {
      const b = this.buckets[i]!;
      if (b !== 0) out.push(b - 1);
    }
    return out;
  }

  /** Forget every message (callers release chunks first if they hold any). */
  clear(): void {
    this.frames = [];
    this.chunks = [];
    this.offsets = new Int32Array(16);
    this.clientIds = new Int32Array(16);
    this.times = new Float64Array(16);
    this.starts = new Float64Array(16);
    this.tokens = new Float64Array(16);
    this.gens = new Int32Array(16);
    this.hashes = new Int32Array(16);
    this.ids = new Int32Array(64);
    this.bucketOf = new Int32Array(16);
    this.free = new Int32Array(16);
    this.freeLen = 0;
    this.slotCount = 0;
    this.buckets = new Int32Array(64);
    this.live = 0;
    this.heapLen = 0;
  }

  private newSlot(): number {
    const slot = this.slotCount++;
    if (slot >= this.offsets.length) {
      const n = this.offsets.length * 2;
      const g32 = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const b = new Int32Array(n);
        b.set(a);
        return b;
      };
      const g64 = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
        const b = new Float64Array(n);
        b.set(a);
        return b;
      };
      this.offsets = g32(this.offsets);
      this.hashes = g32(this.hashes);
      this.bucketOf = g32(this.bucketOf);
      this.clientIds = g32(this.clientIds);
      this.gens = g32(this.gens);
      this.times = g64(this.times);
      this.starts = g64(this.starts);
      this.tokens = g64(this.tokens);
      const ids = new Int32Array(n * 4);
      ids.set(this.ids);
      this.ids = ids;
    }
    this.frames.push(null);
    this.chunks.push(null);
    return slot;
  }

  private resize(size: number): void {
    const buckets = new Int32Array(size);
    const mask = size - 1;
    const old = this.buckets;
    for (let k = 0; k < old.length; k++) {
      const b = old[k]!;
      if (b === 0) continue;
      let i = this.hashes[b - 1]! & mask;
      while (buckets[i] !== 0) i = (i + 1) & mask;
      buckets[i] = b;
      this.bucketOf[b - 1] = i;
    }
    this.buckets = buckets;
  }

  private heapPush(slot: number, gen: number, time: number): void {
    if (this.heapLen > 1024 && this.heapLen > 3 * this.live) this.compact();
    if (this.heapLen === this.heapSlot.length) {
      const n = this.heapLen * 2;
      const s = new Int32Array(n);
      s.set(this.heapSlot);
      const g = new Int32Array(n);
      g.set(this.heapGen);
      const t = new Float64Array(n);
      t.set(this.heapTime);
      this.heapSlot = s;
      this.heapGen = g;
      this.heapTime = t;
    }
    const hs = this.heapSlot;
    const hg = this.heapGen;
    const ht = this.heapTime;
    let pos = this.heapLen++;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      if (ht[parent]! <= time) break;
      hs[pos] = hs[parent]!;
      hg[pos] = hg[parent]!;
      ht[pos] = ht[parent]!;
      pos = parent;
    }
    hs[pos] = slot;
    hg[pos] = gen;
    ht[pos] = time;
  }

  private heapPop(): void {
    const n = --this.heapLen;
    if (n === 0) return;
    this.siftDown(0, this.heapSlot[n]!, this.heapGen[n]!, this.heapTime[n]!, n);
  }

  /** Place the entry (slot, gen, time) at `pos` or below, in a heap of `n` entries. */
  private siftDown(pos: number, slot: number, gen: number, time: number, n: number): void {
    const hs = this.heapSlot;
    const hg = this.heapGen;
    const ht = this.heapTime;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      if (child + 1 < n && ht[child + 1]! < ht[child]!) child++;
      if (ht[child]! >= time) break;
      hs[pos] = hs[child]!;
      hg[pos] = hg[child]!;
      ht[pos] = ht[child]!;
      pos = child;
    }
    hs[pos] = slot;
    hg[pos] = gen;
    ht[pos] = time;
  }

  /**
   * Drop stale heap entries in place (each live slot has exactly one entry of its current
   * generation), then restore heap order bottom-up: linear in the heap, no allocation.
   */
  private compact(): void {
    const hs = this.heapSlot;
    const hg = this.heapGen;
    const ht = this.heapTime;
    const gens = this.gens;
    const len = this.heapLen;
    let n = 0;
    for (let i = 0; i < len; i++) {
      const slot = hs[i]!;
      const gen = hg[i]!;
      if (gen !== gens[slot]) continue;
      hs[n] = slot;
      hg[n] = gen;
      ht[n] = ht[i]!;
      n++;
    }
    this.heapLen = n;
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i, hs[i]!, hg[i]!, ht[i]!, n);
  }
}
