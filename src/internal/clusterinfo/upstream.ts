// The HTTP client of nsqadmin and the tools to nsqd and nsqlookupd (NSQ's internal/http_api
// GETV1 / POSTV1): the NSQ Accept header, NSQ's connect and request timeouts, a 403 carrying
// `https_port` retried once over https (nsqd --tls-required), and errors worded like Go's
// (`got response 404 Not Found "{...}"`, `Get "<url>": dial tcp <addr>: connect: connection
// refused`), because those texts end up verbatim in nsqadmin's UPSTREAM_ERROR and WARNING
// messages and in the tools' fatal lines.

import { goTransportError, httpRequestRaw, requestV1, type HttpResult } from '../http-client.js';
import { unmarshalGo } from '../go-json.js';

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

/** The HTTP client nsqadmin talks to its daemons with. */
export class UpstreamClient {
  /** Build a client reading its timeouts and TLS material from `config()` on every request (they can change at runtime). */
  constructor(private readonly config: () => UpstreamConfig) {}

  private request(url: string, method: 'GET' | 'POST', headers: Record<string, string>, body?: string): Promise<HttpResult> {
    return httpRequestRaw(url, { ...this.config(), method, headers, ...(body === undefined ? {} : { body }) });
  }

  private v1(method: 'GET' | 'POST', url: string): Promise<HttpResult> {
    return requestV1(method, url, this.config());
  }

  /** GET a V1 endpoint and parse its JSON body; rejects with Go's error texts. */
  async getV1(url: string): Promise<unknown> {
    const res = await this.v1('GET', url);
    return unmarshalGo(res.body.toString('utf8'));
  }

  /** POST to a V1 endpoint with an empty body; rejects with Go's error texts on failure. */
  async postV1(url: string): Promise<void> {
    await this.v1('POST', url);
  }

  /** GET any URL with the upstream timeouts (graphite); returns the raw answer. */
  async getRaw(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
    try {
      return await this.request(url, 'GET', headers);
    } catch (err) {
      throw goTransportError('Get', url, err);
    }
  }

  /** POST a JSON body (notifications); resolves with the status, rejects on transport errors. */
  async postJSON(url: string, body: string): Promise<number> {
    try {
      const res = await this.request(url, 'POST', { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) }, body);
      return res.status;
    } catch (err) {
      throw goTransportError('Post', url, err);
    }
  }
}
