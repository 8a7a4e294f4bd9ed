import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** A finished outbound HTTP request. */
export interface HttpResult {
  status: number;
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
  /** Request headers. */
  headers?: Record<string, string>;
  /** HTTP method; GET by default. */
  method?: string;
  /** Request body. */
  body?: string | Buffer;
}

/** NSQ's Accept header for its V1 HTTP API. */
export const NSQ_ACCEPT = 'application/vnd.nsq; version=1.0';

/** One HTTP(S) request with NSQ's connect and request timeouts; rejects on network errors and timeouts. */
export function httpRequestRaw(url: string, opts: HttpClientOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const make = u.protocol === 'https:' ? httpsRequest : httpRequest;
    const tls = u.protocol === 'https:' ? { cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized ?? true } : {};
    const req = make(u, { method: opts.method ?? 'GET', headers: opts.headers, ca: opts.ca, timeout: opts.connectTimeoutMs, ...tls });
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(total);
      req.destroy();
      reject(err);
    };
    const total = setTimeout(() => fail(new Error(`request to ${url} timed out after ${opts.requestTimeoutMs} ms`)), opts.requestTimeoutMs);
    req.on('socket', (s) => {
      // A kept-alive socket is already connected: only a new one needs the connect timeout.
      if (s.connecting) s.once('connect', () => req.setTimeout(0));
      else req.setTimeout(0);
    });
    req.on('timeout', () => fail(new Error(`connect to ${u.host} timed out after ${opts.connectTimeoutMs} ms`)));
    req.on('error', fail);
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('error', fail);
      res.on('end', () => {
        if (done) return;
        done = true;
        clearTimeout(total);
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), headers: res.headers });
      });
    });
    req.end(opts.body);
  });
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
export function goEncodeQuery(values: Record<string, string>): string {
  return Object.keys(values)
    .sort()
    .map((k) => `${goQueryEscape(k)}=${goQueryEscape(values[k]!)}`)
    .join('&');
}
