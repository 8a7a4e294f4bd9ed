/**
 * The client's read path: nsqd's frames `[size int32 BE][type int32 BE][data]` cut out of socket
 * chunks. A frame that lies wholly inside a chunk is handed over as offsets into that chunk (no
 * copy); only a frame split across chunks is assembled, into a buffer of exactly its size, so
 * the pending input is never re-concatenated and any split (one byte at a time included) works.
 */

/** Receives frames: `data` is `buf[start, end)` (the frame type excluded); valid only during the call. */
export interface FrameSink {
  /** One frame of `frameType` (0 response, 1 error, 2 message). */
  onFrame(frameType: number, buf: Buffer, start: number, end: number): void;
}

/** The frame size nsqd's HTTP port answers with (`HTTP` as an int32): a TCP client dialed the HTTP port. */
const HTTP_AS_SIZE = 0x48545450;

const STATE_SIZE = 0;
const STATE_BODY = 1;

/** A state machine over chunks: `push(chunk)` delivers every complete frame to the sink in order. */
export class FrameReader {
  private readonly sink: FrameSink;
  private readonly maxFrameSize: number;
  private state = STATE_SIZE;
  /** Bytes of a size field split across chunks. */
  private readonly sizeBytes = Buffer.alloc(4);
  private sizeHave = 0;
  /** The frame being assembled (type + data) and how much of it has arrived. */
  private body: Buffer | null = null;
  private bodyHave = 0;
  private paused = false;
  private failed: Error | null = null;

  /** A reader delivering to `sink`; frames larger than `maxFrameSize` bytes (0: no limit) are an error. */
  constructor(sink: FrameSink, maxFrameSize = 0) {
    this.sink = sink;
    this.maxFrameSize = maxFrameSize;
  }

  /** Stop after the frame being delivered (push returns how far it got); used around protocol upgrades. */
  pause(): void {
    this.paused = true;
  }

  /** Let push continue after a pause. */
  resume(): void {
    this.paused = false;
  }

  /** The error that stopped the reader for good, if any. */
  get error(): Error | null {
    return this.failed;
  }

  /**
   * Deliver the frames completed by `chunk`; returns the bytes consumed (less than its length only
   * when the sink paused the reader), or -1 when the stream is invalid (see `error`).
   */
  push(chunk: Buffer): number {
    if (this.failed !== null) return -1;
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      if (this.paused) return pos;
      if (this.state === STATE_BODY) {
        const body = this.body!;
        const take = Math.min(body.length - this.bodyHave, len - pos);
        chunk.copy(body, this.bodyHave, pos, pos + take);
        this.bodyHave += take;
        pos += take;
        if (this.bodyHave < body.length) return pos;
        this.body = null;
        this.state = STATE_SIZE;
        this.sink.onFrame(body.readInt32BE(0), body, 4, body.length);
        continue;
      }
      let size: number;
      if (this.sizeHave === 0 && len - pos >= 4) {
        size = chunk.readInt32BE(pos);
        pos += 4;
      } else {
        const take = Math.min(4 - this.sizeHave, len - pos);
        chunk.copy(this.sizeBytes, this.sizeHave, pos, pos + take);
        this.sizeHave += take;
        pos += take;
        if (this.sizeHave < 4) return pos;
        this.sizeHave = 0;
        size = this.sizeBytes.readInt32BE(0);
      }
      if (!this.validSize(size)) return -1;
      if (len - pos >= size) {
        // The whole frame is in this chunk: no copy.
        const start = pos;
        pos += size;
        this.sink.onFrame(chunk.readInt32BE(start), chunk, start + 4, pos);
        continue;
      }
      this.body = Buffer.allocUnsafe(size);
      this.bodyHave = 0;
      this.state = STATE_BODY;
    }
    return pos;
  }

  private validSize(size: number): boolean {
    if (size === HTTP_AS_SIZE) {
      this.failed = new Error('unexpected HTTP response, a nsqd TCP endpoint is required');
    } else if (size < 4) {
      this.failed = new Error(`invalid frame size ${size}`);
    } else if (this.maxFrameSize > 0 && size > this.maxFrameSize) {
      this.failed = new Error(`frame size ${size} exceeds the limit of ${this.maxFrameSize}`);
    }
    return this.failed === null;
  }
}
