/**
 * The Consumer: subscribes to one topic/channel on many nsqds (given directly or discovered through
 * nsqlookupd), spreads max_in_flight over them and backs off on failures exactly as go-nsq's
 * Consumer does, and hands messages to 'message' listeners or to an async iterator.
 */
import { EventEmitter } from 'node:events';
import { MSG_ID_OFFSET } from '../protocol/message.js';
import { isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { BackoffSignal } from './backoff.js';
import { makeLog, resolveConfig, type ClientConfig, type ClientOptions } from './config.js';
import { NsqdConnection, type ConnectionDelegate } from './connection.js';
import { NsqError } from './errors.js';
import { LookupdPoller, type LookupdHost } from './lookupd.js';
import { runDiscardListeners, runHandlers, type MessageListener } from './handler.js';
import { Message, type MessageOwner } from './message.js';
import { MessageIterator, type MessageSource } from './message-iterator.js';
import { RdyController, type RdyHost } from './rdy.js';

/** Events of a Consumer and their arguments. */
export interface ConsumerEvents {
  /** A message to handle; a listener's promise resolving finishes it, rejecting (or throwing) requeues it. */
  message: [msg: Message];
  /** A message whose attempts exceeded maxAttempts; it is finished after the listeners settle. */
  discard: [msg: Message];
  /** An error frame from nsqd or a failed (re)connection; without a listener it is logged instead. */
  error: [err: NsqError];
  /** A connection to nsqd `address` is subscribed. */
  nsqd_connected: [address: string];
  /** The connection to `address` closed (`err` null after a requested close). */
  nsqd_closed: [address: string, err: NsqError | null];
  /** The first connection is subscribed. */
  ready: [];
  /** The last connection closed. */
  not_ready: [];
  /** A backoff of `durationMs` at `level` started: every connection is at RDY 0. */
  backoff: [durationMs: number, level: number];
  /** The backoff level returned to 0: every connection is back at its normal RDY. */
  resume: [];
  /** close() completed. */
  closed: [];
}

/** Counters of a Consumer. */
export interface ConsumerStats {
  /** Messages received from nsqd. */
  messagesReceived: number;
  /** Messages finished (FIN), discarded ones included. */
  messagesFinished: number;
  /** Messages requeued (REQ). */
  messagesRequeued: number;
  /** Messages discarded after exceeding maxAttempts. */
  messagesDiscarded: number;
  /** Subscribed connections. */
  connections: number;
}

/** Consumes `topic`/`channel`: `new Consumer(topic, channel, options)`, then connectToNsqd() or connectToNsqLookupd(). */
export class Consumer extends EventEmitter<ConsumerEvents> implements ConnectionDelegate, MessageOwner, RdyHost, LookupdHost, MessageSource, AsyncIterable<Message> {
  /** The topic consumed. */
  readonly topic: string;
  /** The channel consumed. */
  readonly channel: string;
  /** The resolved configuration. */
  readonly config: Readonly<ClientConfig>;
  private readonly conns = new Map<string, NsqdConnection>();
  private connList: NsqdConnection[] = [];
  private readonly pending = new Map<string, NsqdConnection>();
  private readonly nsqdTcpAddrs = new Set<string>();
  private readonly reconnectTimers = new Map<string, NodeJS.Timeout>();
  private readonly lookupd: LookupdPoller;
  private readonly rdy: RdyController;
  private readonly logLine: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
  private stopping = false;
  private discoveryFilter: ((addresses: string[]) => string[]) | null = null;
  private closed = false;
  private closeTimer: NodeJS.Timeout | null = null;
  private closeWaiters: (() => void)[] = [];
  private handlers: MessageListener[] | null = null;
  private pausedMaxInFlight: number | null = null;
  private readonly iterators = new Set<MessageIterator>();
  private readonly queue: Message[] = [];
  private queueHead = 0;
  private received = 0;
  private finished = 0;
  private requeued = 0;
  private discarded = 0;

  /** A consumer of `topic`/`channel` (validated like nsqd does); options as go-nsq's Config (ERR_CONFIG if invalid). */
  constructor(topic: string, channel: string, options: ClientOptions = {}) {
    super();
    if (!isValidTopicName(topic)) throw new NsqError('ERR_INVALID_ARGUMENT', `invalid topic name ${JSON.stringify(topic)}`);
    if (!isValidChannelName(channel)) throw new NsqError('ERR_INVALID_ARGUMENT', `invalid channel name ${JSON.stringify(channel)}`);
    this.topic = topic;
    this.channel = channel;
    const cfg = resolveConfig(options);
    this.config = cfg;
    this.logLine = makeLog(cfg, `[${topic}/${channel}] `);
    this.rdy = new RdyController(cfg, this);
    this.lookupd = new LookupdPoller(cfg, topic, this);
    const self = this as EventEmitter;
    self.on('newListener', (event: string | symbol) => {
      if (event === 'message') this.listenersChanged();
    });
    self.on('removeListener', (event: string | symbol) => {
      if (event === 'message') this.handlers = null;
    });
  }

  // ---- connections --------------------------------------------------------------------------

  /** Connect to nsqd at `address` (`host:port`), SUB and set RDY; rejects with an NsqError (ERR_ALREADY_CONNECTED if known). */
  async connectToNsqd(address: string): Promise<void> {
    if (this.stopping) throw new NsqError('ERR_STOPPED', 'consumer stopped');
    if (this.conns.has(address) || this.pending.has(address)) throw new NsqError('ERR_ALREADY_CONNECTED', `already connected to ${address}`, { address });
    const conn = new NsqdConnection(address, this.config, this);
    this.pending.set(address, conn);
    this.nsqdTcpAddrs.add(address);
    this.log('info', `(${address}) connecting to nsqd`);
    try {
      await conn.connect([this.topic, this.channel]);
    } catch (err) {
      this.pending.delete(address);
      conn.destroy();
      if (this.stopping) this.maybeFinishClose();
      // nsqd refused the SUB (max channel consumers, not authorized, ...): go-nsq does not wait
      // for SUB's answer, so it sees a connection closed by nsqd and retries, as after a drop.
      else if (conn.failedStage === 'SUB' && !this.lookupd.active && this.nsqdTcpAddrs.has(address)) this.scheduleReconnect(address);
      throw err;
    }
    this.pending.delete(address);
    if (this.stopping) {
      conn.destroy();
      this.maybeFinishClose();
      throw new NsqError('ERR_STOPPED', 'consumer stopped', { address });
    }
    if (conn.maxRdyCount < this.rdy.maxInFlight) {
      this.log('warn', `(${address}) max RDY count ${conn.maxRdyCount} < consumer max in flight ${this.rdy.maxInFlight}, truncation possible`);
    }
    this.conns.set(address, conn);
    this.connList = [...this.conns.values()];
    this.rdy.start();
    // Lower the others first so the new connection can get its share of max_in_flight.
    for (const c of this.connList) if (c !== conn) this.rdy.maybeUpdateRDY(c);
    this.rdy.maybeUpdateRDY(conn);
    this.emit('nsqd_connected', address);
    if (this.conns.size === 1) this.emit('ready');
  }

  /** nsqjs-style start: connect to every nsqd and lookupd given (either list may be empty, not both). */
  async connect(targets: { nsqdTcpAddresses?: readonly string[]; lookupdHttpAddresses?: readonly string[] }): Promise<void> {
    const nsqds = targets.nsqdTcpAddresses ?? [];
    const lookupds = targets.lookupdHttpAddresses ?? [];
    if (nsqds.length === 0 && lookupds.length === 0) throw new NsqError('ERR_INVALID_ARGUMENT', 'give nsqdTcpAddresses or lookupdHttpAddresses');
    await Promise.all([...nsqds.map((a) => this.connectToNsqd(a)), this.connectToNsqLookupds([...lookupds])]);
  }

  /** connectToNsqd for each address, in order. */
  async connectToNsqds(addresses: readonly string[]): Promise<void> {
    for (const a of addresses) await this.connectToNsqd(a);
  }

  /** Stop using nsqd `address`: close its connection gracefully and do not reconnect. */
  disconnectFromNsqd(address: string): void {
    if (!this.nsqdTcpAddrs.delete(address)) throw new NsqError('ERR_NOT_CONNECTED', `not connected to ${address}`, { address });
    const t = this.reconnectTimers.get(address);
    if (t !== undefined) clearTimeout(t);
    this.reconnectTimers.delete(address);
    const conn = this.conns.get(address) ?? this.pending.get(address);
    if (conn === undefined) return;
    // No new deliveries while the in-flight ones are answered (go-nsq stops reading instead, and
    // what nsqd had already sent then times out there and is redelivered elsewhere).
    this.rdy.updateRDY(conn, 0);
    this.closeConnection(conn);
  }

  /**
   * Discover nsqds through nsqlookupd at `address` (`host:port` or URL): the first lookupd is
   * queried at once (this resolves after that query and its connections), then every
   * lookupd_poll_interval after an initial random delay of up to jitter × interval.
   */
  async connectToNsqLookupd(address: string): Promise<void> {
    if (this.stopping) throw new NsqError('ERR_STOPPED', 'consumer stopped');
    await this.lookupd.add(address);
  }

  /** connectToNsqLookupd for each address. */
  async connectToNsqLookupds(addresses: readonly string[]): Promise<void> {
    for (const a of addresses) await this.connectToNsqLookupd(a);
  }

  /** Stop polling lookupd `address` (the last one cannot be removed, as in go-nsq). */
  disconnectFromNsqLookupd(address: string): void {
    this.lookupd.remove(address);
  }

  /**
   * go-nsq's DiscoveryFilter (set there with SetBehaviorDelegate): `filter` gets the nsqd
   * addresses (`host:port`) each nsqlookupd query found and returns those to connect to, e.g.
   * the ones in this data centre. Connections already made are kept. null removes it.
   */
  setDiscoveryFilter(filter: ((addresses: string[]) => string[]) | null): void {
    this.discoveryFilter = filter;
  }

  /** LookupdHost: the discovery filter's choice (all of them without one; none, logged, when it throws). @internal */
  filterDiscovered(addresses: string[]): string[] {
    const f = this.discoveryFilter;
    if (f === null) return addresses;
    try {
      const out = f(addresses);
      if (!Array.isArray(out)) throw new TypeError(`returned ${typeof out}, not an array`);
      return out.filter((a): a is string => typeof a === 'string');
    } catch (err) {
      this.log('error', `discovery filter failed - ${(err as Error).message}`);
      return [];
    }
  }

  /** LookupdHost: connect to a discovered nsqd unless already connected. @internal */
  async discovered(address: string): Promise<void> {
    if (this.conns.has(address) || this.pending.has(address) || this.stopping) return;
    try {
      await this.connectToNsqd(address);
    } catch (err) {
      if ((err as NsqError).code !== 'ERR_ALREADY_CONNECTED' && !this.stopping) this.log('error', `(${address}) error connecting to nsqd - ${(err as Error).message}`);
    }
  }

  private scheduleReconnect(address: string): void {
    if (this.reconnectTimers.has(address)) return;
    this.log('info', `(${address}) re-connecting in ${this.config.lookupdPollInterval}ms`);
    const t = setTimeout(() => {
      this.reconnectTimers.delete(address);
      if (this.stopping || !this.nsqdTcpAddrs.has(address) || this.conns.has(address)) return;
      this.connectToNsqd(address).catch((err: NsqError) => {
        if (err.code === 'ERR_ALREADY_CONNECTED' || this.stopping) return;
        this.report(err);
        if (this.nsqdTcpAddrs.has(address)) this.scheduleReconnect(address);
      });
    }, this.config.lookupdPollInterval);
    this.reconnectTimers.set(address, t);
  }

  /** CLS-free close of one connection: RDY may no longer change; it ends once nothing is in flight. */
  private closeConnection(conn: NsqdConnection): void {
    conn.closing = true;
    if (!conn.isReady) conn.destroy();
    else if (conn.messagesInFlight === 0) conn.end();
  }

  // ---- ConnectionDelegate -------------------------------------------------------------------

  /** @internal */
  onMessage(conn: NsqdConnection, buf: Buffer, start: number, end: number): void {
    const msg = new Message(this, conn, buf, start, end);
    conn.messagesInFlight++;
    conn.lastMsgTimestamp = Date.now();
    this.received++;
    const max = this.config.maxAttempts;
    if (max > 0 && msg.attempts > max) this.discard(msg);
    else this.deliver(msg);
  }

  /** @internal */
  onResponse(conn: NsqdConnection, buf: Buffer, start: number, end: number): void {
    if (end - start === 10 && buf.toString('latin1', start, end) === 'CLOSE_WAIT') {
      // nsqd acknowledged CLS: no more messages will come; finish what is in flight, then close.
      this.log('info', `(${conn.address}) received CLOSE_WAIT from nsqd`);
      this.closeConnection(conn);
    }
  }

  /** @internal */
  onErrorFrame(conn: NsqdConnection, err: NsqError): void {
    this.log('error', `(${conn.address}) protocol error - ${err.message}`);
    this.report(err);
  }

  /** @internal */
  onClose(conn: NsqdConnection, err: NsqError | null): void {
    if (this.conns.get(conn.address) === conn) {
      this.conns.delete(conn.address);
      this.connList = [...this.conns.values()];
    }
    const left = this.conns.size;
    this.rdy.onConnectionClosed(conn, left);
    this.log(err === null ? 'info' : 'warn', `(${conn.address}) connection closed${err === null ? '' : ` - ${err.message}`}; ${left} left`);
    this.emit('nsqd_closed', conn.address, err);
    if (left === 0) this.emit('not_ready');
    if (this.stopping) {
      this.maybeFinishClose();
      return;
    }
    if (this.lookupd.active) this.lookupd.trigger();
    else if (this.nsqdTcpAddrs.has(conn.address)) this.scheduleReconnect(conn.address);
  }

  // ---- messages -----------------------------------------------------------------------------

  private listenersChanged(): void {
    this.handlers = null;
    // Messages queued while nobody listened go to the new listener (unless an iterator waits for them).
    if (this.queueHead < this.queue.length && this.iterators.size === 0) setImmediate(() => this.drainToHandlers());
  }

  private drainToHandlers(): void {
    while (this.queueHead < this.queue.length && this.listenerCount('message') > 0 && this.iterators.size === 0) {
      this.deliver(this.shift()!);
    }
  }

  private deliver(msg: Message): void {
    const hs = (this.handlers ??= this.rawListeners('message') as MessageListener[]);
    if (hs.length === 0) this.enqueue(msg);
    else runHandlers(hs, this, msg, !this.config.disableAutoResponse, this.logLine);
  }

  private discard(msg: Message): void {
    this.discarded++;
    this.log('warn', `msg ${msg.id} attempted ${msg.attempts} times, giving up`);
    runDiscardListeners(this.rawListeners('discard') as MessageListener[], this, msg, this.logLine);
  }

  private enqueue(msg: Message): void {
    for (const it of this.iterators) {
      if (it.offer(msg)) return;
    }
    // Stopping: a message nobody has taken yet goes straight back (close() waits for in-flight ones).
    if (this.stopping) msg.requeue(0, false);
    else this.queue.push(msg);
  }

  /** MessageSource: the next queued message, if any. @internal */
  shift(): Message | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const m = this.queue[this.queueHead]!;
    this.queue[this.queueHead++] = undefined as unknown as Message;
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    return m;
  }

  /** MessageSource: whether no message can arrive any more. @internal */
  get exhausted(): boolean {
    return this.closed;
  }

  /** MessageSource: an iterator stopped. @internal */
  detach(it: MessageIterator): void {
    this.iterators.delete(it);
  }

  /**
   * Iterate over messages: each is finished when the loop asks for the next one (unless it was
   * answered or auto response is disabled); leaving the loop early requeues the current one at
   * once. Buffered messages count against max_in_flight, so RDY is what the loop can take.
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    const it = new MessageIterator(this, this.config.disableAutoResponse);
    this.iterators.add(it);
    return it;
  }

  /** @internal */
  onMessageFinish(msg: Message): void {
    const conn = msg.conn;
    conn.messagesInFlight--;
    this.finished++;
    if (conn.isClosed) return;
    this.rdy.signal(BackoffSignal.Resume);
    conn.writeIdCommand('FIN', msg.frame, msg.offset + MSG_ID_OFFSET, '');
    this.afterResponse(conn);
  }

  /** @internal */
  onMessageRequeue(msg: Message, delayMs: number, backoff: boolean): void {
    const conn = msg.conn;
    conn.messagesInFlight--;
    this.requeued++;
    if (conn.isClosed) return;
    let delay = delayMs;
    if (delay === -1) delay = Math.min(this.config.defaultRequeueDelay * msg.attempts, this.config.maxRequeueDelay);
    this.rdy.signal(backoff ? BackoffSignal.Backoff : BackoffSignal.Continue);
    conn.writeIdCommand('REQ', msg.frame, msg.offset + MSG_ID_OFFSET, ` ${Math.floor(delay)}`);
    this.afterResponse(conn);
  }

  /** @internal */
  onMessageTouch(msg: Message): void {
    const conn = msg.conn;
    if (conn.isClosed) return;
    conn.writeIdCommand('TOUCH', msg.frame, msg.offset + MSG_ID_OFFSET, '');
    conn.scheduleFlush();
  }

  private afterResponse(conn: NsqdConnection): void {
    if (conn.closing && conn.messagesInFlight === 0) conn.end();
    else conn.scheduleFlush();
  }

  // ---- RdyHost, stats, close ------------------------------------------------------------------

  /** @internal */
  connections(): NsqdConnection[] {
    return this.connList;
  }

  /** @internal */
  isStopping(): boolean {
    return this.stopping;
  }

  /** @internal */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.logLine(level, message);
  }

  /** @internal */
  onBackoff(durationMs: number, level: number): void {
    this.emit('backoff', durationMs, level);
  }

  /** @internal */
  onResume(): void {
    this.emit('resume');
  }

  private report(err: NsqError): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.log('error', err.message);
  }

  /** Set max_in_flight (≥ 0) and re-apply RDY to every connection; 0 pauses delivery. */
  changeMaxInFlight(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new NsqError('ERR_INVALID_ARGUMENT', `max in flight must be an integer ≥ 0, got ${n}`);
    this.pausedMaxInFlight = null;
    this.rdy.changeMaxInFlight(n);
  }

  /** Stop delivery: RDY 0 everywhere (max_in_flight 0, as go-nsq's ChangeMaxInFlight(0)); in-flight messages stay valid. */
  pause(): void {
    if (this.pausedMaxInFlight !== null) return;
    this.pausedMaxInFlight = this.rdy.maxInFlight;
    this.rdy.changeMaxInFlight(0);
  }

  /** Resume delivery at the max_in_flight in force before pause(). */
  unpause(): void {
    if (this.pausedMaxInFlight === null) return;
    const n = this.pausedMaxInFlight;
    this.pausedMaxInFlight = null;
    this.rdy.changeMaxInFlight(n);
  }

  /** Whether pause() is in effect. */
  isPaused(): boolean {
    return this.pausedMaxInFlight !== null;
  }

  /** Whether some connection is close to its RDY (in flight ≥ 85% of it). */
  isStarved(): boolean {
    return this.rdy.isStarved();
  }

  /** The backoff level (0 when not backing off). */
  get backoffLevel(): number {
    return this.rdy.backoff.counter;
  }

  /** Message and connection counters. */
  stats(): ConsumerStats {
    return {
      messagesReceived: this.received,
      messagesFinished: this.finished,
      messagesRequeued: this.requeued,
      messagesDiscarded: this.discarded,
      connections: this.conns.size,
    };
  }

  /**
   * Stop gracefully: CLS to every nsqd, wait until every in-flight message is finished or requeued
   * and the connections closed, at most `timeoutMs` (closeTimeout, 30 s) before dropping them.
   */
  close(timeoutMs: number = this.config.closeTimeout): Promise<void> {
    const done = new Promise<void>((resolve) => {
      if (this.closed) resolve();
      else this.closeWaiters.push(resolve);
    });
    if (this.stopping) return done;
    this.stopping = true;
    this.log('info', 'stopping...');
    this.lookupd.stop();
    for (const t of this.reconnectTimers.values()) clearTimeout(t);
    this.reconnectTimers.clear();
    for (const c of this.pending.values()) c.destroy();
    // Messages queued for an iterator that has not taken them are not being handled: give them back.
    for (let m = this.shift(); m !== undefined; m = this.shift()) m.requeue(0, false);
    for (const c of this.connList) {
      c.writeCommand('CLS\n');
      c.flush();
    }
    this.closeTimer = setTimeout(() => {
      this.log('warn', `close timed out after ${timeoutMs} ms; dropping ${this.conns.size} connection(s)`);
      // Each destroyed connection reports onClose; the last one finishes the close.
      for (const c of [...this.conns.values()]) c.destroy();
      this.maybeFinishClose();
    }, timeoutMs);
    this.maybeFinishClose();
    return done;
  }

  private maybeFinishClose(): void {
    if (this.stopping && !this.closed && this.conns.size === 0 && this.pending.size === 0) this.finishClose();
  }

  private finishClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.rdy.stop();
    for (const it of this.iterators) it.end();
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const w of waiters) w();
    this.emit('closed');
  }
}
