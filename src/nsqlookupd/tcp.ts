// nsqlookupd's TCP side (nsqlookupd/tcp.go and lookup_protocol_v1.go): the `  V1` magic, then
// text lines (trimmed, split on single spaces) answered with [int32 BE size][payload] and no
// frame type. Every error is fatal: the `E_* text` reply is written and the connection closed.
// When a connection ends, its peer is removed from every registration (keys stay).
//
// Input is parsed by a small state machine over socket chunks (magic, line, IDENTIFY size,
// IDENTIFY body) that holds only the bytes of the unit being read. Go nsqlookupd reads lines and
// bodies without bound (a negative body size even crashes it); here a line is limited to
// MAX_LINE_LENGTH bytes (longer: the connection is closed, as nsqd does for a V2 line that
// overflows its buffer) and an IDENTIFY body to MAX_IDENTIFY_BODY_SIZE with nsqd's error texts.

import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { formatDurationNanos } from '../internal/duration.js';
import { goJSON } from '../internal/http.js';
import { goClosedConnError, goReadError, goReadFullError, goRemoteAddr, goTcpPair } from '../internal/listen.js';
import { errorStack, type Logger } from '../internal/log.js';
import { FatalClientError } from '../protocol/errors.js';
import { MAGIC_V1 } from '../protocol/frames.js';
import { isEphemeral, isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { decodeIdentifyBody } from './identify.js';
import type { NsqlookupdOptions } from './options.js';
import { Producer, unixNanos, type PeerInfo, type RegistrationDB } from './registration-db.js';

/** Longest command line accepted, in bytes including the '\n' (Go has no limit). */
export const MAX_LINE_LENGTH = 16 * 1024;
/** Largest IDENTIFY body accepted, in bytes (nsqd's default --max-body-size; Go nsqlookupd has no limit). */
export const MAX_IDENTIFY_BODY_SIZE = 5 * 1024 * 1024;
/** How long a closing connection may take to flush its last reply before it is destroyed, in ms. */
const CLOSE_FLUSH_TIMEOUT_MS = 1000;

/** What a lookup connection needs from the daemon. */
export interface LookupHost {
  /** Options in force. */
  readonly opts: NsqlookupdOptions;
  /** Where protocol events are logged. */
  readonly logger: Logger;
  /** The registration database. */
  readonly db: RegistrationDB;
  /** The TCP port actually listened on. */
  readonly tcpPort: number;
  /** The HTTP port actually listened on. */
  readonly httpPort: number;
  /** The version nsqlookupd reports ("1.3.0"). */
  readonly version: string;
}

const enum Stage {
  MAGIC,
  LINE,
  IDENTIFY_SIZE,
  IDENTIFY_BODY,
  CLOSED,
}

const NEWLINE = 0x0a;
const OK = Buffer.from('OK');

/** One reply: [int32 BE size][payload]. */
function encodeResponse(payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + payload.length);
  out.writeInt32BE(payload.length, 0);
  out.set(payload, 4);
  return out;
}

// Multi-byte white space Go's unicode.IsSpace knows, as UTF-8: U+0085, U+00A0, U+1680,
// U+2000-200A / U+2028 / U+2029 / U+202F (third byte checked separately, -1), U+205F, U+3000.
const SPACE_SEQUENCES: readonly (readonly number[])[] = [[0xc2, 0x85], [0xc2, 0xa0], [0xe1, 0x9a, 0x80], [0xe2, 0x80, -1], [0xe2, 0x81, 0x9f], [0xe3, 0x80, 0x80]];

function isE280Space(b: number): boolean {
  return (b >= 0x80 && b <= 0x8a) || b === 0xa8 || b === 0xa9 || b === 0xaf;
}

/** Length of the white-space character starting (or, `fromEnd`, ending) at b[i], or 0. */
function spaceAt(b: Buffer, i: number, fromEnd: boolean): number {
  const c = b[i] as number;
  // An ASCII byte is never part of a multi-byte sequence.
  if (c < 0x80) return c === 0x20 || (c >= 0x09 && c <= 0x0d) ? 1 : 0;
  for (const seq of SPACE_SEQUENCES) {
    const start = fromEnd ? i - seq.length + 1 : i;
    if (start < 0 || start + seq.length > b.length) continue;
    let k = 0;
    while (k < seq.length && (seq[k] === -1 ? isE280Space(b[start + k] as number) : b[start + k] === seq[k])) k++;
    if (k === seq.length) return seq.length;
  }
  return 0;
}

/** Go's strings.TrimSpace on raw bytes. */
export function trimSpace(b: Buffer): Buffer {
  let start = 0;
  let end = b.length;
  for (let n; start < end && (n = spaceAt(b, start, false)) > 0; ) start += n;
  for (let n; end > start && (n = spaceAt(b, end - 1, true)) > 0; ) end -= n;
  return b.subarray(start, end);
}

/**
 * One nsqd (or any client) connected to the TCP port: parses its input, runs PING, IDENTIFY,
 * REGISTER and UNREGISTER against the registration database, and cleans up when it goes away.
 */
export class LookupConnection {
  /** Set by a successful IDENTIFY; shared by every registration this connection makes. */
  peerInfo: PeerInfo | null = null;
  /** The remote `ip:port` as Go prints it. */
  readonly remote: string;
  private stage = Stage.MAGIC;
  private held: Buffer[] = [];
  private heldLen = 0;
  private bodySize = 0;
  private closeTimer: NodeJS.Timeout | null = null;
  /** `local->remote`, as Go's I/O errors name the connection. */
  private readonly pair: string;
  /** Whether the magic was accepted (nsqd's IOLoop ran, so its ending is logged). */
  private looping = false;
  /** What ended the IOLoop, logged as `client(addr) - ...` (Go returns EOF too: nsqlookupd logs every ending). */
  private exitReason: string | null = null;
  private onClosed: (() => void) | null = null;
  /** Settles once the connection is gone and its registrations are removed. */
  readonly closed = new Promise<void>((resolve) => {
    this.onClosed = resolve;
  });

  /** Take over a freshly accepted socket (created with allowHalfOpen, so EOF still lets us reply). */
  constructor(
    private readonly host: LookupHost,
    private readonly socket: Socket,
  ) {
    this.remote = goRemoteAddr(socket);
    this.pair = goTcpPair(socket);
    host.logger.info(`TCP: new client(${this.remote})`);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.looping) this.exitReason ??= goReadError(this.pair, err);
      else if (this.stage === Stage.MAGIC) host.logger.error(`failed to read protocol version - ${goReadError(this.pair, err)}`);
    });
    socket.on('close', () => this.onClose());
    socket.on('drain', () => {
      if (this.stage !== Stage.CLOSED) socket.resume();
    });
  }

  /** Reply bytes accepted but not yet handed to the kernel (bounded: reading stops while replies back up). */
  get pendingOutputBytes(): number {
    return this.socket.writableLength;
  }

  /** `ip:port`, as NSQ names a client in logs. */
  toString(): string {
    return this.remote;
  }

  /** Close the connection at once (daemon shutdown); registrations are removed on 'close'. */
  destroy(): void {
    this.exitReason ??= goClosedConnError(this.pair);
    this.stage = Stage.CLOSED;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const socket = this.socket;
    socket.cork();
    try {
      this.consume(chunk);
    } catch (err) {
      // A bug that throws ends this peer's connection (logged with its stack), never the daemon.
      this.host.logger.error(`[${this.remote}] internal error - ${errorStack(err)}`);
      this.destroy();
    } finally {
      socket.uncork();
    }
    // A client that does not read its replies is not read from until they drain.
    if (this.stage !== Stage.CLOSED && socket.writableNeedDrain) socket.pause();
  }

  /** Bytes held so far plus `tail`, as one buffer, and forget them. */
  private take(tail: Buffer): Buffer {
    if (this.heldLen === 0) return tail;
    const out = Buffer.concat([...this.held, tail], this.heldLen + tail.length);
    this.held = [];
    this.heldLen = 0;
    return out;
  }

  private hold(part: Buffer): void {
    if (part.length === 0) return;
    this.held.push(Buffer.from(part)); // a copy: never pin the socket's whole chunk
    this.heldLen += part.length;
  }

  /** Need exactly `n` bytes starting at `pos`; returns them and the next position, or null after holding a partial. */
  private need(chunk: Buffer, pos: number, n: number): { bytes: Buffer; next: number } | null {
    const want = n - this.heldLen;
    if (chunk.length - pos < want) {
      this.hold(chunk.subarray(pos));
      return null;
    }
    return { bytes: this.take(chunk.subarray(pos, pos + want)), next: pos + want };
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.stage) {
        case Stage.CLOSED:
          return;
        case Stage.MAGIC: {
          const got = this.need(chunk, pos, 4);
          if (got === null) return;
          pos = got.next;
          this.onMagic(got.bytes);
          break;
        }
        case Stage.LINE: {
          const nl = chunk.indexOf(NEWLINE, pos);
          if (nl === -1) {
            this.hold(chunk.subarray(pos));
            if (this.heldLen >= MAX_LINE_LENGTH) this.lineTooLong();
            return;
          }
          if (this.heldLen + nl + 1 - pos > MAX_LINE_LENGTH) {
            this.lineTooLong();
            return;
          }
          const line = this.take(chunk.subarray(pos, nl));
          pos = nl + 1;
          this.exec(line);
          break;
        }
        case Stage.IDENTIFY_SIZE: {
          const got = this.need(chunk, pos, 4);
          if (got === null) return;
          pos = got.next;
          this.onIdentifySize(got.bytes.readInt32BE(0));
          break;
        }
        case Stage.IDENTIFY_BODY: {
          const got = this.need(chunk, pos, this.bodySize);
          if (got === null) return;
          pos = got.next;
          this.onIdentifyBody(got.bytes);
          break;
        }
      }
    }
  }

  private onMagic(magic: Buffer): void {
    const text = magic.toString('latin1');
    this.host.logger.info(`CLIENT(${this.remote}): desired protocol magic '${text}'`);
    if (!magic.equals(MAGIC_V1)) {
      this.host.logger.error(`client(${this.remote}) bad protocol magic '${text}'`);
      this.closeAfter(encodeResponse(Buffer.from('E_BAD_PROTOCOL')));
      return;
    }
    this.stage = Stage.LINE;
    this.looping = true;
  }

  private lineTooLong(): void {
    this.exitReason ??= `failed to read command - line longer than ${MAX_LINE_LENGTH} bytes`;
    this.held = [];
    this.heldLen = 0;
    this.closeAfter(null);
  }

  /** Run one command line (without its '\n'). */
  private exec(raw: Buffer): void {
    const params = trimSpace(raw).toString('latin1').split(' ');
    const cmd = params[0] as string;
    let result: Buffer | FatalClientError | null;
    switch (cmd) {
      case 'PING':
        result = this.ping();
        break;
      case 'IDENTIFY':
        result = this.identify();
        break;
      case 'REGISTER':
        result = this.register(params.slice(1));
        break;
      case 'UNREGISTER':
        result = this.unregister(params.slice(1));
        break;
      default:
        result = new FatalClientError('E_INVALID', `invalid command ${cmd}`);
    }
    if (result instanceof FatalClientError) this.fail(result);
    else if (result !== null) this.socket.write(encodeResponse(result));
  }

  private fail(err: FatalClientError): void {
    const parent = err.cause instanceof Error ? ` - ${err.cause.message}` : '';
    this.host.logger.error(`[${this.remote}] - ${err.wireText}${parent}`);
    this.exitReason ??= err.wireText;
    this.closeAfter(encodeResponse(Buffer.from(err.wireText, 'latin1')));
  }

  private ping(): Buffer {
    const peer = this.peerInfo;
    if (peer !== null) {
      // A PING may come before IDENTIFY; only an identified peer has a last_update to refresh.
      const now = unixNanos();
      this.host.logger.info(`CLIENT(${peer.id}): pinged (last ping ${formatDurationNanos(now - peer.lastUpdate)})`);
      peer.lastUpdate = now;
    }
    return OK;
  }

  /** IDENTIFY's line: refuse a second one, else wait for the body size. */
  private identify(): null | FatalClientError {
    if (this.peerInfo !== null) return new FatalClientError('E_INVALID', 'cannot IDENTIFY again');
    this.stage = Stage.IDENTIFY_SIZE;
    return null;
  }

  private onIdentifySize(size: number): void {
    if (size > MAX_IDENTIFY_BODY_SIZE) {
      this.fail(new FatalClientError('E_BAD_BODY', `IDENTIFY body too big ${size} > ${MAX_IDENTIFY_BODY_SIZE}`));
      return;
    }
    if (size < 0) {
      this.fail(new FatalClientError('E_BAD_BODY', `IDENTIFY invalid body size ${size}`));
      return;
    }
    this.bodySize = size;
    this.stage = Stage.IDENTIFY_BODY;
    // A zero-length body is complete at once; Go then fails to decode it.
    if (size === 0) this.onIdentifyBody(Buffer.alloc(0));
  }

  private onIdentifyBody(body: Buffer): void {
    this.stage = Stage.LINE;
    const host = this.host;
    const fields = decodeIdentifyBody(body);
    if (fields instanceof Error) {
      this.fail(new FatalClientError('E_BAD_BODY', 'IDENTIFY failed to decode JSON body', { cause: fields }));
      return;
    }
    const { broadcastAddress, tcpPort, httpPort, version } = fields;
    // Go checks these after overwriting remote_address; hostname is not required.
    if (broadcastAddress === '' || tcpPort == 0 || httpPort == 0 || version === '') {
      this.fail(new FatalClientError('E_BAD_BODY', 'IDENTIFY missing fields'));
      return;
    }
    const peer: PeerInfo = { ...fields, id: this.remote, remoteAddress: this.remote, lastUpdate: unixNanos() };
    host.logger.info(`CLIENT(${this.remote}): IDENTIFY Address:${broadcastAddress} TCP:${tcpPort} HTTP:${httpPort} Version:${version}`);
    this.peerInfo = peer;
    if (host.db.addProducer({ category: 'client', key: '', subKey: '' }, new Producer(peer))) {
      host.logger.info(`DB: client(${this.remote}) REGISTER category:client key: subkey:`);
    }
    // Go builds the reply from a map, so its keys come out sorted.
    const reply = {
      broadcast_address: host.opts.broadcastAddress,
      hostname: hostname(),
      http_port: host.httpPort,
      tcp_port: host.tcpPort,
      version: host.version,
    };
    this.socket.write(encodeResponse(Buffer.from(goJSON(reply), 'utf8')));
  }

  /** Go's getTopicChan: the topic and optional channel of (UN)REGISTER, validated in NSQ's order. */
  private topicChannel(command: string, params: readonly string[]): { topic: string; channel: string } | FatalClientError {
    if (this.peerInfo === null) return new FatalClientError('E_INVALID', 'client must IDENTIFY');
    if (params.length === 0) return new FatalClientError('E_INVALID', `${command} insufficient number of params`);
    const topic = params[0] as string;
    const channel = params[1] ?? '';
    if (!isValidTopicName(topic)) return new FatalClientError('E_BAD_TOPIC', `${command} topic name '${topic}' is not valid`);
    if (channel !== '' && !isValidChannelName(channel)) {
      return new FatalClientError('E_BAD_CHANNEL', `${command} channel name '${channel}' is not valid`);
    }
    return { topic, channel };
  }

  private register(params: readonly string[]): Buffer | FatalClientError {
    const tc = this.topicChannel('REGISTER', params);
    if (tc instanceof FatalClientError) return tc;
    const { topic, channel } = tc;
    const peer = this.peerInfo as PeerInfo;
    const { db, logger } = this.host;
    if (channel !== '' && db.addProducer({ category: 'channel', key: topic, subKey: channel }, new Producer(peer))) {
      logger.info(`DB: client(${this.remote}) REGISTER category:channel key:${topic} subkey:${channel}`);
    }
    if (db.addProducer({ category: 'topic', key: topic, subKey: '' }, new Producer(peer))) {
      logger.info(`DB: client(${this.remote}) REGISTER category:topic key:${topic} subkey:`);
    }
    return OK;
  }

  private unregister(params: readonly string[]): Buffer | FatalClientError {
    const tc = this.topicChannel('UNREGISTER', params);
    if (tc instanceof FatalClientError) return tc;
    const { topic, channel } = tc;
    const id = (this.peerInfo as PeerInfo).id;
    const { db, logger } = this.host;
    if (channel !== '') {
      const key = { category: 'channel', key: topic, subKey: channel };
      const { removed, left } = db.removeProducer(key, id);
      if (removed) logger.info(`DB: client(${this.remote}) UNREGISTER category:channel key:${topic} subkey:${channel}`);
      // An ephemeral channel's key goes with its last producer.
      if (left === 0 && isEphemeral(channel)) db.removeRegistration(key);
      return OK;
    }
    // A topic unregistration also drops this peer from the topic's channels; nsqd unregisters
    // those first, so anything removed here is worth a warning (as in NSQ).
    for (const r of db.findRegistrations('channel', topic, '*')) {
      if (db.removeProducer(r, id).removed) {
        logger.warn(`client(${this.remote}) unexpected UNREGISTER category:channel key:${topic} subkey:${r.subKey}`);
      }
    }
    const key = { category: 'topic', key: topic, subKey: '' };
    const { removed, left } = db.removeProducer(key, id);
    if (removed) logger.info(`DB: client(${this.remote}) UNREGISTER category:topic key:${topic} subkey:`);
    if (left === 0 && isEphemeral(topic)) db.removeRegistration(key);
    return OK;
  }

  /** The client half-closed: answer a half-read IDENTIFY as Go does, then close. */
  private onEnd(): void {
    const eof = goReadFullError(this.heldLen);
    switch (this.stage) {
      case Stage.MAGIC:
        this.host.logger.error(`failed to read protocol version - ${eof}`);
        this.closeAfter(null);
        break;
      // The read's own error is the parent.
      case Stage.IDENTIFY_SIZE:
        this.fail(new FatalClientError('E_BAD_BODY', 'IDENTIFY failed to read body size', { cause: new Error(eof) }));
        break;
      case Stage.IDENTIFY_BODY:
        this.fail(new FatalClientError('E_BAD_BODY', 'IDENTIFY failed to read body', { cause: new Error(eof) }));
        break;
      case Stage.LINE:
        this.exitReason ??= 'EOF';
        this.closeAfter(null);
        break;
      case Stage.CLOSED:
        break;
    }
  }

  /** Stop reading, write `last` (if any), then close once it is flushed (or after a grace period). */
  private closeAfter(last: Buffer | null): void {
    if (this.stage === Stage.CLOSED) return;
    this.stage = Stage.CLOSED;
    this.held = [];
    this.heldLen = 0;
    const socket = this.socket;
    socket.pause();
    if (socket.destroyed) return;
    this.closeTimer = setTimeout(() => socket.destroy(), CLOSE_FLUSH_TIMEOUT_MS);
    this.closeTimer.unref();
    const done = (): void => {
      socket.destroy();
    };
    if (last !== null) socket.end(last, done);
    else socket.end(done);
  }

  /** Remove the peer from every registration (keys stay), as Go does when the IOLoop exits. */
  private onClose(): void {
    this.stage = Stage.CLOSED;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    const { db, logger } = this.host;
    if (this.looping) {
      logger.info(`PROTOCOL(V1): [${this.remote}] exiting ioloop`);
      const peer = this.peerInfo;
      if (peer !== null) {
        for (const r of db.lookupRegistrations(peer.id)) {
          if (db.removeProducer(r, peer.id).removed) {
            logger.info(`DB: client(${this.remote}) UNREGISTER category:${r.category} key:${r.key} subkey:${r.subKey}`);
          }
        }
      }
      if (this.exitReason !== null) logger.error(`client(${this.remote}) - ${this.exitReason}`);
    }
    this.onClosed?.();
  }
}
