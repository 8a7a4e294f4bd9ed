import type { Duplex } from 'node:stream';
import { goClosedConnError, goIp, goRemoteAddr, goTcpPair } from '../internal/listen.js';
import type { Socket } from 'node:net';
import { FRAME_TYPE_ERROR, FRAME_TYPE_RESPONSE, HEARTBEAT, writeFrameHeader } from '../protocol/frames.js';
import type { AuthState } from './auth.js';
import type { Channel, Consumer } from './channel.js';
import type { NsqdContext } from './context.js';
import { CLIENT_TIMEOUT_MS, DEFAULT_OUTPUT_BUFFER_SIZE } from './options.js';

/** Client states as reported in /stats. */
export const STATE_INIT = 0;
export const STATE_DISCONNECTED = 1;
export const STATE_CONNECTED = 2;
export const STATE_SUBSCRIBED = 3;
export const STATE_CLOSING = 4;

/** Per-client statistics in nsqd's JSON field order. */
export interface ClientStats {
  client_id: string;
  hostname: string;
  version: string;
  remote_address: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  finish_count: number;
  requeue_count: number;
  connect_ts: number;
  sample_rate: number;
  deflate: boolean;
  snappy: boolean;
  user_agent: string;
  authed?: boolean;
  auth_identity?: string;
  auth_identity_url?: string;
  pub_counts?: { topic: string; count: number }[];
  tls: boolean;
  tls_cipher_suite: string;
  tls_version: string;
  tls_negotiated_protocol: string;
  tls_negotiated_protocol_is_mutual: boolean;
}

/** Writes frames to the layer under the protocol; false when the stream below is backed up. */
export type Transport = (b: Buffer) => boolean;

/**
 * One V2 TCP connection: identity, negotiated settings, RDY/in-flight counters, the output
 * buffer (message frames batched into few socket writes, flushed when the client stops being
 * ready, when the buffer fills, and after output_buffer_timeout) and its timers (heartbeat,
 * read deadline of 2 × heartbeat, write deadline of 1 × heartbeat).
 */
export class ClientV2 implements Consumer {
  readonly id: number;
  readonly socket: Socket;
  readonly remoteAddress: string;
  readonly connectTs: number;
  clientId: string;
  hostname: string;
  userAgent = '';
  state = STATE_INIT;
  heartbeatIntervalMs = CLIENT_TIMEOUT_MS / 2;
  msgTimeoutMs: number;
  outputBufferSize = DEFAULT_OUTPUT_BUFFER_SIZE;
  outputBufferTimeoutMs: number;
  sampleRate = 0;
  readyCount = 0;
  inFlightCount = 0;
  messageCount = 0;
  finishCount = 0;
  requeueCount = 0;
  /** Messages published per topic, in first-publish order. */
  readonly pubCounts = new Map<string, number>();
  channel: Channel | null = null;
  tls = false;
  deflate = false;
  snappy = false;
  closed = false;
  /** The secret given with AUTH (kept to re-query when the answer expires). */
  authSecret = '';
  /** The auth server's answer, or null before AUTH. */
  authState: AuthState | null = null;
  /** Called once when the connection is gone (cleanup in the owner). */
  onClosed: (() => void) | null = null;
  /** `local->remote`, as Go's I/O errors name the connection (taken at accept: a reset socket forgets it). */
  readonly tcpPair: string;
  /** Why the connection ended, as nsqd's IOLoop error reads (logged as `client(addr) - ...`); null for a clean EOF. */
  exitReason: string | null = null;
  /** Where frames go; replaced when compression is negotiated. */
  private transport: Transport;
  /** The byte stream at the bottom: the socket, or the TLS socket over it. */
  private lower: Duplex;
  /** The transport straight to the TCP socket (replaced by TLS or compression). */
  private readonly toSocket: Transport;
  /** TLS details for /stats once upgraded. */
  tlsVersion = '';
  tlsCipherSuite = '';
  tlsCommonName = '';
  private readonly ctx: NsqdContext;
  private out: Buffer | null = null;
  private outLen = 0;
  /** Message frames queued for the next gather into `out` (see sendMessage). */
  private pendSources: Buffer[] = [];
  private pendLast: Buffer | null = null;
  private pendIndex = new Int32Array(64);
  private pendOffsets = new Int32Array(64);
  private pendLengths = new Int32Array(64);
  private pendCount = 0;
  private pendBytes = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  /**
   * nsqd's flush ticker (every output_buffer_timeout from the connection's start, or from
   * IDENTIFY): its channel holds one tick, which the pump takes only while it has unflushed
   * messages. So the first message after a quiet spell is flushed at once (a tick is waiting),
   * and a steady stream is flushed on the ticks. tickTaken is the time of the last tick taken.
   */
  private tickOrigin = performance.now();
  private tickTaken = this.tickOrigin;
  private nextTick = 0;
  private writeBlocked = false;
  private writeDeadline: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private readDeadlineTimer: NodeJS.Timeout | null = null;
  private lastReadAt = performance.now();

  constructor(id: number, socket: Socket, ctx: NsqdContext) {
    this.id = id;
    this.socket = socket;
    this.ctx = ctx;
    const ip = goIp(socket.remoteAddress ?? '');
    this.remoteAddress = goRemoteAddr(socket);
    this.tcpPair = goTcpPair(socket);
    this.clientId = ip;
    this.hostname = ip;
    this.connectTs = Math.floor(Date.now() / 1000);
    this.msgTimeoutMs = ctx.opts.msgTimeout;
    this.outputBufferTimeoutMs = ctx.opts.outputBufferTimeout;
    this.lower = socket;
    this.toSocket = (b) => socket.write(b);
    this.transport = this.toSocket;
    socket.on('drain', this.onDrain);
    this.startHeartbeat();
    this.armReadDeadline();
  }

  /** `host:port` plus client id, for log lines. */
  toString(): string {
    return this.remoteAddress;
  }

  // --- readiness and counters (nsqd's clientV2 methods) ---

  isReadyForMessages(): boolean {
    const ch = this.channel;
    if (ch === null || ch.paused || this.writeBlocked) return false;
    return this.readyCount > 0 && this.inFlightCount < this.readyCount;
  }

  readyRoom(): number {
    return this.isReadyForMessages() ? this.readyCount - this.inFlightCount : 0;
  }

  /** RDY: a new in-flight window. */
  setReadyCount(count: number): void {
    this.readyCount = count;
    this.readyStateChanged();
  }

  /** CLS: stop receiving, keep finishing. */
  startClose(): void {
    this.readyCount = 0;
    this.state = STATE_CLOSING;
    this.readyStateChanged();
  }

  finishedMessage(): void {
    this.finishCount++;
    this.inFlightCount--;
    this.readyStateChanged();
  }

  requeuedMessage(): void {
    this.requeueCount++;
    this.inFlightCount--;
    this.readyStateChanged();
  }

  timedOutMessage(): void {
    this.inFlightCount--;
    this.readyStateChanged();
  }

  emptyInFlight(): void {
    this.inFlightCount = 0;
    this.readyStateChanged();
  }

  /** Whether AUTH produced at least one authorization. */
  hasAuthorizations(): boolean {
    return this.authState !== null && this.authState.authorizations.length > 0;
  }

  /** Count a publish for /stats pub_counts. */
  publishedMessage(topic: string, count: number): void {
    this.pubCounts.set(topic, (this.pubCounts.get(topic) ?? 0) + count);
  }

  private readyStateChanged(): void {
    if (this.channel === null) return;
    if (this.isReadyForMessages()) this.ctx.schedulePump(this.channel);
    else this.flush();
  }

  // --- output ---

  /** Send a response frame (type 0) and flush; a string is sent as UTF-8. */
  sendResponse(data: string | Uint8Array): void {
    if (data === 'OK') {
      this.sendFrameBytes(OK_FRAME);
      return;
    }
    this.sendFrame(FRAME_TYPE_RESPONSE, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
  }

  /**
   * Send a whole, immutable frame (a response): buffered and written at the end of this turn's
   * microtasks, so the answers to pipelined commands completing together (several PUBs read in
   * one chunk, or stored by one disk batch) leave in one socket write instead of one each.
   */
  private sendFrameBytes(frame: Buffer): void {
    if (this.closed) return;
    const out = this.reserve(frame.length);
    if (out === null) {
      this.flush();
      this.writeRaw(frame);
      return;
    }
    frame.copy(out, this.outLen);
    this.outLen += frame.length;
    this.flushAtTurnEnd();
  }

  /** Flush once this turn's microtasks have run (the pump and the commands in hand are done). */
  private flushAtTurnEnd(): void {
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushQueuedResponses);
    }
  }

  private flushQueued = false;
  private readonly flushQueuedResponses = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  /** Send an error frame (type 1) and flush; text is a binary (latin1) string. */
  sendError(text: string): void {
    this.sendFrame(FRAME_TYPE_ERROR, Buffer.from(text, 'latin1'));
  }

  private sendFrame(type: number, body: Uint8Array): void {
    if (this.closed) return;
    const frameLen = 8 + body.length;
    const out = this.reserve(frameLen);
    if (out === null) {
      const b = Buffer.allocUnsafe(frameLen);
      writeFrameHeader(b, 0, 4 + body.length, type);
      b.set(body, 8);
      this.writeRaw(b);
    } else {
      writeFrameHeader(out, this.outLen, 4 + body.length, type);
      out.set(body, this.outLen + 8);
      this.outLen += frameLen;
    }
    this.flush();
  }

  /**
   * Channel → client: count it in flight and queue its stored frame frame[off, off+8+len). The
   * bytes are gathered into the output buffer in one FrameEncoder call per batch (before this
   * turn of the event loop ends, so before anything can finish or requeue the message and free
   * its bytes), not copied one message at a time.
   */
  sendMessage(frame: Buffer, off: number, len: number): void {
    this.inFlightCount++;
    this.messageCount++;
    if (this.closed) return;
    const frameLen = 8 + len;
    const cap = this.outputBufferSize;
    // A full buffer is written at the end of this turn rather than at once, so one pump's
    // messages to a client leave in one socket write of up to COALESCE_BYTES instead of one
    // write per output_buffer_size (nothing waits longer: the write happens before the event
    // loop turns). A client that disabled buffering (size 1) gets a write per message.
    const limit = cap < MIN_BUFFERED_SIZE ? cap : Math.max(cap, COALESCE_BYTES);
    const held = this.outLen + this.pendBytes;
    if (held + frameLen > limit && held > 0) this.flush();
    if (frameLen > limit) {
      this.writeRaw(Buffer.from(frame.subarray(off, off + frameLen)));
    } else {
      this.pend(frame, off, frameLen);
    }
    if (!this.isReadyForMessages()) this.flush();
    else if (this.outLen + this.pendBytes >= cap) this.flushAtTurnEnd();
    else if (this.flushTimer === null && this.outputBufferTimeoutMs > 0) this.awaitTick();
  }

  /** Buffered messages wait for the flush ticker: its waiting tick (flush after this turn's batch), else its next one. */
  private awaitTick(): void {
    const period = this.outputBufferTimeoutMs;
    const now = performance.now();
    const lastTick = this.tickOrigin + Math.floor((now - this.tickOrigin) / period) * period;
    if (lastTick > this.tickTaken) {
      this.tickTaken = lastTick;
      this.flushAtTurnEnd();
      return;
    }
    this.nextTick = lastTick + period;
    this.flushTimer = setTimeout(this.onFlushTick, this.nextTick - now);
  }

  private readonly onFlushTick = (): void => {
    this.flushTimer = null;
    this.tickTaken = this.nextTick;
    this.flush();
  };

  /** A new flush ticker (IDENTIFY): no tick waiting, the next one a period from now. */
  restartFlushTicker(): void {
    this.tickOrigin = this.tickTaken = performance.now();
  }

  private pend(frame: Buffer, off: number, frameLen: number): void {
    let n = this.pendCount;
    if (n === this.pendOffsets.length) {
      const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.pendIndex = grow(this.pendIndex);
      this.pendOffsets = grow(this.pendOffsets);
      this.pendLengths = grow(this.pendLengths);
    }
    if (frame !== this.pendLast) {
      this.pendLast = frame;
      this.pendSources.push(frame);
    }
    this.pendIndex[n] = this.pendSources.length - 1;
    this.pendOffsets[n] = off;
    this.pendLengths[n] = frameLen;
    this.pendCount = ++n;
    this.pendBytes += frameLen;
    if (n === 1) queueMicrotask(this.commit);
  }

  /** Gather the queued frames into the output buffer (one FrameEncoder call). */
  private readonly commit = (): void => {
    const n = this.pendCount;
    if (n === 0) return;
    const need = this.outLen + this.pendBytes;
    if (this.out === null || this.out.length < need) {
      const grown = this.newOutput(need);
      if (this.out !== null) {
        this.out.copy(grown, 0, 0, this.outLen);
        this.ctx.outputPool.give(this.out);
      }
      this.out = grown;
    }
    const end = this.ctx.backend.frameEncoder.gather(this.out, this.outLen, this.pendSources, this.pendIndex, this.pendOffsets, this.pendLengths, n);
    this.pendCount = 0;
    this.pendBytes = 0;
    this.pendSources.length = 0;
    this.pendLast = null;
    if (end < 0) {
      this.ctx.logger.error(`PROTOCOL(V2): [${this}] internal error gathering message frames, closing`);
      this.destroy();
      return;
    }
    this.outLen = end;
  };

  /**
   * Room for `len` bytes in the output buffer (flushing first if they do not fit), or null when
   * the frame is larger than the buffer and must be written on its own.
   */
  private reserve(len: number): Buffer | null {
    this.commit();
    const cap = this.outputBufferSize;
    if (this.outLen + len > cap && this.outLen > 0) this.flush();
    if (len > cap) return null;
    if (this.out === null || this.out.length < cap) this.out = this.newOutput(cap);
    return this.out;
  }

  /**
   * An output buffer for `need` bytes. On the plain socket it comes from the shared pool: one of
   * COALESCE_BYTES past output_buffer_size (a coalesced write), or one of the default
   * output_buffer_size for a client that kept it; else it is allocated.
   */
  private newOutput(need: number): Buffer {
    const cap = this.outputBufferSize;
    if (this.transport === this.toSocket) {
      const pool = this.ctx.outputPool;
      if (need > Math.max(cap, SMALL_WRITE) && need <= pool.size) return pool.take();
      if (cap === pool.defaultSize && need <= cap) return pool.takeDefault();
    }
    return Buffer.allocUnsafe(Math.max(cap, need, 64));
  }

  /** Write buffered frames to the transport. */
  flush(): void {
    if (this.flushTimer !== null) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    this.commit();
    if (this.outLen === 0 || this.closed) return;
    const whole = this.out!;
    const len = this.outLen;
    this.outLen = 0;
    if (len <= SMALL_WRITE) {
      // A few responses: copy them out (Node's pooled small buffers) and keep the output buffer.
      const b = Buffer.allocUnsafe(len);
      whole.copy(b, 0, 0, len);
      this.writeRaw(b);
      return;
    }
    // Hand the buffer itself to the socket (no copy); a new one is taken on the next write.
    this.out = null;
    const b = whole.subarray(0, len);
    if (this.transport === this.toSocket && this.ctx.outputPool.keeps(whole)) {
      // A pooled buffer goes back to the pool when its write is done (callbacks come in order).
      this.pooledInWrite.push(whole);
      if (!this.socket.write(b, this.onPooledWritten)) this.markBlocked();
    } else {
      this.writeRaw(b);
    }
  }

  /** Pooled buffers handed to the socket, oldest first. */
  private readonly pooledInWrite: Buffer[] = [];
  private readonly onPooledWritten = (err?: Error | null): void => {
    const b = this.pooledInWrite.shift();
    if (b !== undefined && (err === undefined || err === null)) this.ctx.outputPool.give(b);
  };

  private writeRaw(b: Buffer): void {
    if (!this.transport(b)) this.markBlocked();
  }

  /** The stream below refused more bytes: stop taking messages until it drains. */
  markBlocked(): void {
    if (this.closed) return;
    if (!this.writeBlocked) {
      this.writeBlocked = true;
      if (this.heartbeatIntervalMs > 0) {
        this.writeDeadline = setTimeout(() => {
          this.ctx.logger.error(`PROTOCOL(V2): [${this}] messagePump error - write tcp ${this.tcpPair}: i/o timeout`);
          this.destroy();
        }, this.heartbeatIntervalMs);
      }
    }
  }

  /** Whether frames are waiting for the socket to drain (then reading pauses, as nsqd blocks). */
  get isWriteBlocked(): boolean {
    return this.writeBlocked;
  }

  /** Write through a new layer (snappy or deflate encoder). */
  setTransport(t: Transport): void {
    this.flush();
    this.transport = t;
  }

  /** Put a new stream at the bottom (the TLS socket): writes and drain events now use it. */
  setLower(stream: Duplex): void {
    this.lower.off('drain', this.onDrain);
    this.lower = stream;
    stream.on('drain', this.onDrain);
    this.transport = (b) => stream.write(b);
  }

  /** The stream at the bottom (for layers that write to it). */
  get lowerStream(): Duplex {
    return this.lower;
  }

  private readonly onDrain = (): void => {
    if (!this.writeBlocked) return;
    this.writeBlocked = false;
    if (this.writeDeadline !== null) clearTimeout(this.writeDeadline);
    this.writeDeadline = null;
    this.onResume?.();
    if (this.channel !== null && this.isReadyForMessages()) this.ctx.schedulePump(this.channel);
  };

  /** A compression layer's hook to push out what it holds before the stream ends. */
  beforeEnd: ((done: () => void) => void) | null = null;

  /** Called when a backed-up stream drains (the read loop resumes reading). */
  onResume: (() => void) | null = null;
  /** The read deadline passed: true when the protocol answered it (a command's body was due) and closes. */
  onReadTimeout: (() => boolean) | null = null;

  // --- timers ---

  /** (Re)start heartbeats at the current interval; none when disabled (-1). */
  startHeartbeat(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    if (this.heartbeatIntervalMs > 0) {
      this.heartbeatTimer = setInterval(() => this.sendResponse(HEARTBEAT), this.heartbeatIntervalMs);
    }
  }

  /** A command was read: the read deadline restarts from now. */
  commandRead(): void {
    this.lastReadAt = performance.now();
  }

  /** (Re)arm the read deadline check: 2 × heartbeat interval without a command closes. */
  armReadDeadline(): void {
    if (this.readDeadlineTimer !== null) clearTimeout(this.readDeadlineTimer);
    this.readDeadlineTimer = null;
    if (this.heartbeatIntervalMs <= 0 || this.closed) return;
    const limit = 2 * this.heartbeatIntervalMs;
    const wait = Math.max(1, limit - (performance.now() - this.lastReadAt));
    this.readDeadlineTimer = setTimeout(() => {
      this.readDeadlineTimer = null;
      if (performance.now() - this.lastReadAt >= limit) {
        // Inside a body command nsqd's read fails in the command, which answers before closing.
        if (this.onReadTimeout?.() === true) return;
        this.destroy(`failed to read command - read tcp ${this.tcpPair}: i/o timeout`);
        return;
      }
      this.armReadDeadline();
    }, wait);
  }

  // --- closing ---

  /**
   * Flush, then close the connection: after a fatal error (`reason` its text), a clean EOF
   * (null), or by nsqd itself (a channel deleted, shutdown), where nsqd's read fails on the
   * connection it closed.
   */
  close(reason: string | null = `failed to read command - ${goClosedConnError(this.tcpPair)}`): void {
    if (this.closed) return;
    this.exitReason ??= reason;
    this.flush();
    this.closed = true;
    this.clearTimers();
    const lower = this.lower;
    const end = (): void => {
      lower.end(() => {
        lower.destroy();
        this.socket.destroy();
      });
    };
    if (this.beforeEnd !== null) this.beforeEnd(end);
    else end();
    // A peer that never reads must not keep a half-closed socket forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
    this.onClosed?.();
  }

  /** Drop the connection now (`reason`: as for close). */
  destroy(reason: string | null = null): void {
    if (!this.closed) this.exitReason ??= reason;
    this.closed = true;
    this.clearTimers();
    this.lower.destroy();
    this.socket.destroy();
    this.onClosed?.();
  }

  /** The socket went away (EOF, reset): forget timers. */
  socketClosed(): void {
    this.closed = true;
    this.clearTimers();
    this.onClosed?.();
  }

  private clearTimers(): void {
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    if (this.readDeadlineTimer !== null) clearTimeout(this.readDeadlineTimer);
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    if (this.writeDeadline !== null) clearTimeout(this.writeDeadline);
    this.heartbeatTimer = this.readDeadlineTimer = this.flushTimer = this.writeDeadline = null;
  }

  /** /stats entry for this client. */
  stats(topicFilter: string | null): ClientStats {
    const s: Partial<ClientStats> = {
      client_id: this.clientId,
      hostname: this.hostname,
      version: 'V2',
      remote_address: this.remoteAddress,
      state: this.state,
      ready_count: this.readyCount,
      in_flight_count: this.inFlightCount,
      message_count: this.messageCount,
      finish_count: this.finishCount,
      requeue_count: this.requeueCount,
      connect_ts: this.connectTs,
      sample_rate: this.sampleRate,
      deflate: this.deflate,
      snappy: this.snappy,
      user_agent: this.userAgent,
    };
    if (this.hasAuthorizations()) s.authed = true;
    if (this.authState !== null && this.authState.identity !== '') s.auth_identity = this.authState.identity;
    if (this.authState !== null && this.authState.identityUrl !== '') s.auth_identity_url = this.authState.identityUrl;
    // nsqd reports at most one pub_counts entry: the first topic (matching the filter).
    for (const [topic, count] of this.pubCounts) {
      if (topicFilter !== null && topic !== topicFilter) continue;
      s.pub_counts = [{ topic, count }];
      break;
    }
    s.tls = this.tls;
    s.tls_cipher_suite = this.tlsCipherSuite;
    s.tls_version = this.tlsVersion;
    s.tls_negotiated_protocol = '';
    // Go reports NegotiatedProtocolIsMutual (always true since Go 1.?) only with TLS.
    s.tls_negotiated_protocol_is_mutual = this.tls;
    return s as ClientStats;
  }
}

/** Flushes up to this size are copied out so the output buffer is reused. */
const SMALL_WRITE = 512;

/**
 * Message frames gathered for one client in one turn are written together up to this many
 * bytes (bench/macro drain: one write per 16 KiB output buffer cost a quarter of nsqd's main
 * thread in write syscalls).
 */
const COALESCE_BYTES = 256 * 1024;

/** The smallest output_buffer_size IDENTIFY accepts; below it (-1 gives 1) buffering is off. */
const MIN_BUFFERED_SIZE = 64;

/**
 * Output buffers shared by an nsqd's clients and taken back once the socket is done with them,
 * so a busy consumer does not allocate (and the GC free) a fresh external buffer per write: of
 * COALESCE_BYTES for coalesced writes, and of the default output_buffer_size for the writes of
 * a client that kept it. Holds at most `max` and `maxDefault` idle buffers.
 */
export class OutputPool {
  readonly size = COALESCE_BYTES;
  readonly defaultSize = DEFAULT_OUTPUT_BUFFER_SIZE;
  private readonly free: Buffer[] = [];
  private readonly freeDefault: Buffer[] = [];

  constructor(
    private readonly max = 8,
    private readonly maxDefault = 64,
  ) {}

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(this.size);
  }

  takeDefault(): Buffer {
    return this.freeDefault.pop() ?? Buffer.allocUnsafe(this.defaultSize);
  }

  /** Whether `b` has a size this pool keeps. */
  keeps(b: Buffer): boolean {
    return b.length === this.size || b.length === this.defaultSize;
  }

  give(b: Buffer): void {
    if (b.length === this.size) {
      if (this.free.length < this.max) this.free.push(b);
    } else if (b.length === this.defaultSize && this.freeDefault.length < this.maxDefault) {
      this.freeDefault.push(b);
    }
  }
}

/** The `OK` response frame, shared (never written into). */
const OK_FRAME = Buffer.from([0, 0, 0, 6, 0, 0, 0, 0, 0x4f, 0x4b]);
