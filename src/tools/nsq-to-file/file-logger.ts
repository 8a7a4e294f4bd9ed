// One topic of nsq_to_file (apps/nsq_to_file/file_logger.go in NSQ v1.3.0): a consumer whose
// messages are appended, one per line, to a file named by --filename-format. Messages are not
// finished on arrival: they stay in flight until the file is synced (fsync; with gzip, the current
// gzip member is closed first, so a file is a series of gzip members), which happens on the
// --sync-interval tick, when max-in-flight messages are pending, when the consumer is starved, on
// rotation, on SIGHUP and on shutdown. A sync while running is an fsync on the thread pool, so
// one topic's sync does not hold up the others' messages (NSQ syncs each topic in its own
// goroutine); one that closes a file, and those at shutdown, are done at once. Files rotate on a
// new <DATETIME>, after --rotate-interval and past --rotate-size bytes (uncompressed); with
// --work-dir they are moved, never overwriting, to --output-dir when closed. Any I/O failure is
// fatal, as in NSQ.

import { closeSync, fsync, fsyncSync, linkSync, mkdirSync, openSync, existsSync, fstatSync, unlinkSync, writeSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Consumer, type ClientOptions, type Message } from '../../client/index.js';
import { formatDuration } from '../../internal/duration.js';
import type { Logger } from '../../internal/log.js';
import { errorText, withGoNsqLogger } from '../common.js';
import type { NsqToFileOptions } from './options.js';
import { goTimeFormat, strftimeToGoLayout } from './strftime.js';

/**
 * Non-gzip output is written once per event-loop turn (so, as with nsq_to_file's unbuffered
 * file writes, a line is in the file, if not yet fsynced, as soon as its message is handled; a
 * `tail -f` sees it), or sooner past this many bytes; and at every sync.
 */
const WRITE_BATCH_BYTES = 1 << 20;

/**
 * The fsync a background sync runs (node:fs's): a test replaces it to hold a sync open and
 * order what happens meanwhile (test/integration/nsq-to-file-sync.test.ts).
 */
export const backgroundSync: { fsync: (fd: number, cb: (err: NodeJS.ErrnoException | null) => void) => void } = { fsync };

/**
 * The per-topic file name template (computeFilenameFormat): <TOPIC>, <HOST> and <PID> replaced,
 * <REV> kept when gzip, rotation or a work dir needs it (an error if missing) and dropped
 * otherwise, `.gz` appended for gzip; <DATETIME> is filled in at each rotation check.
 */
export function computeFilenameFormat(o: NsqToFileOptions, topic: string, host = osHostname()): string {
  const shortHost = host.split('.')[0] ?? host;
  const identifier = o.hostIdentifier === '' ? shortHost : o.hostIdentifier.replaceAll('<SHORT_HOST>', shortHost).replaceAll('<HOSTNAME>', host);
  let cff = o.filenameFormat;
  if (o.gzip || o.rotateSize > 0 || o.rotateInterval > 0 || o.workDir !== o.outputDir) {
    if (!cff.includes('<REV>')) throw new Error('missing <REV> in --filename-format when gzip, rotation, or work dir enabled');
  } else {
    cff = cff.replaceAll('<REV>', '');
  }
  cff = cff.replaceAll('<TOPIC>', topic).replaceAll('<HOST>', identifier).replaceAll('<PID>', String(process.pid));
  if (o.gzip && !cff.endsWith('.gz')) cff += '.gz';
  return cff;
}

function revText(rev: number): string {
  return `-${String(rev).padStart(6, '0')}`;
}

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function makeDirFor(path: string): void {
  const dir = dirname(path);
  if (dir !== '' && dir !== '.') mkdirSync(dir, { recursive: true, mode: 0o770 });
}

/** A move that never overwrites: hard link then unlink (fails with EEXIST, or EXDEV across filesystems). */
function exclusiveRename(src: string, dst: string): void {
  linkSync(src, dst);
  unlinkSync(src);
}

/** One topic's consumer and output file. */
export class FileLogger {
  /** The topic logged. */
  readonly topic: string;
  private readonly o: NsqToFileOptions;
  private readonly log: Logger;
  private readonly consumer: Consumer;
  private readonly filenameFormat: string;
  /** The Go layout of --datetime-format, or null when the name has no <DATETIME>. */
  private readonly datetimeLayout: string | null;
  /** The last computed file name and the ms timestamp it was computed for (names change at most every ms). */
  private nameCache = '';
  private nameCacheMs = -1;
  private fd: number | null = null;
  private outPath = '';
  private filename = '';
  private openTime = 0;
  private filesize = 0;
  private rev = 0;
  private chunks: Buffer[] = [];
  private chunkBytes = 0;
  private writeQueued = false;
  private pending: Message[] = [];
  /**
   * The messages of the fsync running on the libuv thread pool (null when none runs), so that
   * one topic's sync does not hold up the others (nsq_to_file syncs each topic in a goroutine of
   * its own). They are finished when it completes, or at once if the file is closed first: close
   * syncs it again, synchronously.
   */
  private syncing: Message[] | null = null;
  /** Whether the messages that came during that fsync are to be synced once it completes. */
  private syncAgain = false;
  private closing = false;
  private ticker: NodeJS.Timeout | null = null;
  private finished!: () => void;
  /** Resolves once the consumer stopped and the last file was synced, closed (and moved). */
  readonly done: Promise<void>;

  private constructor(log: Logger, o: NsqToFileOptions, topic: string, cfg: ClientOptions) {
    this.log = log;
    this.o = o;
    this.topic = topic;
    this.filenameFormat = computeFilenameFormat(o, topic);
    this.datetimeLayout = this.filenameFormat.includes('<DATETIME>') ? strftimeToGoLayout(o.datetimeFormat) : null;
    this.consumer = new Consumer(topic, o.channel, withGoNsqLogger(cfg));
    this.consumer.on('message', (m) => this.onMessage(m));
    this.done = new Promise((resolve) => (this.finished = resolve));
  }

  /** Build the logger and connect its consumer; rejects (with the consumer closed) on a bad name format, option or address. */
  static async create(log: Logger, o: NsqToFileOptions, topic: string, cfg: ClientOptions): Promise<FileLogger> {
    const f = new FileLogger(log, o, topic, cfg);
    try {
      await f.consumer.connectToNsqds(o.nsqdTcpAddrs);
      await f.consumer.connectToNsqLookupds(o.lookupdHttpAddrs);
    } catch (err) {
      await f.consumer.close(0);
      throw err;
    }
    f.ticker = setInterval(() => f.onTick(), o.syncInterval);
    return f;
  }

  private tag(): string {
    return `[${this.topic}/${this.o.channel}]`;
  }

  private die(what: string, err: unknown): never {
    this.log.fatal(`${this.tag()} ${what}: ${errorText(err)}`);
    process.exit(1);
  }

  private onMessage(m: Message): void {
    m.disableAutoResponse();
    let sync = false;
    if (this.needsRotation()) {
      this.updateFile();
      sync = true;
    }
    // One copy holding the line and its newline: the body is a view into the receive buffer.
    const body = m.body;
    const line = Buffer.allocUnsafe(body.length + 1);
    body.copy(line);
    line[body.length] = 0x0a;
    this.write(line);
    this.pending.push(m);
    if (this.pending.length >= this.o.maxInFlight) sync = true;
    this.settle(sync, false);
  }

  private onTick(): void {
    let closeFile = false;
    if (this.needsRotation()) {
      if (this.o.skipEmptyFiles) closeFile = true;
      else this.updateFile();
    }
    this.settle(true, closeFile);
  }

  /** SIGHUP: sync, and close the file (the next message opens one). */
  hup(): void {
    this.settle(true, true);
  }

  /** SIGINT/SIGTERM: stop the consumer (finishing what is pending), then sync, close and move the file. */
  term(): Promise<void> {
    if (!this.closing) {
      this.closing = true;
      if (this.ticker !== null) clearInterval(this.ticker);
      this.settle(true, false);
      void this.consumer.close().then(() => {
        this.settle(true, true);
        this.finished();
      });
    }
    return this.done;
  }

  /**
   * The end of one router step: sync and finish pending messages when asked to (or starved, or
   * stopping); then maybe close. A sync while running goes to the thread pool (syncInBackground);
   * one that closes the file, and every one while stopping, is done before this returns.
   */
  private settle(sync: boolean, closeFile: boolean): void {
    if ((sync || this.closing || this.consumer.isStarved()) && this.pending.length > 0) {
      if (!closeFile && !this.closing && this.fd !== null) this.syncInBackground();
      else {
        this.log.info(`${this.tag()} syncing ${this.pending.length} records to disk`);
        try {
          this.sync();
        } catch (err) {
          this.die('failed syncing messages', err);
        }
        this.finishSynced();
        this.syncAgain = false;
        const done = this.pending;
        this.pending = [];
        for (const m of done) m.finish();
      }
    }
    if (closeFile) this.close();
  }

  /** Write what is pending and fsync it on the thread pool; its messages are finished once that is done. */
  private syncInBackground(): void {
    if (this.syncing !== null) {
      this.syncAgain = true;
      return;
    }
    const fd = this.fd!;
    this.log.info(`${this.tag()} syncing ${this.pending.length} records to disk`);
    try {
      this.flushChunks();
    } catch (err) {
      this.die('failed syncing messages', err);
    }
    const batch = this.pending;
    this.pending = [];
    this.syncing = batch;
    backgroundSync.fsync(fd, (err) => {
      // The file was closed meanwhile: close synced it, and finished these.
      if (this.syncing !== batch) return;
      if (err !== null) this.die('failed syncing messages', err);
      this.finishSynced();
      if (this.syncAgain) {
        this.syncAgain = false;
        if (this.pending.length > 0) this.settle(true, false);
      }
    });
  }

  /** The messages of the background fsync are durable (it completed, or the file was synced since): finish them. */
  private finishSynced(): void {
    const batch = this.syncing;
    if (batch === null) return;
    this.syncing = null;
    for (const m of batch) m.finish();
  }

  private write(b: Buffer): void {
    this.chunks.push(b);
    this.chunkBytes += b.length;
    this.filesize += b.length;
    if (this.o.gzip) return;
    if (this.chunkBytes >= WRITE_BATCH_BYTES) this.writeNow();
    else if (!this.writeQueued) {
      this.writeQueued = true;
      setImmediate(this.writeNow);
    }
  }

  private readonly writeNow = (): void => {
    this.writeQueued = false;
    try {
      this.flushChunks();
    } catch (err) {
      this.die('writing message to disk', err);
    }
  };

  /** Write what is buffered: raw bytes, or (gzip) the current member, closed. */
  private flushChunks(): void {
    if (this.fd === null) return;
    let data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.chunkBytes);
    if (this.o.gzip) data = gzipSync(data, { level: this.o.gzipLevel });
    this.chunks = [];
    this.chunkBytes = 0;
    for (let off = 0; off < data.length; ) off += writeSync(this.fd, data, off, data.length - off);
  }

  private sync(): void {
    if (this.fd === null) return;
    this.flushChunks();
    fsyncSync(this.fd);
  }

  /** The file name for now (checked for every message, so computed at most once per ms). */
  private currentFilename(): string {
    if (this.datetimeLayout === null) return this.filenameFormat;
    const now = Date.now();
    if (now !== this.nameCacheMs) {
      this.nameCacheMs = now;
      this.nameCache = this.filenameFormat.replaceAll('<DATETIME>', goTimeFormat(this.datetimeLayout, new Date(now)));
    }
    return this.nameCache;
  }

  private needsRotation(): boolean {
    if (this.fd === null) return true;
    const name = this.currentFilename();
    if (name !== this.filename) {
      this.log.info(`${this.tag()} new filename ${name}, rotating...`);
      return true;
    }
    if (this.o.rotateInterval > 0) {
      const since = Date.now() - this.openTime;
      if (since > this.o.rotateInterval) {
        this.log.info(`${this.tag()} ${formatDuration(since)} since last open, rotating...`);
        return true;
      }
    }
    if (this.o.rotateSize > 0 && this.filesize > this.o.rotateSize) {
      this.log.info(`${this.tag()} ${this.outPath} currently ${this.filesize} bytes (> ${this.o.rotateSize}), rotating...`);
      return true;
    }
    return false;
  }

  /** Close the current file, then open the next one (the next free revision). */
  private updateFile(): void {
    this.close(); // uses the current filename and revision to resolve a move conflict
    const name = this.currentFilename();
    this.rev = name !== this.filename ? 0 : this.rev + 1;
    this.filename = name;
    this.openTime = Date.now();
    const fullPath = join(this.o.workDir, name);
    try {
      makeDirFor(fullPath);
    } catch (err) {
      this.die('unable to create dir', err);
    }
    const exclusive = this.o.gzip || this.o.rotateInterval > 0;
    for (; ; this.rev++) {
      const abs = fullPath.replaceAll('<REV>', revText(this.rev));
      if (this.o.workDir !== this.o.outputDir) {
        // Check the output dir first so that the move at close normally succeeds.
        const outName = join(this.o.outputDir, abs.startsWith(this.o.workDir) ? abs.slice(this.o.workDir.length) : abs);
        try {
          makeDirFor(outName);
        } catch (err) {
          this.die('unable to create dir', err);
        }
        if (existsSync(outName)) {
          this.log.warn(`${this.tag()} output file already exists: ${outName}`);
          continue;
        }
      }
      let fd: number;
      try {
        fd = openSync(abs, exclusive ? 'wx' : 'a', 0o666);
      } catch (err) {
        if (errCode(err) === 'EEXIST') {
          this.log.warn(`${this.tag()} working file already exists: ${abs}`);
          continue;
        }
        this.die(`unable to open ${abs}`, err);
      }
      this.log.info(`${this.tag()} opening ${abs}`);
      this.filesize = fstatSync(fd).size;
      if (this.o.rotateSize > 0 && this.filesize > this.o.rotateSize) {
        this.log.info(`${this.tag()} ${abs} currently ${this.filesize} bytes (> ${this.o.rotateSize}), rotating...`);
        closeSync(fd);
        continue;
      }
      this.fd = fd;
      this.outPath = abs;
      break;
    }
  }

  /** Finish (gzip), fsync and close the file, then move it to the output dir when a work dir is used. */
  private close(): void {
    const fd = this.fd;
    if (fd === null) return;
    try {
      // A gzip file always ends with a member, an empty one if nothing came since the last sync.
      if (this.o.gzip || this.chunkBytes > 0) this.flushChunks();
      fsyncSync(fd);
      closeSync(fd);
    } catch (err) {
      this.die('failed to close output file', err);
    }
    // What a background fsync was syncing is synced now.
    this.finishSynced();
    this.fd = null;
    if (this.o.workDir === this.o.outputDir) return;
    const src = this.outPath;
    const dst = join(this.o.outputDir, src.startsWith(this.o.workDir) ? src.slice(this.o.workDir.length) : src);
    this.log.info(`${this.tag()} moving finished file ${src} to ${dst}`);
    try {
      exclusiveRename(src, dst);
      return;
    } catch (err) {
      if (errCode(err) !== 'EEXIST') this.die(`unable to move file from ${src} to ${dst}`, err);
    }
    // Taken: bump the revision until a free destination name turns up.
    const dstTmpl = join(dirname(dst), basename(this.filename));
    for (let i = this.rev + 1; ; i++) {
      this.log.warn(`${this.tag()} destination file already exists: ${dst}`);
      const next = dstTmpl.replaceAll('<REV>', revText(i));
      try {
        exclusiveRename(src, next);
      } catch (err) {
        if (errCode(err) === 'EEXIST') continue;
        this.die(`unable to rename file from ${src} to ${next}`, err);
      }
      this.log.info(`${this.tag()} renamed finished file ${src} to ${next} to avoid overwrite`);
      return;
    }
  }
}
