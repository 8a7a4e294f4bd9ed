import { statSync, unlink } from 'node:fs';
import { rename as renameAsync, unlink as unlinkAsync } from 'node:fs/promises';
import type { Logger } from '../internal/log.js';
import type { IoExecutor } from '../native/backend.js';
import type { BackendQueue } from '../nsqd/backend-queue.js';
import { DeferredIndex } from './deferred-index.js';
import { formatMetadata, metadataFileName, readMetadata, segmentFileName, type QueueMetadata } from './metadata.js';
import { SerialRewriter } from '../nsqd/metadata.js';
import { recoverQueue } from './recovery.js';
import { SegmentReader } from './segment-reader.js';
import { SegmentWriter } from './segment-writer.js';

/** How a DiskQueue stores, syncs and forgets. */
export interface DiskQueueOptions {
  /** Queue name: the topic, or `topic:channel`. */
  name: string;
  dataPath: string;
  /** --max-bytes-per-file */
  maxBytesPerFile: number;
  /** Smallest and largest record payload (nsqd: 26 and --max-msg-size + 26). */
  minMsgSize: number;
  maxMsgSize: number;
  /** --sync-every: puts and reads between syncs. */
  syncEvery: number;
  /** --sync-timeout in ms: longest time between syncs while there is activity. */
  syncTimeoutMs: number;
  io: IoExecutor;
  logger: Logger;
  /**
   * Durable: every write is fdatasync'ed before flushed() settles, and a message stays in the
   * queue (its segment kept, the persisted read position behind it) until it is acked.
   */
  durable: boolean;
  /**
   * A read message stays in the queue until acked, even when not durable (default: durable).
   * A topic's queue needs this: its reads are copied into channel queues whose writes finish
   * later, and the topic segment must not be deleted before they did (go-diskqueue gets the same
   * order from nsqd's blocking channel put).
   */
  ackReads?: boolean;
  /** Refuse puts once the queue holds this many bytes on disk (0: no limit). */
  maxBytes: number;
}

interface Batch {
  data: Buffer;
  len: number;
  count: number;
  promise: Promise<Error | null>;
  resolve: (e: Error | null) => void;
}

/**
 * A go-diskqueue v1.1.0 compatible queue: segment files `<name>.diskqueue.%06d.dat` of
 * `[int32 length][payload]` records rolled at --max-bytes-per-file, and the metadata file
 * `<name>.diskqueue.meta.dat` (`depth\nreadFileNum,readPos\nwriteFileNum,writePos\n`) written by
 * tmp + fsync + rename after each sync. Writes go through a SegmentWriter (batched, off the main
 * thread); reads through a SegmentReader (read-ahead off the main thread). Recovery follows go-diskqueue: a write
 * file longer than its metadata says is finished and writing moves to the next number (the
 * reader still gets its extra records); an unreadable segment is renamed `.bad` and skipped;
 * a reader that catches up with the writer resets a wrong depth. File numbers never reset.
 */
export class DiskQueue implements BackendQueue {
  onReadable: (() => void) | null = null;
  onWriteFailed: ((payloads: Buffer[], err: Error) => void) | null = null;
  lastToken = -1;
  /** Due time (unix ms) of the payload last returned by read() when it was stored deferred; 0 otherwise. */
  lastDue = 0;
  private readonly o: DiskQueueOptions;
  private readonly deferredIndex: DeferredIndex;
  private sidecarPending: Promise<Error | null> | null = null;
  private readonly writer: SegmentWriter;
  private readonly reader: SegmentReader;
  private readonly metaFile: string;
  private readonly ackReads: boolean;
  // Persisted read position: the oldest message not yet read (or, with ackReads, not yet acked).
  private readFileNum = 0;
  private readPos = 0;
  // Position up to which writes have completed.
  private writtenFileNum = 0;
  private writtenPos = 0;
  /** Messages written (or being written) and not read yet. */
  private unread = 0;
  /** ackReads: messages read and not acked yet. */
  private unacked = 0;
  private bytesHeld = 0;
  private readonly fileSizes = new Map<number, number>();
  // The batch being gathered in this turn, and the last one handed to the writer.
  private staging: Batch | null = null;
  private lastSubmitted: Promise<Error | null> | null = null;
  private inFlightBatches = 0;
  // ackReads: tokens of read messages in read order, with the position after each.
  private ackBase = 0;
  private ackFiles: number[] = [];
  private ackEnds: number[] = [];
  private acked: boolean[] = [];
  private ackHead = 0;
  // Sync policy.
  private count = 0;
  private syncTimer: NodeJS.Timeout | null = null;
  private syncing = false;
  private syncAgain = false;
  /** The `.bad` renames issued so far; close waits for them. */
  private renames: Promise<void> = Promise.resolve();
  /** Settles when the sync running (or last run) has persisted its metadata. */
  private syncDone: Promise<void> = Promise.resolve();
  /** Metadata writes, one after another, so an older snapshot never lands last. */
  private readonly metaWriter: SerialRewriter;
  private closed = false;
  /** Set by delete(): no metadata may be written any more. */
  private deleting = false;

  constructor(o: DiskQueueOptions) {
    this.o = o;
    this.ackReads = o.ackReads ?? o.durable;
    this.metaFile = metadataFileName(o.dataPath, o.name);
    this.metaWriter = new SerialRewriter(
      this.metaFile,
      // delete() removes the file: nothing may write it again.
      () => (this.deleting ? null : formatMetadata(this.metadata())),
      (e) => this.o.logger.error(`DISKQUEUE(${this.o.name}) failed to sync - ${e.message}`),
    );
    const m = readMetadata(this.metaFile);
    if (m instanceof Error) o.logger.error(`DISKQUEUE(${o.name}) failed to retrieveMetaData - ${m.message}`);
    const r = recoverQueue(o.dataPath, o.name, m instanceof Error ? null : m, o.logger, o.minMsgSize, o.maxMsgSize);
    const meta = r.meta;
    for (const [f, size] of r.fileSizes) this.fileSizes.set(f, size);
    this.readFileNum = meta.readFileNum;
    this.readPos = meta.readPos;
    this.reader = new SegmentReader(
      {
        fileName: (n) => this.fileName(n),
        readableEnd: (f) => this.readableEnd(f),
        writeFileNum: () => this.writtenFileNum,
        minMsgSize: o.minMsgSize,
        maxMsgSize: o.maxMsgSize,
        onRecords: () => this.onReadable?.(),
        onCaughtUp: () => this.checkTail(),
        onGone: (f) => this.segmentGone(f),
        onError: (f, why) => this.readError(f, why),
      },
      meta.readFileNum,
      meta.readPos,
    );
    this.writtenFileNum = meta.writeFileNum;
    this.writtenPos = meta.writePos;
    this.unread = Math.max(0, meta.depth);
    this.bytesHeld = r.bytesHeld;
    this.writer = new SegmentWriter({
      fileName: (n) => this.fileName(n),
      maxBytesPerFile: o.maxBytesPerFile,
      fileNum: meta.writeFileNum,
      writePos: meta.writePos,
      io: o.io,
    });
    this.writer.onRoll = (n, size) => this.fileSizes.set(n, size);
    if (r.changed) this.requestSync();
    this.deferredIndex = new DeferredIndex(`${this.metaFile.slice(0, -'meta.dat'.length)}deferred.dat`, o.io, o.durable);
    if (o.syncTimeoutMs > 0) {
      this.syncTimer = setInterval(() => {
        if (this.count > 0) this.requestSync();
      }, o.syncTimeoutMs);
      this.syncTimer.unref();
    }
  }

  private fileName(n: number): string {
    return segmentFileName(this.o.dataPath, this.o.name, n);
  }

  depth(): number {
    return this.unread;
  }

  diskBytes(): number {
    return this.bytesHeld;
  }

  /** The position reads are persisted at, and the depth persisted with it. */
  metadata(): QueueMetadata {
    return {
      depth: this.unread + this.unacked,
      readFileNum: this.readFileNum,
      readPos: this.readPos,
      writeFileNum: this.writtenFileNum,
      writePos: this.writtenPos,
    };
  }

  // --- writing ---

  put(payload: Uint8Array, overLimit = false): Error | null {
    if (this.closed) return new Error('exiting');
    const len = payload.length;
    if (len < this.o.minMsgSize || len > this.o.maxMsgSize) {
      return new Error(`invalid message write size (${len}) minMsgSize=${this.o.minMsgSize} maxMsgSize=${this.o.maxMsgSize}`);
    }
    if (!overLimit) {
      const full = this.room(4 + len);
      if (full !== null) return full;
    }
    let b = this.staging;
    if (b === null) b = this.newBatch();
    if (b.data.length - b.len < 4 + len) {
      const grown = Buffer.allocUnsafe(Math.max(b.data.length * 2, b.len + 4 + len));
      b.data.copy(grown, 0, 0, b.len);
      b.data = grown;
    }
    b.data.writeUInt32BE(len, b.len);
    b.data.set(payload, b.len + 4);
    b.len += 4 + len;
    b.count++;
    this.unread++;
    this.bytesHeld += 4 + len;
    return null;
  }

  /**
   * null when `bytes` more bytes of records (length prefixes included) fit under
   * --max-bytes-per-queue; otherwise the error a put would get. Bytes count from the put (written
   * or not) until their segment is deleted, so a fully consumed queue whose current file still
   * holds them first moves on to a fresh file.
   */
  room(bytes: number): Error | null {
    const max = this.o.maxBytes;
    if (max <= 0 || this.bytesHeld + bytes <= max) return null;
    if (this.reclaimDrained() && this.bytesHeld + bytes <= max) return null;
    return new Error(`disk queue ${this.o.name} full (${this.bytesHeld} of ${max} bytes)`);
  }

  /**
   * Everything written was consumed (read, and acked when durable) but the segment it sits in is
   * still the write file: finish it and continue reading and writing in the next file, which
   * deletes it (go-diskqueue's skipToNextRWFile, here to free space rather than after an error).
   */
  private reclaimDrained(): boolean {
    if (this.staging !== null || this.inFlightBatches > 0 || !this.writer.idle || this.reader.busy) return false;
    if (this.unread !== 0 || this.unacked !== 0 || this.reader.buffered > 0) return false;
    const f = this.writtenFileNum;
    if (this.writtenPos === 0 || this.readFileNum !== f || this.readPos !== this.writtenPos || this.writer.fileNum !== f) return false;
    this.fileSizes.set(f, this.writtenPos);
    this.writer.skipTo(f + 1);
    this.writtenFileNum = f + 1;
    this.writtenPos = 0;
    this.reader.seek(f + 1, 0);
    this.commit(f + 1, 0);
    return true;
  }

  private newBatch(): Batch {
    let resolve!: (e: Error | null) => void;
    const promise = new Promise<Error | null>((r) => (resolve = r));
    const b: Batch = { data: Buffer.allocUnsafe(64 * 1024), len: 0, count: 0, promise, resolve };
    this.staging = b;
    queueMicrotask(() => this.submit());
    return b;
  }

  /**
   * Store a payload that is deferred until `dueMs` (unix ms): the message goes into the queue
   * and its due time into the sidecar index, so the deferral survives a restart.
   */
  putDeferred(payload: Uint8Array, dueMs: number, overLimit = false): Error | null {
    const err = this.put(payload, overLimit);
    if (err !== null) return err;
    const p = new Promise<Error | null>((resolve) => this.deferredIndex.set(payload, 10, dueMs, resolve));
    const prev = this.sidecarPending;
    this.sidecarPending = prev === null ? p : Promise.all([prev, p]).then(([a, b]) => a ?? b);
    const mine = this.sidecarPending;
    mine.then(() => {
      if (this.sidecarPending === mine) this.sidecarPending = null;
    });
    return null;
  }

  /** Forget the stored due time of a message (it became deliverable). */
  clearDue(payload: Uint8Array): void {
    this.deferredIndex.clear(payload, 10);
  }

  /** Remember that a stored, unacked message is deferred until dueMs (a durable REQ with delay). */
  markDue(payload: Uint8Array, dueMs: number): void {
    this.deferredIndex.set(payload, 10, dueMs);
  }

  flushed(): Promise<Error | null> | null {
    const data = this.staging !== null ? this.staging.promise : this.inFlightBatches > 0 ? this.lastSubmitted : null;
    const side = this.sidecarPending;
    if (side === null) return data;
    if (data === null) return side;
    return Promise.all([data, side]).then(([a, b]) => a ?? b);
  }

  private submit(): void {
    const b = this.staging;
    if (b === null) return;
    this.staging = null;
    this.inFlightBatches++;
    this.lastSubmitted = b.promise;
    let endFile = 0;
    let endPos = 0;
    this.writer.append(b.data, 0, b.len, this.o.durable, (err) => this.written(b, err, endFile, endPos));
    // The writer's position after this batch, known now; it becomes readable when written.
    endFile = this.writer.fileNum;
    endPos = this.writer.writePos;
  }

  private written(b: Batch, err: Error | null, endFile: number, endPos: number): void {
    this.inFlightBatches--;
    if (err === null) {
      // go-diskqueue syncs (metadata too) whenever writing moves to a new segment, so a crash
      // never leaves metadata pointing into a finished file.
      if (endFile !== this.writtenFileNum) queueMicrotask(() => this.requestSync());
      this.writtenFileNum = endFile;
      this.writtenPos = endPos;
      queueMicrotask(() => this.onReadable?.());
      b.resolve(null);
      // Writes count toward --sync-every once done, so a sync covers them (go-diskqueue counts
      // a write after writeOne).
      this.count += b.count - 1;
      this.tick();
      return;
    }
    this.unread = Math.max(0, this.unread - b.count);
    this.bytesHeld = Math.max(0, this.bytesHeld - b.len);
    this.o.logger.error(`DISKQUEUE(${this.o.name}) failed to write - ${err.message}`);
    b.resolve(err);
    if (this.onWriteFailed !== null) {
      const payloads: Buffer[] = [];
      for (let p = 0; p < b.len; ) {
        const len = b.data.readUInt32BE(p);
        payloads.push(b.data.subarray(p + 4, p + 4 + len));
        p += 4 + len;
      }
      this.onWriteFailed(payloads, err);
    }
  }

  // --- sync policy ---

  private tick(): void {
    if (++this.count >= this.o.syncEvery) this.requestSync();
  }

  /** fdatasync the write file, then persist metadata (go-diskqueue's sync). */
  private requestSync(): void {
    this.count = 0;
    if (this.syncing) {
      this.syncAgain = true;
      return;
    }
    this.syncing = true;
    this.syncDone = new Promise((resolve) => {
      this.writer.sync(() => {
        this.persistMetadata().finally(() => {
          this.syncing = false;
          resolve();
          if (this.syncAgain && !this.closed) {
            this.syncAgain = false;
            this.requestSync();
          }
        });
      });
    });
  }

  /** Write the metadata as it is when the write starts, after any earlier write finished. */
  private persistMetadata(): Promise<void> {
    return this.metaWriter.request();
  }

  // --- reading ---

  read(): Buffer | null {
    const reader = this.reader;
    const payload = reader.next();
    if (payload === null) return null;
    this.unread--;
    this.lastDue = 0;
    if (this.deferredIndex.size > 0) {
      const due = this.deferredIndex.get(payload, 10);
      if (due !== undefined) {
        // Still in the future: the owner defers it. Durable queues keep the entry until the
        // message becomes deliverable (clearDue), so a restart defers it again.
        if (due > Date.now()) this.lastDue = due;
        if (due <= Date.now() || !this.o.durable) this.deferredIndex.clear(payload, 10);
      }
    }
    if (this.ackReads) {
      this.lastToken = this.ackBase + this.ackFiles.length;
      this.ackFiles.push(reader.lastFile);
      this.ackEnds.push(reader.lastEnd);
      this.acked.push(false);
      this.unacked++;
    } else {
      this.lastToken = -1;
      this.commit(reader.lastFile, reader.lastEnd);
    }
    this.tick();
    this.checkTail();
    reader.refill();
    return payload;
  }

  ack(token: number): void {
    if (token < 0) return;
    const i = token - this.ackBase;
    if (i < this.ackHead || i >= this.acked.length || this.acked[i]) return;
    this.acked[i] = true;
    this.unacked--;
    if (i !== this.ackHead) return;
    let h = this.ackHead;
    while (h < this.acked.length && this.acked[h]) h++;
    this.commit(this.ackFiles[h - 1]!, this.ackEnds[h - 1]!);
    this.ackHead = h;
    if (h > 1024 && h * 2 > this.acked.length) {
      this.ackFiles = this.ackFiles.slice(h);
      this.ackEnds = this.ackEnds.slice(h);
      this.acked = this.acked.slice(h);
      this.ackBase += h;
      this.ackHead = 0;
    }
  }

  /** Move the persisted read position; segments left behind are deleted (go-diskqueue's moveForward). */
  private commit(file: number, end: number): void {
    const old = this.readFileNum;
    this.readFileNum = file;
    this.readPos = end;
    if (file === old) return;
    for (let f = old; f < file; f++) this.removeSegment(f);
    this.requestSync();
  }

  private removeSegment(f: number): void {
    const size = this.fileSizes.get(f);
    if (size !== undefined) this.bytesHeld = Math.max(0, this.bytesHeld - size);
    this.fileSizes.delete(f);
    this.reader.release(f);
    unlink(this.fileName(f), (err) => {
      if (err !== null && err.code !== 'ENOENT') this.o.logger.error(`DISKQUEUE(${this.o.name}) failed to Remove(${this.fileName(f)}) - ${err.message}`);
    });
  }

  /** When everything is read, a depth that is not zero is wrong: reset it (go-diskqueue's checkTailCorruption). */
  private checkTail(): void {
    const r = this.reader;
    if (r.fileNum < this.writtenFileNum || r.pos < this.writtenPos) return;
    if (r.buffered > 0 || this.staging !== null || this.inFlightBatches > 0) return;
    if (this.unread !== 0) {
      this.o.logger.error(`DISKQUEUE(${this.o.name}) ${this.unread < 0 ? 'negative' : 'positive'} depth at tail (${this.unread}), ${this.unread < 0 ? 'metadata corruption' : 'data loss'}, resetting 0...`);
      this.unread = 0;
      this.requestSync();
    }
  }

  /** Where the readable data of a segment ends: its size when finished, the written position when current. */
  private readableEnd(f: number): number {
    if (f < this.writtenFileNum) {
      let size = this.fileSizes.get(f);
      if (size === undefined) {
        try {
          size = statSync(this.fileName(f)).size;
        } catch {
          size = 0;
        }
        this.fileSizes.set(f, size);
      }
      return size;
    }
    return f === this.writtenFileNum ? this.writtenPos : 0;
  }

  /** A finished segment was deleted before the metadata saying so was written (a crash): read on from the next. */
  private segmentGone(f: number): void {
    this.o.logger.warn(`DISKQUEUE(${this.o.name}) ${this.fileName(f)} is gone, reading on from the next file`);
    this.fileSizes.delete(f);
    if (this.readFileNum === f) {
      this.readFileNum = f + 1;
      this.readPos = 0;
    }
  }

  /**
   * A segment cannot be read on: go-diskqueue renames it `.bad` and goes on with the next file
   * (when it was the write file, writing moves on too). An ackReads queue keeps the file while
   * messages read from it are unacked, so a restart can still deliver them.
   */
  private readError(f: number, why: string): void {
    this.o.logger.error(`DISKQUEUE(${this.o.name}) reading at ${this.reader.pos} of ${this.fileName(f)} - ${why}`);
    if (f === this.writtenFileNum) {
      // Nothing more may be written to a file the reader cannot get through.
      this.writer.skipTo(f + 1);
      this.writtenFileNum = f + 1;
      this.writtenPos = 0;
    }
    const bad = this.fileName(f);
    const keep = this.ackReads && this.unacked > 0 && this.ackFiles.slice(this.ackHead).some((x) => x <= f);
    if (!keep) {
      this.o.logger.warn(`DISKQUEUE(${this.o.name}) jump to next file and saving bad file as ${bad}.bad`);
      const renamed = renameAsync(bad, `${bad}.bad`).catch((e: Error) => this.o.logger.error(`DISKQUEUE(${this.o.name}) failed to rename bad diskqueue file ${bad} to ${bad}.bad - ${e.message}`));
      this.renames = this.renames.then(() => renamed);
      this.fileSizes.delete(f);
    }
    this.reader.seek(f + 1, 0);
    if (this.readFileNum === f && !keep) {
      this.readFileNum = f + 1;
      this.readPos = 0;
    }
    this.requestSync();
    this.reader.fetch();
  }

  // --- lifecycle ---

  private async idle(): Promise<void> {
    for (;;) {
      const p = this.flushed();
      if (p === null) return;
      await p;
    }
  }

  /** Drop everything: delete segments, move to a fresh file number, remove the metadata (go-diskqueue's Empty). */
  empty(): Promise<Error | null> {
    if (this.closed) return Promise.resolve(new Error('exiting'));
    this.o.logger.info(`DISKQUEUE(${this.o.name}): emptying`);
    return this.removeAll();
  }

  /** Empty's work, without its log line (delete removes the files too, logging only 'deleting', as go-diskqueue). */
  private async removeAll(): Promise<Error | null> {
    await this.idle();
    let err: Error | null = null;
    const last = Math.max(this.writtenFileNum, this.writer.fileNum);
    for (let f = Math.min(this.readFileNum, this.reader.fileNum); f <= last; f++) {
      try {
        await unlinkAsync(this.fileName(f));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') err = e as Error;
      }
    }
    const next = last + 1;
    this.writer.skipTo(next);
    this.writtenFileNum = this.readFileNum = next;
    this.writtenPos = this.readPos = 0;
    this.reader.reset(next, 0);
    this.unread = 0;
    this.unacked = 0;
    this.ackBase += this.acked.length;
    this.ackFiles = [];
    this.ackEnds = [];
    this.acked = [];
    this.ackHead = 0;
    this.fileSizes.clear();
    this.bytesHeld = 0;
    this.count = 0;
    await this.deferredIndex.empty();
    // A sync begun before the empty would write the metadata again after it is removed.
    while (this.syncing) await this.syncDone;
    await this.metaWriter.idle();
    try {
      await unlinkAsync(this.metaFile);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') err = e as Error;
    }
    return err;
  }

  /** Stop and remove every file of the queue. */
  async delete(): Promise<void> {
    if (this.closed) return;
    this.deleting = true;
    this.o.logger.info(`DISKQUEUE(${this.o.name}): deleting`);
    await this.removeAll();
    await this.stop();
    try {
      await unlinkAsync(this.metaFile);
    } catch {
      // Already gone.
    }
  }

  /** Stop: finish writes, sync, persist metadata (go-diskqueue's Close). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.o.logger.info(`DISKQUEUE(${this.o.name}): closing`);
    await this.stop();
    await this.persistMetadata();
  }

  private async stop(): Promise<void> {
    await this.idle();
    await this.renames;
    this.closed = true;
    if (this.syncTimer !== null) clearInterval(this.syncTimer);
    this.syncTimer = null;
    await this.writer.close();
    await this.deferredIndex.close();
    this.reader.close();
  }
}
