/**
 * One V2 connection to nsqd: dial, `  V2`, IDENTIFY, the negotiated upgrades (TLS, then snappy or
 * deflate), AUTH, optionally SUB, then frames to a delegate. The byte path is a stack set up
 * after IDENTIFY: socket → [TLS] → [snappy or deflate decoder] → FrameReader, and commands →
 * one output buffer → [snappy or deflate encoder] → [TLS] → socket; the protocol code never
 * knows which layers are in place. Heartbeats are answered with NOP here.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { constants as zlibConstants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';
import { MAGIC_V2, FRAME_TYPE_ERROR, FRAME_TYPE_MESSAGE, FRAME_TYPE_RESPONSE, HEARTBEAT } from '../protocol/frames.js';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../protocol/snappy-stream.js';
import { CommandWriter } from './command-writer.js';
import type { ClientConfig } from './config.js';
import { NsqError, errorFromFrame } from './errors.js';
import { FrameReader, type FrameSink } from './frame-reader.js';
import { GO_TCP_KEEPALIVE_MS, goDialError } from '../internal/listen.js';

/** What nsqd answered to IDENTIFY with feature negotiation (spec 2.2). */
export interface IdentifyResponse {
  max_rdy_count: number;
  version: string;
  max_msg_timeout: number;
  msg_timeout: number;
  tls_v1: boolean;
  deflate: boolean;
  deflate_level: number;
  max_deflate_level: number;
  snappy: boolean;
  sample_rate: number;
  auth_required: boolean;
  output_buffer_size: number;
  output_buffer_timeout: number;
}

/** What nsqd answered to AUTH. */
export interface AuthResponse {
  identity: string;
  identity_url: string;
  permission_count: number;
}

/** Receives a ready connection's traffic; frame data is `buf[start, end)`, valid only during the call. */
export interface ConnectionDelegate {
  /** A message frame. */
  onMessage(conn: NsqdConnection, buf: Buffer, start: number, end: number): void;
  /** A response frame other than `_heartbeat_` (e.g. `OK`, `CLOSE_WAIT`). */
  onResponse(conn: NsqdConnection, buf: Buffer, start: number, end: number): void;
  /** An error frame. */
  onErrorFrame(conn: NsqdConnection, err: NsqError): void;
  /** The connection closed; `err` is null after a close we asked for. Called once, and only for a connection whose connect() resolved. */
  onClose(conn: NsqdConnection, err: NsqError | null): void;
  /** A heartbeat arrived (already answered with NOP). */
  onHeartbeat?(conn: NsqdConnection): void;
}

/** `host:port` split; IPv6 hosts may be bracketed. */
export function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (m === null) throw new NsqError('ERR_INVALID_ARGUMENT', `invalid nsqd address ${JSON.stringify(address)} (want host:port)`);
  return { host: m[1]!, port: Number(m[2]) };
}

const NOP = Buffer.from('NOP\n', 'latin1');

const enum Stage { Idle, Identify, Upgrade, Auth, Subscribe, Ready, Closed }

/** A V2 connection; the consumer and the producer keep their per-connection state in the public fields. */
export class NsqdConnection extends CommandWriter implements FrameSink {
  /** `host:port` as given. */
  readonly address: string;
  /** The IDENTIFY answer, or null when nsqd answered a plain OK (no feature negotiation). */
  identifyResponse: IdentifyResponse | null = null;
  /** The AUTH answer when AUTH was performed. */
  authResponse: AuthResponse | null = null;
  /** nsqd's max_rdy_count (2500 when not negotiated). */
  maxRdyCount = 2500;
  /** Consumer state: the RDY count last sent. */
  rdyCount = 0;
  /** Consumer state: when a non-zero RDY was last set (ms since epoch). */
  lastRdyTimestamp = 0;
  /** Consumer state: when the last message arrived (ms since epoch). */
  lastMsgTimestamp = Date.now();
  /** Consumer state: messages received and not yet finished or requeued. */
  messagesInFlight = 0;
  /** Consumer state: CLS sent and CLOSE_WAIT received, or close requested; no RDY may be sent. */
  closing = false;

  private readonly cfg: ClientConfig;
  private readonly delegate: ConnectionDelegate;
  private readonly host: string;
  private readonly port: number;
  private readonly reader: FrameReader;
  private raw: Socket | null = null;
  /** The socket commands are written to (raw, or TLS over raw). */
  private sock: Socket | null = null;
  private stage = Stage.Idle;
  private subscription: string | null = null;
  private snappyOut: SnappyFrameEncoder | null = null;
  private snappyIn: SnappyFrameDecoder | null = null;
  private deflateOut: DeflateRaw | null = null;
  private inflateIn: InflateRaw | null = null;
  private upgrades: ('tls' | 'snappy' | 'deflate')[] = [];
  /** Set by the frame that starts an upgrade: the bytes after it belong to the next layer. */
  private upgradePending = false;
  private settle: ((err: NsqError | null) => void) | null = null;
  private closeError: NsqError | null = null;
  private closeReported = false;
  private flushScheduled = false;
  private writeTimer: NodeJS.Timeout | null = null;
  private readonly flushBound = (): void => {
    this.flushScheduled = false;
    this.flush();
  };
  private readonly onWriteTimeout = (): void => {
    this.writeTimer = null;
    this.destroy(new NsqError('ERR_CONNECTION', `write timeout after ${this.cfg.writeTimeout} ms`, { address: this.address }));
  };
  private readonly onDrain = (): void => {
    if (this.writeTimer !== null) clearTimeout(this.writeTimer);
    this.writeTimer = null;
  };

  /** A connection to `address` (`host:port`) using `cfg`; nothing happens until connect(). */
  constructor(address: string, cfg: ClientConfig, delegate: ConnectionDelegate) {
    super();
    const { host, port } = splitAddress(address);
    this.address = address;
    this.host = host;
    this.port = port;
    this.cfg = cfg;
    this.delegate = delegate;
    this.reader = new FrameReader(this, cfg.maxMsgSize > 0 ? cfg.maxMsgSize + 4 : 0);
  }

  /** Whether the handshake completed and the connection is open. */
  get isReady(): boolean {
    return this.stage === Stage.Ready;
  }

  /** Whether the connection has closed (or failed). */
  get isClosed(): boolean {
    return this.stage === Stage.Closed;
  }

  /**
   * Dial, IDENTIFY, upgrade, AUTH and, when `subscribe` is given as [topic, channel], SUB and wait
   * for its OK; resolves when the connection is ready, rejects with an NsqError otherwise.
   */
  connect(subscribe?: [topic: string, channel: string]): Promise<void> {
    if (this.stage !== Stage.Idle) return Promise.reject(new NsqError('ERR_CONNECTION', 'connect() called twice', { address: this.address }));
    this.subscription = subscribe === undefined ? null : `SUB ${subscribe[0]} ${subscribe[1]}\n`;
    this.stage = Stage.Identify;
    return new Promise<void>((resolve, reject) => {
      this.settle = (err) => {
        this.settle = null;
        if (err === null) resolve();
        else reject(err);
      };
      const socket = netConnect({ host: this.host, port: this.port, localAddress: this.cfg.localAddr || undefined });
      this.raw = socket;
      this.sock = socket;
      const dialTimer = this.cfg.dialTimeout > 0
        ? setTimeout(() => this.destroy(new NsqError('ERR_CONNECTION', `dial tcp ${this.address}: i/o timeout`, { address: this.address })), this.cfg.dialTimeout)
        : null;
      let dialed = false;
      socket.once('connect', () => {
        dialed = true;
        if (dialTimer !== null) clearTimeout(dialTimer);
        socket.setNoDelay(true);
        // go-nsq dials with net.Dialer's default TCP keep-alive (15 s).
        socket.setKeepAlive(true, GO_TCP_KEEPALIVE_MS);
        socket.setTimeout(this.cfg.readTimeout);
        this.writeRaw(MAGIC_V2);
        this.writeCommand('IDENTIFY\n', Buffer.from(JSON.stringify(this.identifyBody()), 'utf8'));
        this.flush();
      });
      socket.on('timeout', () => this.destroy(new NsqError('ERR_CONNECTION', `read timeout after ${this.cfg.readTimeout} ms`, { address: this.address })));
      socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
      socket.on('error', (err) => {
        if (dialTimer !== null) clearTimeout(dialTimer);
        // A failed dial in go-nsq's words (net.Dial's error); later errors keep Node's text.
        const dial = dialed ? undefined : goDialError(this.address, err);
        this.closeError ??= new NsqError('ERR_CONNECTION', dial ?? `${this.address}: ${err.message}`, { cause: err, address: this.address });
      });
      socket.on('close', () => {
        if (dialTimer !== null) clearTimeout(dialTimer);
        this.onSocketClose();
      });
      socket.on('drain', this.onDrain);
    });
  }

  private identifyBody(): Record<string, unknown> {
    const c = this.cfg;
    return {
      client_id: c.clientId,
      hostname: c.hostname,
      user_agent: c.userAgent,
      short_id: c.clientId,
      long_id: c.hostname,
      tls_v1: c.tlsV1,
      deflate: c.deflate,
      deflate_level: c.deflateLevel,
      snappy: c.snappy,
      feature_negotiation: true,
      heartbeat_interval: c.heartbeatInterval === -1 ? -1 : Math.floor(c.heartbeatInterval),
      sample_rate: c.sampleRate,
      output_buffer_size: c.outputBufferSize,
      output_buffer_timeout: c.outputBufferTimeout === -1 ? -1 : Math.floor(c.outputBufferTimeout),
      msg_timeout: Math.floor(c.msgTimeout),
    };
  }

  // ---- read path ----------------------------------------------------------------------------

  private onSocketData(chunk: Buffer): void {
    if (this.snappyIn !== null) {
      const parts = this.snappyIn.push(chunk);
      if (parts instanceof Error) {
        this.destroy(new NsqError('ERR_PROTOCOL', parts.message, { cause: parts, address: this.address }));
        return;
      }
      for (let i = 0; i < parts.length; i++) this.onPlain(parts[i]!);
    } else if (this.inflateIn !== null) {
      this.inflateIn.write(chunk);
    } else {
      this.onPlain(chunk);
    }
  }

  /** Bytes of the V2 frame stream (after TLS and decompression). */
  private onPlain(chunk: Buffer): void {
    const used = this.reader.push(chunk);
    if (used < 0) {
      const e = this.reader.error!;
      this.destroy(new NsqError('ERR_PROTOCOL', e.message, { cause: e, address: this.address }));
      return;
    }
    if (!this.upgradePending) return;
    // The reader paused after the frame that starts an upgrade: the rest belongs to the new layer.
    this.upgradePending = false;
    this.reader.resume();
    this.nextUpgrade(chunk.subarray(used));
  }

  /** FrameSink: one frame from nsqd. */
  onFrame(frameType: number, buf: Buffer, start: number, end: number): void {
    if (frameType === FRAME_TYPE_MESSAGE) {
      if (this.stage === Stage.Ready) this.delegate.onMessage(this, buf, start, end);
      else if (this.stage !== Stage.Closed) this.protocolError(`message frame during handshake`);
      return;
    }
    if (this.stage === Stage.Closed) return;
    if (frameType === FRAME_TYPE_RESPONSE) {
      if (end - start === HEARTBEAT.length && buf[start] === 0x5f && buf.toString('latin1', start, end) === HEARTBEAT) {
        this.writeRaw(NOP);
        this.scheduleFlush();
        this.delegate.onHeartbeat?.(this);
        return;
      }
      if (this.stage === Stage.Ready) this.delegate.onResponse(this, buf, start, end);
      else this.handshakeResponse(buf, start, end);
      return;
    }
    if (frameType === FRAME_TYPE_ERROR) {
      const err = errorFromFrame(buf.toString('utf8', start, end), this.address);
      if (this.stage === Stage.Ready) this.delegate.onErrorFrame(this, err);
      else this.destroy(new NsqError(err.code as `E_${string}`, `${this.stageName()} failed: ${err.message}`, { cause: err, address: this.address }));
      return;
    }
    this.protocolError(`unknown frame type ${frameType}`);
  }

  private protocolError(message: string): void {
    this.reader.pause();
    this.destroy(new NsqError('ERR_PROTOCOL', message, { address: this.address }));
  }

  private stageName(): string {
    return this.stage === Stage.Auth ? 'AUTH' : this.stage === Stage.Subscribe ? 'SUB' : this.stage === Stage.Upgrade ? 'upgrade' : 'IDENTIFY';
  }

  // ---- handshake ----------------------------------------------------------------------------

  private handshakeResponse(buf: Buffer, start: number, end: number): void {
    const text = buf.toString('utf8', start, end);
    switch (this.stage) {
      case Stage.Identify: {
        if (text[0] !== '{') {
          this.afterUpgrades();
          return;
        }
        let resp: IdentifyResponse;
        try {
          resp = JSON.parse(text) as IdentifyResponse;
        } catch (err) {
          this.destroy(new NsqError('ERR_IDENTIFY', `IDENTIFY answered invalid JSON: ${text}`, { cause: err, address: this.address }));
          return;
        }
        this.identifyResponse = resp;
        if (typeof resp.max_rdy_count === 'number') this.maxRdyCount = resp.max_rdy_count;
        if (resp.tls_v1) this.upgrades.push('tls');
        if (resp.deflate) this.upgrades.push('deflate');
        if (resp.snappy) this.upgrades.push('snappy');
        if (this.upgrades.length === 0) {
          this.afterUpgrades();
          return;
        }
        this.stage = Stage.Upgrade;
        this.pauseForUpgrade();
        return;
      }
      case Stage.Upgrade:
        if (text !== 'OK') {
          this.destroy(new NsqError('ERR_IDENTIFY', `invalid response from upgrade: ${text}`, { address: this.address }));
          return;
        }
        if (this.upgrades.length === 0) this.afterUpgrades();
        else this.pauseForUpgrade();
        return;
      case Stage.Auth:
        try {
          this.authResponse = JSON.parse(text) as AuthResponse;
        } catch (err) {
          this.destroy(new NsqError('ERR_IDENTIFY', `AUTH answered invalid JSON: ${text}`, { cause: err, address: this.address }));
          return;
        }
        this.afterAuth();
        return;
      case Stage.Subscribe:
        if (text !== 'OK') {
          this.destroy(new NsqError('ERR_PROTOCOL', `SUB answered ${text}`, { address: this.address }));
          return;
        }
        this.becomeReady();
        return;
      default:
        this.protocolError(`unexpected response ${JSON.stringify(text)}`);
    }
  }

  private pauseForUpgrade(): void {
    this.reader.pause();
    this.upgradePending = true;
  }

  /** Start the next negotiated upgrade; `rest` are bytes that arrived after the frame that started it. */
  private nextUpgrade(rest: Buffer): void {
    const layer = this.upgrades.shift();
    if (layer === 'tls') {
      const raw = this.raw!;
      raw.removeAllListeners('data');
      if (rest.length > 0) raw.unshift(rest);
      const servername = this.cfg.tls.servername ?? (isIP(this.host) === 0 ? this.host : undefined);
      const t = tlsConnect({ ...this.cfg.tls, socket: raw, servername });
      this.sock = t;
      t.on('data', (chunk: Buffer) => this.onSocketData(chunk));
      t.on('error', (err) => {
        const code = this.stage === Stage.Ready ? 'ERR_CONNECTION' : 'ERR_IDENTIFY';
        this.destroy(new NsqError(code, `${this.address}: TLS: ${err.message}`, { cause: err, address: this.address }));
      });
      t.on('drain', this.onDrain);
      return;
    }
    if (layer === 'snappy') {
      this.snappyIn = new SnappyFrameDecoder();
      this.snappyOut = new SnappyFrameEncoder();
    } else if (layer === 'deflate') {
      const level = Math.min(this.cfg.deflateLevel, this.identifyResponse?.max_deflate_level ?? this.cfg.deflateLevel);
      const inflate = createInflateRaw();
      inflate.on('data', (d: Buffer) => this.onPlain(d));
      inflate.on('error', (err) => this.destroy(new NsqError('ERR_PROTOCOL', `inflate: ${err.message}`, { cause: err, address: this.address })));
      const deflate = createDeflateRaw({ level: level > 0 ? level : 6 });
      deflate.on('data', (d: Buffer) => this.sock?.write(d));
      this.inflateIn = inflate;
      this.deflateOut = deflate;
    } else {
      return;
    }
    if (rest.length > 0) this.onSocketData(rest);
  }

  private afterUpgrades(): void {
    if (this.identifyResponse?.auth_required === true) {
      if (this.cfg.authSecret === '') {
        this.destroy(new NsqError('ERR_IDENTIFY', 'Auth Required', { address: this.address }));
        return;
      }
      this.stage = Stage.Auth;
      this.writeCommand('AUTH\n', Buffer.from(this.cfg.authSecret, 'utf8'));
      this.flush();
      return;
    }
    this.afterAuth();
  }

  private afterAuth(): void {
    if (this.subscription !== null) {
      this.stage = Stage.Subscribe;
      this.writeRaw(Buffer.from(this.subscription, 'utf8'));
      this.flush();
      return;
    }
    this.becomeReady();
  }

  private becomeReady(): void {
    this.stage = Stage.Ready;
    this.settle?.(null);
  }

  // ---- write path (commands are appended by CommandWriter's methods) -------------------------

  /** Flush the output buffer at the end of this event-loop turn (one socket write for many commands). */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushBound);
  }

  /** Hand everything buffered to the socket now. */
  flush(): void {
    const data = this.takePending();
    if (data === null) return;
    const sock = this.sock;
    if (sock === null || this.stage === Stage.Closed || sock.destroyed) return;
    let ok: boolean;
    if (this.snappyOut !== null) {
      ok = sock.write(this.snappyOut.encode(data));
    } else if (this.deflateOut !== null) {
      this.deflateOut.write(data);
      this.deflateOut.flush(zlibConstants.Z_SYNC_FLUSH);
      ok = !sock.writableNeedDrain;
    } else {
      ok = sock.write(data);
    }
    if (!ok && this.writeTimer === null && this.cfg.writeTimeout > 0) this.writeTimer = setTimeout(this.onWriteTimeout, this.cfg.writeTimeout);
  }

  // ---- close --------------------------------------------------------------------------------

  /** Flush what is buffered and close our side; the delegate hears onClose(conn, null) when the socket closes. */
  end(): void {
    if (this.stage === Stage.Closed) return;
    this.flush();
    this.stage = Stage.Closed;
    const finish = (): void => {
      this.sock?.end();
    };
    if (this.deflateOut !== null) this.deflateOut.flush(zlibConstants.Z_SYNC_FLUSH, finish);
    else finish();
  }

  /** Close at once; `err` (if any) is reported to connect()'s caller or to the delegate's onClose. */
  destroy(err?: NsqError): void {
    if (err !== undefined) this.closeError ??= err;
    this.noteFailedStage();
    this.stage = Stage.Closed;
    if (this.raw === null || this.raw.closed) {
      this.reportClose();
      return;
    }
    if (this.sock !== this.raw) this.sock?.destroy();
    this.raw.destroy();
  }

  /** The handshake step a connection that never became ready ended in. */
  failedStage: 'IDENTIFY' | 'upgrade' | 'AUTH' | 'SUB' | null = null;

  private noteFailedStage(): void {
    if (this.failedStage === null && this.stage !== Stage.Idle && this.stage !== Stage.Ready && this.stage !== Stage.Closed) {
      this.failedStage = this.stageName() as NonNullable<NsqdConnection['failedStage']>;
    }
  }

  private onSocketClose(): void {
    this.noteFailedStage();
    const unexpected = this.stage !== Stage.Closed;
    this.stage = Stage.Closed;
    if (unexpected && this.closeError === null) {
      this.closeError = new NsqError('ERR_CONNECTION', `${this.address}: connection closed by nsqd`, { address: this.address });
    }
    this.reportClose();
  }

  private reportClose(): void {
    if (this.closeReported) return;
    this.closeReported = true;
    if (this.writeTimer !== null) clearTimeout(this.writeTimer);
    this.writeTimer = null;
    this.inflateIn?.destroy();
    this.deflateOut?.destroy();
    this.raw?.removeAllListeners('data');
    this.raw?.removeAllListeners('timeout');
    this.raw?.on('error', () => {});
    const err = this.closeError;
    if (this.settle !== null) {
      this.settle(err ?? new NsqError('ERR_CONNECTION', `${this.address}: connection closed during handshake`, { address: this.address }));
      return;
    }
    this.delegate.onClose(this, err);
  }
}
