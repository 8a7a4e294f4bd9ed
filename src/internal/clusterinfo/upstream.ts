// The HTTP client of nsqadmin and the tools to nsqd and nsqlookupd (NSQ's internal/http_api
// GETV1 / POSTV1): the NSQ Accept header, NSQ's connect and request timeouts, a 403 carrying
// `https_port` retried once over https (nsqd --tls-required), and errors worded like Go's
// (`got response 404 Not Found "{...}"`, `Get "<url>": dial tcp <addr>: connect: connection
// refused`), because those texts end up verbatim in nsqadmin's UPSTREAM_ERROR and WARNING
// messages and in the tools' fatal lines.

import { STATUS_CODES } from 'node:http';
import { httpRequestRaw, NSQ_ACCEPT, type HttpResult } from '../http-client.js';

/** Timeouts (ms) and TLS material of upstream requests. */
export interface UpstreamConfig {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** False for --http-client-tls-insecure-skip-verify. */
  rejectUnauthorized: boolean;
}

/** Go's wording of a transport failure of `method url`. */
function transportError(method: 'Get' | 'Post', url: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  let host = '';
  try {
    host = new URL(url).host;
  } catch {
    // keep ''
  }
  let reason: string;
  switch (e.code) {
    case 'ECONNREFUSED': reason = `dial tcp ${host}: connect: connection refused`; break;
    case 'ECONNRESET': reason = 'EOF'; break;
    case 'EHOSTUNREACH': reason = `dial tcp ${host}: connect: no route to host`; break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN': reason = `dial tcp: lookup ${host.replace(/:\d+$/, '')}: no such host`; break;
    default:
      if (/^connect to .* timed out/.test(e.message)) reason = `dial tcp ${host}: i/o timeout`;
      else if (/timed out after/.test(e.message)) reason = 'net/http: timeout awaiting response headers';
      else reason = e.message;
  }
  return new Error(`${method} "${url}": ${reason}`);
}

/** Go's `%q` of a response body (close enough: JSON string escaping). */
function quoteBody(body: Buffer): string {
  return JSON.stringify(body.toString('utf8'));
}

/** The `https://host:<https_port>/...` retry target of a 403, or undefined when the body has none. */
function httpsEndpoint(url: string, body: Buffer): string | undefined {
  let port: unknown;
  try {
    const doc: unknown = JSON.parse(body.toString('utf8'));
    port = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).https_port : undefined;
  } catch {
    return undefined;
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  const u = new URL(url);
  u.protocol = 'https:';
  u.port = String(port);
  return u.toString();
}

/**
 * Parse `text` as one JSON value, failing with Go's json.Unmarshal syntax-error text
 * (`unexpected end of JSON input`, `invalid character 'x' looking for beginning of value`, ...).
 */
function parseGoJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const trimmed = text.trim();
    if (trimmed === '') throw new Error('unexpected end of JSON input');
    const c = trimmed[0]!;
    if (!'{["-0123456789tfn'.includes(c)) throw new Error(`invalid character ${goQuoteChar(c)} looking for beginning of value`);
    throw new Error('invalid JSON: ' + (trimmed.length > 64 ? trimmed.slice(0, 64) + '...' : trimmed));
  }
}

/** Go's %q of one character, as its JSON errors print it ('x', '\n'). */
export function goQuoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '\\') return `'\\\\'`;
  const special: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
  if (special[c] !== undefined) return `'${special[c]}'`;
  const code = c.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `'\\x${code.toString(16).padStart(2, '0')}'`;
  return `'${c}'`;
}

/** The HTTP client nsqadmin talks to its daemons with. */
export class UpstreamClient {
  /** Build a client reading its timeouts and TLS material from `config()` on every request (they can change at runtime). */
  constructor(private readonly config: () => UpstreamConfig) {}

  /** One request with the configured timeouts and TLS material. */
  private request(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string): Promise<HttpResult> {
    const c = this.config();
    return httpRequestRaw(url, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      connectTimeoutMs: c.connectTimeoutMs,
      requestTimeoutMs: c.requestTimeoutMs,
      ca: c.ca,
      cert: c.cert,
      key: c.key,
      rejectUnauthorized: c.rejectUnauthorized,
    });
  }

  private async send(method: 'GET' | 'POST', url: string): Promise<HttpResult> {
    let target = url;
    for (let attempt = 0; ; attempt++) {
      let res: HttpResult;
      try {
        res = await this.request(target, method, { Accept: NSQ_ACCEPT });
      } catch (err) {
        throw transportError(method === 'GET' ? 'Get' : 'Post', target, err);
      }
      if (res.status === 403 && attempt === 0 && !target.startsWith('https')) {
        const next = httpsEndpoint(target, res.body);
        if (next !== undefined) {
          target = next;
          continue;
        }
      }
      if (res.status !== 200) throw new Error(`got response ${res.status} ${STATUS_CODES[res.status] ?? ''} ${quoteBody(res.body)}`.replace('  ', ' '));
      return res;
    }
  }

  /** GET a V1 endpoint and parse its JSON body; rejects with Go's error texts. */
  async getV1(url: string): Promise<unknown> {
    const res = await this.send('GET', url);
    return parseGoJson(res.body.toString('utf8'));
  }

  /** POST to a V1 endpoint with an empty body; rejects with Go's error texts on failure. */
  async postV1(url: string): Promise<void> {
    await this.send('POST', url);
  }

  /** GET any URL with the upstream timeouts (graphite); returns the raw answer. */
  async getRaw(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
    try {
      return await this.request(url, 'GET', headers);
    } catch (err) {
      throw transportError('Get', url, err);
    }
  }

  /** POST a JSON body (notifications); resolves with the status, rejects on transport errors. */
  async postJSON(url: string, body: string): Promise<number> {
    try {
      const res = await this.request(url, 'POST', { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }, body);
      return res.status;
    } catch (err) {
      throw transportError('Post', url, err);
    }
  }
}
