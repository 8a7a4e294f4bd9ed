import { writeHex32 } from '../protocol/message.js';

/** NSQ's id epoch in units of 2^20 ns (Twitter snowflake's 1288834974288). */
const TWEPOCH = 1288834974288;
const SEQUENCE_MASK = 0xfff;
const TWO_POW_20 = 1048576;

/**
 * Message id generator, one per topic, with NSQ's layout: 64-bit
 * ((ts - twepoch) << 22) | (nodeId << 12) | sequence, ts = unixNano >> 20, written as 16
 * lowercase hex bytes. Where Go sleeps 1 ms when 4096 ids were taken in one tick or the clock
 * went backwards, this generator moves to the next tick itself, so ids stay unique and
 * increasing without blocking.
 */
export class GuidFactory {
  private readonly nodeBits: number;
  private lastTs = -1;
  private sequence = 0;

  constructor(nodeId: number) {
    this.nodeBits = (nodeId & 0x3ff) << 12;
  }

  /** Write the next id as 16 ASCII hex bytes at out[off]. `nowMs` is the wall clock in ms. */
  writeNext(out: Uint8Array, off: number, nowMs: number): void {
    let ts = Math.floor((nowMs * 1e6) / TWO_POW_20);
    if (ts <= this.lastTs) {
      ts = this.lastTs;
      this.sequence = (this.sequence + 1) & SEQUENCE_MASK;
      if (this.sequence === 0) ts = ++this.lastTs;
    } else {
      this.sequence = 0;
      this.lastTs = ts;
    }
    const d = ts - TWEPOCH;
    // High 32 bits: d >> 10; low 32 bits: (d & 0x3ff) << 22 | node << 12 | seq.
    const hi = Math.floor(d / 1024) >>> 0;
    const lo = ((((d % 1024) << 22) | this.nodeBits | this.sequence) >>> 0);
    writeHex32(out, off, hi);
    writeHex32(out, off + 8, lo);
  }
}

/** The 64-bit id NSQ derives from (unixNano, nodeId, sequence), as 16 hex chars; for tests. */
export function guidHex(unixNano: bigint, nodeId: number, sequence: number): string {
  const ts = unixNano >> 20n;
  const id = ((ts - BigInt(TWEPOCH)) << 22n) | (BigInt(nodeId) << 12n) | BigInt(sequence);
  return id.toString(16).padStart(16, '0');
}
