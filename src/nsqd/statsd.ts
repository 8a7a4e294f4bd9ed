// Periodic push of topic, channel and memory statistics to a statsd daemon over UDP
// (spec nsqd.md §8; Go nsqd/statsd.go with internal/statsd and internal/writers).
//
// Runs once per --statsd-interval and never touches the message path: it reads the same stats
// document /stats serves, turns it into statsd lines, packs the lines into datagrams and spreads
// the datagrams over the interval so a large nsqd does not burst its statsd.
import { joinHostPort } from '../internal/listen.js';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { errorText, type Logger } from '../internal/log.js';
import type { NsqdOptions } from './options.js';
import { goFixed, watchGc, type StatsDocument } from './stats.js';

/**
 * The options the pusher reads (a subset of NsqdOptions; read on every push). statsdPrefix is
 * the expanded one: Nsqd.start settles it with prefix() and hostKey(), as nsqd's New() does.
 */
export type StatsdOptions = Pick<
  NsqdOptions,
  | 'statsdAddress'
  | 'statsdPrefix'
  | 'statsdInterval'
  | 'statsdMemStats'
  | 'statsdUdpPacketSize'
  | 'statsdExcludeEphemeral'
>;

/** What the pusher needs from the daemon (Nsqd satisfies it once it has statsDocument()). */
export interface StatsdSource {
  readonly opts: StatsdOptions;
  readonly logger: Logger;
  /** The /stats document without clients; with `memory` when statsdMemStats is set. */
  statsDocument(): StatsDocument;
}

/** Counter totals of one channel at the previous push. */
export interface ChannelCounters {
  messageCount: number;
  requeueCount: number;
  timeoutCount: number;
}

/** Counter totals of one topic (and its channels) at the previous push. */
export interface TopicCounters {
  messageCount: number;
  messageBytes: number;
  channels: Map<string, ChannelCounters>;
}

/** The counter totals a push leaves behind, so the next push can send deltas. */
export interface Snapshot {
  topics: Map<string, TopicCounters>;
  /** GC runs at the last push that sent memory stats (0 before any). */
  gcRuns: number;
}

/** How statsdLines renders a document. */
export interface StatsdLineOptions {
  /** Full key prefix, already host-substituted and dot-terminated (see prefix()); may be ''. */
  prefix: string;
  /** Send mem.* gauges and the mem.gc_runs counter (--statsd-mem-stats, default true). */
  memStats: boolean;
  /** Leave out topics and channels whose name ends in `#ephemeral` (--statsd-exclude-ephemeral). */
  excludeEphemeral: boolean;
}

/** bufio's size when asked for a non-positive one; Go's BoundaryBufferedWriter inherits it. */
const DEFAULT_PACKET_SIZE = 4096;

/** How long Go gives the UDP dial (net.DialTimeout), in ms. */
const DIAL_TIMEOUT_MS = 1000;

/** The spread window is the interval minus this (Go: interval - time.Second), in ms. */
const SPREAD_MARGIN_MS = 1000;

const EPHEMERAL_SUFFIX = '#ephemeral';

/** Go's `%.0f` of a float: goFixed(x, 0), with Go's words for the non-finite and a `-0` for negative zero. */
export function formatFixed0(x: number): string {
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : x < 0 ? '-Inf' : 'NaN';
  if (Object.is(x, -0)) return '-0';
  return goFixed(x, 0);
}

/** The `<P>` of an e2e_processing_latency_<P> key: quantile × 100 as Go's `%.0f` (0.995 → "100"). */
export function quantileKey(quantile: number): string {
  return formatFixed0(quantile * 100);
}

/** A statsd integer as Go prints an int64 converted from our number (truncated toward zero). */
function int(n: number): string {
  if (!Number.isFinite(n)) return '0';
  const t = Math.trunc(n);
  return t === 0 ? '0' : String(t);
}

/**
 * The statsd host key: `<broadcast-address>:<http-port>` (IPv6 bracketed, as Go's JoinHostPort)
 * with every `.` and `:` replaced by `_`, e.g. `127_0_0_1_4151`.
 */
export function hostKey(broadcastAddress: string, httpPort: number): string {
  return joinHostPort(broadcastAddress, httpPort).replace(/[.:]/g, '_');
}

/**
 * The key prefix: every `%s` of --statsd-prefix replaced by the host key and a `.` appended when
 * missing; an empty --statsd-prefix stays empty (Go only rewrites a non-empty prefix).
 */
export function prefix(statsdPrefix: string, key: string): string {
  if (statsdPrefix === '') return '';
  const p = statsdPrefix.replaceAll('%s', key);
  return p.endsWith('.') ? p : `${p}.`;
}

/**
 * Pack statsd lines (given without their newline; each is sent followed by `\n`) into datagrams
 * of at most `maxBytes` bytes, in order, never splitting a line. A line longer than `maxBytes`
 * travels alone in an oversized datagram, as Go's BoundaryBufferedWriter over bufio does; a
 * non-positive `maxBytes` means bufio's default of 4096.
 */
export function packLines(lines: readonly string[], maxBytes: number): Buffer[] {
  const size = maxBytes > 0 ? maxBytes : DEFAULT_PACKET_SIZE;
  const out: Buffer[] = [];
  let pending = '';
  let pendingBytes = 0;
  for (const line of lines) {
    const text = `${line}\n`;
    const bytes = Buffer.byteLength(text);
    if (pendingBytes > 0 && pendingBytes + bytes > size) {
      out.push(Buffer.from(pending));
      pending = '';
      pendingBytes = 0;
    }
    if (bytes > size) {
      out.push(Buffer.from(text));
      continue;
    }
    pending += text;
    pendingBytes += bytes;
  }
  if (pendingBytes > 0) out.push(Buffer.from(pending));
  return out;
}

function isEphemeral(name: string): boolean {
  return name.endsWith(EPHEMERAL_SUFFIX);
}

/**
 * Render one push: counters (`|c`) as deltas against `prev` (null = first push, so full totals),
 * gauges (`|g`) as current values, in Go's order (per topic, then its channels, then mem.*).
 * Pure; returns the lines (without newlines) and the snapshot the next push diffs against.
 */
export function statsdLines(prev: Snapshot | null, doc: StatsDocument, opts: StatsdLineOptions): { lines: string[]; snapshot: Snapshot } {
  const p = opts.prefix;
  const lines: string[] = [];
  const counter = (stat: string, delta: number): void => void lines.push(`${p}${stat}:${int(delta)}|c`);
  const gauge = (stat: string, value: number): void => void lines.push(`${p}${stat}:${int(value)}|g`);
  const topics = new Map<string, TopicCounters>();

  for (const t of doc.topics ?? []) {
    const channels = new Map<string, ChannelCounters>();
    for (const c of t.channels) {
      channels.set(c.channel_name, { messageCount: c.message_count, requeueCount: c.requeue_count, timeoutCount: c.timeout_count });
    }
    // Like Go's lastStats, the snapshot keeps excluded topics too; it only feeds deltas.
    topics.set(t.topic_name, { messageCount: t.message_count, messageBytes: t.message_bytes, channels });
    if (opts.excludeEphemeral && isEphemeral(t.topic_name)) continue;

    const lastTopic = prev?.topics.get(t.topic_name);
    const tk = `topic.${t.topic_name}`;
    counter(`${tk}.message_count`, t.message_count - (lastTopic?.messageCount ?? 0));
    counter(`${tk}.message_bytes`, t.message_bytes - (lastTopic?.messageBytes ?? 0));
    gauge(`${tk}.depth`, t.depth);
    gauge(`${tk}.backend_depth`, t.backend_depth);
    for (const q of t.e2e_processing_latency.percentiles ?? []) {
      gauge(`${tk}.e2e_processing_latency_${quantileKey(q.quantile)}`, q.value);
    }

    for (const c of t.channels) {
      if (opts.excludeEphemeral && isEphemeral(c.channel_name)) continue;
      const lastChannel = lastTopic?.channels.get(c.channel_name);
      const ck = `${tk}.channel.${c.channel_name}`;
      counter(`${ck}.message_count`, c.message_count - (lastChannel?.messageCount ?? 0));
      gauge(`${ck}.depth`, c.depth);
      gauge(`${ck}.backend_depth`, c.backend_depth);
      gauge(`${ck}.in_flight_count`, c.in_flight_count);
      gauge(`${ck}.deferred_count`, c.deferred_count);
      counter(`${ck}.requeue_count`, c.requeue_count - (lastChannel?.requeueCount ?? 0));
      counter(`${ck}.timeout_count`, c.timeout_count - (lastChannel?.timeoutCount ?? 0));
      gauge(`${ck}.clients`, c.client_count);
      for (const q of c.e2e_processing_latency.percentiles ?? []) {
        gauge(`${ck}.e2e_processing_latency_${quantileKey(q.quantile)}`, q.value);
      }
    }
  }

  // Go only advances its last GC count on a push that sent memory stats.
  let gcRuns = prev?.gcRuns ?? 0;
  const m = doc.memory;
  if (opts.memStats && m !== undefined) {
    gauge('mem.heap_objects', m.heap_objects);
    gauge('mem.heap_idle_bytes', m.heap_idle_bytes);
    gauge('mem.heap_in_use_bytes', m.heap_in_use_bytes);
    gauge('mem.heap_released_bytes', m.heap_released_bytes);
    gauge('mem.gc_pause_usec_100', m.gc_pause_usec_100);
    gauge('mem.gc_pause_usec_99', m.gc_pause_usec_99);
    gauge('mem.gc_pause_usec_95', m.gc_pause_usec_95);
    gauge('mem.next_gc_bytes', m.next_gc_bytes);
    counter('mem.gc_runs', m.gc_total_runs - gcRuns);
    gcRuns = m.gc_total_runs;
  }
  return { lines, snapshot: { topics, gcRuns } };
}

/** Go's net.SplitHostPort for `host:port` / `[v6]:port`, with a numeric port; null when malformed. */
function splitHostPort(addr: string): { host: string; port: number } | null {
  let host: string;
  let portText: string;
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    if (end < 0 || addr[end + 1] !== ':') return null;
    host = addr.slice(1, end);
    portText = addr.slice(end + 2);
  } else {
    const i = addr.lastIndexOf(':');
    if (i < 0 || addr.indexOf(':') !== i) return null;
    host = addr.slice(0, i);
    portText = addr.slice(i + 1);
  }
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  return port <= 65535 ? { host, port } : null;
}

/**
 * Pushes nsqd's stats to --statsd-address every --statsd-interval: a fresh UDP socket per push,
 * counters as deltas since the previous push, datagrams of at most --statsd-udp-packet-size bytes
 * spread over (interval − 1 s). Failures are logged, never thrown; timers never keep the process
 * alive.
 */
export class StatsdPusher {
  private readonly src: StatsdSource;
  private last: Snapshot | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private sleepTimer: NodeJS.Timeout | null = null;
  private wakeSleep: (() => void) | null = null;

  constructor(src: StatsdSource) {
    this.src = src;
  }

  /** Push every statsdInterval ms until stop(); does nothing when statsdAddress is ''. */
  start(): void {
    const o = this.src.opts;
    if (o.statsdAddress === '' || this.timer !== null) return;
    if (!(o.statsdInterval > 0)) {
      this.src.logger.error(`STATSD: invalid --statsd-interval (${o.statsdInterval} ms), not pushing`);
      return;
    }
    this.stopped = false;
    if (o.statsdMemStats) watchGc();
    this.timer = setInterval(() => this.tick(), o.statsdInterval);
    this.timer.unref();
  }

  /**
   * Stop the interval. A push still spreading its datagrams sends the rest at once and closes
   * its socket (Go skips the remaining sleeps on exit but finishes the writes).
   */
  stop(): void {
    this.stopped = true;
    if (this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
      this.src.logger.info('STATSD: closing');
    }
    this.wake();
  }

  /** One push now; resolves when every datagram is sent (errors are logged, never rejected). */
  async pushOnce(): Promise<void> {
    try {
      await this.push();
    } catch (err) {
      this.src.logger.error(`STATSD: push failed - ${errorText(err)}`);
    }
  }

  private tick(): void {
    // Like Go's ticker, a tick that comes while the previous push is still sending is dropped.
    if (this.running !== null) return;
    this.running = this.pushOnce().finally(() => {
      this.running = null;
    });
  }

  private async push(): Promise<void> {
    const o = this.src.opts;
    const addr = o.statsdAddress;
    // Go dials before collecting: a failed dial skips this push and keeps the old totals, so the
    // next push's deltas cover both intervals.
    const socket = await this.dial(addr);
    if (socket === null) return;
    try {
      this.src.logger.info(`STATSD: pushing stats to ${addr}`);
      const { lines, snapshot } = statsdLines(this.last, this.src.statsDocument(), {
        prefix: o.statsdPrefix,
        memStats: o.statsdMemStats,
        excludeEphemeral: o.statsdExcludeEphemeral,
      });
      this.last = snapshot;
      const datagrams = packLines(lines, o.statsdUdpPacketSize);
      await this.sendSpread(socket, datagrams, o.statsdInterval - SPREAD_MARGIN_MS, addr);
    } finally {
      socket.close();
    }
  }

  /** Resolve `addr` and connect a UDP socket to it; null (logged) on failure or after 1 s. */
  private async dial(addr: string): Promise<UdpSocket | null> {
    const hp = splitHostPort(addr);
    let timer: NodeJS.Timeout | undefined;
    let abandoned = false;
    try {
      if (hp === null) throw new Error('invalid address');
      const connecting = this.connect(hp.host === '' ? '127.0.0.1' : hp.host, hp.port, addr, () => abandoned);
      // A connect that loses the race is closed by connect() itself; only silence its rejection.
      connecting.catch(() => undefined);
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('i/o timeout')), DIAL_TIMEOUT_MS);
        timer.unref();
      });
      return await Promise.race([connecting, timeout]);
    } catch (err) {
      abandoned = true;
      this.src.logger.error(`failed to create UDP socket to statsd(${addr}) - ${errorText(err)}`);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  private async connect(host: string, port: number, addr: string, abandoned: () => boolean): Promise<UdpSocket> {
    let address = host;
    let family = isIP(address);
    if (family === 0) {
      const r = await lookup(address);
      address = r.address;
      family = r.family;
    }
    const s = createSocket(family === 6 ? 'udp6' : 'udp4');
    s.unref();
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.connect(port, address, () => {
          s.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      s.close();
      throw err;
    }
    if (abandoned()) {
      s.close();
      throw new Error('connected after the dial timed out');
    }
    // Later errors (e.g. ICMP port unreachable) also reach the send callbacks; this listener only
    // keeps an 'error' event from ever being unhandled.
    s.on('error', (err) => this.src.logger.error(`STATSD: socket to ${addr} - ${err.message}`));
    return s;
  }

  /**
   * Send datagrams one by one, the first at once and the rest on a fixed cadence of
   * spreadMs / count (Go's SpreadWriter); everything at once when spreadMs ≤ 0 or stopped.
   */
  private async sendSpread(socket: UdpSocket, datagrams: Buffer[], spreadMs: number, addr: string): Promise<void> {
    const step = spreadMs > 0 && datagrams.length > 0 ? spreadMs / datagrams.length : 0;
    const started = Date.now();
    let failures = 0;
    let firstError = '';
    for (let i = 0; i < datagrams.length; i++) {
      if (i > 0 && step > 0 && !this.stopped) await this.sleep(started + i * step - Date.now());
      const err = await new Promise<Error | null>((resolve) => socket.send(datagrams[i]!, (e) => resolve(e ?? null)));
      if (err !== null) {
        if (failures++ === 0) firstError = err.message;
      }
    }
    if (failures > 0) this.src.logger.error(`STATSD: ${failures} of ${datagrams.length} datagrams to ${addr} failed - ${firstError}`);
  }

  /** Wait `ms` (unref'd), or less if stop() wakes us. */
  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeSleep = resolve;
      this.sleepTimer = setTimeout(() => this.wake(), ms);
      this.sleepTimer.unref();
    });
  }

  private wake(): void {
    if (this.sleepTimer !== null) clearTimeout(this.sleepTimer);
    this.sleepTimer = null;
    const w = this.wakeSleep;
    this.wakeSleep = null;
    w?.();
  }
}
