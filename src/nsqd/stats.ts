import { getHeapStatistics } from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';
import { aggregateE2e } from '../internal/quantile.js';
import { formatDuration, formatDurationNanos } from '../internal/duration.js';
import type { Channel } from './channel.js';
import type { ClientStats, ClientV2 } from './client-v2.js';
import type { Topic } from './topic.js';

/** E2E latency as nsqd reports it. */
export interface E2eStats {
  count: number;
  percentiles: { quantile: number; value: number }[] | null;
}

/** Channel statistics in nsqd's JSON field order. */
export interface ChannelStats {
  channel_name: string;
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  requeue_count: number;
  timeout_count: number;
  client_count: number;
  clients: ClientStats[] | null;
  paused: boolean;
  e2e_processing_latency: E2eStats;
}

/** Topic statistics in nsqd's JSON field order. */
export interface TopicStats {
  topic_name: string;
  channels: ChannelStats[];
  depth: number;
  backend_depth: number;
  message_count: number;
  message_bytes: number;
  paused: boolean;
  e2e_processing_latency: E2eStats;
}

/** Memory statistics, Go runtime names mapped onto V8's heap figures. */
export interface MemStats {
  heap_objects: number;
  heap_idle_bytes: number;
  heap_in_use_bytes: number;
  heap_released_bytes: number;
  gc_pause_usec_100: number;
  gc_pause_usec_99: number;
  gc_pause_usec_95: number;
  next_gc_bytes: number;
  gc_total_runs: number;
}

/** The whole /stats?format=json document. */
export interface StatsDocument {
  version: string;
  health: string;
  start_time: number;
  topics: TopicStats[] | null;
  memory?: MemStats;
  producers?: ClientStats[] | null;
  /** nsq-ts: whether the C++ addon runs the hot paths. */
  native?: boolean;
}

const NO_E2E: E2eStats = { count: 0, percentiles: null };

/** Stats of one channel; clients null when not asked for. */
export function channelStats(ch: Channel, includeClients: boolean, clientStats: (c: ClientV2) => ClientStats): ChannelStats {
  return {
    channel_name: ch.name,
    depth: ch.depth(),
    backend_depth: ch.backend.depth(),
    in_flight_count: ch.inFlight.size,
    deferred_count: ch.deferred.size,
    message_count: ch.messageCount,
    requeue_count: ch.requeueCount,
    timeout_count: ch.timeoutCount,
    client_count: ch.clients.length,
    clients: includeClients ? (ch.clients as ClientV2[]).map(clientStats) : null,
    paused: ch.paused,
    e2e_processing_latency: ch.e2e === null ? NO_E2E : ch.e2e.result(),
  };
}

/** Stats of one topic with its channels sorted by name (optionally only `channelFilter`). */
export function topicStats(t: Topic, channelFilter: string | null, includeClients: boolean, clientStats: (c: ClientV2) => ClientStats, percentiles: readonly number[]): TopicStats {
  const chans = [...t.channelList].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const selected = channelFilter === null ? chans : chans.filter((c) => c.name === channelFilter);
  const e2eParts = t.channelList.map((c) => c.e2e).filter((e) => e !== null);
  return {
    topic_name: t.name,
    channels: selected.map((c) => channelStats(c, includeClients, clientStats)),
    depth: t.depth(),
    backend_depth: t.backend.depth(),
    message_count: t.messageCount,
    message_bytes: t.messageBytes,
    paused: t.paused,
    e2e_processing_latency: percentiles.length === 0 ? NO_E2E : aggregateE2e(percentiles, e2eParts),
  };
}

let gcPauses: number[] = [];
let gcRuns = 0;
let gcObserver: PerformanceObserver | null = null;

/** Start recording GC pauses (for gc_pause_usec_* and gc_total_runs); idempotent. */
export function watchGc(): void {
  if (gcObserver !== null) return;
  gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcRuns++;
      gcPauses.push(e.duration * 1000);
      if (gcPauses.length > 256) gcPauses = gcPauses.slice(-256);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

/**
 * nsqd's GC pause percentile (statsd.go `percentile`): the element at floor(p·n + 0.5) of the
 * ascending pauses, capped at the last, in whole µs (Go divides nanoseconds by 1000).
 */
export function gcPausePercentile(sortedUsec: readonly number[], p: number): number {
  const n = sortedUsec.length;
  if (n === 0) return 0;
  return Math.floor(sortedUsec[Math.min(n - 1, Math.floor(p * n + 0.5))]!);
}

/**
 * Memory figures under Go's names: V8 has no live object count (heap_objects is 0); idle is
 * committed-but-unused heap, released is what V8 gave back (not tracked, 0), next_gc is the
 * heap size limit.
 */
export function memStats(): MemStats {
  const h = getHeapStatistics();
  const sorted = [...gcPauses].sort((a, b) => a - b);
  return {
    heap_objects: 0,
    heap_idle_bytes: Math.max(0, h.total_heap_size - h.used_heap_size),
    heap_in_use_bytes: h.used_heap_size,
    heap_released_bytes: 0,
    gc_pause_usec_100: gcPausePercentile(sorted, 1),
    gc_pause_usec_99: gcPausePercentile(sorted, 0.99),
    gc_pause_usec_95: gcPausePercentile(sorted, 0.95),
    next_gc_bytes: h.heap_size_limit,
    gc_total_runs: gcRuns,
  };
}

/** Go's time.RFC3339 of a unix-seconds time in the local zone. */
export function rfc3339(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const off = -d.getTimezoneOffset();
  const pad = (n: number): string => String(Math.abs(Math.trunc(n))).padStart(2, '0');
  const local = new Date(d.getTime() + off * 60000);
  const base = `${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}`;
  if (off === 0) return `${base}Z`;
  return `${base}${off < 0 ? '-' : '+'}${pad(off / 60)}:${pad(off % 60)}`;
}

/**
 * Go's %.<prec>f: the value correctly rounded, an exact tie (…5 and nothing after) to even; JS's
 * toFixed rounds a tie away from zero. toFixed(100) gives the double's exact decimal expansion
 * (finite, and within 100 places for the magnitudes printed here), so a tie is a 5 followed only
 * by zeros; then the kept text is already the even neighbour when its last digit is even.
 */
export function goFixed(v: number, prec: number): string {
  if (!Number.isFinite(v) || Math.abs(v) >= 1e21) return v.toFixed(prec);
  const exact = v.toFixed(100);
  const dot = exact.indexOf('.');
  const keep = prec === 0 ? dot : dot + 1 + prec;
  if (/^50*$/.test(exact.slice(dot + 1 + prec)) && Number(exact[keep - 1]) % 2 === 0) return exact.slice(0, keep);
  return v.toFixed(prec);
}

/** nsqd's e2e text form of a latency in ns (Go's NanoSecondToHuman): a unit only above its size, one decimal. */
export function e2eDuration(ns: number): string {
  if (ns > 1e9) return `${goFixed(ns / 1e9, 1)}s`;
  if (ns > 1e6) return `${goFixed(ns / 1e6, 1)}ms`;
  if (ns > 1e3) return `${goFixed(ns / 1e3, 1)}us`;
  return `${goFixed(ns, 1)}ns`;
}

function e2eText(e: E2eStats): string {
  return (e.percentiles ?? []).map((p) => e2eDuration(p.value)).join(', ');
}

function padRight(s: string | number, n: number): string {
  const t = String(s);
  return t.length >= n ? t : t + ' '.repeat(n - t.length);
}

function clientLine(c: ClientStats, nowSec: number): string {
  const port = c.remote_address.slice(c.remote_address.lastIndexOf(':') + 1);
  const id = `${c.hostname}:${port} ${c.user_agent}`;
  const connected = formatDuration(Math.max(0, nowSec - c.connect_ts) * 1000);
  if (c.pub_counts !== undefined && c.pub_counts.length > 0) {
    const total = c.pub_counts.reduce((a, p) => a + p.count, 0);
    const topics = c.pub_counts.map((p) => `${p.topic}=${p.count}`).join(',');
    return `[${c.version} ${padRight(id, 21)}] msgs: ${padRight(total, 8)} topics: ${topics} connected: ${connected}`;
  }
  return `[${c.version} ${padRight(id, 21)}] state: ${c.state} inflt: ${padRight(c.in_flight_count, 4)} rdy: ${padRight(c.ready_count, 4)} fin: ${padRight(c.finish_count, 8)} re-q: ${padRight(c.requeue_count, 8)} msgs: ${padRight(c.message_count, 8)} connected: ${connected}`;
}

/** The default (text) /stats format. */
export function statsText(doc: StatsDocument, uptimeNs: bigint, nowSec = Math.floor(Date.now() / 1000)): string {
  return statsTextHead(doc, uptimeNs) + statsTextTopics((doc.topics ?? []).map((t) => topicText(t, nowSec))).join('') + producersText(doc.producers ?? [], nowSec);
}

/** The text format's lines before its topics: version, start, uptime, health, memory. */
export function statsTextHead(doc: Pick<StatsDocument, 'version' | 'health' | 'start_time' | 'memory'>, uptimeNs: bigint): string {
  let out = `nsqd v${doc.version} (built w/${process.version})\nstart_time ${rfc3339(doc.start_time)}\nuptime ${formatDurationNanos(uptimeNs)}\n`;
  out += `\nHealth: ${doc.health}\n`;
  if (doc.memory !== undefined) {
    out += '\nMemory:\n';
    for (const [k, v] of Object.entries(doc.memory)) out += `   ${padRight(k, 25)}\t${v}\n`;
  }
  return out;
}

/** The text format's Topics section in parts, from each topic's text (topicText). */
export function statsTextTopics(topics: readonly string[]): string[] {
  return topics.length === 0 ? ['\nTopics: None\n'] : ['\nTopics:', ...topics];
}

/** One topic in the text format: its line, then each channel's and its clients'. */
export function topicText(t: TopicStats, nowSec: number): string {
  let out = `\n${t.paused ? '*P ' : '   '}[${padRight(t.topic_name, 15)}] depth: ${padRight(t.depth, 5)} be-depth: ${padRight(t.backend_depth, 5)} msgs: ${padRight(t.message_count, 8)} e2e%: ${e2eText(t.e2e_processing_latency)}\n`;
  for (const c of t.channels) {
    out += `${c.paused ? '   *P ' : '      '}[${padRight(c.channel_name, 25)}] depth: ${padRight(c.depth, 5)} be-depth: ${padRight(c.backend_depth, 5)} inflt: ${padRight(c.in_flight_count, 4)} def: ${padRight(c.deferred_count, 4)} re-q: ${padRight(c.requeue_count, 5)} timeout: ${padRight(c.timeout_count, 5)} msgs: ${padRight(c.message_count, 8)} e2e%: ${e2eText(c.e2e_processing_latency)}\n`;
    for (const cl of c.clients ?? []) out += `        ${clientLine(cl, nowSec)}\n`;
  }
  return out;
}

/** The text format's Producers section. */
export function producersText(producers: readonly ClientStats[], nowSec: number): string {
  if (producers.length === 0) return '\nProducers: None\n';
  let out = '\nProducers:\n';
  for (const p of producers) out += `   ${clientLine(p, nowSec)}\n`;
  return out;
}
