// The cluster as NSQ's internal/clusterinfo (v1.3.0) sees it, for nsqadmin, nsqd and the tools (nsq_stat,
// nsq_to_file) alike: every call fans out fresh, in parallel, to the given nsqlookupd or nsqd HTTP
// APIs; no caching. A call where every host failed throws a plain Error ("failed to query any
// nsqlookupd: ..."), which nsqadmin answers with 502 UPSTREAM_ERROR; a call where only some failed
// returns its data together with a PartialError, which nsqadmin shows as a "WARNING: ..." next to
// a 200 answer and which the tools treat as the error it is in Go.

import { goQueryEscape } from '../http-client.js';
import { joinHostPort, splitHostPort } from '../listen.js';
import { isRecord } from '../go-json.js';
import { addChannel, byHostname, decodeTopic, int, newChannelAggregate, str, type ChannelStats, type TopicStats } from './stats.js';
import type { UpstreamClient } from './upstream.js';

/** Errors of the hosts that failed while others answered (clusterinfo.ErrList); the message joins them with newlines. */
export class PartialError extends Error {
  override readonly name = 'PartialError';
  /** Create from the individual host errors. */
  constructor(readonly errors: readonly Error[]) {
    super(errors.map((e) => e.message).join('\n'));
  }
}

/** One of the topics an nsqd node holds, as /api/nodes lists it. */
export interface ProducerTopic {
  topic: string;
  tombstoned: boolean;
}

/** clusterinfo.Producer: an nsqd node as nsqlookupd (or the nsqd itself) describes it. */
export interface Producer {
  remote_addresses: string[] | null;
  remote_address: string;
  hostname: string;
  broadcast_address: string;
  tcp_port: number;
  http_port: number;
  version: string;
  topics: ProducerTopic[] | null;
  out_of_date: boolean;
}

/** Results plus the PartialError of a call where some hosts failed (undefined when none did). */
export interface WithWarning<T> {
  value: T;
  warning?: PartialError;
}

/** A producer's `broadcast_address:http_port` (the key nsqadmin's node pages use). */
export function httpAddress(p: Pick<Producer, 'broadcast_address' | 'http_port'>): string {
  return joinHostPort(p.broadcast_address, p.http_port);
}

/** A producer's `broadcast_address:tcp_port` (the key /api/nodes deduplicates by). */
export function tcpAddress(p: Pick<Producer, 'broadcast_address' | 'tcp_port'>): string {
  return joinHostPort(p.broadcast_address, p.tcp_port);
}

/** A semantic version as [major, minor, patch, isRelease]; unparsable → 0.0.0 (as nsqadmin treats it). */
export function parseSemver(v: string): [number, number, number, number] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.exec(v);
  if (m === null) return [0, 0, 0, 1];
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : 0];
}

/** Compare two versions: negative when a < b. */
export function compareSemver(a: string, b: string): number {
  const x = parseSemver(a);
  const y = parseSemver(b);
  for (let i = 0; i < 4; i++) if (x[i]! !== y[i]!) return x[i]! - y[i]!;
  return 0;
}

/** The sorted union of several lists of names. */
function sortedUnion(lists: readonly string[][]): string[] {
  return [...new Set(lists.flat())].sort();
}
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
/** The array under `key` of a decoded answer ([] when absent or not an array). */
function arrayField(doc: unknown, key: string): unknown[] {
  const v = isRecord(doc) ? doc[key] : undefined;
  return Array.isArray(v) ? v : [];
}
/** The topic names of an nsqd /stats answer. */
function statsTopicNames(doc: unknown): string[] {
  return arrayField(doc, 'topics').map((t) => str(isRecord(t) ? t.topic_name : undefined));
}
/** What nsqadmin reads from an nsqd's /info. */
interface NsqdInfo {
  version: string;
  broadcast_address: string;
  hostname: string;
  http_port: number;
  tcp_port: number;
}

/** A producer as nsqadmin builds it from an nsqd's /info and the topic names of its /stats (null when none). */
function nsqdProducer(info: NsqdInfo, topics: string[]): Producer {
  return {
    remote_addresses: null,
    remote_address: '',
    hostname: info.hostname,
    broadcast_address: info.broadcast_address,
    tcp_port: info.tcp_port,
    http_port: info.http_port,
    version: info.version,
    topics: topics.length === 0 ? null : topics.map((t) => ({ topic: t, tombstoned: false })),
    out_of_date: false,
  };
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/** Run `fn` on every address at once; all failed → Error(`failed to query any <what>: ...`), some → PartialError. */
async function fanOut<A, T>(addrs: readonly A[], what: string, fn: (addr: A) => Promise<T>): Promise<WithWarning<T[]>> {
  const settled = await Promise.allSettled(addrs.map(fn));
  const ok: T[] = [];
  const errs: Error[] = [];
  for (const r of settled) {
    if (r.status === 'fulfilled') ok.push(r.value);
    else errs.push(toError(r.reason));
  }
  if (errs.length === addrs.length) throw new Error(`failed to query any ${what}: ${errs.map((e) => e.message).join('\n')}`);
  return errs.length > 0 ? { value: ok, warning: new PartialError(errs) } : { value: ok };
}

/** An action's outcome: the errors of the hosts that failed, as the PartialError of a WithWarning. */
function partial(errs: Error[]): WithWarning<null> {
  return errs.length > 0 ? { value: null, warning: new PartialError(errs) } : { value: null };
}

/** `topic=<t>` or `topic=<t>&channel=<c>`, escaped as Go's url.QueryEscape. */
function topicQuery(topic: string, channel: string): string {
  return channel === '' ? `topic=${goQueryEscape(topic)}` : `topic=${goQueryEscape(topic)}&channel=${goQueryEscape(channel)}`;
}

/** A lookupd /nodes or /lookup producer entry. */
function decodeLookupdProducer(v: unknown): Producer {
  const p = isRecord(v) ? v : {};
  const topics = strings(p.topics);
  const tombstones = arrayField(p, 'tombstones');
  return {
    remote_addresses: null,
    remote_address: str(p.remote_address),
    hostname: str(p.hostname),
    broadcast_address: str(p.broadcast_address),
    tcp_port: int(p.tcp_port),
    http_port: int(p.http_port),
    version: str(p.version),
    // Go appends to a nil slice per topic: no topics marshal as null, not [].
    topics: topics.length > 0 ? topics.map((topic, i) => ({ topic, tombstoned: tombstones[i] === true })) : null,
    out_of_date: false,
  };
}

/** What ClusterInfo needs to know about the configuration, read on each call (it may change at runtime). */
export interface ClusterConfig {
  lookupdHttpAddresses: readonly string[];
  nsqdHttpAddresses: readonly string[];
}

/** Queries the cluster for nsqadmin's API handlers, nsqd's channel pre-creation and the tools. */
export class ClusterInfo {
  /** Build on an upstream client; `log` sees each query (`CI: querying ...`; nsqd and nsqadmin log it at info, as NSQ does). */
  constructor(
    private readonly client: UpstreamClient,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  private get(what: string, endpoint: string): Promise<unknown> {
    this.log(`CI: querying ${what} ${endpoint}`);
    return this.client.getV1(endpoint);
  }

  /** Sorted union of every lookupd's /topics. */
  async getLookupdTopics(lookupds: readonly string[]): Promise<WithWarning<string[]>> {
    const r = await fanOut(lookupds, 'nsqlookupd', async (addr) => {
      const doc = await this.get('nsqlookupd', `http://${addr}/topics`);
      return strings(arrayField(doc, 'topics'));
    });
    return { ...r, value: sortedUnion(r.value) };
  }

  /** Sorted union of every lookupd's /channels?topic=. */
  async getLookupdTopicChannels(topic: string, lookupds: readonly string[]): Promise<WithWarning<string[]>> {
    const r = await fanOut(lookupds, 'nsqlookupd', async (addr) => {
      const doc = await this.get('nsqlookupd', `http://${addr}/channels?topic=${goQueryEscape(topic)}`);
      return strings(arrayField(doc, 'channels'));
    });
    return { ...r, value: sortedUnion(r.value) };
  }

  /** Every nsqd known to the lookupds (/nodes), deduplicated by TCP address, with remote_addresses and out_of_date, sorted by hostname. */
  async getLookupdProducers(lookupds: readonly string[]): Promise<WithWarning<Producer[]>> {
    const r = await fanOut(lookupds, 'nsqlookupd', async (addr) => {
      const doc = await this.get('nsqlookupd', `http://${addr}/nodes`);
      return { addr, producers: arrayField(doc, 'producers').map(decodeLookupdProducer) };
    });
    const byAddr = new Map<string, Producer>();
    const out: Producer[] = [];
    let maxVersion = '0.0.0';
    for (const { addr, producers } of r.value) {
      for (const p of producers) {
        const key = tcpAddress(p);
        let known = byAddr.get(key);
        if (known === undefined) {
          known = p;
          byAddr.set(key, p);
          out.push(p);
          if (compareSemver(maxVersion, p.version) < 0) maxVersion = p.version;
          p.topics?.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
        }
        (known.remote_addresses ??= []).push(`${addr}/${p.remote_address === '' ? 'N/A' : p.remote_address}`);
      }
    }
    for (const p of out) if (compareSemver(p.version, maxVersion) < 0) p.out_of_date = true;
    out.sort(byHostname);
    return { ...r, value: out };
  }

  /** The producers of a topic from every lookupd's /lookup, deduplicated by HTTP address. */
  async getLookupdTopicProducers(topic: string, lookupds: readonly string[]): Promise<WithWarning<Producer[]>> {
    const r = await fanOut(lookupds, 'nsqlookupd', async (addr) => {
      const doc = await this.get('nsqlookupd', `http://${addr}/lookup?topic=${goQueryEscape(topic)}`);
      return arrayField(doc, 'producers').map(decodeLookupdProducer);
    });
    const seen = new Set<string>();
    const out: Producer[] = [];
    for (const p of r.value.flat()) {
      const key = httpAddress(p);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(p);
    }
    return { ...r, value: out };
  }

  /** Sorted union of the topic names in every nsqd's /stats. */
  async getNsqdTopics(nsqds: readonly string[]): Promise<WithWarning<string[]>> {
    const r = await fanOut(nsqds, 'nsqd', async (addr) => {
      return statsTopicNames(await this.get('nsqd', `http://${addr}/stats?format=json`));
    });
    return { ...r, value: sortedUnion(r.value) };
  }

  private async nsqdInfo(addr: string): Promise<NsqdInfo> {
    const doc = await this.get('nsqd', `http://${addr}/info`);
    const i = isRecord(doc) ? doc : {};
    return { version: str(i.version), broadcast_address: str(i.broadcast_address), hostname: str(i.hostname), http_port: int(i.http_port), tcp_port: int(i.tcp_port) };
  }

  /** Every configured nsqd as a producer (/info, then /stats for its topics). */
  async getNsqdProducers(nsqds: readonly string[]): Promise<WithWarning<Producer[]>> {
    return fanOut(nsqds, 'nsqd', async (addr) => {
      const info = await this.nsqdInfo(addr);
      return nsqdProducer(info, statsTopicNames(await this.get('nsqd', `http://${addr}/stats?format=json&include_clients=false`)));
    });
  }

  /** The configured nsqds that hold `topic` (their /stats, then /info for those that do). */
  async getNsqdTopicProducers(topic: string, nsqds: readonly string[]): Promise<WithWarning<Producer[]>> {
    const r = await fanOut(nsqds, 'nsqd', async (addr): Promise<Producer | null> => {
      const topics = statsTopicNames(await this.get('nsqd', `http://${addr}/stats?format=json&topic=${goQueryEscape(topic)}&include_clients=false`));
      if (!topics.includes(topic)) return null;
      const info = await this.nsqdInfo(addr);
      const hp = splitHostPort(addr);
      if (info.broadcast_address === '' && !(hp instanceof Error)) {
        info.broadcast_address = hp.host;
        info.http_port = hp.port;
      }
      if (info.hostname === '' && !(hp instanceof Error)) info.hostname = hp.host;
      return nsqdProducer(info, topics);
    });
    return { ...r, value: r.value.filter((p): p is Producer => p !== null) };
  }

  /** Producers of a topic: through the lookupds when any are configured, else from the nsqds. */
  getTopicProducers(topic: string, c: ClusterConfig): Promise<WithWarning<Producer[]>> {
    return c.lookupdHttpAddresses.length > 0 ? this.getLookupdTopicProducers(topic, c.lookupdHttpAddresses) : this.getNsqdTopicProducers(topic, c.nsqdHttpAddresses);
  }

  /** Every nsqd: through the lookupds when any are configured, else the nsqds themselves. */
  getProducers(c: ClusterConfig): Promise<WithWarning<Producer[]>> {
    return c.lookupdHttpAddresses.length > 0 ? this.getLookupdProducers(c.lookupdHttpAddresses) : this.getNsqdProducers(c.nsqdHttpAddresses);
  }

  /**
   * Stats of `producers` (GET /stats?format=json on each): the per-node topic stats sorted by
   * hostname, and the channels summed over nodes, keyed by channel name when `topic` is given,
   * else by `topic:channel`.
   */
  async getNsqdStats(producers: readonly Producer[], topic: string, channel: string, includeClients: boolean): Promise<WithWarning<{ topics: TopicStats[]; channels: Map<string, ChannelStats> }>> {
    const now = Date.now();
    const r = await fanOut(producers, 'nsqd', async (p: Producer): Promise<TopicStats[]> => {
      const addr = httpAddress(p);
      let endpoint = `http://${addr}/stats?format=json`;
      if (topic !== '') {
        endpoint += `&topic=${goQueryEscape(topic)}`;
        if (channel !== '') endpoint += `&channel=${goQueryEscape(channel)}`;
      }
      if (!includeClients) endpoint += '&include_clients=false';
      const topics = arrayField(await this.get('nsqd', endpoint), 'topics');
      return topics.map((t) => decodeTopic(t, addr, p.hostname, now)).filter((t) => topic === '' || t.topic_name === topic);
    });
    const all = r.value.flat();
    const channels = new Map<string, ChannelStats>();
    for (const t of all) {
      for (const ch of t.channels ?? []) {
        const key = topic === '' ? `${t.topic_name}:${ch.channel_name}` : ch.channel_name;
        let agg = channels.get(key);
        if (agg === undefined) {
          agg = newChannelAggregate(t.node, t.topic_name, ch.channel_name);
          channels.set(key, agg);
        }
        addChannel(agg, ch);
      }
    }
    return { ...r, value: { topics: all.sort(byHostname), channels } };
  }

  private async postAll(what: string, addrs: readonly string[], uri: string, qs: string): Promise<Error[]> {
    const errs: Error[] = [];
    for (const addr of addrs) {
      const endpoint = `http://${addr}/${uri}?${qs}`;
      this.log(`CI: querying ${what} ${endpoint}`);
      try {
        await this.client.postV1(endpoint);
      } catch (err) {
        errs.push(toError(err));
      }
    }
    return errs;
  }

  /** Tombstone `node` for `topic` on every lookupd, then delete the topic on that nsqd. */
  async tombstoneNodeForTopic(topic: string, node: string, lookupds: readonly string[]): Promise<WithWarning<null>> {
    const errs = await this.postAll('nsqlookupd', lookupds, 'topic/tombstone', `topic=${goQueryEscape(topic)}&node=${goQueryEscape(node)}`);
    const producers = await this.getNsqdProducers([node]);
    if (producers.warning) errs.push(...producers.warning.errors);
    errs.push(...(await this.postAll('nsqd', producers.value.map(httpAddress), 'topic/delete', topicQuery(topic, ''))));
    return partial(errs);
  }

  /** Create the topic (and channel) on every lookupd, and the channel on the topic's producers. */
  async createTopicChannel(topic: string, channel: string, lookupds: readonly string[]): Promise<WithWarning<null>> {
    const errs = await this.postAll('nsqlookupd', lookupds, 'topic/create', topicQuery(topic, ''));
    if (channel !== '') {
      const qs = topicQuery(topic, channel);
      errs.push(...(await this.postAll('nsqlookupd', lookupds, 'channel/create', qs)));
      const producers = await this.getLookupdTopicProducers(topic, lookupds);
      if (producers.warning) errs.push(...producers.warning.errors);
      errs.push(...(await this.postAll('nsqd', producers.value.map(httpAddress), 'channel/create', qs)));
    }
    return partial(errs);
  }

  /** Delete a topic (channel '') or a channel: on every lookupd, then on every producer of the topic. */
  async deleteTopicChannel(topic: string, channel: string, c: ClusterConfig): Promise<WithWarning<null>> {
    const uri = channel === '' ? 'topic/delete' : 'channel/delete';
    return this.producerAction(topic, channel, c, uri, c.lookupdHttpAddresses);
  }

  /** POST `uri` (topic/pause, channel/empty, ...) to every producer of the topic. */
  actionHelper(topic: string, channel: string, uri: string, c: ClusterConfig): Promise<WithWarning<null>> {
    return this.producerAction(topic, channel, c, uri, []);
  }

  /** POST `uri` for the topic (channel '') or channel to `lookupds`, then to every producer of the topic. */
  private async producerAction(topic: string, channel: string, c: ClusterConfig, uri: string, lookupds: readonly string[]): Promise<WithWarning<null>> {
    const producers = await this.getTopicProducers(topic, c);
    const errs: Error[] = producers.warning ? [...producers.warning.errors] : [];
    const qs = topicQuery(topic, channel);
    errs.push(...(await this.postAll('nsqlookupd', lookupds, uri, qs)));
    errs.push(...(await this.postAll('nsqd', producers.value.map(httpAddress), uri, qs)));
    return partial(errs);
  }
}
