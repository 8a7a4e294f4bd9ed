// HTTP plumbing shared by nsqd, nsqlookupd and nsqadmin: a router with the observable behaviour
// of julienschmidt/httprouter v1.3.0 as NSQ configures it (V1 404/405/500 bodies, automatic
// OPTIONS, trailing-slash and fixed-path redirects), NSQ's "V1" response helpers, Go-compatible
// query parsing, and a bounded body reader.

import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as TlsServerOptions } from 'node:https';
import type { Duplex } from 'node:stream';

/** Route parameters by name (`:name` segments and the `*name` catch-all, which keeps its leading '/'). */
export type Params = Record<string, string>;

/** A request handler; a thrown error or rejected promise becomes a 500 INTERNAL_ERROR response. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: Params) => void | Promise<void>;

/** Construction options for Router. */
export interface RouterOptions {
  /** Called with a handler's thrown or rejected error (NSQ logs "panic in HTTP handler"). */
  onError?: (err: unknown, req: IncomingMessage) => void;
}

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

/**
 * An HTTP server (HTTPS with `tls`) for `handler` that accepts and refuses requests as NSQ's
 * Go servers do: headers up to GO_MAX_HEADER_BYTES (Node's default is 16 KiB, so a browser
 * with large cookies got 431 from nsqadmin), net/http's raw 400/431/501/505 answers, and idle
 * connections kept for 65 s.
 */
export function createGoServer(handler: RequestListener, tls?: TlsServerOptions): HttpServer {
  const opts = { maxHeaderSize: GO_MAX_HEADER_BYTES, requireHostHeader: false };
  const gated: RequestListener = (req, res) => {
    const refusal = goRequestRefusal(req);
    if (refusal === null) handler(req, res);
    // Written raw, once the answers to earlier pipelined requests have gone out (net/http reads one request at a time).
    else if (res.socket !== null) res.socket.end(refusal);
    else res.once('socket', (socket: Duplex) => socket.end(refusal));
  };
  const server: HttpServer = tls === undefined ? createHttpServer(opts, gated) : createHttpsServer({ ...tls, ...opts }, gated);
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.on('clientError', onClientError);
  return server;
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

/** JSON.stringify that writes bigints as bare JSON integers. */
function stringifyWithBigInt(value: unknown): string | undefined {
  // The marker starts with U+0000, which JSON.stringify always escapes, so a marked value can be
  // found again in the output; the random part keeps user strings from colliding with it.
  const marker = `\u0000bigint${Math.random().toString(36).slice(2)}:`;
  const json = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? marker + v.toString() : v)) as
    | string
    | undefined;
  if (json === undefined) return undefined;
  const escapedMarker = JSON.stringify(marker).slice(1, -1).replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  return json.replace(new RegExp(`"${escapedMarker}(-?\\d+)"`, 'g'), '$1');
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
  // Go's server only sniffs a Content-Type from a non-empty body: an empty string has none.
  res.writeHead(status, body.length === 0 ? { 'Content-Length': '0' } : { 'Content-Type': type, 'Content-Length': String(body.length) });
  res.end(body);
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

/** What a V1 handler returns: data for a 200 (see respondV1), or an HttpError. */
export type V1Outcome = string | Uint8Array | object | number | boolean | null | HttpError;

function sendV1(res: ServerResponse, out: V1Outcome): void {
  if (out instanceof HttpError) respondV1Error(res, out.status, out.message);
  else respondV1(res, 200, out);
}

/** A route handler answering with NSQ's V1 conventions what `fn` returns (or resolves to). */
export function v1Handler(fn: (req: IncomingMessage, params: Params) => V1Outcome | Promise<V1Outcome>): RouteHandler {
  return (req, res, params) => {
    const out = fn(req, params);
    if (out instanceof Promise) return out.then((o) => sendV1(res, o));
    sendV1(res, out);
    return undefined;
  };
}

/** Send a plain-text response without the V1 header (used by /ping). */
export function respondText(res: ServerResponse, status: number, text: string): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, { 'Content-Type': TEXT_TYPE, 'Content-Length': String(body.length) });
  res.end(body);
}

// ---------------------------------------------------------------------------------------------
// Query strings (Go net/url)

/** Error raised by Go's unescape for a malformed %-escape; its message matches Go's EscapeError. */
export class URLEscapeError extends Error {
  /** Always 'URLEscapeError'. */
  override readonly name = 'URLEscapeError';
  /** Always 'ERR_INVALID_URL_ESCAPE'. */
  readonly code = 'ERR_INVALID_URL_ESCAPE';

  /** Create the error for the offending text (at most three characters from the '%'). */
  constructor(
    /** The offending text, at most three characters starting at the '%'. */
    readonly escape: string,
  ) {
    super(`invalid URL escape ${JSON.stringify(escape)}`);
  }
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Percent-decode like Go's url.QueryUnescape (or url.PathUnescape when `plusIsSpace` is false);
 * returns a URLEscapeError for a '%' not followed by two hex digits.
 */
export function unescapeGo(s: string, plusIsSpace = true): string | URLEscapeError {
  if (!s.includes('%') && !(plusIsSpace && s.includes('+'))) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */) {
      const hi = i + 1 < s.length ? hexVal(s.charCodeAt(i + 1)) : -1;
      const lo = i + 2 < s.length ? hexVal(s.charCodeAt(i + 2)) : -1;
      if (hi < 0 || lo < 0) return new URLEscapeError(s.slice(i, i + 3));
      bytes.push(hi * 16 + lo);
      i += 3;
    } else if (c === 43 /* + */ && plusIsSpace) {
      bytes.push(32);
      i++;
    } else if (c < 0x80) {
      bytes.push(c);
      i++;
    } else {
      // Node rejects raw non-ASCII request targets, so this only happens for strings built in JS.
      const cp = s.codePointAt(i) ?? c;
      const ch = String.fromCodePoint(cp);
      for (const b of Buffer.from(ch, 'utf8')) bytes.push(b);
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * Parse a raw query string like Go's url.ParseQuery: '&'-separated pieces, empty pieces skipped,
 * `key` without '=' has value '', '+' is a space; returns an Error for a ';' in a piece or a bad
 * %-escape (NSQ answers those with 400 INVALID_REQUEST).
 */
export function parseQuery(raw: string): Map<string, string[]> | Error {
  const m = new Map<string, string[]>();
  let firstErr: Error | undefined;
  for (const piece of raw.split('&')) {
    if (piece.includes(';')) {
      firstErr ??= new Error('invalid semicolon separator in query');
      continue;
    }
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const k = unescapeGo(eq === -1 ? piece : piece.slice(0, eq));
    if (k instanceof Error) {
      firstErr ??= k;
      continue;
    }
    const v = unescapeGo(eq === -1 ? '' : piece.slice(eq + 1));
    if (v instanceof Error) {
      firstErr ??= v;
      continue;
    }
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  }
  return firstErr ?? m;
}

/** The query-string parameters of a request (NSQ reads parameters from the URL only, never the body). */
export class ReqParams {
  /** Wrap an already parsed query. */
  constructor(
    /** Every key with its values in query order. */
    readonly values: Map<string, string[]>,
  ) {}

  /** Parse the request's query string; returns an Error when Go would refuse it. */
  static parse(req: IncomingMessage): ReqParams | Error {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const parsed = parseQuery(q === -1 ? '' : url.slice(q + 1));
    return parsed instanceof Error ? parsed : new ReqParams(parsed);
  }

  /** The first value of a key (a present-but-empty value is ''), or undefined when absent. */
  get(key: string): string | undefined {
    return this.values.get(key)?.[0];
  }

  /** Whether the key appears in the query at all. */
  has(key: string): boolean {
    return this.values.has(key);
  }

  /** Every value of a key in order, or [] when absent. */
  getAll(key: string): string[] {
    return [...(this.values.get(key) ?? [])];
  }
}

// ---------------------------------------------------------------------------------------------
// Request bodies

/**
 * Read at most `limit` bytes of a request body (Go's io.ReadAll(io.LimitReader(body, limit))):
 * resolves with what was read, never buffering more than `limit` bytes; any excess is drained
 * and discarded so the connection stays usable.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
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

// ---------------------------------------------------------------------------------------------
// Router

type Segment = { kind: 'static'; text: string } | { kind: 'param'; name: string } | { kind: 'catchAll'; name: string };

interface Route {
  path: string;
  segments: Segment[];
  handler: RouteHandler;
}

/** Split "/a/b/" into ["a", "b", ""]; the leading '/' is implied. */
function splitPath(path: string): string[] {
  return path.slice(1).split('/');
}

function parseRoutePath(path: string): Segment[] {
  if (!path.startsWith('/')) throw new Error(`path must begin with '/' in path '${path}'`);
  const parts = splitPath(path);
  return parts.map((part, i) => {
    if (part.startsWith(':')) {
      if (part.length === 1) throw new Error(`wildcards must be named with a non-empty name in path '${path}'`);
      return { kind: 'param', name: part.slice(1) };
    }
    if (part.startsWith('*')) {
      if (part.length === 1) throw new Error(`wildcards must be named with a non-empty name in path '${path}'`);
      if (i !== parts.length - 1) throw new Error(`catch-all routes are only allowed at the end of the path in path '${path}'`);
      return { kind: 'catchAll', name: part.slice(1) };
    }
    return { kind: 'static', text: part };
  });
}

const SEGMENT_RANK = { static: 0, param: 1, catchAll: 2 } as const;

/** Static segments are tried before parameters, parameters before a catch-all. */
function compareRoutes(a: Route, b: Route): number {
  const n = Math.min(a.segments.length, b.segments.length);
  for (let i = 0; i < n; i++) {
    const d = SEGMENT_RANK[(a.segments[i] as Segment).kind] - SEGMENT_RANK[(b.segments[i] as Segment).kind];
    if (d !== 0) return d;
  }
  return b.segments.length - a.segments.length;
}

/**
 * Match a request path against a route; on success returns the params and, when `fold` is set
 * (case-insensitive matching), the path rebuilt with the route's own spelling.
 */
function matchRoute(route: Route, parts: readonly string[], fold: boolean): { params: Params; path: string } | undefined {
  const params: Params = {};
  const out: string[] = [];
  const segs = route.segments;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] as Segment;
    if (seg.kind === 'catchAll') {
      if (i > parts.length) return undefined;
      // A catch-all needs its '/' (the route "/src/*f" matches "/src/" but not "/src").
      if (i === parts.length) return undefined;
      const rest = '/' + parts.slice(i).join('/');
      params[seg.name] = rest;
      out.push(parts.slice(i).join('/'));
      return { params, path: '/' + out.join('/') };
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (seg.kind === 'param') {
      if (part === '') return undefined;
      params[seg.name] = part;
      out.push(part);
    } else {
      if (part !== seg.text && !(fold && part.toLowerCase() === seg.text.toLowerCase())) return undefined;
      out.push(seg.text);
    }
  }
  if (parts.length !== segs.length) return undefined;
  return { params, path: '/' + out.join('/') };
}

/** Go's path.Clean plus httprouter's CleanPath rules: rooted, no '.', '..' or '//', trailing '/' kept. */
export function cleanPath(p: string): string {
  if (p === '') return '/';
  const trailing = p.length > 1 && p.endsWith('/');
  const stack: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') stack.pop();
    else stack.push(part);
  }
  let out = '/' + stack.join('/');
  if (trailing && out !== '/') out += '/';
  return out;
}

// Characters Go's url.PathEscape-style path encoding leaves alone (shouldEscape with encodePath).
const PATH_SAFE = /[A-Za-z0-9\-_.~$&+,/:;=@]/;

/** Re-escape a decoded path the way Go's URL.EscapedPath does for a redirect Location. */
function escapePath(path: string): string {
  let out = '';
  for (const ch of path) {
    if (ch.length === 1 && PATH_SAFE.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c] ?? c);
}

/**
 * A method + path router with julienschmidt/httprouter v1.3.0 semantics and NSQ's V1 error
 * bodies: 404 NOT_FOUND, 405 METHOD_NOT_ALLOWED with `Allow`, automatic OPTIONS, trailing-slash
 * and case/clean-path redirects (301 for GET, 307 otherwise), 500 INTERNAL_ERROR on handler failure.
 */
export class Router {
  private readonly trees = new Map<string, Route[]>();
  private readonly onError: ((err: unknown, req: IncomingMessage) => void) | undefined;

  /** Create an empty router; `onError` sees every handler failure. */
  constructor(opts: RouterOptions = {}) {
    this.onError = opts.onError;
  }

  /** Register a handler; path segments may be `:name` parameters or a final `*name` catch-all. */
  add(method: string, path: string, handler: RouteHandler): this {
    const route: Route = { path, segments: parseRoutePath(path), handler };
    const routes = this.trees.get(method) ?? [];
    const shape = (r: Route): string =>
      r.segments.map((s) => (s.kind === 'static' ? 's:' + s.text : s.kind)).join('/');
    if (routes.some((r) => shape(r) === shape(route))) {
      throw new Error(`a handle is already registered for path '${path}' (${method})`);
    }
    routes.push(route);
    routes.sort(compareRoutes);
    this.trees.set(method, routes);
    return this;
  }

  /** Dispatch a request to its handler or answer it with NSQ's 404/405/OPTIONS/redirect behaviour; never throws. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.dispatch(req, res);
    } catch (err) {
      this.fail(err, req, res);
    }
  }

  private lookup(method: string, parts: readonly string[]): { route: Route; params: Params } | undefined {
    const routes = this.trees.get(method);
    if (!routes) return undefined;
    for (const route of routes) {
      const m = matchRoute(route, parts, false);
      if (m) return { route, params: m.params };
    }
    return undefined;
  }

  /** Sorted methods (plus OPTIONS) that have a route for the path, excluding `skip`; '' when none. */
  private allowed(path: string, skip: string): string {
    const parts = splitPath(path);
    const methods: string[] = [];
    for (const method of this.trees.keys()) {
      if (method === skip || method === 'OPTIONS') continue;
      if (this.lookup(method, parts)) methods.push(method);
    }
    if (methods.length === 0) return '';
    methods.push('OPTIONS');
    methods.sort();
    return methods.join(', ');
  }

  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    let target = req.url ?? '/';
    if (!target.startsWith('/')) {
      // Absolute-form targets (proxy style) carry the path after the authority.
      const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*(.*)$/.exec(target);
      target = m ? m[1] || '/' : target;
    }
    const q = target.indexOf('?');
    const rawPath = q === -1 ? target : target.slice(0, q);
    const rawQuery = q === -1 ? '' : target.slice(q + 1);
    const path = unescapeGo(rawPath, false);
    if (path instanceof Error || !path.startsWith('/')) {
      // Go's server rejects a request URI it cannot parse before any handler runs.
      respondText(res, 400, '400 Bad Request');
      return;
    }

    const parts = splitPath(path);
    const found = this.lookup(method, parts);
    if (found) {
      this.invoke(found.route.handler, req, res, found.params);
      return;
    }

    const routes = this.trees.get(method);
    if (routes && method !== 'CONNECT' && path !== '/') {
      const code = method === 'GET' ? 301 : 307;
      // Trailing-slash redirect: the same path with the slash toggled has a route.
      const alt = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path + '/';
      if (this.lookup(method, splitPath(alt))) {
        this.redirect(req, res, code, alt, rawQuery);
        return;
      }
      // Fixed-path redirect: clean the path, then match case-insensitively (slash toggled too).
      const fixed = this.findFixedPath(routes, cleanPath(path));
      if (fixed !== undefined) {
        this.redirect(req, res, code, fixed, rawQuery);
        return;
      }
    }

    if (method === 'OPTIONS') {
      const allow = this.allowed(path, 'OPTIONS');
      if (allow !== '') {
        res.writeHead(200, { Allow: allow, 'Content-Length': '0' });
        res.end();
        return;
      }
    } else {
      const allow = this.allowed(path, method);
      if (allow !== '') {
        res.setHeader('Allow', allow);
        respondV1Error(res, 405, 'METHOD_NOT_ALLOWED');
        return;
      }
    }
    respondV1Error(res, 404, 'NOT_FOUND');
  }

  private findFixedPath(routes: readonly Route[], clean: string): string | undefined {
    const candidates = [clean];
    if (clean.length > 1 && clean.endsWith('/')) candidates.push(clean.slice(0, -1));
    else if (clean !== '/') candidates.push(clean + '/');
    for (const candidate of candidates) {
      const parts = splitPath(candidate);
      for (const route of routes) {
        const m = matchRoute(route, parts, true);
        if (m) return m.path;
      }
    }
    return undefined;
  }

  private redirect(req: IncomingMessage, res: ServerResponse, code: number, path: string, rawQuery: string): void {
    const location = escapePath(path) + (rawQuery !== '' ? '?' + rawQuery : '');
    res.setHeader('Location', location);
    if (req.method === 'GET' || req.method === 'HEAD') {
      // Go's http.Redirect adds a tiny HTML body for GET and HEAD.
      const body = Buffer.from(`<a href="${htmlEscape(location)}">${code === 301 ? 'Moved Permanently' : 'Temporary Redirect'}</a>.\n\n`);
      res.writeHead(code, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(code, { 'Content-Length': '0' });
    res.end();
  }

  private invoke(handler: RouteHandler, req: IncomingMessage, res: ServerResponse, params: Params): void {
    let result: void | Promise<void>;
    try {
      result = handler(req, res, params);
    } catch (err) {
      this.fail(err, req, res);
      return;
    }
    if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
      (result as Promise<void>).then(undefined, (err: unknown) => this.fail(err, req, res));
    }
  }

  private fail(err: unknown, req: IncomingMessage, res: ServerResponse): void {
    try {
      this.onError?.(err, req);
    } catch {
      // A broken error hook must not stop the 500 from going out.
    }
    if (!res.headersSent) {
      try {
        res.removeHeader('Content-Type');
        res.removeHeader('Content-Length');
        respondV1Error(res, 500, 'INTERNAL_ERROR');
        return;
      } catch {
        // fall through to destroying the response
      }
    }
    if (!res.writableEnded) res.destroy();
  }
}
