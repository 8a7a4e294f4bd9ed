const INITIAL_BYTES = 64 * 1024;

/**
 * Bounded FIFO of message payloads stored as [int32 length][payload] records in one growable
 * byte ring, so a queued message costs its bytes plus 4, not a JS object. Bounded by a record
 * count (--mem-queue-size); the byte ring grows to fit and shrinks back when it empties.
 */
export class TsRingBuffer {
  private buf: Buffer;
  private head = 0;
  private tail = 0;
  /** Where the records before the wrap end (valid while wrapped). */
  private wrapEnd = 0;
  private wrapped = false;
  private n = 0;
  private payloadBytes = 0;
  /** Most records held at once. */
  readonly maxCount: number;

  constructor(maxCount: number) {
    this.maxCount = maxCount;
    this.buf = Buffer.allocUnsafe(maxCount > 0 ? INITIAL_BYTES : 0);
  }

  /** Records held. */
  get count(): number {
    return this.n;
  }

  /** Payload bytes held. */
  get bytes(): number {
    return this.payloadBytes;
  }

  /** Whether another record can be pushed. */
  get full(): boolean {
    return this.n >= this.maxCount;
  }

  /** Append src[start, start+len); false when the ring already holds maxCount records. */
  push(src: Uint8Array, start: number, len: number): boolean {
    if (this.n >= this.maxCount) return false;
    const need = 4 + len;
    let at = this.reserve(need);
    if (at < 0) {
      this.grow(need);
      at = this.reserve(need);
    }
    const buf = this.buf;
    buf[at] = len >>> 24;
    buf[at + 1] = (len >>> 16) & 0xff;
    buf[at + 2] = (len >>> 8) & 0xff;
    buf[at + 3] = len & 0xff;
    buf.set(src.subarray(start, start + len), at + 4);
    this.tail = at + need;
    this.n++;
    this.payloadBytes += len;
    return true;
  }

  /** Remove the oldest record and return its payload as a new Buffer; null when empty. */
  shift(): Buffer | null {
    if (this.n === 0) return null;
    if (this.wrapped && this.head === this.wrapEnd) {
      this.head = 0;
      this.wrapped = false;
    }
    const buf = this.buf;
    const at = this.head;
    const len = ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
    const out = Buffer.allocUnsafe(len);
    buf.copy(out, 0, at + 4, at + 4 + len);
    this.head = at + 4 + len;
    this.n--;
    this.payloadBytes -= len;
    if (this.n === 0) this.reset();
    return out;
  }

  /** Drop every record. */
  clear(): void {
    this.n = 0;
    this.payloadBytes = 0;
    this.reset();
  }

  private reset(): void {
    this.head = 0;
    this.tail = 0;
    this.wrapped = false;
    this.wrapEnd = 0;
    if (this.buf.length > 4 * INITIAL_BYTES) this.buf = Buffer.allocUnsafe(INITIAL_BYTES);
  }

  /** Offset where `need` bytes fit contiguously, or -1. */
  private reserve(need: number): number {
    const size = this.buf.length;
    if (!this.wrapped) {
      if (this.tail + need <= size) return this.tail;
      // Wrap to the front if the space before head is enough.
      if (need < this.head) {
        this.wrapEnd = this.tail;
        this.wrapped = true;
        return 0;
      }
      return -1;
    }
    if (this.tail + need < this.head) return this.tail;
    return -1;
  }

  private grow(need: number): void {
    const used = this.usedBytes();
    let size = Math.max(INITIAL_BYTES, this.buf.length * 2);
    while (size < used + need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    let w = 0;
    if (this.wrapped) {
      w += this.buf.copy(next, w, this.head, this.wrapEnd);
      w += this.buf.copy(next, w, 0, this.tail);
    } else {
      w += this.buf.copy(next, w, this.head, this.tail);
    }
    this.buf = next;
    this.head = 0;
    this.tail = w;
    this.wrapped = false;
    this.wrapEnd = 0;
  }

  private usedBytes(): number {
    return this.wrapped ? this.wrapEnd - this.head + this.tail : this.tail - this.head;
  }
}

