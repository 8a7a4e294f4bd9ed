// statsd push against a real UDP receiver and an in-process nsqd fed over TCP (spec nsqd.md §8):
// exact lines, counters as deltas, prefix, datagram packing, ephemeral exclusion, mem stats.
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Logger } from '../../src/internal/log.js';
import { statsDocument } from '../../src/nsqd/http.js';
import { StatsdPusher, type StatsdOptions, type StatsdSource } from '../../src/nsqd/statsd.js';
import { startNsqd, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { WireConn, type WireMessage } from '../helpers/wire.js';

/** A statsd stand-in: keeps every datagram it receives. */
class Receiver {
  readonly datagrams: Buffer[] = [];
  private constructor(readonly socket: UdpSocket) {
    socket.on('message', (m) => this.datagrams.push(m));
  }

  static async open(): Promise<Receiver> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    return new Receiver(s);
  }

  get address(): string {
    return `127.0.0.1:${this.socket.address().port}`;
  }

  /** Every received line, in arrival order, without the `\n`. */
  lines(): string[] {
    return this.datagrams.flatMap((d) => {
      const text = d.toString();
      assert.ok(text.endsWith('\n'), `datagram must end with a newline: ${JSON.stringify(text)}`);
      return text.slice(0, -1).split('\n');
    });
  }

  clear(): void {
    this.datagrams.length = 0;
  }

  close(): void {
    this.socket.close();
  }
}

/** An expected line: exact text, or a pattern for values that vary (latencies, memory). */
type Want = string | RegExp;

interface Setup {
  d: TestNsqd;
  rx: Receiver;
  /** `nsq.127_0_0_1_<http port>.` */
  p: string;
  conns: WireConn[];
  source(over?: Partial<StatsdOptions>, logger?: Logger): StatsdSource & { opts: StatsdOptions };
  done(): Promise<void>;
}

async function setup(): Promise<Setup> {
  const rx = await Receiver.open();
  // The daemon's own pusher (started by Nsqd.start) goes to a sink of its own, so the pushers
  // these tests drive are the only senders to rx.
  const sink = await Receiver.open();
  const d = await startNsqd({
    statsdAddress: sink.address,
    statsdInterval: 1000,
    statsdPrefix: 'nsq.%s',
    broadcastAddress: '127.0.0.1',
    e2eProcessingLatencyPercentiles: [1, 0.99, 0.5],
  });
  const conns: WireConn[] = [];
  return {
    d,
    rx,
    p: `nsq.127_0_0_1_${d.httpPort}.`,
    conns,
    // A view of the daemon with option overrides, pointed at rx.
    source(over = {}, logger = d.nsqd.logger) {
      const opts: StatsdOptions = { ...d.nsqd.opts, statsdAddress: rx.address, ...over };
      return {
        opts,
        logger,
        get httpPort() {
          return d.nsqd.httpPort;
        },
        statsDocument: () => statsDocument(d.nsqd, '', '', false, opts.statsdMemStats),
      };
    },
    async done() {
      for (const c of conns) c.close();
      rx.close();
      sink.close();
      await d.close();
    },
  };
}

async function open(s: Setup): Promise<WireConn> {
  const c = await WireConn.open(s.d.tcpPort);
  s.conns.push(c);
  return c;
}

function channelOf(s: Setup, topic: string, channel: string) {
  const t = statsDocument(s.d.nsqd, '', '', false, false).topics?.find((x) => x.topic_name === topic);
  return t?.channels.find((c) => c.channel_name === channel);
}

/**
 * The standard workload: consumer on st/ch takes 5 two-byte messages, FINs 3, defers 1 (REQ 60 s)
 * and keeps 1 in flight, then RDY 0 so later messages stay queued.
 */
async function workload(s: Setup): Promise<WireConn> {
  const consumer = await open(s);
  await consumer.sub('st', 'ch');
  const producer = await open(s);
  for (let i = 0; i < 5; i++) await producer.pub('st', `m${i}`);
  consumer.cmd('RDY 5');
  const msgs: WireMessage[] = [];
  for (let i = 0; i < 5; i++) msgs.push(await consumer.readMessage());
  for (const m of msgs.slice(0, 3)) consumer.cmd(`FIN ${m.id}`);
  consumer.cmd(`REQ ${msgs[3]!.id} 60000`);
  consumer.cmd('RDY 0');
  await waitFor(() => {
    const c = channelOf(s, 'st', 'ch');
    return c !== undefined && c.in_flight_count === 1 && c.deferred_count === 1 && c.message_count === 5;
  }, 5000, 'FIN/REQ to settle');
  return producer;
}

/** Push once and return the lines the receiver got, waiting until at least `count` arrived. */
async function pushLines(s: Setup, pusher: StatsdPusher, count: number): Promise<string[]> {
  s.rx.clear();
  await pusher.pushOnce();
  try {
    await waitFor(() => s.rx.lines().length >= count, 5000, `${count} statsd lines`);
  } catch (err) {
    throw new Error(`${(err as Error).message}; got:\n${s.rx.lines().join('\n')}`);
  }
  return s.rx.lines();
}

function assertLines(got: string[], want: Want[]): void {
  assert.is(got.length, want.length, `line count; got:\n${got.join('\n')}`);
  want.forEach((w, i) => {
    if (typeof w === 'string') assert.is(got[i], w, `line ${i}`);
    else assert.ok(w.test(got[i]!), `line ${i}: ${got[i]} !~ ${w}`);
  });
}

const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A gauge with any non-negative integer value. */
const anyGauge = (name: string): RegExp => new RegExp(`^${esc(name)}:\\d+\\|g$`);

function e2e(p: string, key: string): RegExp[] {
  return ['100', '99', '50'].map((q) => anyGauge(`${p}${key}.e2e_processing_latency_${q}`));
}

/** The st/ch lines (no mem) for given counter deltas and gauges. */
function stLines(
  p: string,
  v: { msgs: number; bytes: number; chMsgs: number; depth: number; inFlight: number; deferred: number; requeues: number; timeouts: number; clients: number },
): Want[] {
  return [
    `${p}topic.st.message_count:${v.msgs}|c`,
    `${p}topic.st.message_bytes:${v.bytes}|c`,
    `${p}topic.st.depth:0|g`,
    `${p}topic.st.backend_depth:0|g`,
    ...e2e(p, 'topic.st'),
    `${p}topic.st.channel.ch.message_count:${v.chMsgs}|c`,
    `${p}topic.st.channel.ch.depth:${v.depth}|g`,
    `${p}topic.st.channel.ch.backend_depth:0|g`,
    `${p}topic.st.channel.ch.in_flight_count:${v.inFlight}|g`,
    `${p}topic.st.channel.ch.deferred_count:${v.deferred}|g`,
    `${p}topic.st.channel.ch.requeue_count:${v.requeues}|c`,
    `${p}topic.st.channel.ch.timeout_count:${v.timeouts}|c`,
    `${p}topic.st.channel.ch.clients:${v.clients}|g`,
    ...e2e(p, 'topic.st.channel.ch'),
  ];
}

const MEM_GAUGES = ['heap_objects', 'heap_idle_bytes', 'heap_in_use_bytes', 'heap_released_bytes', 'gc_pause_usec_100', 'gc_pause_usec_99', 'gc_pause_usec_95', 'next_gc_bytes'];

function memLines(p: string): Want[] {
  return [...MEM_GAUGES.map((g) => anyGauge(`${p}mem.${g}`)), new RegExp(`^${esc(p)}mem\\.gc_runs:\\d+\\|c$`)];
}

// ---------------------------------------------------------------------------------------------

test('§8 first push: totals as counters, gauges, e2e keys, prefix nsq.127_0_0_1_<port>.', async () => {
  const s = await setup();
  try {
    await workload(s);
    const pusher = new StatsdPusher(s.source({ statsdMemStats: false }));
    const got = await pushLines(s, pusher, 18);
    assertLines(got, stLines(s.p, { msgs: 5, bytes: 10, chMsgs: 5, depth: 0, inFlight: 1, deferred: 1, requeues: 1, timeouts: 0, clients: 1 }));
  } finally {
    await s.done();
  }
});

test('§8 later pushes send counter deltas: 3 more messages → message_count:3|c, unchanged → 0|c', async () => {
  const s = await setup();
  try {
    const producer = await workload(s);
    const pusher = new StatsdPusher(s.source({ statsdMemStats: false }));
    await pushLines(s, pusher, 18);

    await producer.mpub('st', ['aaa', 'bbb', 'ccc']);
    await waitFor(() => channelOf(s, 'st', 'ch')?.depth === 3, 5000, 'channel depth 3');
    const second = await pushLines(s, pusher, 18);
    assertLines(second, stLines(s.p, { msgs: 3, bytes: 9, chMsgs: 3, depth: 3, inFlight: 1, deferred: 1, requeues: 0, timeouts: 0, clients: 1 }));

    const third = await pushLines(s, pusher, 18);
    assertLines(third, stLines(s.p, { msgs: 0, bytes: 0, chMsgs: 0, depth: 3, inFlight: 1, deferred: 1, requeues: 0, timeouts: 0, clients: 1 }));
  } finally {
    await s.done();
  }
});

test('§8.1 datagrams hold whole lines, stay within --statsd-udp-packet-size and are packed greedily', async () => {
  const s = await setup();
  try {
    await workload(s);
    for (const size of [120, 508]) {
      const pusher = new StatsdPusher(s.source({ statsdUdpPacketSize: size }));
      const got = await pushLines(s, pusher, 18 + 9);
      assert.is(got.length, 18 + 9);
      const grams = s.rx.datagrams.map((d) => d.toString());
      if (size === 120) assert.ok(grams.length > 5, `expected many datagrams, got ${grams.length}`);
      grams.forEach((g, i) => {
        assert.ok(Buffer.byteLength(g) <= size, `datagram ${i} is ${Buffer.byteLength(g)} bytes > ${size}`);
        assert.ok(g.endsWith('\n'));
        // Greedy: the next datagram's first line would not have fitted into this one.
        const next = grams[i + 1];
        if (next !== undefined) assert.ok(Buffer.byteLength(g) + next.indexOf('\n') + 1 > size, `datagram ${i} had room for the next line`);
      });
    }
  } finally {
    await s.done();
  }
});

test('§8.2 mem.* gauges and the mem.gc_runs counter follow --statsd-mem-stats', async () => {
  const s = await setup();
  try {
    await workload(s);
    const on = new StatsdPusher(s.source({ statsdMemStats: true }));
    const got = await pushLines(s, on, 27);
    assertLines(got, [...stLines(s.p, { msgs: 5, bytes: 10, chMsgs: 5, depth: 0, inFlight: 1, deferred: 1, requeues: 1, timeouts: 0, clients: 1 }), ...memLines(s.p)]);

    const off = new StatsdPusher(s.source({ statsdMemStats: false }));
    const none = await pushLines(s, off, 18);
    assert.is(none.length, 18);
    assert.ok(!none.some((l) => l.includes('.mem.')), none.join('\n'));
  } finally {
    await s.done();
  }
});

test('§8.2 ephemeral topics and channels are sent verbatim, or skipped with --statsd-exclude-ephemeral', async () => {
  const s = await setup();
  try {
    await workload(s);
    const eph = await open(s);
    await eph.sub('st', 'c#ephemeral');
    const producer = await open(s);
    await producer.pub('e#ephemeral', 'x');
    await waitFor(() => channelOf(s, 'st', 'c#ephemeral') !== undefined, 5000, 'ephemeral channel');

    // st/ch (18) + e#ephemeral (4; no channels, so no e2e percentiles, as in Go) + st/c#ephemeral (8 + 3 e2e).
    const all = await pushLines(s, new StatsdPusher(s.source({ statsdMemStats: false })), 18 + 4 + 8 + 3);
    assert.is(all.length, 33);
    const p = s.p;
    for (const want of [`${p}topic.e#ephemeral.message_count:1|c`, `${p}topic.e#ephemeral.message_bytes:1|c`, `${p}topic.e#ephemeral.depth:1|g`, `${p}topic.st.channel.c#ephemeral.clients:1|g`, `${p}topic.st.channel.c#ephemeral.message_count:0|c`]) {
      assert.ok(all.includes(want), `missing ${want} in\n${all.join('\n')}`);
    }

    const excluded = await pushLines(s, new StatsdPusher(s.source({ statsdMemStats: false, statsdExcludeEphemeral: true })), 18);
    assertLines(excluded, stLines(p, { msgs: 5, bytes: 10, chMsgs: 5, depth: 0, inFlight: 1, deferred: 1, requeues: 1, timeouts: 0, clients: 1 }));
  } finally {
    await s.done();
  }
});

test('§8.1 a failed dial is logged, not thrown, and keeps the old totals for the next push', async () => {
  const s = await setup();
  try {
    await workload(s);
    const logs: string[] = [];
    const logger = new Logger({ prefix: '[nsqd] ', level: 1, write: (l) => void logs.push(l) });
    const src = s.source({ statsdMemStats: false, statsdAddress: 'no-port-here' }, logger);
    const pusher = new StatsdPusher(src);
    await pusher.pushOnce();
    assert.ok(logs.some((l) => l.includes('ERROR: failed to create UDP socket to statsd(no-port-here)')), logs.join(''));

    src.opts.statsdAddress = s.rx.address;
    const got = await pushLines(s, pusher, 18);
    assert.ok(got.includes(`${s.p}topic.st.message_count:5|c`), got.join('\n'));
    assert.ok(logs.some((l) => l.includes(`INFO: STATSD: pushing stats to ${s.rx.address}`)), logs.join(''));
  } finally {
    await s.done();
  }
});

test('nsqd started with --statsd-address pushes on its own every --statsd-interval', async () => {
  const rx = await Receiver.open();
  const d = await startNsqd({ statsdAddress: rx.address, statsdInterval: 1000, broadcastAddress: '127.0.0.1' });
  try {
    const c = await WireConn.open(d.tcpPort);
    await c.pub('selfpush', 'abc');
    c.close();
    await waitFor(() => rx.lines().some((l) => l === `nsq.127_0_0_1_${d.httpPort}.topic.selfpush.message_count:1|c`), 10_000, 'a push from the daemon');
  } finally {
    rx.close();
    await d.close();
  }
});

test('§8.1 start() pushes every interval; datagrams are spread and stop() flushes the rest at once', async () => {
  const s = await setup();
  try {
    await workload(s);
    // The interval loop (1 s, spread window 0): the first push arrives by itself.
    const looping = new StatsdPusher(s.source({ statsdMemStats: false }));
    s.rx.clear();
    looping.start();
    try {
      await waitFor(() => s.rx.lines().length >= 18, 5000, 'a push from the interval loop');
    } finally {
      looping.stop();
    }
    assert.ok(s.rx.lines().includes(`${s.p}topic.st.message_count:5|c`));

    // A 1.3 s interval spreads the datagrams over 300 ms; pushOnce resolves once all are sent.
    const spread = new StatsdPusher(s.source({ statsdMemStats: false, statsdInterval: 1300, statsdUdpPacketSize: 120 }));
    const got = await pushLines(s, spread, 18);
    assert.is(got.length, 18);
    assert.ok(s.rx.datagrams.length > 1);

    // A 60 s interval would take 59 s to send everything; stop() skips the waits.
    const slow = new StatsdPusher(s.source({ statsdMemStats: false, statsdInterval: 60_000, statsdUdpPacketSize: 120 }));
    s.rx.clear();
    const pushing = slow.pushOnce();
    await waitFor(() => s.rx.datagrams.length >= 1, 5000, 'the first spread datagram');
    slow.stop();
    await pushing;
    await waitFor(() => s.rx.lines().length >= 18, 5000, 'the rest after stop()');
    assert.is(s.rx.lines().length, 18);
  } finally {
    await s.done();
  }
});

test.run();
