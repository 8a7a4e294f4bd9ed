// nsq_stat (apps/nsq_stat in NSQ v1.3.0): every --interval, find the nsqd nodes of --topic (through
// nsqlookupd or the given nsqd HTTP addresses), sum --channel's stats over them and print one row
// of rates, depths and counters; the two header lines come every 25 polls, starting with the
// first, which only records the baseline for the rates. --count=N stops after N rows.

import type { FlagSpec } from '../internal/flags.js';
import type { ChannelStats } from '../internal/clusterinfo/stats.js';
import {
  errorText,
  exitOnStdoutError,
  fatal,
  strict,
  toolClusterInfo,
  httpClientTimeoutFlags,
  lookupdHttpAddressFlag,
  onSignals,
  parseToolFlags,
  requireOneSource,
  sleep,
  stringsFlag,
  versionFlag,
} from './common.js';

/** nsq_stat's options; `count` is null when --count was not given. */
export interface NsqStatOptions {
  version: boolean;
  topic: string;
  channel: string;
  interval: number;
  httpClientConnectTimeout: number;
  httpClientRequestTimeout: number;
  count: number | null;
  nsqdHttpAddrs: string[];
  lookupdHttpAddrs: string[];
}

/** Go's strconv.ParseInt(s, 10, 32) as nsq_stat's --count flag uses it. */
function parseCount(raw: string): number {
  if (!/^[+-]?\d+$/.test(raw)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
  const n = Number(raw);
  if (n > 2 ** 31 - 1 || n < -(2 ** 31)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: value out of range`);
  return n;
}

/** nsq_stat's flag table (v1.3.0 names, defaults and help texts). */
export function nsqStatFlagSpecs(): FlagSpec[] {
  return [
    versionFlag('print version'),
    { name: 'topic', key: 'topic', kind: 'string', default: '', usage: 'NSQ topic' },
    { name: 'channel', key: 'channel', kind: 'string', default: '', usage: 'NSQ channel' },
    { name: 'interval', key: 'interval', kind: 'duration', default: 2000, usage: 'duration of time between polling/printing output' },
    ...httpClientTimeoutFlags(5000),
    { name: 'count', key: 'count', kind: 'custom', default: null, usage: 'number of reports', defaultText: '', parse: parseCount },
    stringsFlag('nsqd-http-address', 'nsqdHttpAddrs', 'nsqd HTTP address (may be given multiple times)'),
    lookupdHttpAddressFlag(),
  ];
}

/** The two header lines, printed every 25 polls. */
export const STAT_HEADER =
  `${'------rate------'}+${'----------------depth----------------'}+${'--------------metadata---------------'}\n` +
  `${'ingress'.padStart(7)} ${'egress'.padStart(7)} | ${'total'.padStart(7)} ${'mem'.padStart(7)} ${'disk'.padStart(7)} ${'inflt'.padStart(5)} ${'def'.padStart(5)} | ` +
  `${'req'.padStart(7)} ${'t-o'.padStart(7)} ${'msgs'.padStart(12)} ${'clients'.padStart(7)}\n`;

/** One data row: rates from the previous poll `o` to `c` over `intervalMs`, truncated to integers as Go's int64() does. */
export function statRow(o: ChannelStats, c: ChannelStats, intervalMs: number): string {
  const secs = intervalMs / 1000;
  const ingress = Math.trunc((c.message_count - o.message_count) / secs);
  const egress = Math.trunc((c.message_count - o.message_count - (c.depth - o.depth)) / secs);
  const d = (v: number, w: number): string => String(v).padStart(w);
  return `${d(ingress, 7)} ${d(egress, 7)} | ${d(c.depth, 7)} ${d(c.memory_depth, 7)} ${d(c.backend_depth, 7)} ${d(c.in_flight_count, 5)} ${d(c.deferred_count, 5)} | ` +
    `${d(c.requeue_count, 7)} ${d(c.timeout_count, 7)} ${d(c.message_count, 12)} ${d(c.client_count, 7)}\n`;
}

async function statLoop(o: NsqStatOptions): Promise<never> {
  // NSQ's nsq_stat: clusterinfo over an http_api client with no TLS configuration; any error,
  // a partial one included, is fatal.
  const ci = toolClusterInfo(o.httpClientConnectTimeout, o.httpClientRequestTimeout);
  const cluster = { lookupdHttpAddresses: o.lookupdHttpAddrs, nsqdHttpAddresses: o.nsqdHttpAddrs };
  let prev: ChannelStats | null = null;
  for (let i = 0; o.count === null || o.count >= i; i++) {
    let producers;
    try {
      producers = strict(await ci.getTopicProducers(o.topic, cluster));
    } catch (err) {
      fatal(`ERROR: failed to get topic producers - ${errorText(err)}`);
    }
    let stats;
    try {
      stats = strict(await ci.getNsqdStats(producers, o.topic, o.channel, false));
    } catch (err) {
      fatal(`ERROR: failed to get nsqd stats - ${errorText(err)}`);
    }
    const c = stats.channels.get(o.channel);
    if (c === undefined) fatal(`ERROR: failed to find channel(${o.channel}) in stats metadata for topic(${o.topic})`);
    if (i % 25 === 0) process.stdout.write(STAT_HEADER);
    if (prev !== null) process.stdout.write(statRow(prev, c, o.interval));
    prev = c;
    await sleep(o.interval);
  }
  process.exit(0);
}

/** Run nsq_stat with `argv` (without node and script). */
export function nsqStatMain(argv: readonly string[]): void {
  const { options: o } = parseToolFlags<NsqStatOptions>('nsq_stat', nsqStatFlagSpecs(), argv);
  if (o.topic === '' || o.channel === '') fatal('--topic and --channel are required');
  if (o.interval <= 0) fatal('--interval should be positive');
  if (o.httpClientConnectTimeout <= 0) fatal('--http-client-connect-timeout should be positive');
  if (o.httpClientRequestTimeout <= 0) fatal('--http-client-request-timeout should be positive');
  if (o.count !== null && o.count <= 0) fatal('--count should be positive');
  requireOneSource(o.nsqdHttpAddrs, o.lookupdHttpAddrs, 'nsqd-http-address');
  if (o.nsqdHttpAddrs.some((a) => a.startsWith('http'))) fatal('--nsqd-http-address error - address should not contain scheme');
  if (o.lookupdHttpAddrs.some((a) => a.startsWith('http'))) fatal('--lookupd-http-address error - address should not contain scheme');
  onSignals(['SIGHUP', 'SIGINT', 'SIGTERM'], () => process.exit(0));
  exitOnStdoutError();
  void statLoop(o);
}
