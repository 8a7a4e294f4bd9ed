/**
 * Differential check of nsqd's statsd push and e2e processing latency against Go's: our nsqd and
 * a Go nsqd binary start with the same flags, each pushing to a UDP socket of its own here that
 * records every datagram (grouped into pushes by source port: nsqd dials a socket per push). Both
 * are given the same state the same way: topics and channels, a paused topic and channel, a topic
 * without channels, a dotted name, published and deferred messages, a consumer that FINs some,
 * REQs some (now and deferred) and lets two time out under a 1 s msg_timeout, ephemeral channels
 * (one kept, one deleted when its client leaves) and an ephemeral topic, a deleted channel and a
 * deleted topic, and with e2e on 600 FINs on one channel (past perks' 500-sample buffer). Then:
 *
 * - the lines of a push made once the state has been still for a whole interval (so every
 *   counter delta is 0): names, order, types (|c, |g, |ms) and the values that are deterministic;
 * - the counters summed over every push since start (counters are deltas since the previous push,
 *   the first push a metric is in carries its whole total), for the metrics of that push;
 * - how lines are packed into datagrams: byte for byte where no value is masked, else the rules
 *   (at most --statsd-udp-packet-size bytes unless one line is longer; whole lines; greedy);
 * - /stats `e2e_processing_latency` (JSON, and the text e2e% column) by shape and count, right
 *   after the FINs and again once the 10 s window has passed;
 * - in one run, the push after a channel and a topic were deleted and re-created between two
 *   pushes (the deltas against the old totals go negative).
 *
 * Each run is one pair of daemons with one set of flags: defaults (prefix nsq.%s, 508-byte
 * datagrams, mem stats, e2e 0.5,0.99 over 10 s); a custom prefix (two %s, no trailing dot) over a
 * dotted broadcast address and a fixed --broadcast-http-port, --statsd-exclude-ephemeral, and e2e
 * percentiles whose keys test Go's %.0f (1, 0.995, 0.985, 0.125 → 100, 100, 98, 12); an empty
 * prefix with 128-byte datagrams, 64-byte names (lines longer than a datagram) and no mem stats
 * (every value deterministic, so packets compare exactly); and an IPv6 broadcast address with the
 * prefix `%s.` (the host key keeps JoinHostPort's brackets, a trailing dot is not doubled).
 *
 *   npm run compile
 *   node --import tsx test/go-diff/statsd.ts --go=/path/to/go/nsqd [--show]
 *
 * (GO_NSQD is read when --go is not given; --go=dist/apps/nsqd.js runs ours on both sides.) Not
 * part of `npm test` (CI has no Go nsqd). Prints every difference and ends with `N same, N
 * differ`; exits 1 when any differ. --show prints every compared text. Takes about 40 s (the push
 * interval is 2 s, the e2e window 10 s). The Go side is given e2e percentiles through --config,
 * not the flag: see E2eSetting.
 *
 * Masked: mem.* values (the Go runtime's heap and GC figures against V8's; nothing in common but
 * the names) and mem.gc_runs' count (when each runtime collects); e2e_processing_latency_<P>
 * gauge values (timings; and by the time of the compared push the window may have rotated, so not
 * even zero/non-zero is stable); e2e percentile values in /stats except whether they are 0
 * (timings, read before the window can rotate the samples out); the HTTP port inside the host key
 * where it is the listening port (each side listens on its own); datagram counts and contents
 * where masked values change line lengths. Not compared, because Go nsqd crashes on them:
 * --statsd-interval of 1 s or less (its spread writer makes a ticker of interval − 1 s: "panic:
 * non-positive interval for NewTicker"), and a push with no lines at all (no topics and
 * --statsd-mem-stats=false: the spread writer divides by zero), which is why every run creates
 * its first topic as soon as the daemon answers.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WireConn, type WireMessage } from '../helpers/wire.js';
import type { E2eJson, StatsJson, TopicStatsJson } from '../helpers/stats.js';
import { argvOf, goBinary, sleep, startDaemon, stopDaemon, Tally, waitUntil, type Daemon } from './common.js';

const values = goBinary('statsd.ts', 'GO_NSQD', 'nsqd');

/** Push interval (Go spreads a push's datagrams over interval − 1 s, and panics at ≤ 1 s). */
const INTERVAL_MS = 2000;
/** The e2e window; samples are gone for certain this long after they were taken. */
const E2E_WINDOW_MS = 10_000;
/** The msg_timeout the consumer asks for in IDENTIFY (nsqd's minimum). */
const MSG_TIMEOUT_MS = 1000;
const MEM_STATS = ['heap_objects', 'heap_idle_bytes', 'heap_in_use_bytes', 'heap_released_bytes', 'gc_pause_usec_100', 'gc_pause_usec_99', 'gc_pause_usec_95', 'next_gc_bytes', 'gc_runs'];
/** A 64-byte topic and channel name (the longest allowed): their lines exceed a 128-byte datagram. */
const LONG_TOPIC = `long_${'t'.repeat(59)}`;
const LONG_CHANNEL = `long_${'c'.repeat(59)}`;

/**
 * E2e percentiles for a run. Our nsqd is given the flag (which sorts them descending). The other
 * side reads them from a config file: the Go binary this was written against exits on the flag
 * (its internal/app FloatArray has no Get(), which go-options wants of a flag given on the command
 * line; upstream's has had it for years, so this is that build's defect, not NSQ's), and a config
 * list is taken as written, so it is given in the order the flag leaves them.
 */
interface E2eSetting {
  flag: string;
  config: number[];
}

/** One push: the datagrams that came from one UDP source port (nsqd dials a socket per push). */
interface Push {
  port: number;
  start: number;
  last: number;
  datagrams: Buffer[];
}

/**
 * Datagrams further apart than this are two pushes even from the same port (should the OS hand
 * out the same one twice running): within a push they are (interval − 1 s) / count apart, at most
 * 0.5 s with two or more, and a push's last one comes at least 1 s before the next push.
 */
const PUSH_GAP_MS = 800;

/** A UDP socket standing in for statsd, recording every datagram grouped into pushes. */
class Sink {
  readonly pushes: Push[] = [];
  private constructor(private readonly socket: UdpSocket, readonly port: number) {
    socket.on('message', (msg: Buffer, rinfo) => {
      const now = Date.now();
      const last = this.pushes.at(-1);
      if (last !== undefined && last.port === rinfo.port && now - last.last < PUSH_GAP_MS) {
        last.datagrams.push(msg);
        last.last = now;
      } else this.pushes.push({ port: rinfo.port, start: now, last: now, datagrams: [msg] });
    });
  }

  static open(): Promise<Sink> {
    const s = createSocket('udp4');
    return new Promise((res, rej) => {
      s.once('error', rej);
      s.bind(0, '127.0.0.1', () => res(new Sink(s, s.address().port)));
    });
  }

  after(t: number): Push[] {
    return this.pushes.filter((p) => p.start > t);
  }

  close(): void {
    this.socket.close();
  }
}

/** One statsd line split up. */
interface Line {
  name: string;
  value: number;
  type: string;
  raw: string;
}

function parseLines(p: Push): Line[] {
  const out: Line[] = [];
  for (const d of p.datagrams) {
    for (const raw of d.toString('latin1').split('\n')) {
      if (raw === '') continue;
      const m = /^(.*):(-?\d+)\|([a-z]+)$/.exec(raw);
      out.push(m === null ? { name: raw, value: NaN, type: '?', raw } : { name: m[1]!, value: Number(m[2]), type: m[3]!, raw });
    }
  }
  return out;
}

/** Why a value is not compared, or null when it is. */
function maskReason(name: string): string | null {
  if (MEM_STATS.some((s) => name.endsWith(`mem.${s}`))) return '<runtime>';
  if (/\.e2e_processing_latency_\d+$/.test(name)) return '<ns>';
  return null;
}

/** One run: a pair of daemons with these flags. */
interface Run {
  label: string;
  flags: string[];
  /** The host key inside metric names that carries the daemon's own listening port, and what it is shown as. */
  ownKey: ((d: Daemon) => [string, string]) | null;
  packetSize: number;
  /** Every value deterministic and no own port in the names: compare datagrams byte for byte. */
  exact: boolean;
  /** E2e percentiles tracked, or null. */
  e2e: E2eSetting | null;
  excludeEphemeral: boolean;
  longNames: boolean;
  /** Delete and re-create a channel and a topic between two pushes (counters go negative). */
  recreate: boolean;
}

const RUNS: Run[] = [
  {
    label: 'defaults',
    flags: ['--broadcast-address=127.0.0.1', `--e2e-processing-latency-window-time=${E2E_WINDOW_MS / 1000}s`],
    ownKey: (d) => [`127_0_0_1_${d.httpPort}`, '127_0_0_1_<http-port>'],
    packetSize: 508,
    exact: false,
    e2e: { flag: '0.5,0.99', config: [0.99, 0.5] },
    excludeEphemeral: false,
    longNames: false,
    recreate: false,
  },
  {
    label: 'custom prefix',
    flags: ['--broadcast-address=nsq-1.example.com', '--broadcast-http-port=4151', '--statsd-prefix=stats.%s.nsqd-%s', '--statsd-exclude-ephemeral=true', `--e2e-processing-latency-window-time=${E2E_WINDOW_MS / 1000}s`],
    ownKey: null,
    packetSize: 508,
    exact: false,
    // Keys as Go's %.0f of q×100 (round half to even): 1 → 100, 0.995 → 100, 0.985 → 98, 0.125 → 12.
    e2e: { flag: '0.125,1.0,0.985,0.995', config: [1, 0.995, 0.985, 0.125] },
    excludeEphemeral: true,
    longNames: false,
    recreate: false,
  },
  {
    label: 'empty prefix, 128-byte packets, no mem stats',
    flags: ['--broadcast-address=127.0.0.1', '--statsd-prefix=', '--statsd-udp-packet-size=128', '--statsd-mem-stats=false'],
    ownKey: null,
    packetSize: 128,
    exact: true,
    e2e: null,
    excludeEphemeral: false,
    longNames: true,
    recreate: true,
  },
  {
    label: 'IPv6 broadcast address',
    flags: ['--broadcast-address=::1', '--broadcast-http-port=4151', '--statsd-prefix=%s.', '--statsd-mem-stats=false', '--statsd-udp-packet-size=256'],
    ownKey: null,
    packetSize: 256,
    exact: true,
    e2e: null,
    excludeEphemeral: false,
    longNames: false,
    recreate: false,
  },
];

/** Lines only one side has, or the two orders when only the order differs. */
function lineDiff(a: string, b: string): string {
  const al = a.split('\n');
  const bl = b.split('\n');
  const as = new Set(al);
  const bs = new Set(bl);
  const onlyA = al.filter((l) => !bs.has(l));
  const onlyB = bl.filter((l) => !as.has(l));
  if (onlyA.length === 0 && onlyB.length === 0) return `same lines, another order\n  ours: ${al.join('\n        ')}\n  go:   ${bl.join('\n        ')}`;
  return [...onlyA.map((l) => `ours only: ${l}`), ...onlyB.map((l) => `go only:   ${l}`)].join('\n');
}

const tally = new Tally(values.show, (a, b) => lineDiff(a, b).replaceAll('\n', '\n  '));
const report = (name: string, a: string, b: string): void => tally.report(name, a, b);

async function post(d: Daemon, path: string, body?: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${d.httpPort}${path}`, { method: 'POST', ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${d.name} POST ${path}: ${res.status} ${text}`);
}

/** /stats' topics (not through getStats, which expects our `native` field). */
async function statsJson(d: Daemon): Promise<TopicStatsJson[]> {
  const res = await fetch(`http://127.0.0.1:${d.httpPort}/stats?format=json&include_clients=false&include_mem=false`);
  return ((await res.json()) as StatsJson).topics ?? [];
}

async function statsText(d: Daemon): Promise<string> {
  return (await fetch(`http://127.0.0.1:${d.httpPort}/stats?include_clients=false&include_mem=false`)).text();
}

/** An e2e object with its key order kept and each percentile value reduced to 0 or >0. */
function e2eShape(e: E2eJson): string {
  const masked = Object.fromEntries(Object.entries(e).map(([k, v]) => [
    k,
    k === 'percentiles' && Array.isArray(v) ? (v as Record<string, number>[]).map((p) => Object.fromEntries(Object.entries(p).map(([pk, pv]) => [pk, pk === 'value' ? (pv === 0 ? 0 : '>0') : pv]))) : v,
  ]));
  return JSON.stringify(masked);
}

function e2eLines(topics: TopicStatsJson[]): string {
  const out: string[] = [];
  for (const t of topics) {
    out.push(`${t.topic_name}: ${e2eShape(t.e2e_processing_latency)}`);
    for (const c of t.channels) out.push(`${t.topic_name}/${c.channel_name}: ${e2eShape(c.e2e_processing_latency)}`);
  }
  return out.join('\n');
}

/** The text /stats e2e% column of every topic and channel line, each timing reduced to 0 or <t>. */
function e2eText(text: string): string {
  return text
    .split('\n')
    .filter((l) => /^\s*(\*P )?\[/.test(l) && l.includes('e2e%:'))
    .map((l) => {
      const name = /\[\s*([^\]\s]+)\s*\]/.exec(l)?.[1] ?? '?';
      const col = l.slice(l.indexOf('e2e%:') + 5).trim();
      return `${name}: ${col === '' ? '(empty)' : col.split(', ').map((v) => (v === '0.0ns' ? v : '<t>')).join(', ')}`;
    })
    .join('\n');
}

function stateLines(topics: TopicStatsJson[]): string {
  const out: string[] = [];
  for (const t of topics) {
    out.push(`${t.topic_name}: depth=${t.depth} be=${t.backend_depth} msgs=${t.message_count} bytes=${t.message_bytes} paused=${t.paused}`);
    for (const c of t.channels) {
      out.push(`${t.topic_name}/${c.channel_name}: depth=${c.depth} be=${c.backend_depth} inflt=${c.in_flight_count} def=${c.deferred_count} msgs=${c.message_count} req=${c.requeue_count} timeout=${c.timeout_count} clients=${c.client_count} paused=${c.paused}`);
    }
  }
  return out.join('\n');
}

/** What a side keeps open through the run, and when its last FIN went out. */
interface Setup {
  conns: WireConn[];
  lastFin: number;
}

/** Gives `d` the run's state, the same steps in the same order on both sides. */
async function setup(d: Daemon, run: Run): Promise<Setup> {
  const conns: WireConn[] = [];
  const sub = async (topic: string, channel: string, identify?: object): Promise<WireConn> => {
    const c = await WireConn.open(d.tcpPort);
    conns.push(c);
    if (identify !== undefined) await c.identify(identify);
    await c.sub(topic, channel);
    return c;
  };
  await post(d, '/channel/create?topic=alpha&channel=a1');
  await post(d, '/channel/create?topic=alpha&channel=a2');
  await post(d, '/channel/pause?topic=alpha&channel=a2');
  // An ephemeral channel with a client (kept) and one whose only client leaves (deleted).
  await sub('alpha', 'e#ephemeral');
  const leaving = await sub('alpha', 'gone#ephemeral');
  leaving.close();
  conns.splice(conns.indexOf(leaving), 1);
  // A paused topic holds what is published to it.
  await post(d, '/topic/create?topic=paused_t');
  await post(d, '/channel/create?topic=paused_t&channel=pc');
  await post(d, '/topic/pause?topic=paused_t');
  for (const b of ['p1', 'p2', 'p3']) await post(d, '/pub?topic=paused_t', b);
  // A topic without channels keeps its messages.
  await post(d, '/pub?topic=lonely', 'l1');
  await post(d, '/pub?topic=lonely', 'l-two');
  // A deleted channel, and a deleted topic.
  await post(d, '/topic/create?topic=gone');
  await post(d, '/channel/create?topic=gone&channel=keep');
  await post(d, '/channel/create?topic=gone&channel=del');
  await post(d, '/mpub?topic=gone', 'g1\ng22');
  await post(d, '/channel/delete?topic=gone&channel=del');
  // A deferred publish counts in message_count and deferred_count.
  await post(d, '/pub?topic=gone&defer=60000', 'deferred');
  // Dots and dashes in a name go into the key as they are.
  await post(d, '/pub?topic=v1.dot-ted_t', 'dot');
  await post(d, '/pub?topic=dropped', 'dd');
  await post(d, '/topic/delete?topic=dropped');
  if (run.longNames) {
    await post(d, `/topic/create?topic=${LONG_TOPIC}`);
    await post(d, `/channel/create?topic=${LONG_TOPIC}&channel=${LONG_CHANNEL}`);
    await post(d, `/pub?topic=${LONG_TOPIC}`, 'long');
  }
  // Ten messages on alpha: a1 consumes them, a2 (paused) and e#ephemeral keep them.
  await post(d, '/mpub?topic=alpha', Array.from({ length: 10 }, (_, i) => `alpha-${i}`).join('\n'));
  const consumer = await sub('alpha', 'a1', { msg_timeout: MSG_TIMEOUT_MS });
  consumer.cmd('RDY 10');
  const msgs: WireMessage[] = [];
  for (let i = 0; i < 10; i++) msgs.push(await consumer.readMessage());
  consumer.cmd('RDY 0');
  for (const m of msgs.slice(0, 6)) consumer.cmd(`FIN ${m.id}`);
  let lastFin = Date.now();
  consumer.cmd(`REQ ${msgs[6]!.id} 0`);
  consumer.cmd(`REQ ${msgs[7]!.id} 60000`);
  // msgs[8] and msgs[9] are left to time out.
  // An ephemeral topic (kept: its channel is not ephemeral) with one message FINed.
  const eph = await sub('t#ephemeral', 'c');
  eph.cmd('RDY 1');
  await post(d, '/pub?topic=t%23ephemeral', 'eph');
  const em = await eph.readMessage();
  eph.cmd(`FIN ${em.id}`);
  lastFin = Date.now();
  const finishers = [consumer, eph];
  if (run.e2e !== null) {
    // 600 samples: more than a perks stream buffers before it compresses (500).
    await post(d, '/mpub?topic=many', Array.from({ length: 600 }, (_, i) => `m${i}`).join('\n'));
    const many = await sub('many', 'm');
    many.cmd('RDY 100');
    for (let i = 0; i < 600; i++) many.cmd(`FIN ${(await many.readMessage()).id}`);
    lastFin = Date.now();
    finishers.push(many);
  }
  // Every FIN and REQ above has been handled once a later command is answered: a FIN of an
  // unknown ID answers E_FIN_FAILED (not fatal).
  for (const c of finishers) {
    c.cmd('FIN 0000000000000000');
    const f = await c.readFrame();
    if (f.type !== 1) throw new Error(`${d.name}: expected E_FIN_FAILED, got ${f.data.toString()}`);
  }
  return { conns, lastFin };
}

/** The pushes' lines rendered for comparison: names with the own port masked, values masked where they must differ. */
function render(lines: Line[], norm: (n: string) => string, withValues: boolean): string {
  return lines.map((l) => `${norm(l.name)}${withValues ? `:${maskReason(l.name) ?? l.value}` : ''}|${l.type}`).join('\n');
}

/** The packing rules a side's push keeps (or the first one it breaks). */
function packingRules(p: Push, size: number): string {
  const problems: string[] = [];
  p.datagrams.forEach((d, i) => {
    const s = d.toString('latin1');
    const lines = s.split('\n').slice(0, -1);
    if (!s.endsWith('\n')) problems.push(`datagram ${i} does not end with a newline`);
    if (d.length > size && lines.length !== 1) problems.push(`datagram ${i} is ${d.length} bytes with ${lines.length} lines`);
    const next = p.datagrams[i + 1];
    if (next !== undefined) {
      const first = next.toString('latin1').split('\n')[0]!;
      if (d.length + first.length + 1 <= size) problems.push(`datagram ${i} (${d.length} bytes) had room for the next line (${first.length + 1} bytes)`);
    }
  });
  return problems.length === 0 ? `every datagram at most ${size} bytes or a single longer line; whole lines; packed greedily` : problems.join('\n');
}

async function runPair(run: Run): Promise<void> {
  const sinks = [await Sink.open(), await Sink.open()] as const;
  const dirs = [mkdtempSync(join(tmpdir(), 'go-diff-statsd-ours-')), mkdtempSync(join(tmpdir(), 'go-diff-statsd-go-'))];
  const e2e = (i: number): string[] => {
    if (run.e2e === null) return [];
    if (i === 0) return [`--e2e-processing-latency-percentile=${run.e2e.flag}`];
    const cfg = join(dirs[i]!, 'e2e.cfg');
    // TOML floats written as floats: go-options panics on an integer (1) in a float list.
    writeFileSync(cfg, `e2e_processing_latency_percentiles = [${run.e2e.config.map((q) => (Number.isInteger(q) ? q.toFixed(1) : String(q))).join(', ')}]\n`);
    return [`--config=${cfg}`];
  };
  const flags = (i: number): string[] => [`--data-path=${dirs[i]}`, `--statsd-address=127.0.0.1:${sinks[i]!.port}`, `--statsd-interval=${INTERVAL_MS / 1000}s`, ...e2e(i), ...run.flags];
  // The first topic goes in as soon as a daemon answers: Go panics on a push with no lines.
  const starting = [
    startDaemon('ours', argvOf(null, 'nsqd'), flags(0)),
    startDaemon('go', argvOf(values.go, 'nsqd'), flags(1)),
  ].map(async (p) => {
    const d = await p;
    await post(d, '/topic/create?topic=alpha');
    return d;
  });
  const settled = await Promise.allSettled(starting);
  const started = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const conns: WireConn[] = [];
  const tag = (what: string): string => `[${run.label}] ${what}`;
  try {
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    const [ours, go] = started as [Daemon, Daemon];
    const setups = await Promise.all([setup(ours, run), setup(go, run)]);
    for (const s of setups) conns.push(...s.conns);
    // Settled: both timeouts counted, the deferred message still deferred, the leaving ephemeral channel gone.
    const still = async (d: Daemon): Promise<boolean> => {
      const topics = await statsJson(d);
      const alpha = topics.find((t) => t.topic_name === 'alpha');
      const a1 = alpha?.channels.find((c) => c.channel_name === 'a1');
      return a1 !== undefined && a1.timeout_count === 2 && a1.in_flight_count === 0 && alpha!.channels.every((c) => c.channel_name !== 'gone#ephemeral');
    };
    const ok = await waitUntil(async () => (await still(ours)) && (await still(go)), 10_000);
    if (!ok) process.stdout.write(`note: ${tag('the state did not settle within 10 s on both sides')}\n`);
    const settledAt = Date.now();
    const docs = await Promise.all([statsJson(ours), statsJson(go)]);
    const texts = await Promise.all([statsText(ours), statsText(go)]);
    report(tag('/stats state both were given'), stateLines(docs[0]), stateLines(docs[1]));
    report(tag('/stats JSON e2e_processing_latency (values as 0 or >0)'), e2eLines(docs[0]), e2eLines(docs[1]));
    report(tag('/stats text e2e% column (timings as <t>)'), e2eText(texts[0]), e2eText(texts[1]));

    // Two pushes begun after the state settled; the second covers a still interval, so its counters are 0.
    const got = await waitUntil(() => sinks.every((s) => s.after(settledAt).length >= 2), 4 * INTERVAL_MS + 2000);
    await sleep(INTERVAL_MS - 1000 + 500);
    if (!got) {
      report(tag('pushes after the state settled'), `${sinks[0].after(settledAt).length}`, `${sinks[1].after(settledAt).length}`);
    } else {
      const norms = [ours, go].map((d) => {
        const key = run.ownKey?.(d);
        return (n: string): string => (key === undefined ? n : n.replaceAll(key[0], key[1]));
      });
      const pushes = sinks.map((s) => s.after(settledAt)[1]!);
      const lines = pushes.map(parseLines);
      report(tag('names and types of a push, in order'), render(lines[0]!, norms[0]!, false), render(lines[1]!, norms[1]!, false));
      report(tag('values of a push after a still interval (masked: mem.* <runtime>, e2e <ns>)'), render(lines[0]!, norms[0]!, true), render(lines[1]!, norms[1]!, true));
      // Counter totals over every push up to that one, for its counters.
      const totals = sinks.map((s, i) => {
        const upTo = s.pushes.slice(0, s.pushes.indexOf(pushes[i]!) + 1);
        const sum = new Map<string, number>();
        for (const p of upTo) for (const l of parseLines(p)) if (l.type === 'c') sum.set(l.name, (sum.get(l.name) ?? 0) + l.value);
        return lines[i]!.filter((l) => l.type === 'c').map((l) => `${norms[i]!(l.name)} total=${maskReason(l.name) ?? sum.get(l.name)}`).join('\n');
      });
      report(tag('counters summed over every push since start'), totals[0]!, totals[1]!);
      if (run.exact) {
        report(tag(`datagrams of a push, byte for byte (packet size ${run.packetSize})`), pushes[0]!.datagrams.map((d) => `[${d.length}] ${JSON.stringify(d.toString('latin1'))}`).join('\n'), pushes[1]!.datagrams.map((d) => `[${d.length}] ${JSON.stringify(d.toString('latin1'))}`).join('\n'));
      }
      report(tag(`packing rules (packet size ${run.packetSize})`), packingRules(pushes[0]!, run.packetSize), packingRules(pushes[1]!, run.packetSize));
    }

    if (run.recreate) {
      // Right after a push has read the stats (its first datagram is here), gone/keep
      // (message_count 2) and lonely (2 messages, 7 bytes) are deleted and re-created, lonely
      // with one 2-byte message; the next push diffs against the old totals.
      const recreated = await Promise.all([ours, go].map(async (d, i) => {
        const sink = sinks[i]!;
        const before = sink.pushes.length;
        if (!(await waitUntil(() => sink.pushes.length > before, 2 * INTERVAL_MS + 1000))) return null;
        const at = Date.now();
        await post(d, '/channel/delete?topic=gone&channel=keep');
        await post(d, '/channel/create?topic=gone&channel=keep');
        await post(d, '/topic/delete?topic=lonely');
        await post(d, '/pub?topic=lonely', 'l3');
        const took = Date.now() - at;
        if (!(await waitUntil(() => sink.after(at).length >= 1, 2 * INTERVAL_MS + 1000))) return null;
        await sleep(INTERVAL_MS - 1000 + 500);
        return { push: sink.after(at)[0]!, took };
      }));
      const shown = recreated.map((r) => (r === null ? 'no push' : r.took > INTERVAL_MS / 2 ? `re-creating took ${r.took} ms` : parseLines(r.push).filter((l) => /\.(gone\.channel\.keep|lonely)\./.test(l.name)).map((l) => l.raw).join('\n')));
      report(tag('the push after a channel and a topic were deleted and re-created'), shown[0]!, shown[1]!);
    }

    if (run.e2e !== null) {
      const lastFin = Math.max(...setups.map((s) => s.lastFin));
      await sleep(Math.max(0, lastFin + E2E_WINDOW_MS + 500 - Date.now()));
      const later = await Promise.all([statsJson(ours), statsJson(go)]);
      report(tag('/stats JSON e2e_processing_latency once the window has passed (nothing left)'), e2eLines(later[0]), e2eLines(later[1]));
    }
    const alive = started.map((d) => (d.child.exitCode === null && d.child.signalCode === null ? 'running' : `exited ${d.child.exitCode ?? d.child.signalCode}:\n${d.log.split('\n').slice(-12).join('\n')}`));
    report(tag('daemon still running at the end'), alive[0]!, alive[1]!);
  } finally {
    for (const c of conns) c.close();
    for (const d of started) await stopDaemon(d);
    for (const s of sinks) s.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}

for (const run of RUNS) await runPair(run);
tally.end();
