// Read nsqd's state through its HTTP API (/stats?format=json) and compare JSON shapes, for
// integration tests that should not reach into the daemon's objects.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WireConn, type WireMessage } from './wire.js';

/** A client entry of /stats (`clients` or `producers`). */
export interface ClientStatsJson {
  client_id: string;
  hostname: string;
  version: string;
  remote_address: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  finish_count: number;
  requeue_count: number;
  connect_ts: number;
  sample_rate: number;
  user_agent: string;
  pub_counts?: { topic: string; count: number }[];
  [k: string]: unknown;
}

/** An e2e_processing_latency object of /stats. */
export interface E2eJson {
  count: number;
  percentiles: { quantile: number; value: number }[] | null;
}

/** A channel entry of /stats. */
export interface ChannelStatsJson {
  channel_name: string;
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  requeue_count: number;
  timeout_count: number;
  client_count: number;
  clients: ClientStatsJson[] | null;
  paused: boolean;
  e2e_processing_latency: E2eJson;
}

/** A topic entry of /stats. */
export interface TopicStatsJson {
  topic_name: string;
  channels: ChannelStatsJson[];
  depth: number;
  backend_depth: number;
  message_count: number;
  message_bytes: number;
  paused: boolean;
  e2e_processing_latency: E2eJson;
}

/** The /stats?format=json document. */
export interface StatsJson {
  version: string;
  health: string;
  start_time: number;
  topics: TopicStatsJson[] | null;
  memory?: Record<string, number>;
  producers: ClientStatsJson[] | null;
}

/** GET /stats?format=json[&query]; throws on a non-200 answer. */
export async function getStats(url: string, query = ''): Promise<StatsJson> {
  const res = await fetch(`${url}/stats?format=json${query === '' ? '' : `&${query}`}`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/stats answered ${res.status}: ${text}`);
  return stripNative(JSON.parse(text) as StatsJson & { native?: unknown });
}

/**
 * nsq-ts adds `"native": true|false` as the last field of /info and /stats JSON. Check it is
 * there, last and boolean, and return the document without it (as Go nsqd answers).
 */
export function stripNative<T extends object>(doc: T & { native?: unknown }): T {
  const keys = Object.keys(doc);
  if (keys[keys.length - 1] !== 'native' || typeof doc.native !== 'boolean') {
    throw new Error(`expected a boolean "native" as the last field, got keys ${keys.join(',')}`);
  }
  const { native: _native, ...rest } = doc;
  return rest as T;
}

/** The stats of one topic, or undefined when /stats does not list it. */
export async function topicStats(url: string, topic: string): Promise<TopicStatsJson | undefined> {
  const doc = await getStats(url);
  return (doc.topics ?? []).find((t) => t.topic_name === topic);
}

/** The stats of one channel, or undefined when /stats does not list it. */
export async function channelStats(url: string, topic: string, channel: string): Promise<ChannelStatsJson | undefined> {
  const t = await topicStats(url, topic);
  return t?.channels.find((c) => c.channel_name === channel);
}

/** Like channelStats but throws when the channel is missing. */
export async function mustChannel(url: string, topic: string, channel: string): Promise<ChannelStatsJson> {
  const c = await channelStats(url, topic, channel);
  if (c === undefined) throw new Error(`channel ${topic}/${channel} not in /stats`);
  return c;
}

/** Like topicStats but throws when the topic is missing. */
export async function mustTopic(url: string, topic: string): Promise<TopicStatsJson> {
  const t = await topicStats(url, topic);
  if (t === undefined) throw new Error(`topic ${topic} not in /stats`);
  return t;
}

/**
 * The ordered key structure of a JSON value: objects become `[key, shape][]` in their key order,
 * arrays the shapes of their elements, scalars their JSON type (`number`, `string`, `boolean`,
 * `null`). Two documents with equal shapes have the same fields in the same order.
 */
export function jsonShape(v: unknown): unknown {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.map(jsonShape);
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonShape(x)]);
  return typeof v;
}

/** Absolute path of a recorded Go response under test/fixtures/go-1.3.0 (or FIXTURES_DIR). */
export function fixturePath(name: string): string {
  const dir = process.env.FIXTURES_DIR ?? fileURLToPath(new URL('../fixtures/go-1.3.0', import.meta.url));
  return join(dir, 'http-samples', name);
}

/** The text of a recorded Go response. */
export function readFixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

/** A raw HTTP answer: status, lower-cased headers, body text. */
export interface RawHttpResponse {
  status: number;
  /** The status line's reason phrase. */
  reason: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * An HTTP request over node:http. With `chunked`, the body is sent with
 * `Transfer-Encoding: chunked` and no Content-Length (so the server must look at the body itself).
 */
export function rawHttp(method: string, url: string, body?: Buffer | string, opts: { chunked?: boolean; headers?: Record<string, string | string[]> } = {}): Promise<RawHttpResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string | string[]> = { ...(opts.headers ?? {}) };
    const buf = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
    if (buf !== undefined && !opts.chunked) headers['Content-Length'] = String(buf.length);
    if (opts.chunked) headers['Transfer-Encoding'] = 'chunked';
    const req = request({ host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`HTTP ${method} ${url} timed out`)));
    if (buf !== undefined) {
      if (opts.chunked) {
        // several chunks, so the body is really streamed
        const step = Math.max(1, Math.ceil(buf.length / 3));
        for (let i = 0; i < buf.length; i += step) req.write(buf.subarray(i, i + step));
      } else {
        req.write(buf);
      }
    }
    req.end();
  });
}

/** Poll /stats until the channel satisfies cond; the last stats read is in the error otherwise. */
export async function waitChannel(url: string, topic: string, channel: string, cond: (c: ChannelStatsJson) => boolean, what: string, ms = 10_000): Promise<ChannelStatsJson> {
  return waitStats(() => mustChannel(url, topic, channel), cond, what, ms);
}

/** Poll /stats until the topic satisfies cond; the last stats read is in the error otherwise. */
export async function waitTopic(url: string, topic: string, cond: (t: TopicStatsJson) => boolean, what: string, ms = 10_000): Promise<TopicStatsJson> {
  return waitStats(() => mustTopic(url, topic), cond, what, ms);
}

async function waitStats<T>(read: () => Promise<T>, cond: (v: T) => boolean, what: string, ms: number): Promise<T> {
  let last: T | undefined;
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      last = await read();
      if (cond(last)) return last;
    } catch {
      // Not there yet.
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** SUB, RDY n (at most 2500), read exactly n messages FINing each, and wait until the FINs are processed; returns them. */
export async function takeMessages(tcpPort: number, url: string, topic: string, channel: string, n: number): Promise<WireMessage[]> {
  const c = await WireConn.open(tcpPort);
  try {
    await c.sub(topic, channel);
    c.cmd(`RDY ${Math.max(1, Math.min(n, 2500))}`);
    const out: WireMessage[] = [];
    for (let i = 0; i < n; i++) {
      const m = await c.readMessage(10_000);
      out.push(m);
      c.cmd(`FIN ${m.id}`);
    }
    await waitChannel(url, topic, channel, (s) => s.in_flight_count === 0, `${topic}/${channel} FINs processed`);
    return out;
  } finally {
    c.close();
  }
}
