// How nsq_to_http delivers one message (apps/nsq_to_http/{nsq_to_http,http}.go in NSQ v1.3.0):
// GET replaces the single `%s` of the URL with the query-escaped body and succeeds on exactly 200;
// POST sends the body with --content-type and succeeds on any 2xx. Both send
// `User-Agent: nsq_to_http v1.3.0` and the --header values (which may override both). A mode picks
// the destination: round-robin, hostpool / epsilon-greedy, or, for any other --mode, all of them.

import { goQueryEscape, httpRequestFollow } from '../../internal/http-client.js';
import { NSQ_VERSION } from '../common.js';
import { DestinationPicker, isPickMode } from '../host-pool.js';
import { DestinationMetrics } from '../timer-metrics.js';

/** What the publisher needs from nsq_to_http's options. */
export interface PublisherOptions {
  /** GET URLs (each with one `%s`) or POST URLs. */
  addresses: string[];
  method: 'GET' | 'POST';
  /** `round-robin`, `hostpool`, `epsilon-greedy`; anything else sends to every address. */
  mode: string;
  contentType: string;
  /** Custom headers, applied after User-Agent and Content-Type. */
  headers: Record<string, string>;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  statusEvery: number;
}

/**
 * Go's fmt.Sprintf(format, arg) for a format holding one `%s`, split once around the argument:
 * `%%` becomes `%`, the first `%s` the argument, any other verb `%!<verb>(MISSING)` and a
 * trailing `%` `%!(NOVERB)`. The text is head + arg + tail (head alone when there is no `%s`).
 */
export function splitFormat(format: string): { head: string; tail: string; hasArg: boolean } {
  const parts = ['', ''];
  let used = false;
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    const k = used ? 1 : 0;
    if (c !== '%') {
      parts[k] += c;
      continue;
    }
    const v = format[i + 1];
    i++;
    if (v === undefined) parts[k] += '%!(NOVERB)';
    else if (v === '%') parts[k] += '%';
    else if (v === 's' && !used) used = true;
    else parts[k] += `%!${v}(MISSING)`;
  }
  return { head: parts[0]!, tail: parts[1]!, hasArg: used };
}

/**
 * Go's textproto.CanonicalMIMEHeaderKey: `x-foo` → `X-Foo` (a key with a character that is not
 * a token character stays as it is).
 */
export function canonicalHeaderKey(key: string): string {
  if (!/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(key)) return key;
  return key.toLowerCase().replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

/**
 * Parse `--header` values (`Key: Value`, split on the first `:`, both sides trimmed and
 * non-empty) into canonical keys, the last value of a key winning (Go's Header.Set); null when
 * one is malformed.
 */
export function parseCustomHeaders(values: readonly string[]): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const h of values) {
    const colon = h.indexOf(':');
    if (colon === -1) return null;
    const key = h.slice(0, colon).trim();
    const value = h.slice(colon + 1).trim();
    if (key === '' || value === '') return null;
    out[canonicalHeaderKey(key)] = value;
  }
  return out;
}

/** An HTTP delivery failure; the consumer requeues the message when the handler rejects with it. */
export class PublishError extends Error {
  /** `code`: ERR_HTTP_STATUS (an unexpected status) or ERR_HTTP (transport). */
  readonly code: 'ERR_HTTP_STATUS' | 'ERR_HTTP';

  /** An error with a code and an optional cause. */
  constructor(code: 'ERR_HTTP_STATUS' | 'ERR_HTTP', message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'PublishError';
    this.code = code;
  }
}

/** Sends message bodies to the configured URLs according to the mode, with timing stats. */
export class HttpPublisher {
  private readonly o: PublisherOptions;
  /** null in "all" mode (any --mode but round-robin, hostpool and epsilon-greedy). */
  private readonly picker: DestinationPicker | null;
  private readonly metrics: DestinationMetrics;
  /** The request headers, the same for every request. */
  private readonly headers: Record<string, string>;
  /** GET: each address format split around its `%s`, once. */
  private readonly getFormats = new Map<string, { head: string; tail: string; hasArg: boolean }>();

  /** A publisher for the given options. */
  constructor(o: PublisherOptions) {
    this.o = o;
    if (o.method === 'GET') for (const a of o.addresses) this.getFormats.set(a, splitFormat(a));
    const headers: Record<string, string> = { 'User-Agent': `nsq_to_http v${NSQ_VERSION}` };
    if (o.method === 'POST') headers['Content-Type'] = o.contentType;
    this.headers = Object.assign(headers, o.headers);
    this.picker = isPickMode(o.mode) ? new DestinationPicker(o.mode, o.addresses) : null;
    this.metrics = new DestinationMetrics(o.addresses, o.statusEvery);
  }

  /** Deliver `body`; rejects with a PublishError when a destination fails. */
  async handle(body: Buffer): Promise<void> {
    const start = performance.now();
    // GET: the body goes into the URL, escaped once for every destination.
    const arg = this.o.method === 'GET' ? goQueryEscape(body) : '';
    if (this.picker !== null) {
      const r = this.picker.pick();
      try {
        await this.send(r.host, body, arg);
      } catch (err) {
        r.mark(err);
        throw err;
      }
      r.mark(null);
      this.metrics.destination(r.host, start);
    } else {
      for (const addr of this.o.addresses) {
        const st = performance.now();
        await this.send(addr, body, arg);
        this.metrics.destination(addr, st);
      }
    }
    this.metrics.aggregate(start);
  }

  /** Stop the host pool's timers. */
  close(): void {
    this.picker?.close();
  }

  private async send(addr: string, body: Buffer, arg: string): Promise<void> {
    let url = addr;
    if (this.o.method === 'GET') {
      const f = this.getFormats.get(addr)!;
      url = f.hasArg ? f.head + arg + f.tail : f.head;
    }
    let status: number;
    try {
      const res = await httpRequestFollow(url, {
        method: this.o.method,
        headers: this.headers,
        body: this.o.method === 'POST' ? body : undefined,
        connectTimeoutMs: this.o.connectTimeoutMs,
        requestTimeoutMs: this.o.requestTimeoutMs,
      });
      status = res.status;
    } catch (err) {
      throw new PublishError('ERR_HTTP', `${this.o.method} ${url} failed - ${(err as Error).message}`, err);
    }
    const ok = this.o.method === 'GET' ? status === 200 : status >= 200 && status < 300;
    if (!ok) throw new PublishError('ERR_HTTP_STATUS', `got status code ${status}`);
  }
}
