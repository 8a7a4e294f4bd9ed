/**
 * Where a topic or channel keeps messages past its memory queue, shaped like NSQ's
 * BackendQueue (Put, ReadChan, Close, Delete, Depth, Empty). Payloads are message payloads:
 * the 26-byte header then the body.
 */
export interface BackendQueue {
  /** Append one payload; an Error means it was not stored (the publisher gets E_PUB_FAILED). */
  put(payload: Uint8Array): Error | null;
  /** Take the next payload if one can be had without waiting; null otherwise. */
  read(): Buffer | null;
  /** Set by the owner: called when read() may return data after it returned null. */
  onReadable: (() => void) | null;
  /** Messages stored and not yet read. */
  depth(): number;
  /** Drop every stored message. */
  empty(): Error | null;
  /** Stop and remove all storage (topic or channel deletion). */
  delete(): Promise<void>;
  /** Stop, keeping what is stored (clean shutdown). */
  close(): Promise<void>;
}

/**
 * Unbounded in-memory overflow: what non-ephemeral topics and channels use until the disk queue
 * exists, so nothing accepted is dropped. Stores payload Buffers in fixed-size blocks.
 */
export class MemoryOverflowQueue implements BackendQueue {
  onReadable: (() => void) | null = null;
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

  depth(): number {
    return this.count;
  }

  empty(): Error | null {
    this.blocks = [];
    this.readIndex = 0;
    this.count = 0;
    return null;
  }

  async delete(): Promise<void> {
    this.empty();
  }

  async close(): Promise<void> {
    // Memory only: nothing to persist.
  }
}

/** NSQ's dummy backend for ephemeral topics and channels: accepts and forgets. */
export class DummyBackendQueue implements BackendQueue {
  onReadable: (() => void) | null = null;
  put(_payload: Uint8Array): Error | null {
    return null;
  }
  read(): Buffer | null {
    return null;
  }
  depth(): number {
    return 0;
  }
  empty(): Error | null {
    return null;
  }
  async delete(): Promise<void> {}
  async close(): Promise<void> {}
}
