import { closeSync, existsSync, constants as fsc, ftruncateSync, openSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { constants as osConstants } from 'node:os';
import type { IoExecutor, WriteBatch } from '../native/backend.js';

/** Where and how a SegmentWriter writes. */
export interface SegmentWriterOptions {
  /** Path of segment file number n. */
  fileName: (n: number) => string;
  /** Roll to the next file before a record would make the current one exceed this (nsqd's --max-bytes-per-file). */
  maxBytesPerFile: number;
  /** Segment and offset the next record goes to (resuming a queue). */
  fileNum: number;
  writePos: number;
  /** Runs the write batches: the C++ addon's worker or the TypeScript twin. */
  io: IoExecutor;
}

/** Process-wide counters of segment I/O (logged by nsqd at shutdown, read by benchmarks). */
export const ioCounters = { batches: 0, syncs: 0, bytes: 0 };

/** Bytes in the int32 length prefix of a record. */
export const RECORD_LENGTH_BYTES = 4;

const SYNC = 1;
const FULL_SYNC = 2;

interface Waiter {
  done: (err: Error | null) => void;
  /** Index of the last op this waiter depends on. */
  lastOp: number;
  /** Segment and offset just past this waiter's bytes (where writing resumes if it is the last one kept). */
  endFileNum: number;
  endPos: number;
  /** Whether it needs an fdatasync covering its bytes. */
  durable: boolean;
}

class PendingBatch {
  fds: number[] = [];
  /** Segment number each op writes to. */
  fileNums: number[] = [];
  positions: number[] = [];
  offsets: number[] = [];
  lengths: number[] = [];
  flags: number[] = [];
  data: Buffer = Buffer.allocUnsafe(64 * 1024);
  used = 0;
  waiters: Waiter[] = [];
  /** Directory descriptors opened for this batch's fsyncs, closed when it is done. */
  dirFds: number[] = [];
  /** Where the writer stood before these ops (to roll back on failure). */
  startFileNum = 0;
  startWritePos = 0;

  get count(): number {
    return this.fds.length;
  }

  /**
   * Add a write of src[start, start + len) at `pos`; returns the op's index. Bytes that continue
   * the previous op in the same file extend it, so a batch of many small appends is one write
   * per file, not one per append.
   */
  add(fd: number, fileNum: number, pos: number, src: Uint8Array, start: number, len: number): number {
    const last = this.fds.length - 1;
    if (last >= 0 && this.fds[last] === fd && this.fileNums[last] === fileNum && this.positions[last]! + this.lengths[last]! === pos && this.offsets[last]! + this.lengths[last]! === this.used) {
      if (len > 0) this.copyIn(src, start, len);
      this.lengths[last]! += len;
      return last;
    }
    const offset = this.used;
    this.copyIn(src, start, len);
    this.fds.push(fd);
    this.fileNums.push(fileNum);
    this.positions.push(pos);
    this.offsets.push(offset);
    this.lengths.push(len);
    this.flags.push(0);
    return this.fds.length - 1;
  }

  private copyIn(src: Uint8Array, start: number, len: number): void {
    if (this.data.length - this.used < len) {
      const grown = Buffer.allocUnsafe(Math.max(this.used + len, this.data.length * 2));
      this.data.copy(grown, 0, 0, this.used);
      this.data = grown;
    }
    Buffer.prototype.copy.call(src, this.data, this.used, start, start + len);
    this.used += len;
  }

  toBatch(): WriteBatch {
    return {
      fds: Int32Array.from(this.fds),
      positions: Float64Array.from(this.positions),
      data: this.data,
      offsets: Int32Array.from(this.offsets),
      lengths: Int32Array.from(this.lengths),
      flags: Uint8Array.from(this.flags),
      count: this.fds.length,
    };
  }
}

function errnoError(code: number, what: string): Error & { code: string; errno: number } {
  const name = Object.entries(osConstants.errno).find(([, v]) => v === code)?.[0] ?? `errno ${code}`;
  return Object.assign(new Error(`${what}: ${name}`), { code: name, errno: -code });
}

/**
 * Appends length-prefixed records to numbered segment files, rolling to the next file before a
 * record would cross maxBytesPerFile (go-diskqueue's rule: never split a record, a lone record
 * may exceed the limit), with writes and fdatasync done off the main thread in batches. Group
 * commit: while one batch is on disk, every append and sync request waits in the next; that one
 * batch is then written with one fdatasync per file for all of them, and each append's callback
 * fires once its bytes are written (and, when durable, synced). A finished segment is synced
 * before the next is written, then closed. On an I/O error the failed appends and everything
 * queued behind them fail, the file is cut back, and the next append tries the same position
 * again, so the writer recovers when the disk does.
 */
export class SegmentWriter {
  /** Segment number the next record goes to. */
  fileNum: number;
  /** Offset in that segment where the next record goes. */
  writePos: number;
  /** Called after a segment was finished by a roll and synced: its number and final size. */
  onRoll: ((fileNum: number, size: number) => void) | null = null;
  private readonly opts: SegmentWriterOptions;
  private fd = -1;
  private fdFileNum = -1;
  private pending: PendingBatch | null = null;
  private inFlight = false;
  private scheduled = false;
  /** Files finished by a roll, to close once the batch that synced them is done. */
  private retired: { fd: number; fileNum: number; size: number }[] = [];
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  /**
   * A segment file was created since the directory was last synced: its directory entry is not
   * durable yet, so the next durable batch also fsyncs the directory (go-diskqueue never does;
   * without it a power loss can take a whole new segment with it).
   */
  private dirDirty = false;

  constructor(opts: SegmentWriterOptions) {
    this.opts = opts;
    this.fileNum = opts.fileNum;
    this.writePos = opts.writePos;
  }

  /** Whether no batch is queued or on disk. */
  get idle(): boolean {
    return !this.inFlight && this.pending === null;
  }

  /**
   * Append the records in records[start, end) ([int32 BE length][payload]...); `done` fires in
   * order once they are written, and fdatasync'ed when `durable`.
   */
  append(records: Uint8Array, start: number, end: number, durable: boolean, done: (err: Error | null) => void): void {
    if (this.closed) {
      queueMicrotask(() => done(new Error('segment writer closed')));
      return;
    }
    const batch = this.batch();
    let pos = start;
    let runStart = start;
    let lastOp = -1;
    while (pos < end) {
      const len = ((records[pos]! << 24) | (records[pos + 1]! << 16) | (records[pos + 2]! << 8) | records[pos + 3]!) >>> 0;
      const total = RECORD_LENGTH_BYTES + len;
      const at = this.writePos + (pos - runStart);
      if (at > 0 && at + total > this.opts.maxBytesPerFile) {
        if (pos > runStart) lastOp = this.addRun(batch, records, runStart, pos);
        this.roll(batch);
        runStart = pos;
      }
      pos += total;
    }
    if (pos > runStart) lastOp = this.addRun(batch, records, runStart, pos);
    if (lastOp < 0) lastOp = batch.count - 1;
    if (durable && lastOp >= 0) {
      batch.flags[lastOp] = batch.flags[lastOp]! | SYNC;
      lastOp = this.syncDirectory(batch, lastOp);
    }
    this.addWaiter(batch, done, lastOp, durable);
    this.schedule();
  }

  /**
   * Append bytes that are not length-prefixed records (a sidecar file's fixed entries), with no
   * roll; `done` as for append().
   */
  appendRaw(data: Uint8Array, durable: boolean, done: (err: Error | null) => void): void {
    if (this.closed) {
      queueMicrotask(() => done(new Error('segment writer closed')));
      return;
    }
    const batch = this.batch();
    let op = this.addRun(batch, data, 0, data.length);
    if (durable) {
      batch.flags[op] = batch.flags[op]! | SYNC;
      op = this.syncDirectory(batch, op);
    }
    this.addWaiter(batch, done, op, durable);
    this.schedule();
  }

  /** fdatasync everything appended so far; `done` fires when it is durable. */
  sync(done: (err: Error | null) => void): void {
    if (this.closed) {
      queueMicrotask(() => done(null));
      return;
    }
    const batch = this.batch();
    if (this.fd >= 0) {
      let op = batch.add(this.fd, this.fdFileNum, this.writePos, EMPTY, 0, 0);
      batch.flags[op] = SYNC;
      op = this.syncDirectory(batch, op);
      this.addWaiter(batch, done, op, true);
    } else {
      this.addWaiter(batch, done, batch.count - 1, false);
    }
    this.schedule();
  }

  /**
   * Abandon the current segment for writing: the next record goes to file `n` at offset 0
   * (go-diskqueue does this when the reader cannot read the write file, and on Empty).
   */
  skipTo(n: number): void {
    if (this.fd >= 0) {
      if (this.idle) closeSync(this.fd);
      else this.retired.push({ fd: this.fd, fileNum: this.fileNum, size: this.writePos });
      this.fd = -1;
    }
    this.fileNum = n;
    this.writePos = 0;
  }

  /** Wait for everything queued, sync, and close the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => this.sync(() => resolve()));
    this.closed = true;
    await new Promise<void>((resolve) => {
      if (this.idle) resolve();
      else this.idleWaiters.push(resolve);
    });
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    for (const r of this.retired) closeSync(r.fd);
    this.retired = [];
  }

  private batch(): PendingBatch {
    if (this.pending === null) {
      this.pending = new PendingBatch();
      this.pending.startFileNum = this.fileNum;
      this.pending.startWritePos = this.writePos;
    }
    return this.pending;
  }

  private currentFd(): number {
    if (this.fd < 0 || this.fdFileNum !== this.fileNum) {
      const name = this.opts.fileName(this.fileNum);
      this.dirDirty ||= !existsSync(name);
      this.fd = openSync(name, fsc.O_CREAT | fsc.O_WRONLY, 0o600);
      this.fdFileNum = this.fileNum;
    }
    return this.fd;
  }

  /** `done` settles with op `lastOp`; writing resumes at the current position if it is the last append kept. */
  private addWaiter(batch: PendingBatch, done: (err: Error | null) => void, lastOp: number, durable: boolean): void {
    batch.waiters.push({ done, lastOp, durable, endFileNum: this.fileNum, endPos: this.writePos });
  }

  /** After op `after`: an fsync of the segments' directory when a file was created; the last op. */
  private syncDirectory(batch: PendingBatch, after: number): number {
    if (!this.dirDirty) return after;
    this.dirDirty = false;
    let fd: number;
    try {
      fd = openSync(dirname(this.opts.fileName(this.fileNum)), fsc.O_RDONLY | fsc.O_DIRECTORY);
    } catch {
      this.dirDirty = true;
      return after;
    }
    const op = batch.add(fd, -1, 0, EMPTY, 0, 0);
    batch.flags[op] = FULL_SYNC;
    batch.dirFds.push(fd);
    return op;
  }

  private addRun(batch: PendingBatch, src: Uint8Array, from: number, to: number): number {
    const op = batch.add(this.currentFd(), this.fileNum, this.writePos, src, from, to - from);
    this.writePos += to - from;
    return op;
  }

  /** Finish the current segment (synced with this batch) and move to the next number. */
  private roll(batch: PendingBatch): void {
    if (this.fd >= 0) {
      const op = batch.add(this.fd, this.fdFileNum, this.writePos, EMPTY, 0, 0);
      batch.flags[op] = SYNC;
      this.retired.push({ fd: this.fd, fileNum: this.fileNum, size: this.writePos });
      this.fd = -1;
    }
    this.fileNum++;
    this.writePos = 0;
  }

  private schedule(): void {
    if (this.inFlight || this.scheduled) return;
    this.scheduled = true;
    // Appends made in this turn of the event loop join the same batch.
    queueMicrotask(() => {
      this.scheduled = false;
      this.submit();
    });
  }

  private submit(): void {
    const batch = this.pending;
    if (batch === null || this.inFlight) return;
    this.pending = null;
    this.inFlight = true;
    const retired = this.retired;
    this.retired = [];
    if (batch.count === 0) {
      this.complete(batch, 0, 0, retired);
      return;
    }
    const b = batch.toBatch();
    ioCounters.batches++;
    ioCounters.bytes += batch.used;
    const synced = new Set<number>();
    for (let i = 0; i < b.count; i++) if ((b.flags[i]! & SYNC) !== 0) synced.add(b.fds[i]!);
    ioCounters.syncs += synced.size;
    this.opts.io.execute(b, (errno, completed) => this.complete(batch, errno, completed, retired));
  }

  private complete(batch: PendingBatch, errno: number, completed: number, retired: { fd: number; fileNum: number; size: number }[]): void {
    this.inFlight = false;
    for (const fd of batch.dirFds) closeSync(fd);
    // A failed batch may not have synced the directory: do it again next time.
    if (errno !== 0 && batch.dirFds.length > 0) this.dirDirty = true;
    if (errno === 0) {
      for (const r of retired) {
        closeSync(r.fd);
        this.onRoll?.(r.fileNum, r.size);
      }
      for (const w of batch.waiters) w.done(null);
    } else {
      this.recover(batch, errno, completed, retired);
    }
    if (this.pending !== null) this.submit();
    else if (this.idleWaiters.length > 0) for (const f of this.idleWaiters.splice(0)) f();
  }

  /**
   * A batch failed at op `completed` (or, completed === count, in a sync). The appends whose
   * bytes were all written (and, durable ones, synced) before the failure, in order, succeed and
   * their bytes stay; every later append of this batch, and everything queued behind it, fails.
   * The writer rewinds to the end of the kept bytes: that segment is cut back there, segments
   * begun after it in this batch are removed, so the next append lands where the failed one did.
   */
  private recover(batch: PendingBatch, errno: number, completed: number, retired: { fd: number; fileNum: number; size: number }[]): void {
    const err = errnoError(errno, 'write failed');
    let keep: Waiter | null = null;
    let kept = 0;
    for (const w of batch.waiters) {
      // Nothing was synced: a sync comes after every write, and a failure stops the batch.
      if (w.lastOp >= completed || w.durable) break;
      keep = w;
      kept++;
    }
    const queued = this.pending;
    this.pending = null;
    batch.waiters.forEach((w, i) => w.done(i < kept ? null : err));
    if (queued !== null) for (const w of queued.waiters) w.done(err);
    // Bytes past the last kept append (a merged op may hold some of a failed one) are cut off.
    const file = keep !== null ? keep.endFileNum : batch.startFileNum;
    const pos = keep !== null ? keep.endPos : batch.startWritePos;
    // Keep only the descriptor of the segment writing resumes in.
    const open = [...retired, ...this.retired];
    if (this.fd >= 0) open.push({ fd: this.fd, fileNum: this.fdFileNum, size: this.writePos });
    this.retired = [];
    const keepFd = open.find((r) => r.fileNum === file)?.fd ?? -1;
    for (const r of open) if (r.fd !== keepFd) closeSync(r.fd);
    const last = Math.max(this.fileNum, ...open.map((r) => r.fileNum));
    for (let f = file + 1; f <= last; f++) {
      try {
        unlinkSync(this.opts.fileName(f));
      } catch {
        // Never created.
      }
    }
    this.fd = keepFd;
    this.fdFileNum = keepFd >= 0 ? file : -1;
    if (keepFd >= 0) {
      try {
        ftruncateSync(keepFd, pos);
      } catch {
        // The next write overwrites the tail anyway.
      }
    }
    this.fileNum = file;
    this.writePos = pos;
  }
}

const EMPTY = new Uint8Array(0);
