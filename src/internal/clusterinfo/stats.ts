// The stats nsqadmin shows, as NSQ's internal/clusterinfo types build them from nsqd's
// `/stats?format=json`: per-node topic, channel and client stats (with `node`, `hostname` and
// `memory_depth = depth - backend_depth` filled in by nsqadmin), and their sums over nodes
// (TopicStats.Add / ChannelStats.Add, E2eProcessingLatencyAggregate.Add). Object keys are built
// in Go's struct field order so the JSON matches NSQ's byte for byte.

import { isRecord } from '../go-json.js';

/** One merged e2e percentile; keys in Go's map (alphabetical) order. */
export interface E2ePercentile {
  average: number;
  count: number;
  max: number;
  min: number;
  quantile: number;
  /** nsqd's own figure, kept in a node's entry (Go keeps the decoded map's keys); aggregates have none. */
  value?: number;
}

/** quantile.E2eProcessingLatencyAggregate. */
export interface E2eAggregate {
  count: number;
  percentiles: E2ePercentile[] | null;
  topic: string;
  channel: string;
  host: string;
}

/** clusterinfo.ClientStats. */
export interface ClientStats {
  node: string;
  remote_address: string;
  version: string;
  client_id: string;
  hostname: string;
  user_agent: string;
  connect_ts: number;
  connected: number;
  in_flight_count: number;
  ready_count: number;
  finish_count: number;
  requeue_count: number;
  message_count: number;
  sample_rate: number;
  deflate: boolean;
  snappy: boolean;
  authed: boolean;
  auth_identity: string;
  auth_identity_url: string;
  tls: boolean;
  tls_cipher_suite: string;
  tls_version: string;
  tls_negotiated_protocol: string;
  tls_negotiated_protocol_is_mutual: boolean;
}

/** clusterinfo.ChannelStats (per node, or summed with node "*"). */
export interface ChannelStats {
  node: string;
  hostname: string;
  topic_name: string;
  channel_name: string;
  depth: number;
  memory_depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  requeue_count: number;
  timeout_count: number;
  message_count: number;
  client_count: number;
  nodes: ChannelStats[] | null;
  clients: ClientStats[] | null;
  paused: boolean;
  e2e_processing_latency: E2eAggregate | null;
}

/** clusterinfo.TopicStats (per node, or summed with node "*"). */
export interface TopicStats {
  node: string;
  hostname: string;
  topic_name: string;
  depth: number;
  memory_depth: number;
  backend_depth: number;
  message_count: number;
  nodes: TopicStats[] | null;
  channels: ChannelStats[] | null;
  paused: boolean;
  e2e_processing_latency: E2eAggregate | null;
}

// Readers of decoded JSON that tolerate missing or mistyped fields (Go's zero values).
function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}
export function int(v: unknown): number {
  return Math.trunc(num(v));
}
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
function bool(v: unknown): boolean {
  return v === true;
}

/** An nsqd e2e latency object (`{count, percentiles:[{quantile, value}]}`) as nsqadmin decodes it. */
export function decodeE2e(v: unknown, topic = '', channel = '', host = ''): E2eAggregate {
  const o = isRecord(v) ? v : {};
  const count = int(o.count);
  const raw = Array.isArray(o.percentiles) ? o.percentiles : [];
  const percentiles: E2ePercentile[] = raw.map((p) => {
    const r = isRecord(p) ? p : {};
    const value = num(r.value);
    return { average: value, count, max: value, min: value, quantile: num(r.quantile), value };
  });
  return { count, percentiles: percentiles.length === 0 ? null : percentiles, topic, channel, host };
}

/**
 * Merge `b` into `a` like E2eProcessingLatencyAggregate.Add: counts summed, max of max, a
 * count-weighted running average, and (NSQ's bug, kept for identical output) `min` taken from
 * the max values.
 */
export function addE2e(a: E2eAggregate, b: E2eAggregate | null): void {
  a.host = '*';
  if (b === null) return;
  a.count += b.count;
  for (const value of b.percentiles ?? []) {
    a.percentiles ??= [];
    let p = a.percentiles.find((x) => x.quantile === value.quantile);
    if (p === undefined) {
      p = { average: 0, count: 0, max: 0, min: 0, quantile: value.quantile };
      a.percentiles.push(p);
    }
    p.max = Math.max(value.max, p.max);
    p.min = Math.min(value.max, p.max);
    p.count += value.count;
    // Go divides 0 by 0 here when both counts are 0 (NaN); keep the value instead.
    p.average = p.count === 0 ? value.average : p.average + ((value.average - p.average) * value.count) / p.count;
  }
  // Go then sort.Sort()s by a key its maps never have ("percentile"): nothing moves, so the
  // percentiles stay in the order they were first seen.
}

/** One nsqd client entry with the node it is on and `connected` (ns since connect_ts, now truncated to the second). */
export function decodeClient(v: unknown, node: string, nowMs: number): ClientStats {
  const c = isRecord(v) ? v : {};
  const connectTs = int(c.connect_ts);
  return {
    node,
    remote_address: str(c.remote_address),
    version: str(c.version),
    client_id: str(c.client_id),
    hostname: str(c.hostname),
    user_agent: str(c.user_agent),
    connect_ts: connectTs,
    connected: (Math.floor(nowMs / 1000) - connectTs) * 1e9,
    in_flight_count: int(c.in_flight_count),
    ready_count: int(c.ready_count),
    finish_count: int(c.finish_count),
    requeue_count: int(c.requeue_count),
    message_count: int(c.message_count),
    sample_rate: int(c.sample_rate),
    deflate: bool(c.deflate),
    snappy: bool(c.snappy),
    authed: bool(c.authed),
    auth_identity: str(c.auth_identity),
    auth_identity_url: str(c.auth_identity_url),
    tls: bool(c.tls),
    tls_cipher_suite: str(c.tls_cipher_suite),
    tls_version: str(c.tls_version),
    tls_negotiated_protocol: str(c.tls_negotiated_protocol),
    tls_negotiated_protocol_is_mutual: bool(c.tls_negotiated_protocol_is_mutual),
  };
}

/** One nsqd channel entry as a per-node ChannelStats. */
export function decodeChannel(v: unknown, node: string, hostname: string, topicName: string, nowMs: number): ChannelStats {
  const c = isRecord(v) ? v : {};
  const depth = int(c.depth);
  const backendDepth = int(c.backend_depth);
  const clients = Array.isArray(c.clients) ? c.clients.map((x) => decodeClient(x, node, nowMs)) : null;
  return {
    node,
    hostname,
    topic_name: topicName,
    channel_name: str(c.channel_name),
    depth,
    memory_depth: depth - backendDepth,
    backend_depth: backendDepth,
    in_flight_count: int(c.in_flight_count),
    deferred_count: int(c.deferred_count),
    requeue_count: int(c.requeue_count),
    timeout_count: int(c.timeout_count),
    message_count: int(c.message_count),
    client_count: typeof c.client_count === 'number' ? int(c.client_count) : (clients?.length ?? 0),
    nodes: null,
    clients,
    paused: bool(c.paused),
    e2e_processing_latency: decodeE2e(c.e2e_processing_latency),
  };
}

/** One nsqd topic entry as a per-node TopicStats. */
export function decodeTopic(v: unknown, node: string, hostname: string, nowMs: number): TopicStats {
  const t = isRecord(v) ? v : {};
  const name = str(t.topic_name);
  const depth = int(t.depth);
  const backendDepth = int(t.backend_depth);
  return {
    node,
    hostname,
    topic_name: name,
    depth,
    memory_depth: depth - backendDepth,
    backend_depth: backendDepth,
    message_count: int(t.message_count),
    nodes: null,
    channels: Array.isArray(t.channels) ? t.channels.map((c) => decodeChannel(c, node, hostname, name, nowMs)) : null,
    paused: bool(t.paused),
    e2e_processing_latency: decodeE2e(t.e2e_processing_latency),
  };
}

/** Order by hostname (Go's sort by Hostname). */
export const byHostname = <T extends { hostname: string }>(a: T, b: T): number => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0);

/** A fresh, empty channel aggregate (`new(ChannelStats)` with its names). */
export function newChannelAggregate(node: string, topicName: string, channelName: string): ChannelStats {
  return {
    node,
    hostname: '',
    topic_name: topicName,
    channel_name: channelName,
    depth: 0,
    memory_depth: 0,
    backend_depth: 0,
    in_flight_count: 0,
    deferred_count: 0,
    requeue_count: 0,
    timeout_count: 0,
    message_count: 0,
    client_count: 0,
    nodes: null,
    clients: null,
    paused: false,
    e2e_processing_latency: null,
  };
}

/** The fields ChannelStats.Add and TopicStats.Add both sum. */
type Summed<T> = Pick<TopicStats, 'node' | 'hostname' | 'topic_name' | 'depth' | 'memory_depth' | 'backend_depth' | 'message_count' | 'paused' | 'e2e_processing_latency'> & { nodes: T[] | null };

/** What both Adds do: node "*", the depths and message count, paused, `b` among the nodes (sorted by hostname), its e2e latency merged. */
function addShared<T extends Summed<T>>(a: T, b: T, channelName: string): void {
  a.node = '*';
  a.depth += b.depth;
  a.memory_depth += b.memory_depth;
  a.backend_depth += b.backend_depth;
  a.message_count += b.message_count;
  if (b.paused) a.paused = true;
  a.nodes = [...(a.nodes ?? []), b].sort(byHostname);
  a.e2e_processing_latency ??= { count: 0, percentiles: null, topic: a.topic_name, channel: channelName, host: a.node };
  addE2e(a.e2e_processing_latency, b.e2e_processing_latency);
}

/** ChannelStats.Add: sum `b` into the aggregate `a` (node becomes "*"; nodes and clients sorted by hostname). */
export function addChannel(a: ChannelStats, b: ChannelStats): void {
  addShared(a, b, a.channel_name);
  a.in_flight_count += b.in_flight_count;
  a.deferred_count += b.deferred_count;
  a.requeue_count += b.requeue_count;
  a.timeout_count += b.timeout_count;
  a.client_count += b.client_count;
  if (b.clients !== null && b.clients.length > 0) a.clients = [...(a.clients ?? []), ...b.clients].sort(byHostname);
}

/** A fresh topic aggregate (`&TopicStats{TopicName: name}`). */
export function newTopicAggregate(topicName: string): TopicStats {
  return {
    node: '',
    hostname: '',
    topic_name: topicName,
    depth: 0,
    memory_depth: 0,
    backend_depth: 0,
    message_count: 0,
    nodes: null,
    channels: null,
    paused: false,
    e2e_processing_latency: null,
  };
}

/**
 * TopicStats.Add: sum the per-node stats `b` into the aggregate `a`. A channel held by one node
 * appears as that node's own entry; one held by several becomes a summed aggregate (node "*")
 * built fresh, where Go sums into the first node's object in place (spec §2.4 quirk, not copied).
 */
export function addTopic(a: TopicStats, b: TopicStats): void {
  addShared(a, b, '');
  for (const ch of b.channels ?? []) {
    a.channels ??= [];
    const i = a.channels.findIndex((x) => x.channel_name === ch.channel_name);
    if (i === -1) {
      a.channels.push(ch);
      continue;
    }
    let agg = a.channels[i]!;
    if (agg.node !== '*') {
      const first = agg;
      agg = newChannelAggregate('*', first.topic_name, first.channel_name);
      addChannel(agg, first);
      a.channels[i] = agg;
    }
    addChannel(agg, ch);
  }
}
