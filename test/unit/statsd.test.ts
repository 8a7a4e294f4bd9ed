// statsd line rendering, host key, prefix and datagram packing (spec nsqd.md §8), without sockets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatFixed0, hostKey, packLines, prefix, quantileKey, statsdLines, type StatsdLineOptions } from '../../src/nsqd/statsd.js';
import type { ChannelStats, MemStats, StatsDocument, TopicStats } from '../../src/nsqd/stats.js';

function channel(name: string, over: Partial<ChannelStats> = {}): ChannelStats {
  return {
    channel_name: name,
    depth: 0,
    backend_depth: 0,
    in_flight_count: 0,
    deferred_count: 0,
    message_count: 0,
    requeue_count: 0,
    timeout_count: 0,
    client_count: 0,
    clients: null,
    paused: false,
    e2e_processing_latency: { count: 0, percentiles: null },
    ...over,
  };
}

function topic(name: string, channels: ChannelStats[], over: Partial<TopicStats> = {}): TopicStats {
  return {
    topic_name: name,
    channels,
    depth: 0,
    backend_depth: 0,
    message_count: 0,
    message_bytes: 0,
    paused: false,
    e2e_processing_latency: { count: 0, percentiles: null },
    ...over,
  };
}

const MEM: MemStats = {
  heap_objects: 1,
  heap_idle_bytes: 2,
  heap_in_use_bytes: 3,
  heap_released_bytes: 4,
  gc_pause_usec_100: 5,
  gc_pause_usec_99: 6,
  gc_pause_usec_95: 7,
  next_gc_bytes: 8,
  gc_total_runs: 10,
};

function doc(topics: TopicStats[] | null, memory?: MemStats): StatsDocument {
  const d: StatsDocument = { version: '1.3.0', health: 'OK', start_time: 0, topics, producers: null };
  if (memory !== undefined) d.memory = memory;
  return d;
}

const OPTS: StatsdLineOptions = { prefix: 'nsq.h_1.', memStats: false, excludeEphemeral: false };

// ---------------------------------------------------------------------------------------------
// %.0f of quantile × 100

test('quantileKey formats quantile×100 like Go %.0f, exact ties to even', () => {
  const cases: [number, string][] = [
    [1, '100'],
    [0.99, '99'],
    [0.95, '95'],
    [0.5, '50'],
    [0.995, '100'], // 99.5 → even 100
    [0.999, '100'], // the §8.2 collision quirk
    [0.985, '98'], // 98.5 → even 98 (JS toFixed would say 99)
    [0.125, '12'], // 12.5 → 12
    [0.015, '2'], // 1.5 → 2
    [0.025, '2'], // 2.5 → 2
    [0.045, '4'], // 4.5 → 4
    [0.005, '0'], // 0.5 → 0
    [0.001, '0'],
    [0.75, '75'],
    [0.994, '99'],
    [0.996, '100'],
  ];
  for (const [q, want] of cases) assert.is(quantileKey(q), want, `quantile ${q}`);
});

test('formatFixed0 rounds non-ties to nearest and ties to even', () => {
  assert.is(formatFixed0(0), '0');
  assert.is(formatFixed0(0.4999999999999999), '0');
  assert.is(formatFixed0(0.5000000000000001), '1');
  assert.is(formatFixed0(3.5), '4');
  assert.is(formatFixed0(4.5), '4');
  assert.is(formatFixed0(-2.5), '-2');
  assert.is(formatFixed0(-3.5), '-4');
  assert.is(formatFixed0(-0.4), '-0');
  assert.is(formatFixed0(123456789.5), '123456790');
});

// ---------------------------------------------------------------------------------------------
// host key and prefix

test('hostKey replaces . and : with _; IPv6 is bracketed first like net.JoinHostPort', () => {
  assert.is(hostKey('127.0.0.1', 4151), '127_0_0_1_4151');
  assert.is(hostKey('myhost.example.com', 4151), 'myhost_example_com_4151');
  assert.is(hostKey('localhost', 80), 'localhost_80');
  assert.is(hostKey('::1', 4151), '[__1]_4151');
});

test('prefix substitutes every %s and ensures a trailing dot; empty stays empty', () => {
  assert.is(prefix('nsq.%s', 'h_4151'), 'nsq.h_4151.');
  assert.is(prefix('nsq.%s.', 'h_4151'), 'nsq.h_4151.');
  assert.is(prefix('a.%s.b.%s', 'k'), 'a.k.b.k.');
  assert.is(prefix('static', 'k'), 'static.');
  assert.is(prefix('', 'k'), '');
});

// ---------------------------------------------------------------------------------------------
// packing

test('packLines never splits a line and keeps datagrams within maxBytes', () => {
  const lines = ['a'.repeat(9), 'b'.repeat(9), 'c'.repeat(9), 'd'.repeat(4)]; // 10, 10, 10, 5 bytes with \n
  const out = packLines(lines, 20).map((b) => b.toString());
  assert.equal(out, [`${'a'.repeat(9)}\n${'b'.repeat(9)}\n`, `${'c'.repeat(9)}\n${'d'.repeat(4)}\n`]);
  const tight = packLines(lines, 19).map((b) => b.toString());
  assert.equal(tight, [`${'a'.repeat(9)}\n`, `${'b'.repeat(9)}\n`, `${'c'.repeat(9)}\n${'d'.repeat(4)}\n`]);
});

test('packLines: a line longer than maxBytes goes alone; empty input gives no datagrams', () => {
  const out = packLines(['x', 'y'.repeat(30), 'z'], 10).map((b) => b.toString());
  assert.equal(out, ['x\n', `${'y'.repeat(30)}\n`, 'z\n']);
  assert.equal(packLines([], 508), []);
});

test('packLines counts bytes, not characters, and treats maxBytes <= 0 as 4096', () => {
  const out = packLines(['é'.repeat(4), 'é'.repeat(4)], 10); // 9 bytes each
  assert.equal(out.map((b) => b.length), [9, 9]);
  const many = Array.from({ length: 1000 }, (_, i) => `k${i}:1|c`);
  for (const b of packLines(many, 0)) assert.ok(b.length <= 4096);
  assert.equal(packLines(many, 0).length, packLines(many, 4096).length);
});

// ---------------------------------------------------------------------------------------------
// statsdLines

test('statsdLines: first push sends totals, §8.2 names in Go order, |c vs |g', () => {
  const d = doc([
    topic('t', [channel('c', { message_count: 5, depth: 1, backend_depth: 2, in_flight_count: 3, deferred_count: 4, requeue_count: 6, timeout_count: 7, client_count: 2 })], {
      message_count: 5,
      message_bytes: 50,
      depth: 8,
      backend_depth: 9,
    }),
  ]);
  const { lines } = statsdLines(null, d, OPTS);
  assert.equal(lines, [
    'nsq.h_1.topic.t.message_count:5|c',
    'nsq.h_1.topic.t.message_bytes:50|c',
    'nsq.h_1.topic.t.depth:8|g',
    'nsq.h_1.topic.t.backend_depth:9|g',
    'nsq.h_1.topic.t.channel.c.message_count:5|c',
    'nsq.h_1.topic.t.channel.c.depth:1|g',
    'nsq.h_1.topic.t.channel.c.backend_depth:2|g',
    'nsq.h_1.topic.t.channel.c.in_flight_count:3|g',
    'nsq.h_1.topic.t.channel.c.deferred_count:4|g',
    'nsq.h_1.topic.t.channel.c.requeue_count:6|c',
    'nsq.h_1.topic.t.channel.c.timeout_count:7|c',
    'nsq.h_1.topic.t.channel.c.clients:2|g',
  ]);
});

test('statsdLines: counters are deltas against the previous snapshot; new channels count from 0', () => {
  const first = doc([topic('t', [channel('c', { message_count: 5, requeue_count: 1, timeout_count: 1 })], { message_count: 5, message_bytes: 50 })]);
  const { snapshot } = statsdLines(null, first, OPTS);
  const second = doc([
    topic('t', [channel('c', { message_count: 8, requeue_count: 1, timeout_count: 3, depth: 2 }), channel('d', { message_count: 4 })], {
      message_count: 8,
      message_bytes: 80,
    }),
  ]);
  const { lines } = statsdLines(snapshot, second, { ...OPTS, prefix: '' });
  const counters = lines.filter((l) => l.endsWith('|c'));
  assert.equal(counters, [
    'topic.t.message_count:3|c',
    'topic.t.message_bytes:30|c',
    'topic.t.channel.c.message_count:3|c',
    'topic.t.channel.c.requeue_count:0|c',
    'topic.t.channel.c.timeout_count:2|c',
    'topic.t.channel.d.message_count:4|c',
    'topic.t.channel.d.requeue_count:0|c',
    'topic.t.channel.d.timeout_count:0|c',
  ]);
  assert.ok(lines.includes('topic.t.channel.c.depth:2|g'), 'gauges are current values');
});

test('statsdLines: a recreated topic with a smaller total gives a negative delta (Go int64 wrap)', () => {
  const { snapshot } = statsdLines(null, doc([topic('t', [], { message_count: 10, message_bytes: 100 })]), OPTS);
  const { lines } = statsdLines(snapshot, doc([topic('t', [], { message_count: 2, message_bytes: 20 })]), { ...OPTS, prefix: '' });
  assert.equal(lines.slice(0, 2), ['topic.t.message_count:-8|c', 'topic.t.message_bytes:-80|c']);
});

test('statsdLines: e2e percentiles become gauges named by %.0f, values truncated to int', () => {
  const e2e = { count: 3, percentiles: [{ quantile: 1, value: 1500.9 }, { quantile: 0.995, value: 1200 }, { quantile: 0.5, value: 800.2 }] };
  const d = doc([topic('t', [channel('c', { e2e_processing_latency: e2e })], { e2e_processing_latency: e2e })]);
  const { lines } = statsdLines(null, d, { ...OPTS, prefix: '' });
  const e2eLines = lines.filter((l) => l.includes('e2e'));
  assert.equal(e2eLines, [
    'topic.t.e2e_processing_latency_100:1500|g',
    'topic.t.e2e_processing_latency_100:1200|g',
    'topic.t.e2e_processing_latency_50:800|g',
    'topic.t.channel.c.e2e_processing_latency_100:1500|g',
    'topic.t.channel.c.e2e_processing_latency_100:1200|g',
    'topic.t.channel.c.e2e_processing_latency_50:800|g',
  ]);
  // The topic's e2e lines come after backend_depth and before the channels.
  assert.is(lines.indexOf('topic.t.e2e_processing_latency_100:1500|g'), 4);
});

test('statsdLines: ephemeral topics/channels are skipped only when excluded, names verbatim', () => {
  const d = doc([
    topic('e#ephemeral', [channel('c')], { message_count: 1 }),
    topic('t', [channel('c#ephemeral', { message_count: 2 }), channel('k', { message_count: 2 })], { message_count: 2 }),
  ]);
  const all = statsdLines(null, d, { ...OPTS, prefix: '' }).lines;
  assert.ok(all.includes('topic.e#ephemeral.message_count:1|c'));
  assert.ok(all.includes('topic.e#ephemeral.channel.c.message_count:0|c'));
  assert.ok(all.includes('topic.t.channel.c#ephemeral.message_count:2|c'));
  const { lines, snapshot } = statsdLines(null, d, { ...OPTS, prefix: '', excludeEphemeral: true });
  assert.ok(!lines.some((l) => l.includes('#ephemeral')), lines.join('\n'));
  assert.ok(lines.includes('topic.t.channel.k.message_count:2|c'));
  assert.is(lines.filter((l) => l.startsWith('topic.t.')).length, 4 + 8);
  // The snapshot still remembers excluded ones, as Go's lastStats does.
  assert.ok(snapshot.topics.has('e#ephemeral'));
});

test('statsdLines: mem.* gauges and mem.gc_runs delta only with memStats; gc count kept across pushes without it', () => {
  const off = statsdLines(null, doc(null, MEM), OPTS);
  assert.equal(off.lines, []);
  assert.is(off.snapshot.gcRuns, 0);

  const on1 = statsdLines(null, doc(null, MEM), { ...OPTS, memStats: true });
  assert.equal(on1.lines, [
    'nsq.h_1.mem.heap_objects:1|g',
    'nsq.h_1.mem.heap_idle_bytes:2|g',
    'nsq.h_1.mem.heap_in_use_bytes:3|g',
    'nsq.h_1.mem.heap_released_bytes:4|g',
    'nsq.h_1.mem.gc_pause_usec_100:5|g',
    'nsq.h_1.mem.gc_pause_usec_99:6|g',
    'nsq.h_1.mem.gc_pause_usec_95:7|g',
    'nsq.h_1.mem.next_gc_bytes:8|g',
    'nsq.h_1.mem.gc_runs:10|c',
  ]);
  const skipped = statsdLines(on1.snapshot, doc(null, { ...MEM, gc_total_runs: 15 }), OPTS);
  assert.is(skipped.snapshot.gcRuns, 10);
  const on2 = statsdLines(skipped.snapshot, doc(null, { ...MEM, gc_total_runs: 17 }), { ...OPTS, memStats: true });
  assert.is(on2.lines.at(-1), 'nsq.h_1.mem.gc_runs:7|c');
  // memStats without a memory section sends nothing for mem.
  assert.equal(statsdLines(null, doc(null), { ...OPTS, memStats: true }).lines, []);
});

test('statsdLines: null topics (no topics) give no topic lines', () => {
  assert.equal(statsdLines(null, doc(null), OPTS).lines, []);
  assert.equal(statsdLines(null, doc([]), OPTS).lines, []);
});

test.run();
