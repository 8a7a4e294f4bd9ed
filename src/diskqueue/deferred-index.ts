import { readFileSync, unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../nsqd/metadata.js';
import type { IoExecutor } from '../native/backend.js';
import { SegmentWriter } from './segment-writer.js';

const ENTRY = 25;
const SET = 0x44; // 'D'
const CLEAR = 0x58; // 'X'

/**
 * Due times of deferred messages stored in a disk queue, kept beside it in
 * `<name>.diskqueue.deferred.dat` (a file Go nsqd does not know and ignores, so the directory
 * stays interchangeable): an append-only log of 25-byte entries, [kind 'D' or 'X'][16-byte
 * message id][int64 BE due time, unix ms]. Loaded and compacted when the queue opens; appends go
 * through a SegmentWriter (fsynced when the queue is durable).
 */
export class DeferredIndex {
  private readonly file: string;
  private readonly due = new Map<string, number>();
  private readonly writer: SegmentWriter;
  private readonly durable: boolean;

  constructor(file: string, io: IoExecutor, durable: boolean) {
    this.file = file;
    this.durable = durable;
    let data: Buffer | null = null;
    try {
      data = readFileSync(file);
    } catch {
      // No deferred messages yet.
    }
    let entries = 0;
    if (data !== null) {
      for (let p = 0; p + ENTRY <= data.length; p += ENTRY) {
        const id = data.toString('latin1', p + 1, p + 17);
        if (data[p] === SET) this.due.set(id, Number(data.readBigInt64BE(p + 17)));
        else if (data[p] === CLEAR) this.due.delete(id);
        entries++;
      }
    }
    // Compact on open: rewrite only the live entries.
    if (entries > this.due.size) {
      if (this.due.size === 0) {
        try {
          unlinkSync(file);
        } catch {
          // Gone already.
        }
      } else {
        writeFileAtomic(file, this.encodeAll());
      }
    }
    const size = this.due.size * ENTRY;
    this.writer = new SegmentWriter({ fileName: () => file, maxBytesPerFile: Number.MAX_SAFE_INTEGER, fileNum: 0, writePos: size, io });
  }

  /** Number of deferred messages known. */
  get size(): number {
    return this.due.size;
  }

  /** The due time (unix ms) of a message id (16 bytes at buf[off]), or undefined. */
  get(buf: Uint8Array, off: number): number | undefined {
    if (this.due.size === 0) return undefined;
    return this.due.get(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', off, off + 16));
  }

  /** Record a deferred message's due time; `done` when stored (fsynced if durable). */
  set(id: Uint8Array, idOff: number, dueMs: number, done?: (err: Error | null) => void): void {
    const key = Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1', idOff, idOff + 16);
    this.due.set(key, dueMs);
    this.append(SET, key, dueMs, done);
  }

  /** Forget a message's due time (delivered or finished). */
  clear(buf: Uint8Array, off: number): void {
    if (this.due.size === 0) return;
    const key = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', off, off + 16);
    if (!this.due.delete(key)) return;
    this.append(CLEAR, key, 0);
  }

  private append(kind: number, key: string, dueMs: number, done?: (err: Error | null) => void): void {
    const e = Buffer.allocUnsafe(ENTRY);
    e[0] = kind;
    e.write(key, 1, 16, 'latin1');
    e.writeBigInt64BE(BigInt(Math.round(dueMs)), 17);
    // The writer takes length-prefixed records; one record of 21 bytes is exactly one entry.
    this.writer.appendRaw(e, this.durable, done ?? noop);
  }

  private encodeAll(): Buffer {
    const out = Buffer.allocUnsafe(this.due.size * ENTRY);
    let p = 0;
    for (const [id, due] of this.due) {
      out[p] = SET;
      out.write(id, p + 1, 16, 'latin1');
      out.writeBigInt64BE(BigInt(Math.round(due)), p + 17);
      p += ENTRY;
    }
    return out;
  }

  /** Forget everything and remove the file (the index stays usable). */
  async empty(): Promise<void> {
    this.due.clear();
    await new Promise<void>((resolve) => this.writer.sync(() => resolve()));
    try {
      unlinkSync(this.file);
    } catch {
      // Gone already.
    }
    this.writer.skipTo(0);
  }

  /** Wait for pending appends and close. */
  close(): Promise<void> {
    return this.writer.close();
  }
}

function noop(): void {}
