// HTTP plumbing shared by nsqd, nsqlookupd and nsqadmin: a server that reads requests as Go's
// net/http does, NSQ's "V1" responses and Go-compatible JSON, and a bounded body reader. The
// router is in ./router.ts, query strings in ./go-url.ts.

import { createServer as createHttpServer, ServerResponse, STATUS_CODES, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders, type RequestListener, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Params, RouteHandler } from './router.js';
import { formatDurationNanos } from './duration.js';
import { firstRecord, firstRecordError, goHandshakeError, HTTP_TO_HTTPS_RESPONSE, looksLikeHttp, PROTOCOL_VERSION_ALERT, versionRefusal } from './go-tls.js';
import { GO_TCP_KEEPALIVE_MS, goReadError, goRemoteAddr, goTcpPair } from './listen.js';
import { LogLevels, type Logger } from './log.js';

const V1_HEADER = 'X-Nsq-Content-Type';
const V1_HEADER_VALUE = 'nsq; version=1.0';
const JSON_TYPE = 'application/json; charset=utf-8';
/** The type Go's server sniffs for a text body it was not told the type of. */
export const TEXT_TYPE = 'text/plain; charset=utf-8';

// ---------------------------------------------------------------------------------------------
// The server: requests read as Go's net/http server reads them

/** Longest request line plus headers net/http reads: DefaultMaxHeaderBytes (1 MiB) and its 4096 bytes of bufio slop. */
export const GO_MAX_HEADER_BYTES = (1 << 20) + 4096;

/** Idle keep-alive time of our servers (Node's 5 s default drops clients that pool connections). */
const KEEP_ALIVE_MS = 65_000;

/** The raw answer net/http writes before it closes a connection whose request it refused. */
function goRefusal(status: string, body = status): string {
  return `HTTP/1.1 ${status}\r\nContent-Type: ${TEXT_TYPE}\r\nConnection: close\r\n\r\n${body}`;
}

/** net/http's refusal of a transfer coding other than chunked (at parse time or after the headers). */
const UNSUPPORTED_TE = goRefusal('501 Not Implemented', 'Unsupported transfer encoding');

/**
 * net/http's answer to a request it could not read, by Node's parser error code: headers past
 * the limit are 431, a transfer coding other than chunked 501, anything else 400 (Go's
 * conn.serve). A request timeout is Node's own (net/http sets no deadline for NSQ's servers).
 */
export function goParseErrorResponse(code: string | undefined): string {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return goRefusal('431 Request Header Fields Too Large');
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return UNSUPPORTED_TE;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return goRefusal('408 Request Timeout');
    default:
      return goRefusal('400 Bad Request');
  }
}

/** The bytes net/http accepts in a Host header (httpguts.ValidHostHeader). */
const GO_HOST_HEADER = /^[0-9A-Za-z!$%&'()*+,\-.:;=[\]_~]*$/;

/**
 * net/http's refusal of a parsed request before any handler sees it (its readRequest), or null:
 * a protocol other than HTTP/1.x is 505 (the HTTP/2 preface `PRI * HTTP/2.0` aside), a Host
 * with a byte outside GO_HOST_HEADER 400; from HTTP/1.1 on, a request without Host is 400 and
 * one whose Transfer-Encoding is not just `chunked` 501.
 */
export function goRequestRefusal(req: IncomingMessage): string | null {
  if (req.httpVersionMajor !== 1 && !(req.httpVersionMajor === 2 && req.httpVersionMinor === 0 && req.method === 'PRI' && req.url === '*')) {
    return goRefusal('505 HTTP Version Not Supported: unsupported protocol version');
  }
  const host = req.headers.host;
  if (host !== undefined && !GO_HOST_HEADER.test(host)) return goRefusal('400 Bad Request: malformed Host header');
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return null;
  if (host === undefined && req.method !== 'CONNECT') {
    return goRefusal('400 Bad Request: missing required Host header');
  }
  // Node reads the headers of a body in an unknown coding and fails only at the body; net/http refuses at once.
  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.toLowerCase() !== 'chunked') return UNSUPPORTED_TE;
  return null;
}

function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  if (socket.writableEnded) return; // already refused by goRequestRefusal
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(goParseErrorResponse(err.code));
}

/** Go's net/http reason phrases where Node's differ (RFC 7231 renamed them; Go kept the old ones). */
const GO_REASONS: Readonly<Record<number, string>> = {
  413: 'Request Entity Too Large',
  414: 'Request URI Too Long',
  416: 'Requested Range Not Satisfiable',
};

/** The reason phrase Go's server writes for `status`. */
function goReason(status: number): string {
  return GO_REASONS[status] ?? STATUS_CODES[status] ?? 'status code ' + status;
}

/**
 * A response whose status line carries Go's reason phrase whenever none is given, so every
 * writeHead of our servers (router, V1 answers, proxies, implicit headers) says
 * `413 Request Entity Too Large` as net/http does.
 */
class GoServerResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  override writeHead(statusCode: number, reason?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    if (typeof reason === 'string') return super.writeHead(statusCode, reason, headers);
    return super.writeHead(statusCode, goReason(statusCode), reason);
  }
}

/** Requests whose client waits for "100 Continue" before sending the body, and their responses. */
const awaitingContinue = new WeakMap<IncomingMessage, ServerResponse>();

/**
 * NSQ's http_api.Log around every route of its daemons: once answered, an info line
 * `200 GET /ping (127.0.0.1:54321) 48.1µs` (status, method, request URI, remote address, time).
 */
export function logRequests(logger: Logger, handler: RequestListener): RequestListener {
  return (req, res) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      if (logger.level > LogLevels.info) return;
      const elapsed = formatDurationNanos(process.hrtime.bigint() - started);
      logger.info(`${res.statusCode} ${req.method ?? ''} ${requestUri(req.url ?? '')} (${goRemoteAddr(req.socket)}) ${elapsed}`);
    });
    handler(req, res);
  };
}

/** Go's URL.RequestURI() of a request target: an absolute-form target gives its path and query. */
function requestUri(target: string): string {
  if (target.startsWith('/') || target === '*') return target;
  try {
    const u = new URL(target);
    return `${u.pathname}${u.search}`;
  } catch {
    return target;
  }
}

/** An HTTPS server's TLS: its options, net/http's Server.ErrorLog, and a check of the client's certificate once its handshake is done. */
export interface GoTlsServer {
  options: TlsServerOptions;
  errorLog: (line: string) => void;
  /** Why the finished handshake is refused, as Go's handshake would refuse it; null to serve it. */
  refuseClient?: (sock: TLSSocket) => Error | null;
}

/**
 * An HTTP server (HTTPS with `https`, see goTlsFront) for `handler` that accepts and refuses
 * requests as NSQ's Go servers do: headers up to GO_MAX_HEADER_BYTES (Node's default is 16 KiB,
 * so a browser with large cookies got 431 from nsqadmin), net/http's raw 400/431/501/505
 * answers, and idle connections kept for 65 s.
 */
export function createGoServer(handler: RequestListener, https?: GoTlsServer): HttpServer {
  const opts = { maxHeaderSize: GO_MAX_HEADER_BYTES, requireHostHeader: false, ServerResponse: GoServerResponse, keepAlive: true, keepAliveInitialDelay: GO_TCP_KEEPALIVE_MS };
  const gated: RequestListener = (req, res) => {
    const refusal = goRequestRefusal(req);
    if (refusal === null && req.url === '*' && req.method === 'OPTIONS') {
      // net/http answers `OPTIONS *` itself (its globalOptionsHandler): 200, no body.
      res.writeHead(200, { 'Content-Length': '0' });
      res.end();
    } else if (refusal === null) handler(req, res);
    // Written raw, once the answers to earlier pipelined requests have gone out (net/http reads one request at a time).
    else if (res.socket !== null) res.socket.end(refusal);
    else res.once('socket', (socket: Duplex) => socket.end(refusal));
  };
  const server: HttpServer = https === undefined ? createHttpServer(opts, gated) : createHttpsServer({ ...https.options, ...opts }, gated);
  // `Expect: 100-continue`: as net/http, "100 Continue" goes out only when the handler starts
  // reading the body (readBody), so a request refused on its headers (a Content-Length over the
  // limit) is answered at once and its upload never asked for; Node then closes the connection.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    awaitingContinue.set(req, res);
    gated(req, res);
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.on('clientError', onClientError);
  if (https !== undefined) goTlsFront(server as HttpsServer, https);
  return server;
}

/** How long an HTTPS connection may take to send its first record header (Node's TLS handshake timeout). */
const FIRST_RECORD_MS = 120_000;

/**
 * net/http's side of an HTTPS connection before its handshake: a first record that cannot start
 * one is refused in crypto/tls's words, except that a plain HTTP request gets net/http's 400 on
 * the raw connection; every failed handshake goes to `errorLog` (net/http's Server.ErrorLog) as
 * `http: TLS handshake error from <addr>: <err>`, and so is a finished handshake that
 * `refuseClient` refuses (its connection is closed before a request is read). closeAllConnections
 * also ends connections whose handshake is not done, which Node's does not track.
 */
function goTlsFront(server: HttpsServer, { options, errorLog, refuseClient }: GoTlsServer): void {
  const startTls = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  const raw = new Set<Socket>();
  const handshakeError = (addr: string, text: string): void => errorLog(`http: TLS handshake error from ${addr}: ${text}`);
  server.on('connection', (socket: Socket) => {
    const addr = goRemoteAddr(socket);
    const pair = goTcpPair(socket);
    // Until TLS takes the socket over, its read errors (a reset) are ours to handle: an 'error'
    // without a listener would take the daemon down.
    let readError: NodeJS.ErrnoException | null = null;
    socket.on('error', (err: NodeJS.ErrnoException) => {
      readError ??= err;
    });
    raw.add(socket);
    socket.once('close', () => raw.delete(socket));
    void firstRecord(socket, FIRST_RECORD_MS).then((head) => {
      if (readError !== null) {
        handshakeError(addr, goReadError(pair, readError));
        socket.destroy();
        return;
      }
      // Timed out, or ended by us (closeAllConnections).
      if (head === null || socket.destroyed) {
        socket.destroy();
        return;
      }
      const refused = firstRecordError(head);
      const tooOld = refused === null ? versionRefusal(head, options.minVersion) : null;
      if (tooOld !== null) {
        handshakeError(addr, tooOld);
        socket.end(PROTOCOL_VERSION_ALERT, () => socket.destroy());
      } else if (refused === null) {
        socket.unshift(head);
        for (const start of startTls) start.call(server, socket);
      } else if (looksLikeHttp(head)) {
        socket.end(HTTP_TO_HTTPS_RESPONSE);
      } else {
        handshakeError(addr, refused);
        socket.destroy();
      }
    });
  });
  server.on('tlsClientError', (err: Error, tlsSocket: TLSSocket) => handshakeError(goRemoteAddr(tlsSocket), goHandshakeError(err, tlsSocket).message));
  if (refuseClient !== undefined) {
    // After http's own listener, in the same turn: no request has been read yet.
    server.on('secureConnection', (tlsSocket: TLSSocket) => {
      const err = refuseClient(tlsSocket);
      if (err === null) return;
      handshakeError(goRemoteAddr(tlsSocket), err.message);
      tlsSocket.destroy();
    });
  }
  const closeTracked = server.closeAllConnections.bind(server);
  server.closeAllConnections = (): void => {
    closeTracked();
    for (const s of raw) s.destroy();
  };
}

// ---------------------------------------------------------------------------------------------
// Go-compatible JSON and responses

/**
 * JSON.stringify with Go encoding/json's HTML-safe escaping (`<`, `>`, `&`, U+2028, U+2029 as
 * \u escapes); bigints are written as JSON integers and undefined as null.
 */
export function goJSON(value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value) as string | undefined;
  } catch (err) {
    // Only bigints take the slower replacer path (e.g. nsqlookupd's zero-time tombstoned_at).
    if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err;
    json = stringifyWithBigInt(value);
  }
  if (json === undefined) return 'null';
  return json.replace(/[<>&\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * Marks a bigint in stringifyWithBigInt's output. It starts with U+0000, which JSON.stringify
 * always escapes, so a marked value can be found again in the output; the random part, drawn once
 * per process, keeps user strings from colliding with it.
 */
const BIGINT_MARKER = `\u0000bigint${Math.random().toString(36).slice(2)}:`;
/** A marked bigint as it reads in JSON.stringify's output. */
const BIGINT_MARKED = new RegExp(`"${JSON.stringify(BIGINT_MARKER).slice(1, -1).replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}(-?\\d+)"`, 'g');
const markBigint = (_key: string, v: unknown): unknown => (typeof v === 'bigint' ? BIGINT_MARKER + v.toString() : v);

/** JSON.stringify that writes bigints as bare JSON integers. */
function stringifyWithBigInt(value: unknown): string | undefined {
  const json = JSON.stringify(value, markBigint) as string | undefined;
  return json === undefined ? undefined : json.replace(BIGINT_MARKED, '$1');
}

/**
 * Send an NSQ "V1" success response: header `X-NSQ-Content-Type: nsq; version=1.0` always; null,
 * undefined or an empty string → empty body without Content-Type; string or bytes → raw
 * text/plain body; anything else → Go-style JSON.
 */
export function respondV1(res: ServerResponse, status: number, data: unknown): void {
  res.setHeader(V1_HEADER, V1_HEADER_VALUE);
  if (data === null || data === undefined) {
    res.writeHead(status, { 'Content-Length': '0' });
    res.end();
    return;
  }
  let body: Buffer;
  let type: string;
  if (typeof data === 'string') {
    body = Buffer.from(data, 'utf8');
    type = TEXT_TYPE;
  } else if (data instanceof Uint8Array) {
    body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    type = TEXT_TYPE;
  } else {
    body = Buffer.from(goJSON(data), 'utf8');
    type = JSON_TYPE;
  }
  writeV1Head(res, status, body.length, type);
  res.end(body);
}

/** The status line and headers of a V1 success response of `length` bytes of `type`. */
function writeV1Head(res: ServerResponse, status: number, length: number, type: string): void {
  // Go's server only sniffs a Content-Type from a non-empty body: an empty string has none.
  res.writeHead(status, length === 0 ? { 'Content-Length': '0' } : { 'Content-Type': type, 'Content-Length': String(length) });
}

/** Send an NSQ "V1" error response: `{"message":"<message>"}` as JSON with the V1 header. */
export function respondV1Error(res: ServerResponse, status: number, message: string): void {
  const body = Buffer.from(goJSON({ message }), 'utf8');
  res.setHeader(V1_HEADER, V1_HEADER_VALUE);
  res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': String(body.length) });
  res.end(body);
}

/** An API error answered as `{"message": message}` with this status (nsqd's and nsqlookupd's http_api.Err). */
export class HttpError {
  constructor(
    readonly status: number,
    readonly message: string,
  ) {}
}

/** How long renderInSlices works before it lets the event loop run (ms). */
export const RENDER_SLICE_MS = 4;

/**
 * Each item turned into text by `render`, letting the event loop run whenever `sliceMs` has
 * passed since it last did: for answers (nsqd's /stats, nsqlookupd's /nodes) that take tens or
 * hundreds of milliseconds to make at scale, which would otherwise hold up every connection (Go
 * makes them in the request's own goroutine).
 */
export async function renderInSlices<T>(items: Iterable<T>, render: (item: T) => string, sliceMs: number): Promise<string[]> {
  const parts: string[] = [];
  const slices = new TimeSlices(sliceMs);
  for (const item of items) {
    parts.push(render(item));
    if (slices.due) await slices.next();
  }
  return parts;
}

/** Work done in slices of `ms` milliseconds: `due` once a slice is used up, `next()` lets the event loop run. */
class TimeSlices {
  private since = performance.now();
  constructor(private readonly ms: number) {}

  get due(): boolean {
    return performance.now() - this.since >= this.ms;
  }

  async next(): Promise<void> {
    await yieldToEventLoop();
    this.since = performance.now();
  }
}

/** `parts` as the members of a JSON list or object: a comma before each but the first (in place). */
export function commaSeparated(parts: string[]): string[] {
  for (let i = 1; i < parts.length; i++) parts[i] = `,${parts[i]!}`;
  return parts;
}

/**
 * A V1 answer whose text is its parts one after another (made by renderInSlices: a topic, a
 * producer or a registration each), JSON or plain text. It is turned into bytes a slice of time
 * at a time too (encodeInSlices), not in one go: at scale the text is tens of megabytes, and one
 * Buffer.from of it held up every connection for as long as it took.
 */
export class SlicedText {
  constructor(
    readonly parts: readonly string[],
    readonly json: boolean,
  ) {}
}

/** Bytes per block of an answer encoded by encodeInSlices. */
export const ENCODE_BLOCK_BYTES = 64 * 1024;
const NO_BYTES = Buffer.alloc(0);

/**
 * The UTF-8 bytes of `parts` one after another, as blocks of up to ENCODE_BLOCK_BYTES (a part
 * longer than a block is a block of its own), letting the event loop run whenever `sliceMs` has
 * passed since it last did. No part is split across blocks.
 */
export async function encodeInSlices(parts: readonly string[], sliceMs: number): Promise<Buffer[]> {
  const blocks: Buffer[] = [];
  let block = NO_BYTES;
  let used = 0;
  const slices = new TimeSlices(sliceMs);
  for (const part of parts) {
    const n = Buffer.byteLength(part, 'utf8');
    if (n > block.length - used) {
      if (used > 0) blocks.push(block.subarray(0, used));
      used = 0;
      if (n >= ENCODE_BLOCK_BYTES) {
        blocks.push(Buffer.from(part, 'utf8'));
        block = NO_BYTES;
      } else {
        block = Buffer.allocUnsafe(ENCODE_BLOCK_BYTES);
        used = block.write(part, 0, 'utf8');
      }
    } else {
      used += block.write(part, used, 'utf8');
    }
    if (slices.due) await slices.next();
  }
  if (used > 0) blocks.push(block.subarray(0, used));
  return blocks;
}

/** Send a SlicedText as a V1 success response (as respondV1 sends its text in one piece). */
async function respondV1Sliced(res: ServerResponse, out: SlicedText, sliceMs: number): Promise<void> {
  const blocks = await encodeInSlices(out.parts, sliceMs);
  if (res.destroyed) return;
  let total = 0;
  for (const b of blocks) total += b.length;
  res.setHeader(V1_HEADER, V1_HEADER_VALUE);
  writeV1Head(res, 200, total, out.json ? JSON_TYPE : TEXT_TYPE);
  for (const b of blocks) res.write(b);
  res.end();
}

/** What a V1 handler returns: data for a 200 (see respondV1), or an HttpError. */
export type V1Outcome = string | Uint8Array | object | number | boolean | null | HttpError | SlicedText;

function sendV1(res: ServerResponse, out: V1Outcome): void | Promise<void> {
  if (out instanceof HttpError) respondV1Error(res, out.status, out.message);
  else if (out instanceof SlicedText) return respondV1Sliced(res, out, RENDER_SLICE_MS);
  else respondV1(res, 200, out);
  return undefined;
}

/** A route handler answering with NSQ's V1 conventions what `fn` returns (or resolves to). */
export function v1Handler(fn: (req: IncomingMessage, params: Params) => V1Outcome | Promise<V1Outcome>): RouteHandler {
  return (req, res, params) => {
    const out = fn(req, params);
    if (out instanceof Promise) return out.then((o) => sendV1(res, o));
    return sendV1(res, out);
  };
}

/** Send a plain-text response without the V1 header (used by /ping). */
export function respondText(res: ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'Content-Type': TEXT_TYPE, 'Content-Length': String(body.length) });
  res.end(body);
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/**
 * Read at most `limit` bytes of a request body (Go's io.ReadAll(io.LimitReader(body, limit))):
 * resolves with what was read, never buffering more than `limit` bytes; any excess is drained
 * and discarded so the connection stays usable.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const waiting = awaitingContinue.get(req);
  if (waiting !== undefined) {
    awaitingContinue.delete(req);
    if (!waiting.headersSent) waiting.writeContinue();
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const finish = (): void => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const room = limit - total;
      if (buf.length >= room) {
        // Copy so the retained bytes never pin a larger chunk than the limit allows.
        if (room > 0) chunks.push(Buffer.from(buf.subarray(0, room)));
        total += Math.max(room, 0);
        finish();
        req.on('error', () => {}); // a reset while draining is not our caller's problem any more
        req.resume(); // drain and discard the rest
        return;
      }
      chunks.push(buf);
      total += buf.length;
    };
    const onEnd = (): void => finish();
    const onError = (err: Error): void => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      // 'close' before 'end' means the client went away mid-body.
      if (!req.readableEnded) onError(Object.assign(new Error('request body aborted'), { code: 'ECONNRESET' }));
      else finish();
    };
    if (limit <= 0 || req.readableEnded) {
      if (!req.readableEnded) {
        req.on('error', () => {});
        req.resume();
      }
      settled = true;
      resolve(Buffer.alloc(0));
      return;
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
