import { isEphemeral } from '../protocol/names.js';
import { RECORD_HEADER, RecordRing, type Chunk } from '../native/record-ring.js';
import { E2eLatency } from '../internal/quantile.js';
import type { BackendQueue } from './backend-queue.js';
import type { NsqdContext } from './context.js';
import { joinPayload, pushBatchMessages, type MessageBatch } from './message-batch.js';
import { MSG_ID_LENGTH, MSG_ID_OFFSET } from '../protocol/message.js';
import { FRAME_ATTEMPTS_OFFSET, MessageTable } from './message-table.js';

/** What a channel needs of a subscribed client (nsqd's Consumer). */
export interface Consumer {
  readonly id: number;
  /** 0 = off, else deliver only when a draw in [0,99] is ≤ it. */
  readonly sampleRate: number;
  /** The client's in-flight timeout in ms. */
  readonly msgTimeoutMs: number;
  /** RDY window open, not paused, socket not backed up. */
  isReadyForMessages(): boolean;
  /** How many more messages it would take now (0 when not ready). */
  readyRoom(): number;
  /** Write a stored message frame (frame[off, off+8+len)) to the client, buffered; counts it in flight. */
  sendMessage(frame: Buffer, off: number, len: number): void;
  /** In-flight message of this client timed out. */
  timedOutMessage(): void;
  /** The channel dropped all in-flight messages (empty). */
  emptyInFlight(): void;
  /** Force the connection closed (channel deleted). */
  close(): void;
}

/** Monotonic milliseconds for deadlines. */
export const monotonicNow = (): number => performance.now();

/** A standalone stored frame (8-byte frame header + payload) copied from payload bytes. */
export function frameOf(src: Uint8Array, start: number, len: number): Buffer {
  const f = Buffer.allocUnsafe(RECORD_HEADER + len);
  f.writeUInt32BE(len + 4, 0);
  f.writeUInt32BE(2, 4);
  f.set(src.subarray(start, start + len), RECORD_HEADER);
  return f;
}

/** Payload length of the stored frame at frame[off]. */
export function framePayloadLength(frame: Uint8Array, off: number): number {
  return (((frame[off]! << 24) | (frame[off + 1]! << 16) | (frame[off + 2]! << 8) | frame[off + 3]!) >>> 0) - 4;
}

/**
 * A channel of a topic: its own copy of every message, load-balanced over its subscribers.
 * Holds a bounded memory queue (a RecordRing of ready frames), a backend queue for overflow,
 * the in-flight table (RDY window, msg_timeout, FIN/REQ/TOUCH) and the deferred table (REQ with
 * delay, DPUB). In-flight messages are not copied out of the ring: the table points at their
 * bytes and releases the chunk when the message is finished, requeued or timed out.
 */
export class Channel {
  readonly topicName: string;
  readonly name: string;
  readonly ephemeral: boolean;
  readonly memoryQueue: RecordRing;
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
   * --durable-publish: every message lives in the disk queue (no memory queue) until finished;
   * the in-flight and deferred tables remember each message's disk token and ack it then.
   */
  readonly durable: boolean;
  private readonly ctx: NsqdContext;
  private readonly onEmptyEphemeral: (ch: Channel) => void;
  /**
   * An ephemeral channel with --mem-queue-size=0 (no disk behind it): nsqd's unbuffered memory
   * channel, which takes a message only when a consumer is waiting for one, so here memory holds
   * at most what the ready consumers can take now; the rest is dropped as nsqd drops it.
   */
  private readonly handoffOnly: boolean;

  constructor(topicName: string, name: string, ctx: NsqdContext, onEmptyEphemeral: (ch: Channel) => void) {
    this.topicName = topicName;
    this.name = name;
    this.ctx = ctx;
    this.ephemeral = isEphemeral(name);
    this.onEmptyEphemeral = onEmptyEphemeral;
    const o = ctx.opts;
    this.durable = o.durablePublish && !this.ephemeral;
    this.handoffOnly = this.ephemeral && o.memQueueSize === 0;
    this.memoryQueue = new RecordRing(this.durable ? 0 : o.memQueueSize, ctx.backend.records);
    this.backend = ctx.createBackendQueue(`${topicName}:${name}`, this.ephemeral, 'channel');
    this.backend.onReadable = () => this.ctx.schedulePump(this);
    // A write that failed (disk full, I/O error) must not lose what was accepted: keep it in memory.
    this.backend.onWriteFailed = (payloads, err) => {
      this.ctx.setHealth(err);
      for (const p of payloads) this.memoryQueue.push(p, 0, p.length, true);
      if (this.clients.length > 0) this.ctx.schedulePump(this);
    };
    this.e2e = o.e2eProcessingLatencyPercentiles.length > 0
      ? new E2eLatency(o.e2eProcessingLatencyPercentiles, o.e2eProcessingLatencyWindowTime)
      : null;
  }

  /** Messages waiting in memory and on the backend (not in flight, not deferred). */
  depth(): number {
    return this.memoryQueue.count + this.backend.depth();
  }

  /** Free slots in the memory queue. */
  memoryRoom(): number {
    return this.memoryQueue.maxCount - this.memoryQueue.count;
  }

  /**
   * null when `count` messages of `bytes` payload bytes in all can be accepted now (memory
   * queue, else the backend; deferred ones wait in memory unless durable); else why not.
   */
  room(count: number, bytes: number, deferred: boolean): Error | null {
    if (deferred ? !this.durable : this.memoryRoom() >= count) return null;
    return this.backend.room(bytes + 4 * count);
  }

  /** Accept one message payload from the topic (copied from src). */
  put(src: Uint8Array, start: number, len: number): Error | null {
    if (this.exiting) return new Error('exiting');
    if (this.handoffOnly) this.openHandoff();
    const err = this.enqueue(src, start, len);
    this.counted(this.tried(src, start, err));
    return err;
  }

  /**
   * Accept many payloads (src[starts[i], +lens[i]) for i < count) from the topic: as many as fit
   * go to the memory queue in one batch, the rest to the backend.
   */
  putBatch(src: Uint8Array, starts: Int32Array, lens: Int32Array, count: number): Error | null {
    if (this.exiting) return new Error('exiting');
    if (this.handoffOnly) this.openHandoff();
    const pushed = this.memoryQueue.pushBatch(src, starts, lens, 0, count);
    let stored = pushed;
    let first: Error | null = null;
    for (let i = pushed; i < count; i++) {
      const err = this.enqueue(src, starts[i]!, lens[i]!);
      stored += this.tried(src, starts[i]!, err);
      first ??= err;
    }
    this.counted(stored);
    return first;
  }

  /**
   * Accept a batch just published: message i is its 26-byte header (headers[26 i..]) then its
   * body; as many as fit go to the memory queue in one RecordCodec call, the rest to the backend.
   */
  putMessages(headers: Uint8Array, batch: MessageBatch): Error | null {
    if (this.exiting) return new Error('exiting');
    if (this.handoffOnly) this.openHandoff();
    const count = batch.count;
    const pushed = pushBatchMessages(this.memoryQueue, headers, batch);
    let stored = pushed;
    let first: Error | null = null;
    for (let i = pushed; i < count; i++) {
      const p = joinPayload(headers, i, batch);
      const err = this.enqueue(p, 0, p.length);
      stored += this.tried(p, 0, err);
      first ??= err;
    }
    this.counted(stored);
    return first;
  }

  /** Accept a just-published batch deferred by deferMs. */
  putDeferredMessages(headers: Uint8Array, batch: MessageBatch, deferMs: number): Error | null {
    let first: Error | null = null;
    for (let i = 0; i < batch.count; i++) {
      const p = joinPayload(headers, i, batch);
      first ??= this.putDeferred(p, 0, p.length, deferMs);
    }
    return first;
  }

  /**
   * Take a topic's whole memory backlog in one move when this channel's memory queue is empty
   * and large enough (counted as messages put, as nsqd's pump would count them one by one).
   */
  adoptBacklog(from: RecordRing): void {
    if (this.handoffOnly) this.openHandoff();
    if (this.exiting || this.memoryQueue.count !== 0 || from.count > this.memoryQueue.maxCount) return;
    this.counted(from.transferTo(this.memoryQueue));
  }

  /**
   * Accept a message the topic fanned out with a delay. Durable channels store it with its due
   * time (sidecar index) and defer it when the reader comes to it; others hold it in memory.
   */
  putDeferred(src: Uint8Array, start: number, len: number, deferMs: number): Error | null {
    if (this.exiting) return new Error('exiting');
    if (this.durable) {
      const err = this.backend.putDeferred(src.subarray(start, start + len), Date.now() + deferMs);
      this.counted(this.tried(src, start, err));
      return err;
    }
    this.messageCount++;
    this.deferred.add(frameOf(src, start, len), 0, null, 0, monotonicNow() + deferMs, 0);
    return null;
  }

  /** Accept a batch of deferred payloads from the topic. */
  putDeferredBatch(src: Buffer, starts: Int32Array, lens: Int32Array, count: number, deferMs: number): Error | null {
    let first: Error | null = null;
    for (let i = 0; i < count; i++) first ??= this.putDeferred(src, starts[i]!, lens[i]!, deferMs);
    return first;
  }

  /** Let the memory queue hold what the ready consumers can take now (handoffOnly). */
  private openHandoff(): void {
    let room = 0;
    for (const c of this.clients) room += c.readyRoom();
    this.memoryQueue.maxCount = Math.max(this.memoryQueue.count, room);
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

  /**
   * 1 when the payload at `start` (its 26-byte header, then the body) was stored (`err` null);
   * else 0, after nsqd's topic messagePump line for it: every message is tried, as nsqd puts
   * them one by one.
   */
  private tried(payload: Uint8Array, start: number, err: Error | null): number {
    if (err === null) return 1;
    const id = Buffer.from(payload.buffer, payload.byteOffset + start + MSG_ID_OFFSET, MSG_ID_LENGTH).toString('latin1');
    this.ctx.logger.error(`TOPIC(${this.topicName}) ERROR: failed to put msg(${id}) to channel(${this.name}) - ${err.message}`);
    return 0;
  }

  /** `n` messages stored: counted (once stored, as nsqd's Channel.PutMessage counts) and offered to the clients. */
  private counted(n: number): void {
    if (n === 0) return;
    this.messageCount += n;
    if (this.clients.length > 0) this.ctx.schedulePump(this);
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

  /** Deliver queued messages while some client is ready. */
  pump(): void {
    this.pumpScheduled = false;
    if (this.paused || this.exiting || this.clients.length === 0) return;
    const now = monotonicNow();
    const mem = this.memoryQueue;
    // The backend is read by position, not by its depth count: a depth left wrong by a crash must
    // not hide records (go-diskqueue reads while readPos < writePos).
    let backendEmpty = false;
    for (;;) {
      if (mem.count === 0 && backendEmpty) return;
      const client = this.nextReadyClient();
      if (client === null) return;
      // Memory and backend alternate when both have messages (nsqd selects between them).
      if (mem.count > 0 && ((this.readToggle ^= 1) === 1 || backendEmpty)) {
        const chunk = mem.shift()!;
        this.deliver(client, chunk.buf, mem.offset, mem.length, chunk, now);
        continue;
      }
      const payload = this.backend.read();
      if (payload === null) {
        backendEmpty = true;
        continue;
      }
      const token = this.backend.lastToken;
      if (token >= 0 && (this.inFlight.find(payload, MSG_ID_OFFSET) >= 0 || this.deferred.find(payload, MSG_ID_OFFSET) >= 0)) {
        // A second stored copy of a message held here (a REQ rewrote it, then a crash came
        // before the old copy's ack was persisted): the one held stands for both.
        this.backend.ack(token);
        continue;
      }
      const due = this.backend.lastDue;
      if (due > 0) {
        // Stored deferred (DPUB, REQ with delay, or deferred at shutdown): wait out the rest.
        this.deferred.add(frameOf(payload, 0, payload.length), 0, null, 0, now + (due - Date.now()), 0, token);
        continue;
      }
      this.deliver(client, frameOf(payload, 0, payload.length), 0, payload.length, null, now, token);
    }
  }

  /** Hand a message to a client: attempts+1, track in flight, write the frame. */
  private deliver(client: Consumer, frame: Buffer, off: number, len: number, chunk: Chunk | null, now: number, token = -1): void {
    if (client.sampleRate > 0 && Math.floor(Math.random() * 100) > client.sampleRate) {
      // Sampled out: consumed, as in nsqd.
      if (chunk !== null) this.memoryQueue.release(chunk);
      this.backend.ack(token);
      return;
    }
    const a = off + FRAME_ATTEMPTS_OFFSET;
    const attempts = ((frame[a]! << 8) | frame[a + 1]!) + 1;
    frame[a] = (attempts >> 8) & 0xff;
    frame[a + 1] = attempts & 0xff;
    const slot = this.inFlight.add(frame, off, chunk, client.id, now + client.msgTimeoutMs, now, token);
    client.sendMessage(frame, off, len);
    // A duplicate id goes out untracked, as in nsqd (its StartInFlightTimeout error is ignored).
    if (slot < 0 && chunk !== null) this.memoryQueue.release(chunk);
  }

  /** Drop an in-flight or deferred slot, releasing its ring chunk. */
  private drop(table: MessageTable, slot: number): void {
    const chunk = table.chunk(slot);
    table.remove(slot);
    if (chunk !== null) this.memoryQueue.release(chunk);
  }

  /**
   * Put a held message back on the queue (memory, else backend), then drop its slot. A durable
   * message is written to the disk queue again and its old copy acked only once that is on disk.
   */
  private requeueSlot(table: MessageTable, slot: number): Error | null {
    const frame = table.frame(slot);
    const off = table.offset(slot);
    const len = framePayloadLength(frame, off);
    const token = table.token(slot);
    if (token < 0) {
      // A requeued message was accepted long ago: over the memory bound rather than lost.
      if (this.enqueue(frame, off + RECORD_HEADER, len) !== null) this.memoryQueue.push(frame, off + RECORD_HEADER, len, true);
      this.drop(table, slot);
      return null;
    }
    const payload = frame.subarray(off + RECORD_HEADER, off + RECORD_HEADER + len);
    if (table === this.deferred) this.backend.clearDue(payload);
    const err = this.backend.put(payload);
    if (err !== null) {
      // Cannot rewrite it (queue full): keep it in memory; the disk copy stays until restart.
      this.memoryQueue.push(payload, 0, len, true);
    } else {
      const backend = this.backend;
      backend.flushed()?.then((e) => {
        if (e === null) backend.ack(token);
      });
    }
    this.drop(table, slot);
    return null;
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

  private ownedSlot(clientId: number, id: Uint8Array, idOff: number): number | Error {
    const slot = this.inFlight.find(id, idOff);
    if (slot < 0) return new Error('ID not in flight');
    if (this.inFlight.clientId(slot) !== clientId) return new Error('client does not own message');
    return slot;
  }

  /** FIN: an Error carries the reason text nsqd uses. */
  finishMessage(clientId: number, id: Uint8Array, idOff: number): Error | null {
    const slot = this.ownedSlot(clientId, id, idOff);
    if (typeof slot !== 'number') return slot;
    if (this.e2e !== null) {
      // Sub-millisecond now, as the message timestamps are (Go uses time.Now().UnixNano()).
      this.e2e.insert((performance.timeOrigin + performance.now()) * 1e6 - readTimestampNs(this.inFlight.frame(slot), this.inFlight.offset(slot) + RECORD_HEADER));
    }
    this.backend.ack(this.inFlight.token(slot));
    this.drop(this.inFlight, slot);
    return null;
  }

  /** REQ: back on the queue now (timeout 0) or after `timeoutMs` via the deferred table. */
  requeueMessage(clientId: number, id: Uint8Array, idOff: number, timeoutMs: number): Error | null {
    const slot = this.ownedSlot(clientId, id, idOff);
    if (typeof slot !== 'number') return slot;
    this.requeueCount++;
    if (timeoutMs === 0) {
      if (this.exiting) {
        this.drop(this.inFlight, slot);
        return new Error('exiting');
      }
      const err = this.requeueSlot(this.inFlight, slot);
      if (err === null) this.ctx.schedulePump(this);
      return err;
    }
    const frame = this.inFlight.frame(slot);
    const off = this.inFlight.offset(slot);
    const token = this.inFlight.token(slot);
    const copy = frameOf(frame, off + RECORD_HEADER, framePayloadLength(frame, off));
    this.drop(this.inFlight, slot);
    if (this.deferred.add(copy, 0, null, clientId, monotonicNow() + timeoutMs, 0, token) < 0) return new Error('ID already deferred');
    // Durable: it is still in the disk queue; remember the delay so a restart keeps it.
    if (token >= 0) this.backend.markDue(copy.subarray(RECORD_HEADER), Date.now() + timeoutMs);
    return null;
  }

  /** TOUCH: reset the deadline to now + msg timeout, capped at delivery + --max-msg-timeout. */
  touchMessage(clientId: number, id: Uint8Array, idOff: number, msgTimeoutMs: number): Error | null {
    const slot = this.ownedSlot(clientId, id, idOff);
    if (typeof slot !== 'number') return slot;
    let deadline = monotonicNow() + msgTimeoutMs;
    const horizon = this.inFlight.start(slot) + this.ctx.opts.maxMsgTimeout;
    if (deadline >= horizon) deadline = horizon;
    this.inFlight.reschedule(slot, deadline);
    return null;
  }

  /** Requeue in-flight messages whose deadline passed; true if any did. */
  processInFlightQueue(now: number): boolean {
    let dirty = false;
    let slot: number;
    while ((slot = this.inFlight.due(now)) >= 0) {
      dirty = true;
      this.timeoutCount++;
      const client = this.clientsById.get(this.inFlight.clientId(slot));
      if (client !== undefined) client.timedOutMessage();
      this.requeueSlot(this.inFlight, slot);
    }
    if (dirty) this.ctx.schedulePump(this);
    return dirty;
  }

  /** Move deferred messages whose time came onto the queue; true if any did. */
  processDeferredQueue(now: number): boolean {
    let dirty = false;
    let slot: number;
    while ((slot = this.deferred.due(now)) >= 0) {
      dirty = true;
      this.requeueSlot(this.deferred, slot);
    }
    if (dirty) this.ctx.schedulePump(this);
    return dirty;
  }

  /** Drop queued, in-flight and deferred messages (HTTP /channel/empty). */
  empty(): Promise<Error | null> {
    for (const slot of this.inFlight.slots()) this.drop(this.inFlight, slot);
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
  exit(deleted: boolean): Promise<void> {
    // A second caller (two deletes, or a delete during shutdown) waits for the first to finish.
    return (this.exited ??= this.doExit(deleted));
  }

  private exited: Promise<void> | null = null;

  private async doExit(deleted: boolean): Promise<void> {
    this.exiting = true;
    if (deleted) {
      this.ctx.logger.info(`CHANNEL(${this.name}): deleting`);
      this.ctx.notify({ kind: 'channel-deleted', topic: this.topicName, channel: this.name, ephemeral: this.ephemeral });
    } else {
      this.ctx.logger.info(`CHANNEL(${this.name}): closing`);
    }
    for (const c of [...this.clients]) c.close();
    if (deleted) {
      await this.empty();
      await this.backend.delete();
      return;
    }
    this.flushToBackend();
    await this.backend.close();
  }

  private flushToBackend(): void {
    const mem = this.memoryQueue;
    if (mem.count > 0 || this.inFlight.size > 0 || this.deferred.size > 0) {
      this.ctx.logger.info(`CHANNEL(${this.name}): flushing ${mem.count} memory ${this.inFlight.size} in-flight ${this.deferred.size} deferred messages to backend`);
    }
    if (this.ephemeral) return;
    let chunk: Chunk | null;
    while ((chunk = mem.shift()) !== null) {
      this.writeBackend(chunk.buf.subarray(mem.offset + RECORD_HEADER, mem.offset + RECORD_HEADER + mem.length));
      mem.release(chunk);
    }
    const now = monotonicNow();
    const wall = Date.now();
    for (const table of [this.inFlight, this.deferred]) {
      for (const slot of table.slots()) {
        // A durable message is still in the disk queue (unacked): it comes back on restart.
        if (table.token(slot) >= 0) continue;
        const frame = table.frame(slot);
        const off = table.offset(slot);
        const payload = frame.subarray(off + RECORD_HEADER, off + RECORD_HEADER + framePayloadLength(frame, off));
        // Deferred ones keep their due time in the queue's sidecar (nsqd loses it).
        if (table === this.deferred) this.writeBackend(payload, wall + (table.time(slot) - now));
        else this.writeBackend(payload);
        this.drop(table, slot);
      }
    }
  }

  private writeBackend(payload: Uint8Array, dueMs = 0): void {
    const err = dueMs > 0 ? this.backend.putDeferred(payload, dueMs, true) : this.backend.put(payload, true);
    if (err !== null) this.ctx.logger.error(`failed to write message to backend - ${err.message}`);
  }

}

/** The int64 BE nanosecond timestamp at payload[at], as a float (µs precision is plenty for latency). */
export function readTimestampNs(buf: Uint8Array, at: number): number {
  const hi = ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) | 0;
  const lo = ((buf[at + 4]! << 24) | (buf[at + 5]! << 16) | (buf[at + 6]! << 8) | buf[at + 7]!) >>> 0;
  return hi * 4294967296 + lo;
}
