/**
 * Where a topic or channel keeps messages past its memory queue, shaped like NSQ's
 * BackendQueue (Put, ReadChan, Close, Delete, Depth, Empty), with what durable publishes need on
 * top: a way to wait until puts are on disk, and acknowledgements so a durable queue only
 * forgets a message once it was finished. Payloads are message payloads: the 26-byte header
 * then the body.
 */
export interface BackendQueue {
  /**
   * Append one payload; an Error when it is refused at once (size, a full queue). `overLimit`
   * ignores --max-bytes-per-queue (messages already accepted, saved at shutdown or requeued).
   */
  put(payload: Uint8Array, overLimit?: boolean): Error | null;
  /** Append a payload deferred until dueMs (unix ms); the deferral survives a restart on disk. */
  putDeferred(payload: Uint8Array, dueMs: number, overLimit?: boolean): Error | null;
  /** null when records of `bytes` bytes (length prefixes included) would be accepted now; else why not. */
  room(bytes: number): Error | null;
  /** Due time (unix ms) of the payload last returned by read() if it is still deferred; else 0. */
  readonly lastDue: number;
  /** A deferred message became deliverable: forget its stored due time. */
  clearDue(payload: Uint8Array): void;
  /** A stored (unacked) message was deferred until dueMs (unix ms): remember it across a restart. */
  markDue(payload: Uint8Array, dueMs: number): void;
  /**
   * null when everything put so far is already stored; otherwise a promise that settles once
   * it is written (and fdatasync'ed for a durable queue), with the Error of a failed write.
   */
  flushed(): Promise<Error | null> | null;
  /** Take the next payload if one can be had without waiting; null otherwise. */
  read(): Buffer | null;
  /** Token of the payload last returned by read(), to ack() later; -1 when no ack is needed. */
  readonly lastToken: number;
  /** The message read with this token is finished: a durable queue may now forget it. */
  ack(token: number): void;
  /** Set by the owner: called when read() may return data after it returned null. */
  onReadable: (() => void) | null;
  /** Set by the owner: payloads (copies) whose write failed, so nothing accepted is dropped. */
  onWriteFailed: ((payloads: Buffer[], err: Error) => void) | null;
  /** Messages stored and not yet read. */
  depth(): number;
  /** Bytes of segment files held on disk (0 for memory queues). */
  diskBytes(): number;
  /** Drop every stored message. */
  empty(): Promise<Error | null>;
  /** Stop and remove all storage (topic or channel deletion). */
  delete(): Promise<void>;
  /** Stop, keeping what is stored (clean shutdown). */
  close(): Promise<void>;
}

/**
 * Unbounded in-memory overflow, for embedding without a data path: nothing accepted is
 * dropped, nothing survives a restart.
 */
export class MemoryOverflowQueue implements BackendQueue {
  onReadable: (() => void) | null = null;
  onWriteFailed: ((payloads: Buffer[], err: Error) => void) | null = null;
  readonly lastToken = -1;
  readonly lastDue = 0;
  private blocks: Buffer[][] = [];
  private readIndex = 0;
  private count = 0;
  private static readonly BLOCK = 1024;

  put(payload: Uint8Array): Error | null {
    let last = this.blocks[this.blocks.length - 1];
    if (!last || last.length === MemoryOverflowQueue.BLOCK) {
      last = [];
      this.blocks.push(last);
    }
    last.push(Buffer.from(payload));
    this.count++;
    return null;
  }

  putDeferred(payload: Uint8Array, _dueMs: number): Error | null {
    return this.put(payload);
  }

  clearDue(_payload: Uint8Array): void {}

  markDue(_payload: Uint8Array, _dueMs: number): void {}

  flushed(): null {
    return null;
  }

  room(_bytes: number): null {
    return null;
  }

  read(): Buffer | null {
    if (this.count === 0) return null;
    const block = this.blocks[0]!;
    const msg = block[this.readIndex]!;
    block[this.readIndex] = undefined as unknown as Buffer;
    this.readIndex++;
    this.count--;
    if (this.readIndex === MemoryOverflowQueue.BLOCK) {
      this.blocks.shift();
      this.readIndex = 0;
    }
    if (this.count === 0) {
      this.blocks = [];
      this.readIndex = 0;
    }
    return msg;
  }

  ack(_token: number): void {}

  depth(): number {
    return this.count;
  }

  diskBytes(): number {
    return 0;
  }

  async empty(): Promise<Error | null> {
    this.blocks = [];
    this.readIndex = 0;
    this.count = 0;
    return null;
  }

  async delete(): Promise<void> {
    await this.empty();
  }

  async close(): Promise<void> {
    // Memory only: nothing to persist.
  }
}

/** NSQ's dummy backend for ephemeral topics and channels: accepts and forgets. */
export class DummyBackendQueue implements BackendQueue {
  onReadable: (() => void) | null = null;
  onWriteFailed: ((payloads: Buffer[], err: Error) => void) | null = null;
  readonly lastToken = -1;
  readonly lastDue = 0;
  put(_payload: Uint8Array): Error | null {
    return null;
  }
  putDeferred(_payload: Uint8Array, _dueMs: number): Error | null {
    return null;
  }
  clearDue(_payload: Uint8Array): void {}
  markDue(_payload: Uint8Array, _dueMs: number): void {}
  flushed(): null {
    return null;
  }
  room(_bytes: number): null {
    return null;
  }
  read(): Buffer | null {
    return null;
  }
  ack(_token: number): void {}
  depth(): number {
    return 0;
  }
  diskBytes(): number {
    return 0;
  }
  async empty(): Promise<Error | null> {
    return null;
  }
  async delete(): Promise<void> {}
  async close(): Promise<void> {}
}
