import { MSG_ID_OFFSET } from '../protocol/message.js';

const EMPTY = 0;
const TOMBSTONE = -1;

function hashId(b: Uint8Array, o: number): number {
  const w0 = (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
  const w1 = (b[o + 4]! << 24) | (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!;
  const w2 = (b[o + 8]! << 24) | (b[o + 9]! << 16) | (b[o + 10]! << 8) | b[o + 11]!;
  const w3 = (b[o + 12]! << 24) | (b[o + 13]! << 16) | (b[o + 14]! << 8) | b[o + 15]!;
  let h = w3 ^ Math.imul(w2, 0x9e3779b1) ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w0, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  return (h ^ (h >>> 15)) >>> 0;
}

function sameId(a: Uint8Array, ao: number, b: Uint8Array, bo: number): boolean {
  for (let i = 0; i < 16; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/**
 * Messages keyed by their 16-byte id with a min-heap on a time (NSQ's in-flight and deferred
 * priority queues in one structure): O(1) lookup by id without building strings, O(log n)
 * insert, remove and reschedule, and one heap over typed arrays instead of a timer per message.
 * A message is its payload Buffer (26-byte header + body).
 */
export class MessageTable {
  private msgs: (Buffer | null)[] = [];
  private clientIds = new Int32Array(16);
  private times = new Float64Array(16);
  private starts = new Float64Array(16);
  private heapPos = new Int32Array(16);
  private heap = new Int32Array(16);
  private heapLen = 0;
  private free = new Int32Array(16);
  private freeLen = 0;
  private slotCount = 0;
  private buckets = new Int32Array(32);
  private bucketsUsed = 0;
  private live = 0;

  /** Number of messages held. */
  get size(): number {
    return this.live;
  }

  /** Earliest time in the heap, or Infinity when empty. */
  peekTime(): number {
    return this.heapLen === 0 ? Infinity : this.times[this.heap[0]!]!;
  }

  /** Slot with the earliest time (table must be non-empty). */
  peekSlot(): number {
    return this.heap[0]!;
  }

  /** Payload of a slot. */
  message(slot: number): Buffer {
    return this.msgs[slot]!;
  }

  /** Client id stored with a slot. */
  clientId(slot: number): number {
    return this.clientIds[slot]!;
  }

  /** Time (deadline or due time) of a slot. */
  time(slot: number): number {
    return this.times[slot]!;
  }

  /** Start time stored with a slot (the delivery time for in-flight messages). */
  start(slot: number): number {
    return this.starts[slot]!;
  }

  /** Find the slot of the message whose id is the 16 bytes at buf[off]; -1 if absent. */
  find(buf: Uint8Array, off: number): number {
    const mask = this.buckets.length - 1;
    let i = hashId(buf, off) & mask;
    for (;;) {
      const b = this.buckets[i]!;
      if (b === EMPTY) return -1;
      if (b > 0) {
        const slot = b - 1;
        if (sameId(this.msgs[slot]!, MSG_ID_OFFSET, buf, off)) return slot;
      }
      i = (i + 1) & mask;
    }
  }

  /** Add a message; returns its slot, or -1 when a message with the same id is present. */
  add(msg: Buffer, clientId: number, time: number, start: number): number {
    if ((this.bucketsUsed + 1) * 2 > this.buckets.length) this.rehash();
    const mask = this.buckets.length - 1;
    let i = hashId(msg, MSG_ID_OFFSET) & mask;
    let insertAt = -1;
    for (;;) {
      const b = this.buckets[i]!;
      if (b === EMPTY) break;
      if (b === TOMBSTONE) {
        if (insertAt < 0) insertAt = i;
      } else if (sameId(this.msgs[b - 1]!, MSG_ID_OFFSET, msg, MSG_ID_OFFSET)) {
        return -1;
      }
      i = (i + 1) & mask;
    }
    if (insertAt < 0) {
      insertAt = i;
      this.bucketsUsed++;
    }
    const slot = this.allocSlot();
    this.buckets[insertAt] = slot + 1;
    this.msgs[slot] = msg;
    this.clientIds[slot] = clientId;
    this.times[slot] = time;
    this.starts[slot] = start;
    this.heapPush(slot);
    this.live++;
    return slot;
  }

  /** Remove a slot and return its message. */
  remove(slot: number): Buffer {
    const msg = this.msgs[slot]!;
    const mask = this.buckets.length - 1;
    let i = hashId(msg, MSG_ID_OFFSET) & mask;
    while (this.buckets[i] !== slot + 1) i = (i + 1) & mask;
    this.buckets[i] = TOMBSTONE;
    this.heapRemove(slot);
    this.msgs[slot] = null;
    this.releaseSlot(slot);
    this.live--;
    return msg;
  }

  /** Give a slot a new time (and keep its place in the heap right). */
  reschedule(slot: number, time: number): void {
    const old = this.times[slot]!;
    this.times[slot] = time;
    const pos = this.heapPos[slot]!;
    if (time < old) this.siftUp(pos);
    else this.siftDown(pos);
  }

  /** Remove every message, returning them in heap order of nothing in particular. */
  drain(): Buffer[] {
    const out: Buffer[] = [];
    for (let s = 0; s < this.slotCount; s++) {
      const m = this.msgs[s];
      if (m) out.push(m);
    }
    this.clear();
    return out;
  }

  /** Slots currently held, in no particular order (a snapshot). */
  slots(): number[] {
    const out: number[] = [];
    for (let s = 0; s < this.slotCount; s++) if (this.msgs[s]) out.push(s);
    return out;
  }

  /** Forget every message. */
  clear(): void {
    this.msgs = [];
    this.clientIds = new Int32Array(16);
    this.times = new Float64Array(16);
    this.starts = new Float64Array(16);
    this.heapPos = new Int32Array(16);
    this.heap = new Int32Array(16);
    this.heapLen = 0;
    this.free = new Int32Array(16);
    this.freeLen = 0;
    this.slotCount = 0;
    this.buckets = new Int32Array(32);
    this.bucketsUsed = 0;
    this.live = 0;
  }

  private allocSlot(): number {
    if (this.freeLen > 0) return this.free[--this.freeLen]!;
    const slot = this.slotCount++;
    if (slot >= this.clientIds.length) this.growSlots();
    return slot;
  }

  private releaseSlot(slot: number): void {
    if (this.freeLen === this.free.length) {
      const f = new Int32Array(this.free.length * 2);
      f.set(this.free);
      this.free = f;
    }
    this.free[this.freeLen++] = slot;
  }

  private growSlots(): void {
    const n = this.clientIds.length * 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.clientIds = grow(this.clientIds, (k) => new Int32Array(k));
    this.times = grow(this.times, (k) => new Float64Array(k));
    this.starts = grow(this.starts, (k) => new Float64Array(k));
    this.heapPos = grow(this.heapPos, (k) => new Int32Array(k));
    this.heap = grow(this.heap, (k) => new Int32Array(k));
  }

  private rehash(): void {
    const size = Math.max(32, this.live * 4 > this.buckets.length ? this.buckets.length * 2 : this.buckets.length);
    const buckets = new Int32Array(size);
    const mask = size - 1;
    for (let s = 0; s < this.slotCount; s++) {
      const m = this.msgs[s];
      if (!m) continue;
      let i = hashId(m, MSG_ID_OFFSET) & mask;
      while (buckets[i] !== EMPTY) i = (i + 1) & mask;
      buckets[i] = s + 1;
    }
    this.buckets = buckets;
    this.bucketsUsed = this.live;
  }

  private heapPush(slot: number): void {
    const pos = this.heapLen++;
    this.heap[pos] = slot;
    this.heapPos[slot] = pos;
    this.siftUp(pos);
  }

  private heapRemove(slot: number): void {
    const pos = this.heapPos[slot]!;
    const last = --this.heapLen;
    if (pos !== last) {
      const moved = this.heap[last]!;
      this.heap[pos] = moved;
      this.heapPos[moved] = pos;
      this.siftDown(pos);
      this.siftUp(this.heapPos[moved]!);
    }
    this.heapPos[slot] = -1;
  }

  private siftUp(pos: number): void {
    const heap = this.heap;
    const times = this.times;
    const slot = heap[pos]!;
    const t = times[slot]!;
    while (pos > 0) {
      const parent = (pos - 1) >> 1;
      const ps = heap[parent]!;
      if (times[ps]! <= t) break;
      heap[pos] = ps;
      this.heapPos[ps] = pos;
      pos = parent;
    }
    heap[pos] = slot;
    this.heapPos[slot] = pos;
  }

  private siftDown(pos: number): void {
    const heap = this.heap;
    const times = this.times;
    const n = this.heapLen;
    const slot = heap[pos]!;
    const t = times[slot]!;
    for (;;) {
      let child = 2 * pos + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && times[heap[right]!]! < times[heap[child]!]!) child = right;
      const cs = heap[child]!;
      if (times[cs]! >= t) break;
      heap[pos] = cs;
      this.heapPos[cs] = pos;
      pos = child;
    }
    heap[pos] = slot;
    this.heapPos[slot] = pos;
  }
}
