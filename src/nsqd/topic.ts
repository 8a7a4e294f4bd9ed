import { isEphemeral } from '../protocol/names.js';
import { MSG_HEADER_LENGTH } from '../protocol/message.js';
import { idState } from '../native/backend.js';
import { RECORD_HEADER, RecordRing } from '../native/record-ring.js';
import type { BackendQueue } from './backend-queue.js';
import { Channel, frameOf } from './channel.js';
import type { NsqdContext } from './context.js';
import type { BodyParts } from '../protocol/body-parts.js';
import { joinPayload, pushBatchMessages, type MessageBatch } from './message-batch.js';

/** Largest number of backlog messages fanned out per event-loop turn, so I/O keeps flowing. */
const PUMP_BUDGET = 16384;

/** How soon a topic retries fanning out to a channel that had no room (--max-bytes-per-queue). */
const STALL_RETRY_MS = 50;

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
  /** DPUBs held in the topic (paused, no channel yet): their delay runs from fan-out, as nsqd's. */
  private deferredPending: { frame: Buffer; deferMs: number }[] = [];
  paused = false;
  exiting = false;
  /** Set once channel discovery is done (or metadata loaded); until then nothing fans out. */
  started = false;
  messageCount = 0;
  messageBytes = 0;
  /** The topic's message id generator (nsqd's guidFactory), advanced by FrameEncoder.writeHeaders. */
  private readonly ids: Float64Array;
  private readonly ctx: NsqdContext;
  private readonly direct: boolean;
  /** --durable-publish: no memory queue; a publish is answered once it is on disk. */
  readonly durable: boolean;
  /** 26-byte message headers of the batch being published. */
  private headers = Buffer.allocUnsafe(26 * 256);
  private batchOffsets = new Int32Array(256);
  private batchLens = new Int32Array(256);
  private readToggle = 0;
  private pumpTimer: NodeJS.Immediate | null = null;
  /**
   * With --max-bytes-per-queue: the next message to fan out while some channel has no room for
   * it (token: its unacked disk-queue token, or -1; dueMs: deferred until then, or 0).
   */
  private stalled: { payload: Buffer; token: number; dueMs: number } | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Disk-queue tokens fanned out in this pump turn, acked together once the copies are written. */
  private acksPending: number[] = [];
  private readonly onDeleteEphemeral: (t: Topic) => void;

  constructor(name: string, ctx: NsqdContext, onDeleteEphemeral: (t: Topic) => void) {
    this.name = name;
    this.ctx = ctx;
    this.ephemeral = isEphemeral(name);
    this.onDeleteEphemeral = onDeleteEphemeral;
    this.durable = ctx.opts.durablePublish && !this.ephemeral;
    this.memoryQueue = new RecordRing(this.durable ? 0 : ctx.opts.memQueueSize, ctx.backend.records);
    this.direct = this.ephemeral || (ctx.opts.memQueueSize > 0 && !this.durable);
    this.backend = ctx.createBackendQueue(name, this.ephemeral, 'topic');
    this.backend.onReadable = () => this.schedulePump();
    this.ids = idState(ctx.opts.nodeId);
  }

  /** Messages held by the topic itself: memory, deferred-in-topic and backend. */
  depth(): number {
    return this.memoryQueue.count + this.deferredPending.length + this.backend.depth() + (this.stalled === null ? 0 : 1);
  }

  /**
   * Whether a publish may go straight to the channels. Not with --mem-queue-size=0 or
   * --durable-publish: there every message passes through the topic's disk queue first, as in
   * nsqd (whose directory then shows it), and the pump moves it on.
   */
  private canFanOutNow(): boolean {
    return this.direct && this.started && !this.paused && this.channelList.length > 0 &&
      this.memoryQueue.count === 0 && this.deferredPending.length === 0 && this.backend.depth() === 0 && this.stalled === null;
  }

  /** With --max-bytes-per-queue: null when every channel can take the messages now, else why not. */
  private channelsRoom(count: number, bytes: number, deferred: boolean): Error | null {
    if (this.ctx.opts.maxBytesPerQueue <= 0) return null;
    for (const ch of this.channelList) {
      const full = ch.room(count, bytes, deferred);
      if (full !== null) return full;
    }
    return null;
  }

  /**
   * putMessages of the one body buf[start, start + len) (PUB, DPUB, HTTP /pub), through the
   * nsqd's one-message batch: putMessages copies the body before anything else can run.
   */
  putMessage(buf: Uint8Array, start: number, len: number, deferMs: number, parts: BodyParts | null = null): Error | null | Promise<Error | null> {
    const scratch = this.ctx.publishScratch;
    const stored = this.putMessages(scratch.single(buf, start, len, parts), deferMs);
    scratch.release();
    return stored;
  }

  /**
   * Publish messages (PUB, MPUB, DPUB, HTTP): each gets a 26-byte header (timestamp, attempts 0,
   * a new id), then header and body are copied together into each channel's memory queue (one
   * RecordCodec call per channel per batch), or queued in the topic. All share one timestamp.
   * On a backend error the messages before it stay queued, as in nsqd. When some went to a disk
   * queue the answer is a promise that settles once they are written (fsynced, with
   * --durable-publish), so the publisher's OK means stored.
   */
  putMessages(batch: MessageBatch, deferMs: number): Error | null | Promise<Error | null> {
    if (this.exiting) return new Error('exiting');
    const count = batch.count;
    if (count === 0) return null;
    if (this.headers.length < count * MSG_HEADER_LENGTH) this.headers = Buffer.allocUnsafe(Math.max(count * MSG_HEADER_LENGTH, this.headers.length * 2));
    const h = this.headers;
    if (this.ctx.backend.frameEncoder.writeHeaders(h, count, performance.timeOrigin + performance.now(), this.ids) !== count) {
      return new Error('cannot write message headers');
    }
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += batch.lens[i]!;
    let waits: Promise<Error | null>[] | null = null;
    if (this.canFanOutNow()) {
      // A channel that cannot take them refuses the publish (nothing is accepted to be dropped).
      const full = this.channelsRoom(count, bytes + count * MSG_HEADER_LENGTH, deferMs > 0);
      if (full !== null) {
        this.ctx.setHealth(full);
        return full;
      }
      for (const ch of this.channelList) {
        // A message a channel refuses is logged by the channel, message by message, as nsqd's pump logs it.
        if (deferMs > 0) ch.putDeferredMessages(h, batch, deferMs);
        else ch.putMessages(h, batch);
      }
      waits = this.channelWrites();
    } else {
      const stored = deferMs > 0 || !this.direct ? 0 : pushBatchMessages(this.memoryQueue, h, batch);
      for (let i = stored; i < count; i++) {
        const err = this.enqueue(joinPayload(h, i, batch), deferMs);
        if (err !== null) {
          this.messageCount += i;
          for (let k = 0; k < i; k++) this.messageBytes += batch.lens[k]!;
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

  /**
   * Copy a batch of payloads to every channel (deferred ones each as its own frame). Returns the
   * first channel error: with --durable-publish a refused channel write refuses the publish.
   */
  private fanOutBatch(src: Buffer, starts: Int32Array, lens: Int32Array, count: number, deferMs: number): Error | null {
    const list = this.channelList;
    let first: Error | null = null;
    for (let c = 0; c < list.length; c++) {
      const ch = list[c]!;
      // The channel has logged each message it refused.
      const err = deferMs > 0 ? ch.putDeferredBatch(src, starts, lens, count, deferMs) : ch.putBatch(src, starts, lens, count);
      first ??= err;
    }
    return this.durable ? first : null;
  }

  /** Queue one payload in the topic: memory (deferred ones aside) while there is room, else the backend. */
  private enqueue(payload: Buffer, deferMs: number): Error | null {
    const cap = this.ctx.opts.memQueueSize;
    if (this.direct && this.memoryQueue.count + this.deferredPending.length < cap) {
      if (deferMs > 0) {
        this.deferredPending.push({ frame: frameOf(payload, 0, payload.length), deferMs });
        return null;
      }
      if (this.memoryQueue.push(payload, 0, payload.length)) return null;
    }
    // nsqd loses the deferral on disk; the queue's sidecar index keeps it.
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
      // A refusal is logged by the channel.
      ch.put(src, start, len);
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
    this.pumpTurn();
    this.flushAcks();
  }

  private pumpTurn(): void {
    if (!this.started || this.paused || this.exiting || this.channelList.length === 0) return;
    if (this.stalled !== null) {
      const { payload, token, dueMs } = this.stalled;
      this.stalled = null;
      if (!this.fanOutChecked(payload, token, dueMs)) return;
    }
    const mem = this.memoryQueue;
    if (this.channelList.length === 1 && this.deferredPending.length === 0) {
      // One channel: hand it the whole memory backlog at once, chunks and all (nsqd passes
      // message pointers; copying each message here would double the memory for a while).
      this.channelList[0]!.adoptBacklog(mem);
    }
    const bounded = this.ctx.opts.maxBytesPerQueue > 0;
    for (let budget = PUMP_BUDGET; budget > 0; budget--) {
      if (this.deferredPending.length > 0) {
        const d = this.deferredPending.shift()!;
        if (!this.fanOutChecked(d.frame.subarray(RECORD_HEADER), -1, Date.now() + d.deferMs)) return;
        continue;
      }
      // Memory and backend alternate when both have messages.
      if (mem.count > 0 && ((this.readToggle ^= 1) === 1 || this.backend.depth() === 0)) {
        const offs = this.batchOffsets;
        // Bounded queues: a batch only as large as every channel's free memory slots; with none
        // free, one message at a time through the room check.
        const room = bounded ? this.channelMemoryRoom(offs.length) : offs.length;
        if (room === 0) {
          const chunk = mem.shift()!;
          const payload = Buffer.from(chunk.buf.subarray(mem.offset + RECORD_HEADER, mem.offset + RECORD_HEADER + mem.length));
          mem.release(chunk);
          if (!this.fanOutChecked(payload, -1, 0)) return;
          continue;
        }
        const chunk = mem.shiftBatch(room, offs, this.batchLens)!;
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
      if (!this.fanOutChecked(payload, this.backend.lastToken, this.backend.lastDue)) return;
    }
    this.schedulePump();
  }

  /** Fewest free memory-queue slots among the channels, at most `max`. */
  private channelMemoryRoom(max: number): number {
    let room = max;
    for (const ch of this.channelList) room = Math.min(room, ch.memoryRoom());
    return room;
  }

  /**
   * Fan one message out (deferred when dueMs is in the future; token acked once the copies are
   * stored). When a channel has no room for it (--max-bytes-per-queue) it waits, the topic stops
   * fanning out, and it is tried again shortly: false then.
   */
  private fanOutChecked(payload: Buffer, token: number, dueMs: number): boolean {
    const deferMs = dueMs > 0 ? Math.max(1, dueMs - Date.now()) : 0;
    if (this.channelsRoom(1, payload.length, deferMs > 0) !== null) {
      this.stalled = { payload, token, dueMs };
      if (this.retryTimer === null) {
        this.retryTimer = setTimeout(() => {
          this.retryTimer = null;
          this.pump();
        }, STALL_RETRY_MS);
      }
      return false;
    }
    this.fanOut(payload, 0, payload.length, deferMs);
    if (token >= 0) this.acksPending.push(token);
    return true;
  }

  /** The channels' disk writes still to finish (fsyncs when durable), or null when every copy is stored. */
  private channelWrites(): Promise<Error | null>[] | null {
    let waits: Promise<Error | null>[] | null = null;
    for (const ch of this.channelList) {
      const w = ch.backend.flushed();
      if (w !== null) (waits ??= []).push(w);
    }
    return waits;
  }

  /**
   * Forget the disk-queue messages fanned out in this turn once every channel's copies are
   * written (fsynced when durable), so no topic segment outlives a copy: one wait per turn, not
   * one per message. The turn's copies share each channel's batch, so its promise covers them.
   */
  private flushAcks(): void {
    const tokens = this.acksPending;
    if (tokens.length === 0) return;
    this.acksPending = [];
    const waits = this.channelWrites();
    if (waits === null) {
      for (const t of tokens) this.backend.ack(t);
      return;
    }
    Promise.all(waits).then((errs) => {
      // A failed copy stays in that channel's memory (onWriteFailed). Durable: the topic's copy
      // also stays on disk (delivered again after a restart); otherwise memory is as safe as
      // the channel gets, and holding the topic's read position would only pin its segments.
      if (this.durable && errs.some((e) => e !== null)) return;
      for (const t of tokens) this.backend.ack(t);
    });
  }

  /** Begin fanning out (after channel discovery or metadata load). */
  start(): void {
    this.started = true;
    this.schedulePump();
  }

  /** The channel, created (and announced) if missing. */
  getChannel(name: string): Channel | null {
    let ch = this.channels.get(name);
    if (ch !== undefined) return ch;
    // No new channel on a topic being deleted (its channels' files are being removed).
    if (this.exiting) return null;
    ch = new Channel(this.name, name, this.ctx, (c) => void this.deleteExistingChannel(c.name));
    this.channels.set(name, ch);
    this.channelList = [...this.channelList, ch];
    this.ctx.logger.info(`TOPIC(${this.name}): new channel(${name})`);
    this.ctx.notify({ kind: 'channel-created', topic: this.name, channel: name, ephemeral: ch.ephemeral });
    this.schedulePump();
    return ch;
  }

  /** The channel if it exists and is not being deleted (see Nsqd.getExistingTopic). */
  getExistingChannel(name: string): Channel | undefined {
    const ch = this.channels.get(name);
    return ch === undefined || ch.exiting ? undefined : ch;
  }

  /** Delete a channel and its data; an ephemeral topic left without channels deletes itself. */
  async deleteExistingChannel(name: string): Promise<Error | null> {
    const ch = this.channels.get(name);
    if (ch === undefined) return new Error('channel does not exist');
    this.ctx.logger.info(`TOPIC(${this.name}): deleting channel ${name}`);
    // As nsqd: the channel stays in the map (exiting) until its files are gone, so a racing SUB
    // is refused ('exiting') instead of opening a new channel on the files being removed.
    const done = ch.exit(true);
    this.channelList = this.channelList.filter((c) => c !== ch);
    await done;
    if (this.channels.get(name) === ch) this.channels.delete(name);
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
  exit(deleted: boolean): Promise<void> {
    // A second caller (two deletes, or a delete during shutdown) waits for the first to finish.
    return (this.exited ??= this.doExit(deleted));
  }

  private exited: Promise<void> | null = null;

  private async doExit(deleted: boolean): Promise<void> {
    this.exiting = true;
    if (this.pumpTimer !== null) clearImmediate(this.pumpTimer);
    this.pumpTimer = null;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const channels = this.channelList;
    this.ctx.logger.info(`TOPIC(${this.name}): ${deleted ? 'deleting' : 'closing'}`);
    // nsqd's messagePump goroutine says so as it ends.
    this.ctx.logger.info(`TOPIC(${this.name}): closing ... messagePump`);
    if (deleted) {
      this.ctx.notify({ kind: 'topic-deleted', topic: this.name, ephemeral: this.ephemeral });
      this.channelList = [];
      // The channels stay in the map (exiting) until deleted, as the topic stays in nsqd's.
      await Promise.all(channels.map((c) => c.exit(true)));
      this.channels.clear();
      await this.empty();
      await this.backend.delete();
      return;
    }
    await Promise.all(channels.map((c) => c.exit(false)));
    const held = this.memoryQueue.count + this.deferredPending.length;
    if (held > 0) this.ctx.logger.info(`TOPIC(${this.name}): flushing ${held} memory messages to backend`);
    if (!this.ephemeral) {
      const mem = this.memoryQueue;
      let chunk;
      while ((chunk = mem.shift()) !== null) {
        this.writeBackend(chunk.buf.subarray(mem.offset + RECORD_HEADER, mem.offset + RECORD_HEADER + mem.length));
        mem.release(chunk);
      }
      for (const d of this.deferredPending) {
        const err = this.backend.putDeferred(d.frame.subarray(RECORD_HEADER), Date.now() + d.deferMs, true);
        if (err !== null) this.ctx.logger.error(`TOPIC(${this.name}): failed to write message to backend - ${err.message}`);
      }
      this.deferredPending = [];
      // A stalled message still unacked in the disk queue is read again after a restart.
      const st = this.stalled;
      if (st !== null && st.token < 0) {
        const err = st.dueMs > 0 ? this.backend.putDeferred(st.payload, st.dueMs, true) : this.backend.put(st.payload, true);
        if (err !== null) this.ctx.logger.error(`TOPIC(${this.name}): failed to write message to backend - ${err.message}`);
      }
      this.stalled = null;
    }
    await this.backend.close();
  }

  private writeBackend(m: Uint8Array): void {
    const err = this.backend.put(m, true);
    if (err !== null) this.ctx.logger.error(`TOPIC(${this.name}): failed to write message to backend - ${err.message}`);
  }
}
