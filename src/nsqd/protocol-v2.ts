import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { constants as zlibConstants, createDeflateRaw, createInflateRaw, type InflateRaw } from 'node:zlib';
import {
  Cmd,
  RECORD_STRIDE,
  R_BODY_LEN,
  R_BODY_START,
  R_CODE,
  R_LINE_END,
  R_LINE_START,
  R_SIZE,
  R_SRC,
  R_STATUS,
  STAGE_SIZE,
  STAGE_STOPPED,
  ScanStatus,
} from '../native/backend.js';
import { goIp, goReadError, goReadFullError, goRemoteAddr, goTcpPair } from '../internal/listen.js';
import { errorStack, LogLevels } from '../internal/log.js';
import { firstRecord, firstRecordError, PROTOCOL_VERSION_ALERT, versionRefusal } from '../internal/go-tls.js';
import { ClientError, FatalClientError } from '../protocol/errors.js';
import { FrameParser, SRC_PARTS } from '../protocol/frame-parser.js';
import { encodeFrame, FRAME_TYPE_ERROR, MAGIC_V2 } from '../protocol/frames.js';
import { SnappyFrameDecoder, SnappyFrameEncoder } from '../protocol/snappy-stream.js';
import { ClientV2 } from './client-v2.js';
import { CommandsV2, splitParams, type SyncResult } from './commands-v2.js';
import type { NsqdContext } from './context.js';
import type { IdentifyUpgrade } from './identify.js';
import { CLIENT_TIMEOUT_MS } from './options.js';
import { HANDSHAKE_MS } from './tls.js';

/** What ProtocolV2 needs beyond the shared context. */
export interface ProtocolHost extends NsqdContext {
  /** Register a new connection; returns its id. */
  addClient(client: ClientV2): void;
  removeClient(client: ClientV2): void;
  nextClientId(): number;
}

/**
 * The V2 protocol: reads the magic, then runs each connection's command loop over the
 * FrameParser's records and executes commands with nsqd's exact checks and error texts.
 */
export class ProtocolV2 {
  private readonly host: ProtocolHost;

  constructor(host: ProtocolHost) {
    this.host = host;
  }

  /** Take a freshly accepted socket. */
  handle(socket: Socket): void {
    socket.setNoDelay(true);
    // nsqd's tcpServer.Handle: logged on accept, then the magic it read.
    const addr = goRemoteAddr(socket);
    const log = this.host.logger;
    log.info(`TCP: new client(${addr})`);
    const pair = goTcpPair(socket);
    let head: Buffer | null = null;
    const timer = setTimeout(() => socket.destroy(), CLIENT_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      head = head === null ? chunk : Buffer.concat([head, chunk]);
      if (head.length < 4) return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onEarlyError);
      socket.off('close', onEarlyClose);
      socket.off('end', onEarlyEnd);
      const magic = head.toString('latin1', 0, 4);
      log.info(`CLIENT(${addr}): desired protocol magic '${magic}'`);
      if (!head.subarray(0, 4).equals(MAGIC_V2)) {
        log.error(`client(${addr}) bad protocol magic '${magic}'`);
        socket.end(encodeFrame(FRAME_TYPE_ERROR, 'E_BAD_PROTOCOL'), () => socket.destroy());
        return;
      }
      const loop = new IOLoop(this.host, socket);
      if (head.length > 4) loop.onData(head.subarray(4));
    };
    const onEarlyError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      log.error(`failed to read protocol version - ${goReadError(pair, err)}`);
      socket.destroy();
    };
    const onEarlyClose = (): void => clearTimeout(timer);
    // EOF before the magic: nothing to answer (the server is half-open, so close it ourselves).
    const onEarlyEnd = (): void => {
      clearTimeout(timer);
      log.error(`failed to read protocol version - ${goReadFullError(head?.length ?? 0)}`);
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('end', onEarlyEnd);
    socket.on('error', onEarlyError);
    socket.on('close', onEarlyClose);
  }
}

/** TLS version names as Go's crypto/tls reports them in /stats. */
const TLS_VERSION_NAMES: Record<string, string> = { TLSv1: 'TLS1.0', 'TLSv1.1': 'TLS1.1', 'TLSv1.2': 'TLS1.2', 'TLSv1.3': 'TLS1.3' };

/** The 13 suites nsqd's prettyConnectionState names; it prints any other as `Unknown <id>`. */
const GO_NAMED_SUITES = new Set([
  'TLS_RSA_WITH_RC4_128_SHA', 'TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA', 'TLS_RSA_WITH_AES_256_CBC_SHA',
  'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA', 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_RC4_128_SHA', 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA', 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
]);

/** IANA ids of the other suites OpenSSL negotiates by default. */
const SUITE_IDS: Readonly<Record<string, number>> = {
  TLS_AES_128_GCM_SHA256: 0x1301, TLS_AES_256_GCM_SHA384: 0x1302, TLS_CHACHA20_POLY1305_SHA256: 0x1303,
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 0xc02c, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 0xc030,
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 0xcca9, TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 0xcca8,
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 0xc023, TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 0xc027,
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384: 0xc024, TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: 0xc028,
  TLS_RSA_WITH_AES_128_GCM_SHA256: 0x009c, TLS_RSA_WITH_AES_256_GCM_SHA384: 0x009d,
  TLS_RSA_WITH_AES_128_CBC_SHA256: 0x003c, TLS_RSA_WITH_AES_256_CBC_SHA256: 0x003d,
  TLS_DHE_RSA_WITH_AES_128_GCM_SHA256: 0x009e, TLS_DHE_RSA_WITH_AES_256_GCM_SHA384: 0x009f,
  TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 0xccaa,
};

/** `tls_cipher_suite` as nsqd's /stats shows it (a suite outside Go's 13 names, by its id). */
export function goCipherSuiteName(standardName: string): string {
  if (GO_NAMED_SUITES.has(standardName)) return standardName;
  const id = SUITE_IDS[standardName];
  return id === undefined ? standardName : `Unknown ${id}`;
}

/**
 * One connection's read loop (nsqd's protocolV2.IOLoop): bytes come from the socket, or after
 * IDENTIFY from the TLS socket over it, through a snappy or deflate decoder, into the
 * FrameParser; each record is executed by CommandsV2. A command that waits on I/O (AUTH, a TLS
 * handshake) pauses reading until it is answered, as nsqd processes one command at a time.
 * Publishes that wait on the disk (a spilled or --durable-publish PUB, MPUB, DPUB) are the
 * exception: the publishes a client pipelines behind one are executed at once and join the same
 * group commit, and every answer still leaves in command order. Any other command waits until
 * the publishes before it are answered.
 */
/** One command's answer, kept until the answers before it are sent. */
interface Answer {
  ready: boolean;
  result: SyncResult;
}

/** Publishes one connection may have waiting on the disk before reading pauses. */
const MAX_PIPELINED = 256;

class IOLoop {
  private readonly host: ProtocolHost;
  private readonly socket: Socket;
  readonly client: ClientV2;
  private readonly commands: CommandsV2;
  private parser: FrameParser;
  private recordCount = 0;
  private recordIndex = 0;
  /** A command is waiting on I/O: input waits here, reading is paused. */
  private busy = false;
  /** Answers not sent yet, in command order: pending publishes and the results queued behind them. */
  private answers: Answer[] = [];
  /** The client's EOF arrived while answers were pending: handled once they are sent. */
  private ended = false;
  private backlog: Buffer[] = [];
  /** Where bytes are read from: the socket, or the TLS socket after an upgrade. */
  private source: Duplex;
  private inflater: InflateRaw | null = null;
  private unsnappy: SnappyFrameDecoder | null = null;

  constructor(host: ProtocolHost, socket: Socket) {
    this.host = host;
    this.socket = socket;
    this.source = socket;
    this.parser = this.newParser();
    this.client = new ClientV2(host.nextClientId(), socket, host);
    this.commands = new CommandsV2(host, this.client, () => goIp(this.socket.remoteAddress ?? ''), (u) => this.upgrade(u));
    this.client.onClosed = () => this.cleanup();
    this.client.onReadTimeout = () => this.readTimedOut();
    this.client.onResume = () => {
      if (!this.busy && !this.client.closed) this.source.resume();
    };
    host.addClient(this.client);
    socket.on('data', this.onSourceData);
    socket.on('end', this.onSourceEnd);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // What nsqd's read would have failed with (its IOLoop error, logged as the connection ends).
      const readError = goReadError(this.client.tcpPair, err);
      if (err.code === 'ECONNRESET' && this.resetInBody(new Error(readError))) return;
      this.client.exitReason ??= `failed to read command - ${readError}`;
    });
    socket.on('close', () => this.client.socketClosed());
  }

  private newParser(): FrameParser {
    const o = this.host.opts;
    return new FrameParser(this.host.backend.createFrameScanner({ maxMsgSize: o.maxMsgSize, maxBodySize: o.maxBodySize }));
  }

  private cleanedUp = false;

  /** The connection ended: nsqd's IOLoop, tcpServer.Handle and messagePump each say so. */
  private cleanup(): void {
    if (this.cleanedUp) return;
    this.cleanedUp = true;
    const c = this.client;
    const log = this.host.logger;
    log.info(`PROTOCOL(V2): [${c}] exiting ioloop`);
    if (c.exitReason !== null) log.error(`client(${c.remoteAddress}) - ${c.exitReason}`);
    log.info(`PROTOCOL(V2): [${c}] exiting messagePump`);
    if (c.channel !== null) c.channel.removeClient(c);
    this.host.removeClient(c);
  }

  /** Bytes from the bottom stream: decompress if negotiated, then parse. */
  private readonly onSourceData = (chunk: Buffer): void => {
    if (this.inflater !== null) {
      this.inflater.write(chunk);
      return;
    }
    if (this.unsnappy !== null) {
      const out = this.unsnappy.push(chunk);
      if (out instanceof Error) {
        this.client.destroy(`failed to read command - ${out.message}`);
        return;
      }
      for (const c of out) this.onData(c);
      return;
    }
    this.onData(chunk);
  };

  private readonly onSourceEnd = (): void => this.onEnd();

  onData(chunk: Buffer): void {
    if (this.client.closed) return;
    if (this.busy) {
      this.backlog.push(chunk);
      return;
    }
    this.parser.feed(chunk);
    this.run();
  }

  /**
   * Execute parsed commands; a bug that throws ends this client's connection (logged with its
   * stack), never the daemon. One guard per read, not per command.
   */
  private run(): void {
    try {
      this.runCommands();
    } catch (err) {
      this.host.logger.error(`PROTOCOL(V2): [${this.client}] internal error - ${errorStack(err)}`);
      this.client.destroy();
    }
  }

  /** Execute parsed commands until the input is used up, a command goes async, or we close. */
  private runCommands(): void {
    const client = this.client;
    const debug = this.host.logger.level <= LogLevels.debug;
    for (;;) {
      const parser = this.parser;
      if (this.recordIndex >= this.recordCount) {
        this.recordCount = parser.next();
        this.recordIndex = 0;
        if (this.recordCount === 0) {
          const more = this.backlog.shift();
          if (more === undefined) break;
          parser.feed(more);
          continue;
        }
      }
      const rec = parser.records;
      client.commandRead();
      while (this.recordIndex < this.recordCount) {
        const base = this.recordIndex * RECORD_STRIDE;
        const code = rec[base + R_CODE]! as Cmd;
        const publish = code === Cmd.PUB || code === Cmd.MPUB || code === Cmd.DPUB;
        if (this.answers.length > 0 && (!publish || this.answers.length >= MAX_PIPELINED)) {
          // Runs once the publishes before it are answered.
          this.hold();
          return;
        }
        this.recordIndex++;
        const status = rec[base + R_STATUS]!;
        if (status === ScanStatus.LINE_TOO_LONG) {
          client.destroy('failed to read command - bufio: buffer full');
          return;
        }
        const src = rec[base + R_SRC]!;
        if (debug) this.logCommand(parser.source(src), rec[base + R_LINE_START]!, rec[base + R_LINE_END]!);
        const result = this.commands.exec(
          code,
          status,
          parser.source(src),
          rec[base + R_LINE_START]!,
          rec[base + R_LINE_END]!,
          rec[base + R_BODY_START]!,
          rec[base + R_BODY_LEN]!,
          rec[base + R_SIZE]!,
          src === SRC_PARTS ? parser.bodyParts : null,
        );
        if (result instanceof Promise) {
          const answer: Answer = { ready: false, result: null };
          this.answers.push(answer);
          const settle = (r: SyncResult): void => {
            answer.ready = true;
            answer.result = r;
            this.sendAnswers();
          };
          result.then(settle, (err: unknown) => settle(new FatalClientError('E_INVALID', `internal error ${(err as Error).message}`)));
          if (!publish) {
            this.hold();
            return;
          }
          continue;
        }
        if (this.answers.length > 0) {
          // Behind a pending publish: answered in its turn; a fatal error ends the reading here.
          this.answers.push({ ready: true, result });
          if (result instanceof ClientError && result.fatal) {
            this.hold();
            return;
          }
          continue;
        }
        if (!this.finish(result)) return;
      }
    }
    if (this.answers.length === 0 && this.parser.pendingStage >= STAGE_SIZE && !client.closed) this.precheckPending();
    if (client.isWriteBlocked && !client.closed) this.source.pause();
  }

  /** Stop executing commands (input waits in the backlog) until every pending answer is sent. */
  private hold(): void {
    this.busy = true;
    this.source.pause();
  }

  /** Send the answers that are ready, in order; once none is pending, carry on where reading stopped. */
  private sendAnswers(): void {
    const answers = this.answers;
    let sent = 0;
    while (sent < answers.length && answers[sent]!.ready) {
      if (!this.finish(answers[sent++]!.result)) {
        answers.length = 0;
        return;
      }
    }
    if (sent > 0) answers.splice(0, sent);
    if (answers.length > 0 || this.client.closed) return;
    if (this.busy) {
      this.busy = false;
      this.run();
      if (this.busy || this.answers.length > 0 || this.client.closed) return;
    }
    if (this.ended) {
      this.ended = false;
      this.onEnd();
    } else if (!this.client.isWriteBlocked) {
      this.source.resume();
    }
  }

  /** nsqd's debug line for each command: its parameters as Go prints a [][]byte (`[SUB t c]`). */
  private logCommand(src: Uint8Array, ls: number, le: number): void {
    let end = le;
    if (end > ls && src[end - 1] === 0x0d) end--;
    this.host.logger.debug(`PROTOCOL(V2): [${this.client}] [${Buffer.from(src.buffer, src.byteOffset, src.byteLength).toString('utf8', ls, end)}]`);
  }

  /** Send a command's outcome; false when the connection is closing. */
  private finish(result: SyncResult): boolean {
    const client = this.client;
    if (result === null) return !client.closed;
    if (result instanceof ClientError) {
      // nsqd's IOLoop names the error's parent after it: `... failed ID not in flight - ID not in flight`.
      const parent = result.cause instanceof Error ? ` - ${result.cause.message}` : '';
      this.host.logger.error(`[${client}] - ${result.wireText}${parent}`);
      client.sendError(result.wireText);
      if (result.fatal) {
        client.close(result.wireText);
        return false;
      }
      return true;
    }
    client.sendResponse(result);
    return !client.closed;
  }

  /**
   * A body command whose line arrived but whose size or body has not: run the checks nsqd makes
   * before reading the body now, so a bad topic or state is answered without waiting.
   */
  private precheckPending(): void {
    const p = this.parser;
    const result = this.commands.headerCheck(p.pendingCode, splitParams(p.pendingLineSource, p.pendingLineStart, p.pendingLineEnd));
    // An auth refresh (async) is left for when the whole command is here.
    if (result !== null && !(result instanceof Promise)) this.finish(result);
  }

  /**
   * The read deadline passed. Inside a body command (its line read, its size or body not), nsqd's
   * read fails in the command, which answers as for a cut stream (`E_BAD_MESSAGE PUB failed to
   * read message body`) and closes; elsewhere the caller closes without a word.
   */
  private readTimedOut(): boolean {
    const result = this.pendingReadFailure(new Error(`read tcp ${this.client.tcpPair}: i/o timeout`));
    if (result === null) return false;
    this.finish(result);
    return true;
  }

  /**
   * What nsqd's command answers when its read fails inside the pending body command (`cause`, the
   * read's error, becomes the parent): the line's own refusal if it has one, as nsqd checks the
   * line before reading on, else the command's read error. Null when no body command is pending
   * or earlier commands are still being answered.
   */
  private pendingReadFailure(cause: Error): ClientError | null {
    const p = this.parser;
    const stage = p.pendingStage;
    if (this.busy || this.answers.length > 0 || this.client.closed || stage < STAGE_SIZE || stage === STAGE_STOPPED) return null;
    const pre = this.commands.headerCheck(p.pendingCode, splitParams(p.pendingLineSource, p.pendingLineStart, p.pendingLineEnd));
    return pre instanceof Promise || pre === null ? this.commands.readFailure(p.pendingCode, stage, p.pendingIndex, cause) : pre;
  }

  /**
   * The peer reset the connection inside a body command: nsqd's read fails in the command, which
   * logs its error with the read's, cannot send it (`write: broken pipe`), and ends the connection
   * with it. False when no body command was being read (the caller names the read's error).
   */
  private resetInBody(cause: Error): boolean {
    const result = this.pendingReadFailure(cause);
    if (result === null) return false;
    const client = this.client;
    const parent = result.cause instanceof Error ? ` - ${result.cause.message}` : '';
    const log = this.host.logger;
    log.error(`[${client}] - ${result.wireText}${parent}`);
    log.error(`[${client}] - write tcp ${client.tcpPair}: write: broken pipe${parent}`);
    client.exitReason ??= result.wireText;
    return true;
  }

  private onEnd(): void {
    // Commands read before the EOF are executed and answered first, as nsqd does.
    if (this.busy || this.answers.length > 0) {
      this.ended = true;
      return;
    }
    // EOF in the middle of a body command is answered as nsqd answers a failed read.
    const result = this.pendingReadFailure(new Error(goReadFullError(this.parser.pendingFieldBytes)));
    if (result !== null) this.finish(result);
    const client = this.client;
    // Flush what is buffered, then close (the socket is half-open: our side is still writable).
    if (!client.closed) client.close(null);
  }

  /**
   * After a negotiating IDENTIFY: send its JSON in the clear, then upgrade the stream in nsqd's
   * order (TLS, then snappy or deflate), answering `OK` through each new layer. Bytes a client
   * sent after IDENTIFY without waiting for the answer are dropped, as nsqd replaces its reader.
   */
  private async upgrade(u: IdentifyUpgrade): Promise<SyncResult> {
    const client = this.client;
    client.sendResponse(u.json);
    this.parser = this.newParser();
    this.recordCount = this.recordIndex = 0;
    this.backlog = [];
    if (u.tls) {
      const err = await this.upgradeTls();
      if (err !== null) return new FatalClientError('E_IDENTIFY_FAILED', `IDENTIFY failed ${err.message}`, { cause: err });
      client.sendResponse('OK');
    }
    if (u.snappy) {
      this.host.logger.info(`PROTOCOL(V2): [${client}] upgrading connection to snappy`);
      const enc = new SnappyFrameEncoder();
      const lower = client.lowerStream;
      client.setTransport((b) => lower.write(enc.encode(b)));
      this.unsnappy = new SnappyFrameDecoder();
      client.snappy = true;
      client.sendResponse('OK');
    }
    if (u.deflate) {
      this.host.logger.info(`PROTOCOL(V2): [${client}] upgrading connection to deflate (level ${u.deflateLevel})`);
      const lower = client.lowerStream;
      const deflater = createDeflateRaw({ level: u.deflateLevel, flush: zlibConstants.Z_SYNC_FLUSH });
      deflater.on('data', (c: Buffer) => {
        if (!lower.write(c)) client.markBlocked();
      });
      client.setTransport((b) => {
        deflater.write(b);
        return !lower.writableNeedDrain;
      });
      client.beforeEnd = (done) => {
        deflater.once('end', done);
        deflater.end();
      };
      const inflater = createInflateRaw();
      inflater.on('data', (c: Buffer) => this.onData(c));
      inflater.on('error', (e) => client.destroy(`failed to read command - ${e.message}`));
      this.inflater = inflater;
      client.deflate = true;
      client.sendResponse('OK');
    }
    return null;
  }

  /** Server TLS handshake over the client's socket (5 s limit), then read and write through it. */
  private async upgradeTls(): Promise<Error | null> {
    const client = this.client;
    const handshaker = this.host.tlsHandshaker;
    if (handshaker === null) return new Error('TLS not configured');
    this.host.logger.info(`PROTOCOL(V2): [${client}] upgrading connection to TLS`);
    client.flush();
    const socket = this.socket;
    socket.off('data', this.onSourceData);
    socket.off('end', this.onSourceEnd);
    // nsqd's handshake fails on the plain connection, so its error frame goes out in the clear:
    // look at the first record (the ClientHello) before OpenSSL takes the socket over.
    const head = await firstRecord(socket, HANDSHAKE_MS);
    if (head === null) return new Error(`read tcp ${client.tcpPair}: i/o timeout`);
    const refused = firstRecordError(head);
    if (refused !== null) return new Error(refused);
    const tooOld = versionRefusal(head, handshaker.minVersion);
    if (tooOld !== null) {
      socket.write(PROTOCOL_VERSION_ALERT);
      return new Error(tooOld);
    }
    socket.unshift(head);
    const tlsSocket = await handshaker.handshake(socket);
    if (tlsSocket instanceof Error) return tlsSocket;
    const peer = tlsSocket.getPeerCertificate();
    tlsSocket.on('error', (e) => this.host.logger.debug(`PROTOCOL(V2): [${client}] TLS error - ${e.message}`));
    client.tls = true;
    client.tlsVersion = TLS_VERSION_NAMES[tlsSocket.getProtocol() ?? ''] ?? '';
    client.tlsCipherSuite = goCipherSuiteName(tlsSocket.getCipher()?.standardName ?? '');
    client.tlsCommonName = typeof peer?.subject?.CN === 'string' ? peer.subject.CN : '';
    client.setLower(tlsSocket);
    this.source = tlsSocket;
    tlsSocket.on('data', this.onSourceData);
    tlsSocket.on('end', this.onSourceEnd);
    return null;
  }
}
