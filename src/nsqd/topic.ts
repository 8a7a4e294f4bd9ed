import { isEphemeral } from '../protocol/names.js';
import { MSG_HEADER_LENGTH, MSG_ID_OFFSET } from '../protocol/message.js';
import { RECORD_HEADER, RecordRing } from '../native/fallback/ring-buffer.js';
import type { BackendQueue } from './backend-queue.js';
import { Channel, frameOf } from './channel.js';
import type { NsqdContext } from './context.js';
import { GuidFactory } from './guid.js';

/** A message body to publish: bytes [start, start+len) of buf. */
export interface BodyRef {
  buf: Uint8Array;
  start: number;
  len: number;
}

/** Largest number of backlog messages fanned out per event-loop turn, so I/O keeps flowing. */
const PUMP_BUDGET = 16384;

/**
 * A topic: every message published to it is copied to each of its channels. While it has no
 * channel, or is paused, messages wait in its own memory queue and backend (the first channel
 * receives that backlog). Owns the message id generator.
 */
export class Topic {
  readonly name: string;
  readonly ephemeral: boolean;
  readonly memoryQueue: RecordRing;
  readonly backend: BackendQueue;
  readonly channels = new Map<string, Channel>();
  /** Channels in creation order, for fan-out. */
  channelList: Channel[] = [];
  /** Deferred (DPUB) messages waiting in the topic because it cannot fan out yet. */
  private deferredPending: { frame: Buffer; dueMs: number }[] = [];
  paused = false;
  exiting = false;
  /** Set once channel discovery is done (or metadata loaded); until then nothing fans out. */
  started = false;
  messageCount = 0;
  messageBytes = 0;
  private readonly guid: GuidFactory;
  private readonly ctx: NsqdContext;
  private readonly direct: boolean;
  /** --durable-publish: no memory queue; a publish is answered once it is on disk. */
  readonly durable: boolean;
  private scratch = Buffer.allocUnsafe(64 * 1024);
  private starts = new Int32Array(256);
  private lens = new Int32Array(256);
  private batchOffsets = new Int32Array(256);
  private batchLens = new Int32Array(256);
  private readToggle = 0;
  private pumpTimer: NodeJS.Immediate | null = null;
  private readonly onDeleteEphemeral: (t: Topic) => void;

  constructor(name: string, ctx: NsqdContext, onDeleteEphemeral: (t: Topic) => void) {
    this.name = name;
    this.ctx = ctx;
    this.ephemeral = isEphemeral(name);
    this.onDeleteEphemeral = onDeleteEphemeral;
    this.durable = ctx.opts.durablePublish && !this.ephemeral;
    this.memoryQueue = new RecordRing(this.durable ? 0 : ctx.opts.memQueueSize, ctx.backend.records);
    this.direct = this.ephemeral || (ctx.opts.memQueueSize > 0 && !this.durable);
    this.backend = ctx.createBackendQueue(name, this.ephemeral);
    this.backend.onReadable = () => this.schedulePump();
    this.guid = new GuidFactory(ctx.opts.nodeId);
  }

  /** Messages held by the topic itself: memory, deferred-in-topic and backend. */
  depth(): number {
    return this.memoryQueue.count + this.deferredPending.length + this.backend.depth();
  }

  private canFanOutNow(): boolean {
    return this.started && !this.paused && this.channelList.length > 0 &&
      this.memoryQueue.count === 0 && this.deferredPending.length === 0 && this.backend.depth() === 0;
  }

  /**
   * Publish messages (PUB, MPUB, DPUB, HTTP): each gets a header (timestamp, attempts 0, a new
   * id) in one staging buffer, then the batch is fanned out (one batch copy per channel) or
   * queued. All share one timestamp. On a backend error the messages before it stay queued, as
   * in nsqd. When some went to a disk queue the answer is a promise that settles once they are
   * written (fsynced, with --durable-publish), so the publisher's OK means stored.
   */
  putMessages(bodies: readonly BodyRef[], deferMs: number): Error | null | Promise<Error | null> {
    if (this.exiting) return new Error('exiting');
    const count = bodies.length;
    if (count === 0) return null;
    const nowMs = performance.timeOrigin + performance.now();
    const ns = Math.round(nowMs * 1e6);
    const tsHi = Math.floor(ns / 4294967296) >>> 0;
    const tsLo = (ns - Math.floor(ns / 4294967296) * 4294967296) >>> 0;
    let total = 0;
    for (let i = 0; i < count; i++) total += MSG_HEADER_LENGTH + bodies[i]!.len;
    if (this.scratch.length < total) this.scratch = Buffer.allocUnsafe(Math.max(total, this.scratch.length * 2));
    if (this.starts.length < count) {
      this.starts = new Int32Array(Math.max(count, this.starts.length * 2));
      this.lens = new Int32Array(this.starts.length);
    }
    const p = this.scratch;
    const starts = this.starts;
    const lens = this.lens;
    let pos = 0;
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const b = bodies[i]!;
      p[pos] = tsHi >>> 24;
      p[pos + 1] = (tsHi >>> 16) & 0xff;
      p[pos + 2] = (tsHi >>> 8) & 0xff;
      p[pos + 3] = tsHi & 0xff;
      p[pos + 4] = tsLo >>> 24;
      p[pos + 5] = (tsLo >>> 16) & 0xff;
      p[pos + 6] = (tsLo >>> 8) & 0xff;
      p[pos + 7] = tsLo & 0xff;
      p[pos + 8] = 0;
      p[pos + 9] = 0;
      this.guid.writeNext(p, pos + MSG_ID_OFFSET, nowMs);
      Buffer.prototype.copy.call(b.buf, p, pos + MSG_HEADER_LENGTH, b.start, b.start + b.len);
      starts[i] = pos;
      lens[i] = MSG_HEADER_LENGTH + b.len;
      pos += MSG_HEADER_LENGTH + b.len;
      bytes += b.len;
    }
    let waits: Promise<Error | null>[] | null = null;
    if (this.canFanOutNow()) {
      const err = this.fanOutBatch(p, starts, lens, count, deferMs);
      if (err !== null) return err;
      // Written to channel disk queues: answer once they are stored.
      for (const ch of this.channelList) {
        const w = ch.backend.flushed();
        if (w !== null) (waits ??= []).push(w);
      }
    } else {
      for (let i = 0; i < count; i++) {
        const err = this.enqueue(p, starts[i]!, lens[i]!, deferMs);
        if (err !== null) {
          this.countPublished(i, bodies);
          return err;
        }
      }
      const w = this.backend.flushed();
      if (w !== null) waits = [w];
    }
    this.messageCount += count;
    this.messageBytes += bytes;
    if (waits === null) return null;
    return Promise.all(waits).then((errs) => {
      const err = errs.find((e) => e !== null) ?? null;
      this.ctx.setHealth(err);
      return err;
    });
  }

  private countPublished(n: number, bodies: readonly BodyRef[]): void {
    this.messageCount += n;
    for (let i = 0; i < n; i++) this.messageBytes += bodies[i]!.len;
  }

  /**
   * Copy a batch of payloads to every channel (deferred ones each as its own frame). Returns the
   * first channel error: with --durable-publish a refused channel write refuses the publish.
   */
  private fanOutBatch(src: Buffer, starts: Int32Array, lens: Int32Array, count: number, deferMs: number): Error | null {
    const list = this.channelList;
    let first: Error | null = null;
    for (let c = 0; c < list.length; c++) {
      const ch = list[c]!;
      const err = deferMs > 0 ? ch.putDeferredBatch(src, starts, lens, count, deferMs) : ch.putBatch(src, starts, lens, count);
      if (err !== null) {
        this.ctx.logger.error(`TOPIC(${this.name}) ERROR: failed to put msg to channel(${ch.name}) - ${err.message}`);
        first ??= err;
      }
    }
    return this.durable ? first : null;
  }

  private enqueue(p: Buffer, start: number, len: number, deferMs: number): Error | null {
    const cap = this.ctx.opts.memQueueSize;
    if (this.direct && this.memoryQueue.count + this.deferredPending.length < cap) {
      if (deferMs > 0) {
        this.deferredPending.push({ frame: frameOf(p, start, len), dueMs: Date.now() + deferMs });
        return null;
      }
      if (this.memoryQueue.push(p, start, len)) return null;
    }
    // nsqd loses the deferral on disk; the queue's sidecar index keeps it.
    const payload = p.subarray(start, start + len);
    const err = deferMs > 0 ? this.backend.putDeferred(payload, Date.now() + deferMs) : this.backend.put(payload);
    this.ctx.setHealth(err);
    if (err !== null) {
      this.ctx.logger.error(`TOPIC(${this.name}) ERROR: failed to write message to backend - ${err.message}`);
    }
    return err;
  }

  /** Copy payload src[start, start+len) to every channel (deferred ones as their own frame). */
  private fanOut(src: Buffer, start: number, len: number, deferMs: number): void {
    const list = this.channelList;
    for (let i = 0; i < list.length; i++) {
      const ch = list[i]!;
      if (deferMs > 0) {
        ch.putDeferred(src, start, len, deferMs);
        continue;
      }
      const err = ch.put(src, start, len);
      if (err !== null) {
        this.ctx.logger.error(`TOPIC(${this.name}) ERROR: failed to put msg to channel(${ch.name}) - ${err.message}`);
      }
    }
  }

  /** Queue a backlog drain on the next turn. */
  schedulePump(): void {
    if (this.pumpTimer !== null || this.exiting) return;
    this.pumpTimer = setImmediate(() => {
      this.pumpTimer = null;
      this.pump();
    });
  }

  /** Fan the topic's backlog out to its channels, a budget per turn. */
  pump(): void {
    if (!this.started || this.paused || this.exiting || this.channelList.length === 0) return;
    const mem = this.memoryQueue;
    if (this.channelList.length === 1 && this.deferredPending.length === 0) {
      // One channel: hand it the whole memory backlog at once, chunks and all (nsqd passes
      // message pointers; copying each message here would double the memory for a while).
      this.channelList[0]!.adoptBacklog(mem);
    }
    for (let budget = PUMP_BUDGET; budget > 0; budget--) {
      if (this.deferredPending.length > 0) {
        const d = this.deferredPending.shift()!;
        this.fanOut(d.frame, RECORD_HEADER, d.frame.length - RECORD_HEADER, Math.max(1, d.dueMs - Date.now()));
        continue;
      }
      // Memory and backend alternate when both have messages.
      if (mem.count > 0 && ((this.readToggle ^= 1) === 1 || this.backend.depth() === 0)) {
        const offs = this.batchOffsets;
        const chunk = mem.shiftBatch(offs.length, offs, this.batchLens)!;
        const k = mem.batchCount;
        for (let i = 0; i < k; i++) offs[i] = offs[i]! + RECORD_HEADER;
        this.fanOutBatch(chunk.buf, offs, this.batchLens, k, 0);
        mem.release(chunk);
        budget -= k - 1;
        continue;
      }
      const payload = this.backend.read();
      if (payload === null) {
        // The disk queue calls onReadable when its read-ahead has more.
        if (mem.count === 0) return;
        continue;
      }
      const token = this.backend.lastToken;
      const due = this.backend.lastDue;
      this.fanOut(payload, 0, payload.length, due > 0 ? Math.max(1, due - Date.now()) : 0);
      if (token >= 0) this.ackWhenFannedOut(token);
    }
    this.schedulePump();
  }

  /** Durable: forget a topic message once every channel's copy is on disk. */
  private ackWhenFannedOut(token: number): void {
    const waits: Promise<Error | null>[] = [];
    for (const ch of this.channelList) {
      const w = ch.backend.flushed();
      if (w !== null) waits.push(w);
    }
    if (waits.length === 0) {
      this.backend.ack(token);
      return;
    }
    Promise.all(waits).then((errs) => {
      // A failed copy stays in that channel's memory; the topic copy stays on disk until restart.
      if (errs.every((e) => e === null)) this.backend.ack(token);
    });
  }

  /** Begin fanning out (after channel discovery or metadata load). */
  start(): void {
    this.started = true;
    this.schedulePump();
  }

  /** The channel, created (and announced) if missing. */
  getChannel(name: string): Channel {
    let ch = this.channels.get(name);
    if (ch !== undefined) return ch;
    ch = new Channel(this.name, name, this.ctx, (c) => void this.deleteExistingChannel(c.name));
    this.channels.set(name, ch);
    this.channelList = [...this.channelList, ch];
    this.ctx.logger.info(`TOPIC(${this.name}): new channel(${name})`);
    this.ctx.notify({ kind: 'channel-created', topic: this.name, channel: name, ephemeral: ch.ephemeral });
    this.schedulePump();
    return ch;
  }

  /** The channel if it exists. */
  getExistingChannel(name: string): Channel | undefined {
    return this.channels.get(name);
  }

  /** Delete a channel and its data; an ephemeral topic left without channels deletes itself. */
  async deleteExistingChannel(name: string): Promise<Error | null> {
    const ch = this.channels.get(name);
    if (ch === undefined) return new Error('channel does not exist');
    this.channels.delete(name);
    this.channelList = this.channelList.filter((c) => c !== ch);
    this.ctx.logger.info(`TOPIC(${this.name}): deleting channel ${name}`);
    await ch.exit(true);
    if (this.channels.size === 0 && this.ephemeral && !this.exiting) this.onDeleteEphemeral(this);
    return null;
  }

  /** Drop the topic's own queued messages (channels keep theirs). */
  empty(): Promise<Error | null> {
    this.memoryQueue.clear();
    this.deferredPending = [];
    return this.backend.empty();
  }

  /** Pause or resume fan-out. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.schedulePump();
  }

  /**
   * Stop the topic. Deleting removes every channel and all data; a clean shutdown closes each
   * channel (persisting its messages) and writes the topic's memory queue to its backend.
   */
  async exit(deleted: boolean): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    if (this.pumpTimer !== null) clearImmediate(this.pumpTimer);
    this.pumpTimer = null;
    const channels = this.channelList;
    if (deleted) {
      this.ctx.logger.info(`TOPIC(${this.name}): deleting`);
      this.ctx.notify({ kind: 'topic-deleted', topic: this.name, ephemeral: this.ephemeral });
      this.channels.clear();
      this.channelList = [];
      await Promise.all(channels.map((c) => c.exit(true)));
      await this.empty();
      await this.backend.delete();
      return;
    }
    await Promise.all(channels.map((c) => c.exit(false)));
    if (!this.ephemeral) {
      const mem = this.memoryQueue;
      let chunk;
      while ((chunk = mem.shift()) !== null) {
        this.writeBackend(chunk.buf.subarray(mem.offset + RECORD_HEADER, mem.offset + RECORD_HEADER + mem.length));
        mem.release(chunk);
      }
      for (const d of this.deferredPending) {
        const err = this.backend.putDeferred(d.frame.subarray(RECORD_HEADER), d.dueMs);
        if (err !== null) this.ctx.logger.error(`TOPIC(${this.name}): failed to write message to backend - ${err.message}`);
      }
      this.deferredPending = [];
    }
    await this.backend.close();
  }

  private writeBackend(m: Uint8Array): void {
    const err = this.backend.put(m);
    if (err !== null) this.ctx.logger.error(`TOPIC(${this.name}): failed to write message to backend - ${err.message}`);
  }
}
