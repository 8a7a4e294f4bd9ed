/**
 * The Producer: publishes to one nsqd over one lazily opened connection. Commands are pipelined
 * (written back to back, flushed once per event-loop turn) and nsqd answers them in order, so a
 * FIFO of pending promises matches each `OK` or error frame to its command (go-nsq producer.go).
 */
import { EventEmitter } from 'node:events';
import { isValidTopicName } from '../protocol/names.js';
import { makeLog, resolveConfig, type ClientConfig, type ClientOptions } from './config.js';
import { NsqdConnection, splitAddress, type ConnectionDelegate } from './connection.js';
import { NsqError } from './errors.js';

/** A message body: bytes, or a string sent as UTF-8. */
export type MessageBody = Uint8Array | string;

/** Events of a Producer. */
export interface ProducerEvents {
  /** The connection is established (IDENTIFY done). */
  connected: [address: string];
  /** The connection closed (`err` null after close()); pending publishes were rejected. */
  closed: [address: string, err: NsqError | null];
  /** An unsolicited error (a frame nobody waited for); without a listener it is logged. */
  error: [err: NsqError];
}

const MAX_CACHED_TOPICS = 1024;

/** Publishes to the nsqd at `address` (`host:port`); connects on first use and again after a disconnect. */
export class Producer extends EventEmitter<ProducerEvents> implements ConnectionDelegate {
  /** The nsqd's `host:port`. */
  readonly address: string;
  /** The resolved configuration. */
  readonly config: Readonly<ClientConfig>;
  private conn: NsqdConnection | null = null;
  private connecting: Promise<NsqdConnection> | null = null;
  private resolves: (() => void)[] = [];
  private rejects: ((err: NsqError) => void)[] = [];
  private head = 0;
  private stopped = false;
  private closing: Promise<void> | null = null;
  private drained: (() => void) | null = null;
  /** Topics already validated, each with its `PUB <topic>\n` line (built once, not per publish). */
  private readonly pubLines = new Map<string, string>();
  private readonly logLine: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

  /** A producer for nsqd at `address`; options as go-nsq's Config (ERR_CONFIG if invalid). */
  constructor(address: string, options: ClientOptions = {}) {
    super();
    splitAddress(address);
    this.address = address;
    this.config = resolveConfig(options);
    this.logLine = makeLog(this.config, `(${address}) `);
  }

  /** Commands written and not yet answered. */
  get pendingCount(): number {
    return this.resolves.length - this.head;
  }

  /** Whether the connection is up. */
  get isConnected(): boolean {
    return this.conn !== null && this.conn.isReady;
  }

  /** Connect now (publishing connects lazily anyway); rejects with an NsqError. */
  async connect(): Promise<void> {
    await this.connection();
  }

  /**
   * go-nsq's Ping: connect if not connected, then send a NOP (which nsqd does not answer);
   * resolves once it is handed to the socket, rejects with an NsqError when nsqd cannot be
   * reached. A cheap check that nsqd is up before publishing.
   */
  async ping(): Promise<void> {
    const c = await this.connection();
    c.writeCommand('NOP\n');
    c.flush();
  }

  /** PUB: publish one message; resolves on nsqd's OK, rejects with its error (code E_*) or a connection error. */
  publish(topic: string, body: MessageBody): Promise<void> {
    const bad = this.check(topic) ?? checkBody(body);
    if (bad !== undefined) return Promise.reject(bad);
    const line = this.pubLines.get(topic)!;
    const conn = this.conn;
    if (conn !== null && conn.isReady) {
      conn.writeCommand(line, body);
      return this.sent(conn);
    }
    return this.connection().then((c) => {
      c.writeCommand(line, body);
      return this.sent(c);
    });
  }

  /** MPUB: publish several messages atomically; resolves on nsqd's OK. */
  mpublish(topic: string, bodies: readonly MessageBody[]): Promise<void> {
    let bad = this.check(topic);
    if (bad === undefined && (!Array.isArray(bodies) || bodies.length === 0)) bad = new NsqError('ERR_INVALID_ARGUMENT', 'MPUB needs at least one message');
    for (let i = 0; bad === undefined && i < bodies.length; i++) bad = checkBody(bodies[i]!);
    if (bad !== undefined) return Promise.reject(bad);
    return this.connection().then((c) => {
      c.writeMultiCommand(`MPUB ${topic}\n`, bodies);
      return this.sent(c);
    });
  }

  /** DPUB: publish one message that nsqd delivers after `delayMs` (integer ms ≥ 0, at most nsqd's --max-req-timeout). */
  deferredPublish(topic: string, body: MessageBody, delayMs: number): Promise<void> {
    let bad = this.check(topic) ?? checkBody(body);
    if (bad === undefined && (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0)) {
      bad = new NsqError('ERR_INVALID_ARGUMENT', `deferred publish delay must be a number of ms ≥ 0, got ${String(delayMs)}`);
    }
    if (bad !== undefined) return Promise.reject(bad);
    return this.connection().then((c) => {
      c.writeCommand(`DPUB ${topic} ${Math.floor(delayMs)}\n`, body);
      return this.sent(c);
    });
  }

  private check(topic: string): NsqError | undefined {
    if (this.stopped) return new NsqError('ERR_STOPPED', 'producer stopped', { address: this.address });
    if (this.pubLines.has(topic)) return undefined;
    if (typeof topic !== 'string' || !isValidTopicName(topic)) return new NsqError('ERR_INVALID_ARGUMENT', `invalid topic name ${JSON.stringify(topic)}`);
    if (this.pubLines.size >= MAX_CACHED_TOPICS) this.pubLines.clear();
    this.pubLines.set(topic, `PUB ${topic}\n`);
    return undefined;
  }

  /** A command was appended to `conn`'s output: flush this turn and wait for its answer. */
  private sent(conn: NsqdConnection): Promise<void> {
    conn.scheduleFlush();
    return new Promise<void>((resolve, reject) => {
      this.resolves.push(resolve);
      this.rejects.push(reject);
    });
  }

  /** The ready connection, connecting first if needed. */
  private connection(): Promise<NsqdConnection> {
    if (this.stopped) return Promise.reject(new NsqError('ERR_STOPPED', 'producer stopped', { address: this.address }));
    const c = this.conn;
    if (c !== null && c.isReady) return Promise.resolve(c);
    if (this.connecting !== null) return this.connecting;
    const conn = new NsqdConnection(this.address, this.config, this);
    this.connecting = conn.connect().then(
      () => {
        this.connecting = null;
        this.conn = conn;
        this.logLine('info', 'connected');
        this.emit('connected', this.address);
        return conn;
      },
      (err: NsqError) => {
        this.connecting = null;
        conn.destroy();
        this.logLine('error', `error connecting to nsqd - ${err.message}`);
        throw err;
      },
    );
    return this.connecting;
  }

  /** Answer the oldest unanswered command: resolve it (`err` null) or reject it with `err`; false when none is pending. */
  private settleHead(err: NsqError | null): boolean {
    if (this.head >= this.resolves.length) return false;
    const i = this.head++;
    const resolve = this.resolves[i]!;
    const reject = this.rejects[i]!;
    if (this.head === this.resolves.length) {
      this.resolves = [];
      this.rejects = [];
      this.head = 0;
      this.drained?.();
    } else if (this.head > 4096 && this.head * 2 > this.resolves.length) {
      this.resolves = this.resolves.slice(this.head);
      this.rejects = this.rejects.slice(this.head);
      this.head = 0;
    }
    if (err === null) resolve();
    else reject(err);
    return true;
  }

  /** @internal */
  onMessage(conn: NsqdConnection): void {
    this.logLine('error', 'received a message frame on a producer connection; closing');
    conn.destroy(new NsqError('ERR_PROTOCOL', 'message frame on a producer connection', { address: this.address }));
  }

  /** @internal */
  onResponse(conn: NsqdConnection): void {
    if (this.settleHead(null)) return;
    this.logLine('error', 'received a response with no command outstanding; closing');
    conn.destroy(new NsqError('ERR_PROTOCOL', 'response with no command outstanding', { address: this.address }));
  }

  /** @internal */
  onErrorFrame(_conn: NsqdConnection, err: NsqError): void {
    if (this.settleHead(err)) return;
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.logLine('error', `protocol error - ${err.message}`);
  }

  /** @internal */
  onClose(conn: NsqdConnection, err: NsqError | null): void {
    if (this.conn === conn) this.conn = null;
    const rejects = this.rejects.slice(this.head);
    this.resolves = [];
    this.rejects = [];
    this.head = 0;
    if (rejects.length > 0) {
      const e = new NsqError('ERR_NOT_CONNECTED', `${this.address}: connection closed with ${rejects.length} command(s) unanswered${err === null ? '' : ` - ${err.message}`}`, { cause: err ?? undefined, address: this.address });
      for (const r of rejects) r(e);
    }
    this.drained?.();
    this.logLine(err === null ? 'info' : 'warn', `connection closed${err === null ? '' : ` - ${err.message}`}`);
    this.emit('closed', this.address, err);
  }

  /**
   * Stop: new publishes fail with ERR_STOPPED; waits (up to closeTimeout, 30 s) for the answers
   * to commands already sent, then closes the connection.
   */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.stopped = true;
    this.closing = (async () => {
      if (this.connecting !== null) await this.connecting.catch(() => undefined);
      const conn = this.conn;
      if (conn === null) return;
      if (this.pendingCount > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.config.closeTimeout);
          this.drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.drained = null;
      }
      if (conn.isClosed) return;
      await new Promise<void>((resolve) => {
        this.once('closed', () => resolve());
        conn.end();
      });
    })();
    return this.closing;
  }
}

function checkBody(body: MessageBody): NsqError | undefined {
  if (typeof body === 'string' ? body.length === 0 : !(body instanceof Uint8Array) || body.length === 0) {
    return new NsqError('ERR_INVALID_ARGUMENT', body === '' || (body instanceof Uint8Array && body.length === 0) ? 'cannot publish an empty message' : 'a message body must be a string or a Uint8Array');
  }
  return undefined;
}
