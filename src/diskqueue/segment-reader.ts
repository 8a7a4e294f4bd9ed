import { closeSync, openSync, read as fsRead } from 'node:fs';

/** What a SegmentReader needs from the queue it reads for. */
export interface SegmentReaderHost {
  fileName(n: number): string;
  /** Where the readable bytes of segment `f` end: its size when finished, the written position when current. */
  readableEnd(f: number): number;
  /** The segment being written: segments before it are finished. */
  writeFileNum(): number;
  /** Smallest and largest valid record payload. */
  readonly minMsgSize: number;
  readonly maxMsgSize: number;
  /** Records were added to the read-ahead. */
  onRecords(): void;
  /** The reader reached the written end (nothing more to fetch now). */
  onCaughtUp(): void;
  /** A finished segment is gone (deleted before the metadata saying so was written); the reader moved past it. */
  onGone(f: number): void;
  /** Segment `f` cannot be read on (bad length, torn tail, I/O error); the host decides where to go on. */
  onError(f: number, why: string): void;
}

const READ_AHEAD_BYTES = 1 << 20;
const READ_AHEAD_RECORDS = 4096;

/**
 * The read side of a DiskQueue: from a cursor (segment, offset) it reads ahead a megabyte at a
 * time, one read in flight, off the main thread, and splits the bytes into `[int32 length]
 * [payload]` records kept as views of the read buffer. next() hands them out in order, with the
 * position just after each (the last record of a finished segment ends at the start of the next,
 * as in go-diskqueue). It never decides what a failure means: the host does (onError, onGone).
 */
export class SegmentReader {
  /** Segment and offset of the next byte to fetch. */
  fileNum = 0;
  pos = 0;
  /** Position just after the record last returned by next(). */
  lastFile = 0;
  lastEnd = 0;
  private readonly host: SegmentReaderHost;
  private payloads: Buffer[] = [];
  private files: number[] = [];
  private ends: number[] = [];
  private head = 0;
  private fetching = false;
  private fd = -1;
  private fdFileNum = -1;
  private closed = false;

  constructor(host: SegmentReaderHost, fileNum: number, pos: number) {
    this.host = host;
    this.fileNum = fileNum;
    this.pos = pos;
  }

  /** Records read ahead and not handed out yet. */
  get buffered(): number {
    return this.payloads.length - this.head;
  }

  /** Whether a read is out. */
  get busy(): boolean {
    return this.fetching;
  }

  /** The next read-ahead record (position in lastFile/lastEnd), or null (and a fetch started). */
  next(): Buffer | null {
    if (this.head >= this.payloads.length) {
      this.fetch();
      return null;
    }
    const i = this.head++;
    const payload = this.payloads[i]!;
    this.lastFile = this.files[i]!;
    this.lastEnd = this.ends[i]!;
    if (this.head === this.payloads.length) this.drop();
    return payload;
  }

  /** Fetch more when the read-ahead runs low. */
  refill(): void {
    if (this.buffered < READ_AHEAD_RECORDS / 4) this.fetch();
  }

  /** Fetch from (f, pos) next; records already read ahead are still handed out, a read in flight is ignored when it returns. */
  seek(f: number, pos: number): void {
    this.fileNum = f;
    this.pos = pos;
  }

  /** Start over at (f, pos) with nothing read ahead. */
  reset(f: number, pos: number): void {
    this.closeFd();
    this.drop();
    this.seek(f, pos);
  }

  /** Segment `f` is being deleted: stop holding it open. */
  release(f: number): void {
    if (this.fdFileNum === f) this.closeFd();
  }

  close(): void {
    this.closed = true;
    this.closeFd();
  }

  closeFd(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.fdFileNum = -1;
  }

  private drop(): void {
    this.payloads = [];
    this.files = [];
    this.ends = [];
    this.head = 0;
  }

  /** Read ahead from the cursor. */
  fetch(): void {
    if (this.fetching || this.closed) return;
    if (this.buffered >= READ_AHEAD_RECORDS) return;
    const host = this.host;
    for (;;) {
      const end = host.readableEnd(this.fileNum);
      if (this.pos < end) break;
      if (this.fileNum >= host.writeFileNum()) {
        host.onCaughtUp();
        return;
      }
      this.fileNum++;
      this.pos = 0;
    }
    const f = this.fileNum;
    const end = host.readableEnd(f);
    if (this.fdFileNum !== f) {
      this.closeFd();
      try {
        this.fd = openSync(host.fileName(f), 'r');
        this.fdFileNum = f;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && f < host.writeFileNum()) {
          this.fileNum = f + 1;
          this.pos = 0;
          host.onGone(f);
          this.fetch();
          return;
        }
        this.fail(f, `open: ${(err as Error).message}`);
        return;
      }
    }
    this.readAt(f, this.pos, Math.min(end - this.pos, READ_AHEAD_BYTES), end, true);
  }

  /** Read `len` bytes of segment f at `at` and parse them; `ahead`: a read-ahead (may come back short), not one exact record. */
  private readAt(f: number, at: number, len: number, end: number, ahead: boolean): void {
    const buf = Buffer.allocUnsafe(len);
    this.fetching = true;
    fsRead(this.fd, buf, 0, len, at, (err, n) => {
      this.fetching = false;
      if (this.closed || this.fileNum !== f || this.pos !== at) return;
      if (err !== null) {
        this.fail(f, err.message);
        return;
      }
      if (n === 0 || (!ahead && n < len)) {
        // The file ends before the position the metadata promised: data was lost.
        this.fail(f, ahead ? 'EOF' : 'unexpected EOF');
        return;
      }
      this.parse(buf.subarray(0, n), f, at, end, n < len);
    });
  }

  /** Split read bytes into records; `short`: the file ended before the expected end. */
  private parse(buf: Buffer, f: number, at: number, readEnd: number, short: boolean): void {
    const host = this.host;
    // Where the file's readable data ends now: the write file may have been finished (rolled)
    // and grown while the read was out, and records past readEnd must not be skipped.
    const end = Math.max(readEnd, host.readableEnd(f));
    const finished = f < host.writeFileNum();
    let p = 0;
    let added = 0;
    while (buf.length - p >= 4) {
      const len = buf.readInt32BE(p);
      if (len < host.minMsgSize || len > host.maxMsgSize) {
        this.failAfter(added, f, `invalid message read size (${len})`);
        return;
      }
      if (buf.length - p - 4 < len) {
        if (at + p + 4 + len > end) {
          // The record runs past what the file holds: a torn tail.
          this.failAfter(added, f, 'unexpected EOF');
          return;
        }
        break;
      }
      const recEnd = at + p + 4 + len;
      this.payloads.push(buf.subarray(p + 4, p + 4 + len));
      const last = finished && recEnd >= end;
      this.files.push(last ? f + 1 : f);
      this.ends.push(last ? 0 : recEnd);
      p += 4 + len;
      added++;
    }
    if (p === 0 && short) {
      // Not even one whole record before the file ends: data was lost or torn.
      this.fail(f, 'unexpected EOF');
      return;
    }
    if (p === 0 && buf.length >= 4) {
      // A record larger than the read-ahead: read exactly it next time.
      this.readAt(f, at, 4 + buf.readInt32BE(0), end, false);
      return;
    }
    this.pos = at + p;
    if (this.pos >= end && finished) {
      this.fileNum = f + 1;
      this.pos = 0;
    }
    if (added > 0) host.onRecords();
    else this.fetch();
  }

  /** Records parsed before a bad one are still delivered; then the segment fails. */
  private failAfter(added: number, f: number, why: string): void {
    if (added > 0) this.host.onRecords();
    this.fail(f, why);
  }

  private fail(f: number, why: string): void {
    this.closeFd();
    this.host.onError(f, why);
  }
}
