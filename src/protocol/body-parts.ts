const EMPTY = new Uint8Array(0);
const copyBytes = Buffer.prototype.copy;

/**
 * A message body held as byte ranges of the buffers it arrived in (socket reads), in order:
 * range i is bufs[i][from[i], to[i]). Holding a range costs three array slots, not a view
 * object (a Buffer view cost more than copying a few KiB); the bytes are copied once, by
 * whoever stores the body. Reused: clear() drops the buffers for the next body.
 */
export class BodyParts {
  readonly bufs: Uint8Array[] = [];
  readonly from: number[] = [];
  readonly to: number[] = [];
  /** Ranges held. */
  count = 0;
  /** Bytes held (the sum of the ranges). */
  length = 0;

  /** Append buf[from, to) (to > from). */
  add(buf: Uint8Array, from: number, to: number): void {
    const i = this.count++;
    this.bufs[i] = buf;
    this.from[i] = from;
    this.to[i] = to;
    this.length += to - from;
  }

  /** Copy the body into dest from `at`; returns the offset after it. Throws a RangeError when dest is too short. */
  copyTo(dest: Uint8Array, at: number): number {
    if (dest.length - at < this.length) throw new RangeError(`body of ${this.length} bytes does not fit`);
    for (let i = 0; i < this.count; i++) at += copyBytes.call(this.bufs[i]!, dest, at, this.from[i]!, this.to[i]!);
    return at;
  }

  /** The body as one new Buffer (for cold paths). */
  join(): Buffer {
    const out = Buffer.allocUnsafe(this.length);
    this.copyTo(out, 0);
    return out;
  }

  /** Forget the ranges and the buffers they keep alive. */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.bufs[i] = EMPTY;
    this.count = 0;
    this.length = 0;
  }
}
