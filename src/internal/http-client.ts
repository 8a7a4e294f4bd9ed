import { request as httpRequest, STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { SecureVersion } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { decodeGoStruct, type GoStruct } from './go-json.js';
import { cipherListFor } from './go-tls.js';
import { goDialError } from './listen.js';

/** A finished outbound HTTP request. */
export interface HttpResult {
  status: number;
  /** The reason phrase of the status line, as the server sent it. */
  statusText: string;
  body: Buffer;
  /** Response headers (names lower-cased). */
  headers: IncomingHttpHeaders;
}

/** Options of an outbound request (NSQ's --http-client-* flags). */
export interface HttpClientOptions {
  /** Connect timeout in ms (--http-client-connect-timeout). */
  connectTimeoutMs: number;
  /** Whole-request timeout in ms (--http-client-request-timeout). */
  requestTimeoutMs: number;
  /** Extra CA certificates (PEM) for https URLs (--tls-root-ca-file). */
  ca?: string | Buffer;
  /** Client certificate (PEM) for https URLs (nsqadmin's --http-client-tls-cert). */
  cert?: string | Buffer;
  /** Client key (PEM) for https URLs (nsqadmin's --http-client-tls-key). */
  key?: string | Buffer;
  /** Verify the server certificate of https URLs; default true (false = --http-client-tls-insecure-skip-verify). */
  rejectUnauthorized?: boolean;
  /** Lowest TLS version for https URLs (nsqd's --tls-min-version for its auth requests). */
  minVersion?: SecureVersion;
  /** Request headers. */
  headers?: Record<string, string>;
  /** HTTP method; GET by default. */
  method?: string;
  /** Request body. */
  body?: string | Buffer;
}

/** A request that ran out of time: while connecting (--http-client-connect-timeout) or as a whole (--http-client-request-timeout). */
export class HttpTimeoutError extends Error {
  override readonly name = 'HttpTimeoutError';
  constructor(
    readonly phase: 'connect' | 'request',
    message: string,
  ) {
    super(message);
  }
}

/** NSQ's Accept header for its V1 HTTP API. */
export const NSQ_ACCEPT = 'application/vnd.nsq; version=1.0';

/** Go's http.Client names itself when the request does not (NSQ's clients and nsqadmin's notifications never do). */
const GO_USER_AGENT = 'Go-http-client/1.1';

/**
 * The headers Go's http.Transport adds to a request: its User-Agent unless one is set, and
 * `Accept-Encoding: gzip` (answered gzip'd, the body is unzipped for the caller) unless the
 * request sets Accept-Encoding or Range, or is a HEAD. `gzip` says whether it asked.
 */
function goRequestHeaders(method: string, headers: Record<string, string> | undefined): { headers: Record<string, string>; gzip: boolean } {
  const names = headers === undefined ? [] : Object.keys(headers).map((k) => k.toLowerCase());
  const out = { ...headers };
  if (!names.includes('user-agent')) out['User-Agent'] = GO_USER_AGENT;
  const gzip = method !== 'HEAD' && !names.includes('accept-encoding') && !names.includes('range');
  if (gzip) out['Accept-Encoding'] = 'gzip';
  return { headers: out, gzip };
}

/** A response body that could not be read (Go's Body.Read error, which http.Client does not wrap in a url.Error). */
export class BodyReadError extends Error {
  override readonly name = 'BodyReadError';
}

/**
 * A gzip'd body unzipped as Go's transport does (compress/gzip, every member): an empty body is
 * empty, a broken one fails as Go's reader fails on it.
 */
function gunzipAsGo(body: Buffer): Buffer | BodyReadError {
  if (body.length === 0) return body;
  try {
    return gunzipSync(body);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'Z_BUF_ERROR') return new BodyReadError('unexpected EOF');
    if ((err as Error).message.includes('data check')) return new BodyReadError('gzip: invalid checksum');
    return new BodyReadError('gzip: invalid header');
  }
}

/** One HTTP(S) request with NSQ's connect and request timeouts; rejects on network errors and timeouts. */
export function httpRequestRaw(url: string, opts: HttpClientOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const make = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const tls = u.protocol === 'https:' ? { cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized ?? true, ...(opts.minVersion === undefined ? {} : { minVersion: opts.minVersion, ciphers: cipherListFor(opts.minVersion) }) } : {};
    const method = opts.method ?? 'GET';
    const { headers, gzip } = goRequestHeaders(method, opts.headers);
    const req = make(u, { method, headers, ca: opts.ca, timeout: opts.connectTimeoutMs, ...tls });
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(total);
      req.destroy();
      reject(err);
    };
    const total = setTimeout(() => fail(new HttpTimeoutError('request', `request to ${url} timed out after ${opts.requestTimeoutMs} ms`)), opts.requestTimeoutMs);
    req.on('socket', (s) => {
      // A kept-alive socket is already connected: only a new one needs the connect timeout.
      if (s.connecting) s.once('connect', () => req.setTimeout(0));
      else req.setTimeout(0);
    });
    req.on('timeout', () => fail(new HttpTimeoutError('connect', `connect to ${u.host} timed out after ${opts.connectTimeoutMs} ms`)));
    req.on('error', fail);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('error', fail);
      res.on('end', () => {
        if (done) return;
        done = true;
        clearTimeout(total);
        let body: Buffer = Buffer.concat(parts);
        const resHeaders = res.headers;
        if (gzip && resHeaders['content-encoding']?.toLowerCase() === 'gzip') {
          const unzipped = gunzipAsGo(body);
          if (unzipped instanceof BodyReadError) {
            reject(unzipped);
            return;
          }
          body = unzipped;
          delete resHeaders['content-encoding'];
          delete resHeaders['content-length'];
        }
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body, headers: resHeaders });
      });
    });
    req.end(opts.body);
  });
}

/**
 * A request as Go's default http.Client makes it: redirects are followed, at most 10 (then
 * `stopped after 10 redirects`); after a 301, 302 or 303 the next request is a GET without a body
 * (a HEAD stays a HEAD), after a 307 or 308 it repeats method and body; Authorization and Cookie
 * are not sent to another host. A redirect without a Location is the answer. The request timeout
 * covers the whole chain, as Client.Timeout does.
 */
export async function httpRequestFollow(url: string, opts: HttpClientOptions): Promise<HttpResult> {
  const deadline = performance.now() + opts.requestTimeoutMs;
  let target = new URL(url);
  let method = opts.method ?? 'GET';
  let body = opts.body;
  let headers = opts.headers;
  for (let hops = 0; ; hops++) {
    const left = Math.max(1, Math.round(deadline - performance.now()));
    const res = await httpRequestRaw(target.href, { ...opts, method, body, headers, requestTimeoutMs: left });
    const location = res.headers.location;
    if (![301, 302, 303, 307, 308].includes(res.status) || location === undefined || location === '') return res;
    if (hops === 10) throw new Error('stopped after 10 redirects');
    const next = new URL(location, target);
    if (res.status !== 307 && res.status !== 308) {
      if (method !== 'HEAD') method = 'GET';
      body = undefined;
    }
    if (next.host !== target.host && headers !== undefined) {
      headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^(authorization|www-authenticate|cookie|cookie2)$/i.test(k)));
    }
    target = next;
  }
}

/**
 * Go's wording of a transport failure of `method url` (`Get "<url>": dial tcp <addr>: connect:
 * connection refused`). NSQ's HTTP clients set Client.Timeout and ResponseHeaderTimeout to the
 * same request timeout; the client's deadline, started first, is the one that fires.
 */
export function goTransportError(method: 'Get' | 'Post', url: string, err: unknown): Error {
  if (err instanceof BodyReadError) return err;
  let host = '';
  try {
    host = new URL(url).host;
  } catch {
    // keep ''
  }
  let reason = goDialError(host, err);
  if (reason === undefined) {
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') reason = 'EOF';
    else if (err instanceof HttpTimeoutError) reason = err.phase === 'connect' ? `dial tcp ${host}: i/o timeout` : 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)';
    else reason = (err as Error).message;
  }
  return new Error(`${method} "${url}": ${reason}`);
}

/**
 * The `https://host:<https_port>/...` a 403 answer to `method url` points to, as NSQ's
 * httpsEndpoint reads it: the body json.Unmarshal'd into {https_port int}, so a body that is not
 * such JSON throws Go's JSON error. A port no dial reaches (none given is 0) throws what Go's
 * dial of it fails with; it is not handed to Node, which reads port 0 as the default port.
 */
function httpsEndpoint(method: 'Get' | 'Post', url: string, body: Buffer): string {
  const fields = decodeGoStruct(body.toString('utf8'), HTTPS_PORT, 'unmarshal');
  if (fields instanceof Error) throw fields;
  const port = Number(fields.https_port ?? 0);
  const u = new URL(url);
  u.protocol = 'https:';
  const target = `${u.protocol}//${u.hostname}:${port}${u.pathname}${u.search}`;
  if (port === 0) throw goTransportError(method, target, Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
  if (!(port > 0 && port <= 65535)) throw new Error(`${method} "${target}": dial tcp: address ${port}: invalid port`);
  u.port = String(port);
  return u.toString();
}

const HTTPS_PORT: GoStruct = { name: '', type: 'struct { HTTPSPort int "json:\\"https_port\\"" }', fields: { https_port: 'int' } };

/**
 * NSQ's http_api GETV1 / POSTV1 (empty body): the NSQ Accept header, a 403 carrying `https_port`
 * retried once over https, and Go's error texts: transport failures as goTransportError, a non-200
 * answer as `got response 404 Not Found "<body>"`. Resolves with the 200 answer.
 */
export async function requestV1(method: 'GET' | 'POST', url: string, opts: Omit<HttpClientOptions, 'method' | 'headers' | 'body'>): Promise<HttpResult> {
  const verb = method === 'GET' ? 'Get' : 'Post';
  let target = url;
  for (let attempt = 0; ; attempt++) {
    let res: HttpResult;
    try {
      res = await httpRequestFollow(target, { ...opts, method, headers: { Accept: NSQ_ACCEPT } });
    } catch (err) {
      throw goTransportError(verb, target, err);
    }
    if (res.status === 403 && attempt === 0 && !target.startsWith('https')) {
      target = httpsEndpoint(verb, target, res.body);
      continue;
    }
    if (res.status !== 200) {
      // Go's resp.Status is the status line as the server sent it; then Go's %q of the body
      // (JSON string escaping is the same for the bodies NSQ sends).
      const reason = res.statusText !== '' ? res.statusText : (STATUS_CODES[res.status] ?? '');
      throw new Error(`got response ${res.status} ${reason} ${JSON.stringify(res.body.toString('utf8'))}`.replace('  ', ' '));
    }
    return res;
  }
}

/** Go's url.QueryEscape: everything but [A-Za-z0-9-_.~] percent-encoded, space as '+'; bytes are escaped as given, text as UTF-8. */
export function goQueryEscape(s: string | Uint8Array): string {
  let out = '';
  for (const b of typeof s === 'string' ? Buffer.from(s, 'utf8') : s) out += QUERY_ESCAPES[b]!;
  return out;
}

/** What goQueryEscape writes for each byte: unreserved bytes as is, space as '+', the rest %XX. */
const QUERY_ESCAPES: readonly string[] = Array.from({ length: 256 }, (_, b) => {
  if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e) return String.fromCharCode(b);
  return b === 0x20 ? '+' : '%' + b.toString(16).toUpperCase().padStart(2, '0');
});

/** Go's url.Values.Encode(): keys sorted, `k=v` joined with '&'. */
export function goEncodeQuery(values: Record<string, string | Uint8Array>): string {
  return Object.keys(values)
    .sort()
    .map((k) => `${goQueryEscape(k)}=${goQueryEscape(values[k]!)}`)
    .join('&');
}
