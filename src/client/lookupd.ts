/**
 * Discovery through nsqlookupd's HTTP `/lookup` (spec 4.3, 4.6): build the query URL the way
 * go-nsq does, and read the producers from either response shape, v1 `{"producers": [...]}` or
 * the legacy wrapper `{"status_code": 200, "data": {"producers": [...]}}`.
 */
import { httpRequestRaw, NSQ_ACCEPT } from '../internal/http-client.js';
import type { ClientConfig } from './config.js';
import { joinHostPort } from '../internal/listen.js';
import { NsqError } from './errors.js';

/** One producer entry of a lookupd answer (only the fields a client uses are typed). */
export interface LookupdProducer {
  broadcast_address?: string;
  address?: string;
  hostname?: string;
  tcp_port?: number;
  http_port?: number;
  version?: string;
}

/**
 * The lookup URL for `addr` (`host:port` or an http(s) URL; a port is required): path `/lookup`
 * unless one is given, plus `topic=<topic>` in the query.
 */
export function buildLookupUrl(addr: string, topic: string): string {
  const withScheme = addr.includes('://') ? addr : `http://${addr}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch (err) {
    throw new NsqError('ERR_INVALID_ARGUMENT', `invalid nsqlookupd address ${JSON.stringify(addr)}`, { cause: err });
  }
  const authority = withScheme.slice(withScheme.indexOf('://') + 3).split(/[/?#]/)[0] ?? '';
  if (!/:\d+$/.test(authority)) throw new NsqError('ERR_INVALID_ARGUMENT', `invalid nsqlookupd address ${JSON.stringify(addr)}: missing port`);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/lookup';
  u.searchParams.append('topic', topic);
  return u.toString();
}

/** The producers of a lookupd response body in either shape; an empty body has none. */
export function parseLookupResponse(body: string): LookupdProducer[] {
  if (body.trim() === '') return [];
  const doc = JSON.parse(body) as { producers?: unknown; data?: { producers?: unknown } | null };
  const list = Array.isArray(doc.producers) ? doc.producers : Array.isArray(doc.data?.producers) ? doc.data.producers : [];
  return list.filter((p): p is LookupdProducer => typeof p === 'object' && p !== null);
}

/** `broadcast_address:tcp_port` of each producer (falling back to `address`), without duplicates. */
export function producerAddresses(producers: LookupdProducer[]): string[] {
  const out = new Set<string>();
  for (const p of producers) {
    const host = p.broadcast_address ?? p.address;
    if (typeof host !== 'string' || host === '' || typeof p.tcp_port !== 'number') continue;
    out.add(joinHostPort(host, p.tcp_port));
  }
  return [...out];
}

/** Options of one lookupd query. */
export interface LookupQueryOptions {
  /** Connect and whole-request timeout in ms (lookupd_poll_timeout). */
  timeoutMs: number;
  /** Sent as `Authorization: Bearer <secret>` when non-empty. */
  authSecret?: string;
}

/** GET a lookup URL and return the nsqd TCP addresses it lists; rejects with ERR_LOOKUPD on failure or non-200. */
export async function queryLookupd(url: string, opts: LookupQueryOptions): Promise<string[]> {
  const headers: Record<string, string> = { Accept: NSQ_ACCEPT };
  if (opts.authSecret !== undefined && opts.authSecret !== '') headers.Authorization = `Bearer ${opts.authSecret}`;
  let res;
  try {
    res = await httpRequestRaw(url, { connectTimeoutMs: opts.timeoutMs, requestTimeoutMs: opts.timeoutMs, headers });
  } catch (err) {
    throw new NsqError('ERR_LOOKUPD', `error querying nsqlookupd (${url}) - ${(err as Error).message}`, { cause: err });
  }
  const text = res.body.toString('utf8');
  if (res.status !== 200) throw new NsqError('ERR_LOOKUPD', `error querying nsqlookupd (${url}) - got response ${res.status} ${JSON.stringify(text.trim())}`);
  try {
    return producerAddresses(parseLookupResponse(text));
  } catch (err) {
    throw new NsqError('ERR_LOOKUPD', `error querying nsqlookupd (${url}) - invalid JSON`, { cause: err });
  }
}

/** What a LookupdPoller drives (the Consumer). */
export interface LookupdHost {
  /** Connect to a discovered nsqd (a no-op when already connected); never rejects. */
  discovered(address: string): Promise<void>;
  /** The discovery filter's choice among the nsqds one query found (go-nsq's DiscoveryFilter). */
  filterDiscovered(addresses: string[]): string[];
  /** Whether the consumer is stopping. */
  isStopping(): boolean;
  /** Log a line. */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

/**
 * go-nsq's lookupd loop: one lookupd per query, round robin, three attempts per query; the first
 * lookupd added is queried at once, then every lookupd_poll_interval after a random initial
 * delay of up to lookupd_poll_jitter × interval; trigger() asks for an extra query (a connection
 * closed), coalesced with one already running.
 */
export class LookupdPoller {
  private readonly urls: string[] = [];
  private index = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private recheck = false;
  private stopped = false;
  private readonly cfg: ClientConfig;
  private readonly topic: string;
  private readonly host: LookupdHost;

  /** A poller for `topic` driving `host`. */
  constructor(cfg: ClientConfig, topic: string, host: LookupdHost) {
    this.cfg = cfg;
    this.topic = topic;
    this.host = host;
  }

  /** Whether any lookupd is configured. */
  get active(): boolean {
    return this.urls.length > 0;
  }

  /** Add a lookupd (`host:port` or URL); the first one is queried before this resolves and starts the loop. */
  async add(address: string): Promise<void> {
    const url = buildLookupUrl(address, this.topic);
    if (this.urls.includes(url)) return;
    this.urls.push(url);
    if (this.urls.length !== 1) return;
    await this.trigger();
    if (this.stopped) return;
    const jitter = Math.random() * this.cfg.lookupdPollJitter * this.cfg.lookupdPollInterval;
    this.timer = setTimeout(() => {
      this.timer = setInterval(() => void this.trigger(), this.cfg.lookupdPollInterval);
    }, jitter);
  }

  /** Remove a lookupd; the last one cannot be removed (go-nsq). */
  remove(address: string): void {
    const i = this.urls.indexOf(buildLookupUrl(address, this.topic));
    if (i === -1) throw new NsqError('ERR_NOT_CONNECTED', `not using nsqlookupd ${address}`);
    if (this.urls.length === 1) throw new NsqError('ERR_INVALID_ARGUMENT', `cannot disconnect from only remaining nsqlookupd HTTP address ${address}`);
    this.urls.splice(i, 1);
  }

  /** Query now, or once more after the query that is running. */
  trigger(): Promise<void> {
    if (this.running !== null) {
      this.recheck = true;
      return this.running;
    }
    this.running = this.query().finally(() => {
      this.running = null;
      if (this.recheck && !this.stopped) {
        this.recheck = false;
        void this.trigger();
      }
    });
    return this.running;
  }

  private async query(): Promise<void> {
    let addrs: string[] | null = null;
    for (let attempt = 0; attempt < 3 && addrs === null && !this.stopped && this.urls.length > 0; attempt++) {
      if (this.index >= this.urls.length) this.index = 0;
      const url = this.urls[this.index]!;
      this.index = (this.index + 1) % this.urls.length;
      this.host.log('info', `querying nsqlookupd ${url}`);
      try {
        addrs = await queryLookupd(url, { timeoutMs: this.cfg.lookupdPollTimeout, authSecret: this.cfg.lookupdAuthorization ? this.cfg.authSecret : '' });
      } catch (err) {
        this.host.log('error', (err as Error).message);
      }
    }
    if (addrs === null || this.stopped) return;
    await Promise.all(this.host.filterDiscovered(addrs).map((a) => this.host.discovered(a)));
  }

  /** Stop polling. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
