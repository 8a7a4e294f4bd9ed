// The slice of NSQ's internal/clusterinfo the tools use: the topic list of nsqlookupd, the nsqd
// nodes producing a topic (through nsqlookupd /lookup or nsqd /stats + /info) and one channel's
// stats summed over those nodes. Requests go through NSQ's V1 negotiation (http_api.NegotiateV1):
// the NSQ Accept header, and a body read directly when the response says
// `X-NSQ-Content-Type: nsq; version=1.0`, from the legacy `{"data": ...}` wrapper otherwise.

import { goQueryEscape, httpRequestRaw, NSQ_ACCEPT } from '../internal/http-client.js';
import { joinHostPort, splitHostPort } from '../internal/listen.js';
import { errorText } from './common.js';

/** The --http-client-* timeouts of a tool, in ms. */
export interface HttpTimeouts {
  connectTimeoutMs: number;
  requestTimeoutMs: number;
}

/** One nsqd node as clusterinfo knows it. */
export interface ProducerNode {
  broadcastAddress: string;
  httpPort: number;
  tcpPort: number;
}

/** A channel's counters summed over nodes (clusterinfo.ChannelStats.Add). */
export interface ChannelTotals {
  depth: number;
  memoryDepth: number;
  backendDepth: number;
  inFlightCount: number;
  deferredCount: number;
  requeueCount: number;
  timeoutCount: number;
  messageCount: number;
  clientCount: number;
}

/** GET `url` with NSQ's V1 negotiation; rejects on a transport error, a non-200 status or bad JSON. */
export async function negotiateV1(url: string, t: HttpTimeouts): Promise<unknown> {
  const res = await httpRequestRaw(url, { connectTimeoutMs: t.connectTimeoutMs, requestTimeoutMs: t.requestTimeoutMs, headers: { Accept: NSQ_ACCEPT } });
  const text = res.body.toString('utf8');
  if (res.status !== 200) throw new Error(`got response ${res.status} ${JSON.stringify(text)}`);
  const parsed: unknown = JSON.parse(text);
  if (res.headers['x-nsq-content-type'] === 'nsq; version=1.0') return parsed;
  return isRecord(parsed) ? parsed.data : undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : 0;
}

function list(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/**
 * Query every address with `fn` at once; like clusterinfo, fail when all fail ("failed to query
 * any ..."), and report partial failures as an error too (the tools treat any error as fatal
 * except where they say otherwise), unless `partialOk`.
 */
async function queryAll<T>(addrs: readonly string[], what: string, fn: (addr: string) => Promise<T>, partialOk = false): Promise<T[]> {
  const results = await Promise.allSettled(addrs.map(fn));
  const ok: T[] = [];
  const errs: string[] = [];
  for (const r of results) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else errs.push(errorText(r.reason));
  }
  if (addrs.length > 0 && errs.length === addrs.length) throw new Error(`failed to query any ${what}: ${errs.join('\n')}`);
  if (errs.length > 0 && !partialOk) throw new Error(errs.join('\n'));
  return ok;
}

/** The sorted union of the topics every nsqlookupd knows (GET /topics); partial failures are tolerated when some answered. */
export async function getLookupdTopics(lookupdAddrs: readonly string[], t: HttpTimeouts): Promise<string[]> {
  const lists = await queryAll(lookupdAddrs, 'nsqlookupd', async (addr) => {
    const body = await negotiateV1(`http://${addr}/topics`, t);
    return list(isRecord(body) ? body.topics : undefined).filter((x): x is string => typeof x === 'string');
  }, true);
  return [...new Set(lists.flat())].sort();
}

/** The nsqd nodes of `topic` from every nsqlookupd's /lookup, deduplicated by HTTP address. */
export async function getLookupdTopicProducers(topic: string, lookupdAddrs: readonly string[], t: HttpTimeouts): Promise<ProducerNode[]> {
  const lists = await queryAll(lookupdAddrs, 'nsqlookupd', async (addr) => {
    const body = await negotiateV1(`http://${addr}/lookup?topic=${goQueryEscape(topic)}`, t);
    return list(isRecord(body) ? body.producers : undefined).filter(isRecord).map((p) => ({
      broadcastAddress: String(p.broadcast_address ?? ''),
      httpPort: num(p.http_port),
      tcpPort: num(p.tcp_port),
    }));
  });
  return dedupe(lists.flat());
}

/** The nsqd nodes (of those given by HTTP address) that have `topic`, with the addresses their /info reports. */
export async function getNsqdTopicProducers(topic: string, nsqdAddrs: readonly string[], t: HttpTimeouts): Promise<ProducerNode[]> {
  const found = await queryAll(nsqdAddrs, 'nsqd', async (addr): Promise<ProducerNode | null> => {
    const stats = await negotiateV1(`http://${addr}/stats?format=json&topic=${goQueryEscape(topic)}&include_clients=false`, t);
    const topics = list(isRecord(stats) ? stats.topics : undefined).filter(isRecord);
    if (!topics.some((x) => x.topic_name === topic)) return null;
    const info = await negotiateV1(`http://${addr}/info`, t);
    const i = isRecord(info) ? info : {};
    const node: ProducerNode = { broadcastAddress: String(i.broadcast_address ?? ''), httpPort: num(i.http_port), tcpPort: num(i.tcp_port) };
    if (node.broadcastAddress === '') {
      // An nsqd too old to report its addresses: use the one we were given (clusterinfo does,
      // with net.SplitHostPort, so an IPv6 host loses its brackets).
      const hp = splitHostPort(addr);
      node.broadcastAddress = hp instanceof Error ? '' : hp.host;
      node.httpPort = hp instanceof Error ? 0 : hp.port;
    }
    return node;
  });
  return dedupe(found.filter((n): n is ProducerNode => n !== null));
}

function dedupe(nodes: ProducerNode[]): ProducerNode[] {
  const seen = new Map<string, ProducerNode>();
  for (const n of nodes) {
    const key = httpAddress(n);
    if (!seen.has(key)) seen.set(key, n);
  }
  return [...seen.values()];
}

/** `host:port` of a node's HTTP API (IPv6 hosts bracketed). */
export function httpAddress(n: ProducerNode): string {
  return joinHostPort(n.broadcastAddress, n.httpPort);
}

/**
 * `channel` of `topic` summed over `nodes` (GET /stats?format=json&topic=&channel=&include_clients=false
 * on each); null when no node has the channel. Memory depth is depth − backend depth, as clusterinfo computes it.
 */
export async function getChannelTotals(nodes: readonly ProducerNode[], topic: string, channel: string, t: HttpTimeouts): Promise<ChannelTotals | null> {
  const perNode = await queryAll(nodes.map(httpAddress), 'nsqd', async (addr) => {
    const q = `topic=${goQueryEscape(topic)}&channel=${goQueryEscape(channel)}&include_clients=false`;
    const body = await negotiateV1(`http://${addr}/stats?format=json&${q}`, t);
    const out: Record<string, unknown>[] = [];
    for (const tp of list(isRecord(body) ? body.topics : undefined).filter(isRecord)) {
      if (tp.topic_name !== topic) continue;
      for (const ch of list(tp.channels).filter(isRecord)) if (ch.channel_name === channel) out.push(ch);
    }
    return out;
  });
  let totals: ChannelTotals | null = null;
  for (const ch of perNode.flat()) {
    totals ??= { depth: 0, memoryDepth: 0, backendDepth: 0, inFlightCount: 0, deferredCount: 0, requeueCount: 0, timeoutCount: 0, messageCount: 0, clientCount: 0 };
    totals.depth += num(ch.depth);
    totals.backendDepth += num(ch.backend_depth);
    totals.memoryDepth += num(ch.depth) - num(ch.backend_depth);
    totals.inFlightCount += num(ch.in_flight_count);
    totals.deferredCount += num(ch.deferred_count);
    totals.requeueCount += num(ch.requeue_count);
    totals.timeoutCount += num(ch.timeout_count);
    totals.messageCount += num(ch.message_count);
    totals.clientCount += typeof ch.client_count === 'number' ? ch.client_count : list(ch.clients).length;
  }
  return totals;
}
