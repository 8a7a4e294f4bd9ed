import { isEphemeral } from '../protocol/names.js';
import { MSG_ATTEMPTS_OFFSET } from '../protocol/message.js';
import { TsRingBuffer } from '../native/fallback/ring-buffer.js';
import { E2eLatency } from '../internal/quantile.js';
import type { BackendQueue } from './backend-queue.js';
import type { NsqdContext } from './context.js';
import { MessageTable } from './message-table.js';

/** What a channel needs of a subscribed client (nsqd's Consumer). */
export interface Consumer {
  readonly id: number;
  /** 0 = off, else deliver only when a draw in [0,99] is ≤ it. */
  readonly sampleRate: number;
  /** The client's in-flight timeout in ms. */
  readonly msgTimeoutMs: number;
  /** RDY window open, not paused, socket not backed up. */
  isReadyForMessages(): boolean;
  /** Write a message frame to the client (buffered); the channel has already tracked it. */
  sendMessage(payload: Buffer): void;
  /** In-flight message of this client timed out. */
  timedOutMessage(): void;
  /** The channel dropped all in-flight messages (empty). */
  emptyInFlight(): void;
  /** Force the connection closed (channel deleted). */
  close(): void;
}

/** Monotonic milliseconds for deadlines. */
export const monotonicNow = (): number => performance.now();

/**
 * A channel of a topic: its own copy of every message, load-balanced over its subscribers.
 * Holds a bounded memory queue (byte ring), a backend queue for overflow, the in-flight table
 * (RDY window, msg_timeout, FIN/REQ/TOUCH) and the deferred table (REQ with delay, DPUB).
 */
export class Channel {
  readonly topicName: string;
  readonly name: string;
  readonly ephemeral: boolean;
  readonly memoryQueue: TsRingBuffer;
  readonly backend: BackendQueue;
  readonly inFlight = new MessageTable();
  readonly deferred = new MessageTable();
  readonly e2e: E2eLatency | null;
  /** Subscribed clients in arrival order; delivery round-robins over them. */
  readonly clients: Consumer[] = [];
  private readonly clientsById = new Map<number, Consumer>();
  private cursor = 0;
  private readToggle = 0;
  paused = false;
  exiting = false;
  messageCount = 0;
  requeueCount = 0;
  timeoutCount = 0;
  /** Set by NsqdContext.schedulePump. */
  pumpScheduled = false;
  /**
   * Whether a message may go straight to a ready client without being queued. Not with
   * --mem-queue-size=0 on a durable channel: there every message passes through the backend,
   * as in nsqd.
   */
  private readonly direct: boolean;
  private readonly ctx: NsqdContext;
  private readonly onEmptyEphemeral: (ch: Channel) => void;

  constructor(topicName: string, name: string, ctx: NsqdContext, onEmptyEphemeral: (ch: Channel) => void) {
    this.topicName = topicName;
    this.name = name;
    this.ctx = ctx;
    this.ephemeral = isEphemeral(name);
    this.onEmptyEphemeral = onEmptyEphemeral;
    const o = ctx.opts;
    this.memoryQueue = new TsRingBuffer(o.memQueueSize);
    this.direct = this.ephemeral || o.memQueueSize > 0;
    this.backend = ctx.createBackendQueue(`${topicName}:${name}`, this.ephemeral);
    this.backend.onReadable = () => this.ctx.schedulePump(this);
    this.e2e = o.e2eProcessingLatencyPercentiles.length > 0
      ? new E2eLatency(o.e2eProcessingLatencyPercentiles, o.e2eProcessingLatencyWindowTime)
      : null;
  }

  /** Messages waiting in memory and on the backend (not in flight, not deferred). */
  depth(): number {
    return this.memoryQueue.count + this.backend.depth();
  }

  /** Accept one message payload from the topic (copied from src). */
  put(src: Uint8Array, start: number, len: number): Error | null {
    if (this.exiting) return new Error('exiting');
    this.messageCount++;
    if (this.direct && !this.paused && this.memoryQueue.count === 0 && this.backend.depth() === 0) {
      const client = this.nextReadyClient();
      if (client !== null) {
        const payload = Buffer.allocUnsafe(len);
        payload.set(src.subarray(start, start + len), 0);
        this.deliver(client, payload);
        return null;
      }
    }
    const err = this.enqueue(src, start, len);
    if (err === null && this.clients.length > 0) this.ctx.schedulePump(this);
    return err;
  }

  /** Accept a message the topic fanned out with a delay. */
  putDeferred(payload: Buffer, deferMs: number): void {
    this.messageCount++;
    this.deferred.add(payload, 0, monotonicNow() + deferMs, 0);
  }

  /** Put a payload on the memory queue, or the backend when memory is full. */
  private enqueue(src: Uint8Array, start: number, len: number): Error | null {
    if (this.memoryQueue.push(src, start, len)) return null;
    const err = this.backend.put(start === 0 && len === src.length ? src : src.subarray(start, start + len));
    this.ctx.setHealth(err);
    if (err !== null) {
      this.ctx.logger.error(`CHANNEL(${this.name}): failed to write message to backend - ${err.message}`);
    }
    return err;
  }

  private requeuePayload(payload: Buffer): Error | null {
    return this.enqueue(payload, 0, payload.length);
  }

  /** Next client able to take a message, round-robin; null if none. */
  private nextReadyClient(): Consumer | null {
    const clients = this.clients;
    const n = clients.length;
    if (n === 0) return null;
    let i = this.cursor;
    for (let k = 0; k < n; k++) {
      if (i >= n) i = 0;
      const c = clients[i]!;
      i++;
      if (c.isReadyForMessages()) {
        this.cursor = i;
        return c;
      }
    }
    return null;
  }

  /** Take the next queued payload: memory and backend alternate when both have data. */
  private takeNext(): Buffer | null {
    const mem = this.memoryQueue.count > 0;
    if (mem && (this.readToggle ^= 1) === 1) return this.memoryQueue.shift();
    const b = this.backend.read();
    if (b !== null) return b;
    return mem ? this.memoryQueue.shift() : null;
  }

  /** Hand a message to a client: attempts+1, track in flight, write the frame. */
  private deliver(client: Consumer, payload: Buffer): void {
    if (client.sampleRate > 0 && Math.floor(Math.random() * 100) > client.sampleRate) return;
    const attempts = ((payload[MSG_ATTEMPTS_OFFSET]! << 8) | payload[MSG_ATTEMPTS_OFFSET + 1]!) + 1;
    payload[MSG_ATTEMPTS_OFFSET] = (attempts >> 8) & 0xff;
    payload[MSG_ATTEMPTS_OFFSET + 1] = attempts & 0xff;
    const now = monotonicNow();
    // A duplicate id is sent untracked, as nsqd does (its StartInFlightTimeout error is ignored).
    this.inFlight.add(payload, client.id, now + client.msgTimeoutMs, now);
    client.sendMessage(payload);
  }

  /** Deliver queued messages while some client is ready. */
  pump(): void {
    this.pumpScheduled = false;
    if (this.paused || this.exiting || this.clients.length === 0) return;
    while (this.memoryQueue.count > 0 || this.backend.depth() > 0) {
      const client = this.nextReadyClient();
      if (client === null) return;
      const payload = this.takeNext();
      if (payload === null) return;
      this.deliver(client, payload);
    }
  }

  /** Register a subscriber; an Error when exiting or over --max-channel-consumers. */
  addClient(client: Consumer): Error | null {
    if (this.exiting) return new Error('exiting');
    if (this.clientsById.has(client.id)) return null;
    const max = this.ctx.opts.maxChannelConsumers;
    if (max !== 0 && this.clients.length >= max) {
      return new Error(`consumers for ${this.topicName}:${this.name} exceeds limit of ${max}`);
    }
    this.clientsById.set(client.id, client);
    this.clients.push(client);
    return null;
  }

  /** Unregister a subscriber; an ephemeral channel left without clients deletes itself. */
  removeClient(client: Consumer): void {
    if (!this.clientsById.delete(client.id)) return;
    const i = this.clients.indexOf(client);
    if (i >= 0) this.clients.splice(i, 1);
    if (this.cursor > i) this.cursor--;
    if (this.clients.length === 0 && this.ephemeral && !this.exiting) this.onEmptyEphemeral(this);
  }

  /** FIN: an Error carries the reason text nsqd uses. */
  finishMessage(clientId: number, id: Uint8Array, idOff: number): Error | null {
    const slot = this.inFlight.find(id, idOff);
    if (slot < 0) return new Error('ID not in flight');
    if (this.inFlight.clientId(slot) !== clientId) return new Error('client does not own message');
    const msg = this.inFlight.remove(slot);
    if (this.e2e !== null) this.e2e.insert(Date.now() * 1e6 - readTimestampNs(msg));
    return null;
  }

  /** REQ: back on the queue now (timeout 0) or after `timeoutMs` via the deferred table. */
  requeueMessage(clientId: number, id: Uint8Array, idOff: number, timeoutMs: number): Error | null {
    const slot = this.inFlight.find(id, idOff);
    if (slot < 0) return new Error('ID not in flight');
    if (this.inFlight.clientId(slot) !== clientId) return new Error('client does not own message');
    const msg = this.inFlight.remove(slot);
    this.requeueCount++;
    if (timeoutMs === 0) {
      if (this.exiting) return new Error('exiting');
      const err = this.requeuePayload(msg);
      if (err === null) this.ctx.schedulePump(this);
      return err;
    }
    if (this.deferred.add(msg, clientId, monotonicNow() + timeoutMs, 0) < 0) return new Error('ID already deferred');
    return null;
  }

  /** TOUCH: reset the deadline to now + msg timeout, capped at delivery + --max-msg-timeout. */
  touchMessage(clientId: number, id: Uint8Array, idOff: number, msgTimeoutMs: number): Error | null {
    const slot = this.inFlight.find(id, idOff);
    if (slot < 0) return new Error('ID not in flight');
    if (this.inFlight.clientId(slot) !== clientId) return new Error('client does not own message');
    let deadline = monotonicNow() + msgTimeoutMs;
    const horizon = this.inFlight.start(slot) + this.ctx.opts.maxMsgTimeout;
    if (deadline >= horizon) deadline = horizon;
    this.inFlight.reschedule(slot, deadline);
    return null;
  }

  /** Requeue in-flight messages whose deadline passed; true if any did. */
  processInFlightQueue(now: number): boolean {
    let dirty = false;
    const t = this.inFlight;
    while (t.size > 0 && t.peekTime() <= now) {
      const slot = t.peekSlot();
      const clientId = t.clientId(slot);
      const msg = t.remove(slot);
      dirty = true;
      this.timeoutCount++;
      const client = this.clientsById.get(clientId);
      if (client !== undefined) client.timedOutMessage();
      this.requeuePayload(msg);
    }
    if (dirty) this.ctx.schedulePump(this);
    return dirty;
  }

  /** Move deferred messages whose time came onto the queue; true if any did. */
  processDeferredQueue(now: number): boolean {
    let dirty = false;
    const t = this.deferred;
    while (t.size > 0 && t.peekTime() <= now) {
      const msg = t.remove(t.peekSlot());
      dirty = true;
      this.requeuePayload(msg);
    }
    if (dirty) this.ctx.schedulePump(this);
    return dirty;
  }

  /** Drop queued, in-flight and deferred messages (HTTP /channel/empty). */
  empty(): Error | null {
    this.inFlight.clear();
    this.deferred.clear();
    for (const c of this.clients) c.emptyInFlight();
    this.memoryQueue.clear();
    return this.backend.empty();
  }

  /** Pause or resume delivery to this channel's clients. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.ctx.schedulePump(this);
  }

  /**
   * Stop the channel. Deleting closes clients and removes its data; a clean shutdown writes
   * memory, in-flight and deferred messages to the backend (nsqd's Channel.exit).
   */
  async exit(deleted: boolean): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    if (deleted) {
      this.ctx.logger.info(`CHANNEL(${this.name}): deleting`);
      this.ctx.notify({ kind: 'channel-deleted', topic: this.topicName, channel: this.name, ephemeral: this.ephemeral });
    }
    for (const c of [...this.clients]) c.close();
    if (deleted) {
      this.empty();
      await this.backend.delete();
      return;
    }
    this.flushToBackend();
    await this.backend.close();
  }

  private flushToBackend(): void {
    if (this.ephemeral) return;
    let msg: Buffer | null;
    while ((msg = this.memoryQueue.shift()) !== null) this.writeBackend(msg);
    for (const m of this.inFlight.drain()) this.writeBackend(m);
    for (const m of this.deferred.drain()) this.writeBackend(m);
  }

  private writeBackend(msg: Buffer): void {
    const err = this.backend.put(msg);
    if (err !== null) this.ctx.logger.error(`failed to write message to backend - ${err.message}`);
  }
}

/** The int64 BE nanosecond timestamp of a payload, as a float (µs precision is plenty for latency). */
export function readTimestampNs(payload: Uint8Array): number {
  const hi = ((payload[0]! << 24) | (payload[1]! << 16) | (payload[2]! << 8) | payload[3]!) | 0;
  const lo = ((payload[4]! << 24) | (payload[5]! << 16) | (payload[6]! << 8) | payload[7]!) >>> 0;
  return hi * 4294967296 + lo;
}
