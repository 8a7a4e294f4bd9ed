import {
  Cmd,
  STAGE_MPUB_COUNT,
  STAGE_MPUB_MSG_SIZE,
  STAGE_SIZE,
  ScanStatus,
  type FrameScanner,
} from '../native/backend.js';
import { goJSON } from '../internal/http.js';
import { readInt32, walkMpubMessages } from '../native/index.js';
import { ClientError, FatalClientError } from '../protocol/errors.js';
import { MSG_ID_LENGTH } from '../protocol/message.js';
import { isValidChannelName, isValidTopicName } from '../protocol/names.js';
import { goQuote } from '../protocol/quote.js';
import { isAllowed, queryAnyAuthd, type AuthSettings } from './auth.js';
import { STATE_CLOSING, STATE_INIT, STATE_SUBSCRIBED, type ClientV2 } from './client-v2.js';
import type { NsqdContext } from './context.js';
import { identify, type IdentifyUpgrade } from './identify.js';
import { TLS_NOT_REQUIRED } from './options.js';
import type { BodyParts } from '../protocol/body-parts.js';
import { contiguousBatch, type MessageBatch, type PublishScratch } from './message-batch.js';

/** What a command handler returns now: a response frame, an error, or nothing. */
export type SyncResult = string | Buffer | ClientError | null;
/** What a command handler returns: a result now, or later (AUTH and auth refreshes). */
export type CommandResult = SyncResult | Promise<SyncResult>;

const SP = 0x20;
/** Longest publish line CommandsV2 keeps to compare the next one with (a topic name is at most 64 bytes). */
const PUB_LINE_CACHE = 128;

function indexOfSpace(buf: Uint8Array, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === SP) return i;
  return -1;
}

/** Split a line on every single space (Go's bytes.Split), as binary strings. */
export function splitParams(buf: Uint8Array, start: number, end: number): string[] {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', start, end).split(' ');
}

/**
 * nsqd's ByteToBase10: ASCII digits only (empty → 0), accumulated as uint64 with wrap-around,
 * then read as int64. Returns null for any other byte.
 */
export function parseBase10(s: string): bigint | null {
  let n = 0n;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
    n = n * 10n + BigInt(c - 0x30);
  }
  return BigInt.asIntN(64, BigInt.asUintN(64, n));
}

/** Fast path of parseBase10 for short digit runs in a buffer; -1 on a non-digit, -2 when too long. */
function parseSmallBase10(buf: Uint8Array, start: number, end: number): number {
  if (end - start > 15) return -2;
  let n = 0;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/** Go's time.Duration(ms) * time.Millisecond with int64 wrap-around, back in ms. */
function msDurationWrap(ms: bigint): number {
  return Number(BigInt.asIntN(64, ms * 1_000_000n)) / 1e6;
}

/**
 * The V2 commands of one connection with nsqd's exact checks, their order and error texts
 * (spec section 2). Stateless apart from the client it acts for; the read loop calls exec()
 * per command record and headerCheck() for a body command whose body has not arrived yet.
 */
export class CommandsV2 {
  private readonly host: NsqdContext;
  private readonly client: ClientV2;
  private readonly remoteIp: () => string;
  private readonly upgrade: (u: IdentifyUpgrade) => Promise<SyncResult>;
  /**
   * The last publish line (PUB, DPUB or MPUB, up to PUB_LINE_CACHE bytes) and its parameters: a
   * producer sends the same line again and again, and a repeat is compared, not split again.
   */
  private pubLine: Buffer = Buffer.alloc(0);
  private pubLineLen = -1;
  private pubParams: string[] = [];
  /** The last topic name a publish header check found valid (validity depends on the name alone). */
  private validTopic: string | null = null;

  constructor(host: NsqdContext, client: ClientV2, remoteIp: () => string, upgrade: (u: IdentifyUpgrade) => Promise<SyncResult>) {
    this.host = host;
    this.client = client;
    this.remoteIp = remoteIp;
    this.upgrade = upgrade;
  }

  /**
   * The error nsqd sends when the stream ends inside a body command at `stage`; `cause`, the
   * read's own error, is what nsqd logs after it.
   */
  readFailure(code: Cmd, stage: number, index: number, cause?: Error): ClientError | null {
    const size = stage === STAGE_SIZE;
    const fatal = (c: string, desc: string): ClientError => new FatalClientError(c, desc, { cause });
    switch (code) {
      case Cmd.IDENTIFY:
        return fatal('E_BAD_BODY', size ? 'IDENTIFY failed to read body size' : 'IDENTIFY failed to read body');
      case Cmd.AUTH:
        return fatal('E_BAD_BODY', size ? 'AUTH failed to read body size' : 'AUTH failed to read body');
      case Cmd.PUB:
        return fatal('E_BAD_MESSAGE', size ? 'PUB failed to read message body size' : 'PUB failed to read message body');
      case Cmd.DPUB:
        return fatal('E_BAD_MESSAGE', size ? 'DPUB failed to read message body size' : 'DPUB failed to read message body');
      case Cmd.MPUB:
        switch (stage) {
          case STAGE_SIZE:
            return fatal('E_BAD_BODY', 'MPUB failed to read body size');
          case STAGE_MPUB_COUNT:
            return fatal('E_BAD_BODY', 'MPUB failed to read message count');
          case STAGE_MPUB_MSG_SIZE:
            return fatal('E_BAD_MESSAGE', `MPUB failed to read message(${index}) body size`);
          default:
            return fatal('E_BAD_MESSAGE', 'MPUB failed to read message body');
        }
      default:
        return null;
    }
  }

  /** The TLS policy check nsqd applies to every command but IDENTIFY. */
  private tlsPolicy(name: string): ClientError | null {
    const c = this.client;
    if (this.host.opts.tlsRequired !== TLS_NOT_REQUIRED && !c.tls) {
      return new FatalClientError('E_INVALID', `cannot ${name} in current state (TLS required)`);
    }
    return null;
  }

  /**
   * Checks a body command makes before its body is read (nsqd's order); null when they pass.
   * Runs again when the complete command arrives, so it must be free of side effects other
   * than MPUB's topic creation, which nsqd also does before reading the body.
   */
  headerCheck(code: Cmd, params: string[]): ClientError | null | Promise<ClientError | null> {
    const name = params[0]!;
    if (code !== Cmd.IDENTIFY) {
      const e = this.tlsPolicy(name);
      if (e !== null) return e;
    }
    switch (code) {
      case Cmd.IDENTIFY:
        if (this.client.state !== STATE_INIT) return new FatalClientError('E_INVALID', 'cannot IDENTIFY in current state');
        return null;
      case Cmd.AUTH:
        if (this.client.state !== STATE_INIT) return new FatalClientError('E_INVALID', 'cannot AUTH in current state');
        if (params.length !== 1) return new FatalClientError('E_INVALID', 'AUTH invalid number of parameters');
        return null;
      case Cmd.PUB:
        if (params.length < 2) return new FatalClientError('E_INVALID', 'PUB insufficient number of parameters');
        if (!this.isValidTopic(params[1]!)) return new FatalClientError('E_BAD_TOPIC', `PUB topic name ${goQuote(params[1]!)} is not valid`);
        return null;
      case Cmd.MPUB: {
        if (params.length < 2) return new FatalClientError('E_INVALID', 'MPUB insufficient number of parameters');
        const topic = params[1]!;
        if (!this.isValidTopic(topic)) return new FatalClientError('E_BAD_TOPIC', `E_BAD_TOPIC MPUB topic name ${goQuote(topic)} is not valid`);
        const auth = this.checkAuth('MPUB', topic, '');
        if (auth !== null) return auth;
        this.host.getTopic(topic);
        return null;
      }
      case Cmd.DPUB: {
        if (params.length < 3) return new FatalClientError('E_INVALID', 'DPUB insufficient number of parameters');
        if (!this.isValidTopic(params[1]!)) return new FatalClientError('E_BAD_TOPIC', `DPUB topic name ${goQuote(params[1]!)} is not valid`);
        const t = parseBase10(params[2]!);
        if (t === null) return new FatalClientError('E_INVALID', `DPUB could not parse timeout ${params[2]}`);
        const ms = msDurationWrap(t);
        const max = this.host.opts.maxReqTimeout;
        if (ms < 0 || ms > max) {
          return new FatalClientError('E_INVALID', `DPUB timeout ${BigInt.asUintN(64, t)} out of range 0-${Math.floor(max)}`);
        }
        return null;
      }
      default:
        return null;
    }
  }

  private isValidTopic(name: string): boolean {
    if (name === this.validTopic) return true;
    if (!isValidTopicName(name)) return false;
    this.validTopic = name;
    return true;
  }

  /** splitParams of a publish line, or the parameters of the last one when its bytes are the same. */
  private publishParams(buf: Uint8Array, ls: number, le: number): string[] {
    const len = le - ls;
    if (len === this.pubLineLen) {
      const line = this.pubLine;
      let i = 0;
      while (i < len && buf[ls + i] === line[i]) i++;
      if (i === len) return this.pubParams;
    }
    const params = splitParams(buf, ls, le);
    if (len <= PUB_LINE_CACHE) {
      if (this.pubLine.length < len) this.pubLine = Buffer.allocUnsafe(Math.max(len, 64));
      this.pubLine.set(buf.subarray(ls, le), 0);
      this.pubLineLen = len;
      this.pubParams = params;
    }
    return params;
  }

  /** Execute one command record (status COMPLETE or one of the scanner's size errors). */
  exec(code: Cmd, status: number, buf: Buffer | Uint8Array, ls: number, le: number, bodyStart: number, bodyLen: number, size: number, parts: BodyParts | null = null): CommandResult {
    const client = this.client;
    switch (code) {
      case Cmd.FIN:
        return this.fin(buf, ls, le);
      case Cmd.RDY:
        return this.rdy(buf, ls, le);
      case Cmd.NOP:
        return this.tlsPolicy('NOP');
      case Cmd.PUB:
      case Cmd.DPUB:
        return this.pub(code, status, buf, ls, le, bodyStart, bodyLen, size, parts);
      case Cmd.MPUB:
        return this.mpub(status, buf, ls, le, bodyStart, bodyLen, size, parts);
      case Cmd.REQ:
      case Cmd.TOUCH:
        return this.reqOrTouch(code, splitParams(buf, ls, le));
      case Cmd.IDENTIFY: {
        const params = splitParams(buf, ls, le);
        const pre = this.headerCheck(code, params);
        if (pre !== null) return pre;
        if (status !== ScanStatus.COMPLETE) {
          if (size > this.host.opts.maxBodySize) return new FatalClientError('E_BAD_BODY', `IDENTIFY body too big ${size} > ${this.host.opts.maxBodySize}`);
          return new FatalClientError('E_BAD_BODY', `IDENTIFY invalid body size ${size}`);
        }
        const r = identify(client, this.host, buf.subarray(bodyStart, bodyStart + bodyLen));
        if (typeof r === 'string' || r instanceof ClientError) return r;
        return r.tls || r.snappy || r.deflate ? this.upgrade(r) : r.json;
      }
      case Cmd.AUTH: {
        const params = splitParams(buf, ls, le);
        const pre = this.headerCheck(code, params);
        if (pre !== null) return pre;
        if (status !== ScanStatus.COMPLETE) {
          if (size > this.host.opts.maxBodySize) return new FatalClientError('E_BAD_BODY', `AUTH body too big ${size} > ${this.host.opts.maxBodySize}`);
          return new FatalClientError('E_BAD_BODY', `AUTH invalid body size ${size}`);
        }
        return this.auth(Buffer.from(buf.subarray(bodyStart, bodyStart + bodyLen)).toString('latin1'));
      }
      case Cmd.SUB:
        return this.sub(splitParams(buf, ls, le));
      case Cmd.CLS: {
        const e = this.tlsPolicy('CLS');
        if (e !== null) return e;
        if (client.state !== STATE_SUBSCRIBED) return new FatalClientError('E_INVALID', 'cannot CLS in current state');
        client.startClose();
        return 'CLOSE_WAIT';
      }
      default: {
        const name = splitParams(buf, ls, le)[0]!;
        return this.tlsPolicy(name) ?? new FatalClientError('E_INVALID', `invalid command ${name}`);
      }
    }
  }

  /**
   * nsqd's CheckAuth: with auth enabled, SUB and publishes need a prior AUTH and a matching
   * authorization; an expired answer is fetched again first (the only async case).
   */
  private checkAuth(cmd: string, topic: string, channel: string): ClientError | null | Promise<ClientError | null> {
    if (this.host.opts.authHttpAddresses.length === 0) return null;
    const c = this.client;
    if (!c.hasAuthorizations()) return new FatalClientError('E_AUTH_FIRST', `AUTH required before ${cmd}`);
    const decide = (): ClientError | null =>
      isAllowed(c.authState!, topic, channel) ? null : new FatalClientError('E_UNAUTHORIZED', `AUTH failed for ${cmd} on ${goQuote(topic)} ${goQuote(channel)}`);
    if (Date.now() < c.authState!.expires) return decide();
    return this.refreshAuth().then((err) => err ?? decide());
  }

  /** Ask the auth server; refused as nsqd refuses (AUTH names the server's error as the parent, a refresh does not). */
  private async refreshAuth(asAuth = false): Promise<ClientError | null> {
    const c = this.client;
    try {
      c.authState = await queryAnyAuthd(this.authSettings(), this.authRequest(c.authSecret));
      return null;
    } catch (err) {
      this.host.logger.warn(`PROTOCOL(V2): [${c}] AUTH failed ${(err as Error).message}`);
      return new FatalClientError('E_AUTH_FAILED', 'AUTH failed', asAuth ? { cause: err } : undefined);
    }
  }

  private authSettings(): AuthSettings {
    const o = this.host.opts;
    return { addresses: o.authHttpAddresses, connectTimeoutMs: o.httpClientConnectTimeout, requestTimeoutMs: o.httpClientRequestTimeout, tls: this.host.clientTls };
  }

  private authRequest(secret: string): { remoteIp: string; tls: boolean; commonName: string; secret: string } {
    return { remoteIp: this.remoteIp(), tls: this.client.tls, commonName: this.client.tlsCommonName, secret };
  }

  /** AUTH after its body checks: already set, disabled, then the auth server. */
  private auth(secret: string): CommandResult {
    const c = this.client;
    if (c.hasAuthorizations()) return new FatalClientError('E_INVALID', 'AUTH already set');
    if (this.host.opts.authHttpAddresses.length === 0) return new FatalClientError('E_AUTH_DISABLED', 'AUTH disabled');
    c.authSecret = secret;
    return this.refreshAuth(true).then((err) => {
      if (err !== null) return err;
      if (!c.hasAuthorizations()) return new FatalClientError('E_UNAUTHORIZED', 'AUTH no authorizations found');
      const st = c.authState!;
      return goJSON({ identity: st.identity, identity_url: st.identityUrl, permission_count: st.authorizations.length });
    });
  }

  private fin(buf: Uint8Array, ls: number, le: number): CommandResult {
    const client = this.client;
    if (this.host.opts.tlsRequired !== TLS_NOT_REQUIRED) {
      const e = this.tlsPolicy('FIN');
      if (e !== null) return e;
    }
    if (client.state !== STATE_SUBSCRIBED && client.state !== STATE_CLOSING) {
      return new FatalClientError('E_INVALID', 'cannot FIN in current state');
    }
    if (le - ls < 4) return new FatalClientError('E_INVALID', 'FIN insufficient number of params');
    const idStart = ls + 4;
    let idEnd = le;
    // A line that ends 16 bytes after `FIN ` (every client's FIN) is not scanned for a space: its
    // 16 bytes are looked up as they are, and only a failed lookup asks whether they held one.
    if (le - idStart !== MSG_ID_LENGTH) {
      idEnd = indexOfSpace(buf, idStart, le);
      if (idEnd < 0) idEnd = le;
      if (idEnd - idStart !== MSG_ID_LENGTH) return new FatalClientError('E_INVALID', 'invalid message ID');
    }
    const err = client.channel!.finishMessage(client.id, buf, idStart);
    if (err !== null) {
      // Ids are hex, so one with a space was never in flight: nsqd's split makes it too short.
      if (indexOfSpace(buf, idStart, idEnd) >= 0) return new FatalClientError('E_INVALID', 'invalid message ID');
      const id = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('latin1', idStart, idEnd);
      return new ClientError('E_FIN_FAILED', `FIN ${id} failed ${err.message}`, { cause: err });
    }
    client.finishedMessage();
    return null;
  }

  private rdy(buf: Uint8Array, ls: number, le: number): CommandResult {
    const client = this.client;
    if (this.host.opts.tlsRequired !== TLS_NOT_REQUIRED) {
      const e = this.tlsPolicy('RDY');
      if (e !== null) return e;
    }
    if (client.state === STATE_CLOSING) {
      // As nsqd: ignored (a client may race its CLS), and logged.
      this.host.logger.info(`PROTOCOL(V2): [${client}] ignoring RDY after CLS in state ClientStateV2Closing`);
      return null;
    }
    if (client.state !== STATE_SUBSCRIBED) return new FatalClientError('E_INVALID', 'cannot RDY in current state');
    let count = 1;
    if (le - ls > 3) {
      const from = ls + 4;
      let to = indexOfSpace(buf, from, le);
      if (to < 0) to = le;
      count = parseSmallBase10(buf, from, to);
      if (count < 0) {
        const raw = splitParams(buf, ls, le)[1]!;
        const big = parseBase10(raw);
        if (big === null) return new FatalClientError('E_INVALID', `RDY could not parse count ${raw}`);
        if (big < 0n || big > BigInt(this.host.opts.maxRdyCount)) {
          return new FatalClientError('E_INVALID', `RDY count ${big} out of range 0-${this.host.opts.maxRdyCount}`);
        }
        count = Number(big);
      }
    }
    if (count > this.host.opts.maxRdyCount) {
      return new FatalClientError('E_INVALID', `RDY count ${count} out of range 0-${this.host.opts.maxRdyCount}`);
    }
    client.setReadyCount(count);
    return null;
  }

  private reqOrTouch(code: Cmd, params: string[]): CommandResult {
    const client = this.client;
    const name = code === Cmd.REQ ? 'REQ' : 'TOUCH';
    const e = this.tlsPolicy(name);
    if (e !== null) return e;
    if (client.state !== STATE_SUBSCRIBED && client.state !== STATE_CLOSING) {
      return new FatalClientError('E_INVALID', `cannot ${name} in current state`);
    }
    if (params.length < (code === Cmd.REQ ? 3 : 2)) {
      return new FatalClientError('E_INVALID', `${name} insufficient number of params`);
    }
    const id = params[1]!;
    if (id.length !== MSG_ID_LENGTH) return new FatalClientError('E_INVALID', 'invalid message ID');
    const idBuf = Buffer.from(id, 'latin1');
    const ch = client.channel!;
    if (code === Cmd.TOUCH) {
      const err = ch.touchMessage(client.id, idBuf, 0, client.msgTimeoutMs);
      if (err !== null) return new ClientError('E_TOUCH_FAILED', `TOUCH ${id} failed ${err.message}`, { cause: err });
      return null;
    }
    const raw = params[2]!;
    const t = parseBase10(raw);
    if (t === null) return new FatalClientError('E_INVALID', `REQ could not parse timeout ${raw}`);
    let ms = msDurationWrap(t);
    const max = this.host.opts.maxReqTimeout;
    if (ms < 0 || ms > max) {
      const clamped = ms < 0 ? 0 : max;
      // Go prints the durations with %d: nanoseconds (the asked one wrapped to int64, as it is).
      const maxNs = BigInt(Math.round(max * 1e6));
      this.host.logger.info(`PROTOCOL(V2): [${client}] REQ timeout ${BigInt.asIntN(64, t * 1_000_000n)} out of range 0-${maxNs}. Setting to ${clamped === 0 ? 0n : maxNs}`);
      ms = clamped;
    }
    const err = ch.requeueMessage(client.id, idBuf, 0, ms);
    if (err !== null) return new ClientError('E_REQ_FAILED', `REQ ${id} failed ${err.message}`, { cause: err });
    client.requeuedMessage();
    return null;
  }

  private sub(params: string[]): CommandResult {
    const client = this.client;
    const e = this.tlsPolicy('SUB');
    if (e !== null) return e;
    if (client.state !== STATE_INIT) return new FatalClientError('E_INVALID', 'cannot SUB in current state');
    if (client.heartbeatIntervalMs <= 0) return new FatalClientError('E_INVALID', 'cannot SUB with heartbeats disabled');
    if (params.length < 3) return new FatalClientError('E_INVALID', 'SUB insufficient number of parameters');
    const topicName = params[1]!;
    if (!isValidTopicName(topicName)) return new FatalClientError('E_BAD_TOPIC', `SUB topic name ${goQuote(topicName)} is not valid`);
    const channelName = params[2]!;
    if (!isValidChannelName(channelName)) return new FatalClientError('E_BAD_CHANNEL', `SUB channel name ${goQuote(channelName)} is not valid`);
    const auth = this.checkAuth('SUB', topicName, channelName);
    if (auth instanceof Promise) return auth.then((e) => e ?? this.subscribe(topicName, channelName));
    if (auth !== null) return auth;
    return this.subscribe(topicName, channelName);
  }

  private subscribe(topicName: string, channelName: string): SyncResult {
    const client = this.client;
    const topic = this.host.getTopic(topicName);
    const channel = topic.getChannel(channelName);
    const err = channel === null ? new Error('exiting') : channel.addClient(client);
    if (err !== null) return new FatalClientError('E_SUB_FAILED', `SUB failed ${err.message}`, { cause: err });
    client.state = STATE_SUBSCRIBED;
    client.channel = channel;
    return 'OK';
  }

  /** PUB or DPUB; `parts`, when set, is the body (held across reads), and buf holds only the line. */
  private pub(code: Cmd, status: number, buf: Uint8Array, ls: number, le: number, bodyStart: number, bodyLen: number, size: number, parts: BodyParts | null): CommandResult {
    const params = this.publishParams(buf, ls, le);
    const pre = this.headerCheck(code, params);
    if (pre !== null) return pre;
    const name = code === Cmd.PUB ? 'PUB' : 'DPUB';
    if (status !== ScanStatus.COMPLETE) {
      if (size <= 0) return new FatalClientError('E_BAD_MESSAGE', `${name} invalid message body size ${size}`);
      return new FatalClientError('E_BAD_MESSAGE', `${name} message too big ${size} > ${this.host.opts.maxMsgSize}`);
    }
    const topicName = params[1]!;
    const auth = this.checkAuth(name, topicName, '');
    if (auth instanceof Promise) {
      const body = parts !== null ? parts.join() : Buffer.from(buf.subarray(bodyStart, bodyStart + bodyLen));
      return auth.then((e) => e ?? this.publishOne(code, params, body, 0, bodyLen, null));
    }
    if (auth !== null) return auth;
    return this.publishOne(code, params, buf, bodyStart, bodyLen, parts);
  }

  private publishOne(code: Cmd, params: string[], buf: Uint8Array, bodyStart: number, bodyLen: number, parts: BodyParts | null): CommandResult {
    const name = code === Cmd.PUB ? 'PUB' : 'DPUB';
    const topicName = params[1]!;
    const deferMs = code === Cmd.DPUB ? msDurationWrap(parseBase10(params[2]!)!) : 0;
    const topic = this.host.getTopic(topicName);
    const stored = topic.putMessage(buf, bodyStart, bodyLen, deferMs, parts);
    return this.published(stored, code === Cmd.PUB ? 'E_PUB_FAILED' : 'E_DPUB_FAILED', name, topicName, 1);
  }

  /** OK once the topic took (and, when it went to disk, stored) the messages; else nsqd's *_FAILED. */
  private published(stored: Error | null | Promise<Error | null>, code: string, name: string, topic: string, count: number): CommandResult {
    if (stored instanceof Promise) return stored.then((err) => this.publishAnswer(err, code, name, topic, count));
    return this.publishAnswer(stored, code, name, topic, count);
  }

  private publishAnswer(err: Error | null, code: string, name: string, topic: string, count: number): SyncResult {
    if (err !== null) return new FatalClientError(code, `${name} failed ${err.message}`, { cause: err });
    this.client.publishedMessage(topic, count);
    return 'OK';
  }

  /** MPUB; `parts`, when set, is the body (held across reads, walked by the scanner), and buf holds only the line. */
  private mpub(status: number, buf: Uint8Array, ls: number, le: number, bodyStart: number, bodyLen: number, size: number, parts: BodyParts | null): CommandResult {
    const params = this.publishParams(buf, ls, le);
    const pre = this.headerCheck(Cmd.MPUB, params);
    if (pre instanceof Promise) {
      const body = parts !== null ? parts.join() : Buffer.from(buf.subarray(Math.max(bodyStart, 0), Math.max(bodyStart, 0) + Math.max(bodyLen, 0)));
      return pre.then((e) => e ?? this.mpubBody(params, status, body, 0, bodyLen, size, null));
    }
    if (pre !== null) return pre;
    return this.mpubBody(params, status, buf, bodyStart, bodyLen, size, parts);
  }

  private mpubBody(params: string[], status: number, buf: Uint8Array, bodyStart: number, bodyLen: number, size: number, parts: BodyParts | null): CommandResult {
    const o = this.host.opts;
    switch (status) {
      case ScanStatus.BAD_SIZE:
        if (size <= 0) return new FatalClientError('E_BAD_BODY', `MPUB invalid body size ${size}`);
        return new FatalClientError('E_BAD_BODY', `MPUB body too big ${size} > ${o.maxBodySize}`);
      case ScanStatus.BAD_COUNT:
        return new FatalClientError('E_BAD_BODY', `MPUB invalid message count ${size}`);
      case ScanStatus.BAD_MSG_SIZE:
        if (size <= 0) return new FatalClientError('E_BAD_MESSAGE', `MPUB invalid message(${bodyLen}) body size ${size}`);
        return new FatalClientError('E_BAD_MESSAGE', `MPUB message too big ${size} > ${o.maxMsgSize}`);
      case ScanStatus.TOO_BIG:
        // Not an nsqd error: its messages ran past --max-body-size, which nsqd would buffer unbounded.
        return new FatalClientError('E_BAD_BODY', `MPUB body too big ${bodyLen} > ${o.maxBodySize}`);
    }
    const scratch = this.host.publishScratch;
    let parsed: MessageBatch | ClientError | null;
    if (parts !== null) {
      // Walked and checked by the scanner as it arrived; its messages stay in the reads.
      parsed = scratch.splitParts(parts, o.maxMsgSize);
      if (parsed === null) {
        // (Only if the reads changed under the parser.) The joined body words nsqd's error.
        const body = parts.join();
        parsed = parseMpubBody(body, 0, body.length, o.maxMsgSize, o.maxBodySize, this.host.mpubSplitter, scratch);
      }
    } else {
      parsed = parseMpubBody(buf, bodyStart, bodyLen, o.maxMsgSize, o.maxBodySize, this.host.mpubSplitter, scratch);
    }
    if (parsed instanceof ClientError) return parsed;
    const topicName = params[1]!;
    const topic = this.host.getTopic(topicName);
    const stored = topic.putMessages(parsed, 0);
    const count = parsed.count;
    scratch.release();
    return this.published(stored, 'E_MPUB_FAILED', 'MPUB', topicName, count);
  }
}

/**
 * Split an MPUB body ([int32 count]([int32 size][bytes])×count) into message bodies with
 * nsqd's checks and texts: one `splitter` call (the backend's scanner for max-msg-size), and
 * only when that refuses the body, the TypeScript walk to find which message nsqd's error names. The body is the declared
 * body_size bytes; a message running past it is reported as a failed read. The batch's offset
 * arrays are `scratch`'s (longer than the count, and reused by the next call).
 */
export function parseMpubBody(buf: Uint8Array, start: number, len: number, maxMsgSize: number, maxBodySize: number, splitter: Pick<FrameScanner, 'splitMpub'>, scratch: PublishScratch): MessageBatch | ClientError {
  const end = start + len;
  if (len < 4) return new FatalClientError('E_BAD_BODY', 'MPUB failed to read message count');
  const count = readInt32(buf, start);
  const maxMessages = Math.floor((maxBodySize - 4) / 5);
  if (count <= 0 || count > maxMessages) return new FatalClientError('E_BAD_BODY', `MPUB invalid message count ${count}`);
  if (scratch.starts.length < count) {
    const cap = Math.max(count, scratch.starts.length * 2);
    scratch.starts = new Int32Array(cap);
    scratch.lens = new Int32Array(cap);
  }
  const { starts, lens } = scratch;
  if (splitter.splitMpub(buf, start, len, starts, lens) === count) return contiguousBatch(buf, starts, lens, count);
  // Refused: the TypeScript walk names the first message that fails, and nsqd's error is worded for it.
  const walked = walkMpubMessages(buf, start + 4, end, count, maxMsgSize, starts, lens);
  if (walked === count) return contiguousBatch(buf, starts, lens, count);
  const i = -walked - 1;
  const pos = i === 0 ? start + 4 : starts[i - 1]! + lens[i - 1]!;
  if (end - pos < 4) return new FatalClientError('E_BAD_MESSAGE', `MPUB failed to read message(${i}) body size`);
  const size = readInt32(buf, pos);
  if (size <= 0) return new FatalClientError('E_BAD_MESSAGE', `MPUB invalid message(${i}) body size ${size}`);
  if (size > maxMsgSize) return new FatalClientError('E_BAD_MESSAGE', `MPUB message too big ${size} > ${maxMsgSize}`);
  return new FatalClientError('E_BAD_MESSAGE', 'MPUB failed to read message body');
}
