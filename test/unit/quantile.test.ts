import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { E2eLatency, TargetedStream, aggregateE2e } from '../../src/internal/quantile.js';
import { prng as rng } from '../helpers/prng.js';


function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** n distinct latencies (ns-like, non-integer steps) in random order, plus the sorted copy. */
function distinctValues(n: number, seed: number): { order: number[]; sorted: number[] } {
  const random = rng(seed);
  const sorted: number[] = [];
  let v = 1_000 + random() * 1_000;
  for (let i = 0; i < n; i++) {
    v += 1 + random() * 5_000;
    sorted.push(v);
  }
  return { order: shuffle(sorted.slice(), random), sorted };
}

/** 1-based rank of v in a sorted array of distinct values. */
function rankOf(sorted: number[], v: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  assert.is(sorted[lo], v, `reported value ${v} was never inserted`);
  return lo + 1;
}

function assertWithinError(sorted: number[], q: number, value: number, error: number, label: string): void {
  const n = sorted.length;
  const wanted = Math.max(1, Math.ceil(q * n));
  const got = rankOf(sorted, value);
  const allowed = error * n;
  assert.ok(
    Math.abs(got - wanted) <= allowed,
    `${label}: q=${q} rank ${got}, wanted ${wanted} +/- ${allowed} (n=${n})`,
  );
}

const NSQD_TARGETS = [1.0, 0.99, 0.9, 0.5];
const NSQD_ERROR = 0.01;

function nsqdTargets(): Map<number, number> {
  return new Map(NSQD_TARGETS.map((q) => [q, NSQD_ERROR]));
}

// --- TargetedStream -----------------------------------------------------------------------------

test('empty stream: query 0, count 0, no samples', () => {
  const s = new TargetedStream(nsqdTargets());
  assert.is(s.query(0.5), 0);
  assert.is(s.query(1), 0);
  assert.is(s.count(), 0);
  assert.equal(s.samples(), []);
});

test('a single value answers every quantile', () => {
  const s = new TargetedStream(new Map([[0.99, 0.01]]));
  s.insert(3.14);
  assert.is(s.query(0.9), 3.14);
  assert.is(s.query(0.99), 3.14);
  assert.is(s.count(), 1);
});

test('small buffered stream is exact: 1..100 in reverse order', () => {
  const s = new TargetedStream(nsqdTargets());
  for (let i = 100; i >= 1; i--) s.insert(i);
  assert.is(s.count(), 100);
  assert.is(s.query(0.5), 50);
  assert.is(s.query(0.9), 90);
  assert.is(s.query(0.99), 99);
  assert.is(s.query(1.0), 100);
  assert.is(s.samples().length, 100);
});

test('random distinct values: 0.5/0.9/0.99/1.0 within nsqd error (0.01) of the true rank', () => {
  for (const [n, seed] of [
    [10_000, 1],
    [25_000, 2],
    [60_000, 3],
  ]) {
    const { order, sorted } = distinctValues(n, seed);
    const s = new TargetedStream(nsqdTargets());
    for (const v of order) s.insert(v);
    assert.is(s.count(), n);
    for (const q of NSQD_TARGETS) assertWithinError(sorted, q, s.query(q), NSQD_ERROR, `n=${n} seed=${seed}`);
    assert.is(s.query(1.0), sorted[n - 1], 'q=1.0 must be the maximum');
    assert.ok(s.samples().length < n / 10, `summary should be compressed, has ${s.samples().length} samples`);
  }
});

test('per-target errors (0.5:0.05, 0.9:0.01, 0.99:0.001, 1.0:0.001) hold on random data', () => {
  const targets = new Map([
    [0.5, 0.05],
    [0.9, 0.01],
    [0.99, 0.001],
    [1.0, 0.001],
  ]);
  for (const seed of [11, 12, 13]) {
    const { order, sorted } = distinctValues(20_000, seed);
    const s = new TargetedStream(targets);
    for (const v of order) s.insert(v);
    for (const [q, e] of targets) assertWithinError(sorted, q, s.query(q), e, `seed=${seed}`);
    assert.is(s.query(1.0), sorted[sorted.length - 1]);
  }
});

test('ascending and descending input orders stay within error', () => {
  const { sorted } = distinctValues(30_000, 21);
  for (const [label, order] of [
    ['ascending', sorted.slice()],
    ['descending', sorted.slice().reverse()],
  ] as const) {
    const s = new TargetedStream(nsqdTargets());
    for (const v of order) s.insert(v);
    for (const q of NSQD_TARGETS) assertWithinError(sorted, q, s.query(q), NSQD_ERROR, label);
    assert.is(s.query(1.0), sorted[sorted.length - 1], `${label}: max`);
  }
});

test('queries in the middle of a stream do not break later accuracy', () => {
  const { order, sorted } = distinctValues(15_000, 31);
  const s = new TargetedStream(nsqdTargets());
  const seen: number[] = [];
  for (let i = 0; i < order.length; i++) {
    s.insert(order[i]);
    seen.push(order[i]);
    if (i % 1_237 === 0) {
      const now = seen.slice().sort((a, b) => a - b);
      for (const q of NSQD_TARGETS) assertWithinError(now, q, s.query(q), NSQD_ERROR, `after ${i + 1}`);
    }
  }
  for (const q of NSQD_TARGETS) assertWithinError(sorted, q, s.query(q), NSQD_ERROR, 'final');
});

test('summary stays small over a long stream', () => {
  const random = rng(41);
  const s = new TargetedStream(nsqdTargets());
  for (let i = 0; i < 300_000; i++) s.insert(random() * 1e9);
  assert.is(s.count(), 300_000);
  assert.ok(s.samples().length < 3_000, `has ${s.samples().length} samples`);
});

test('merge: union of two streams is within error and counts both', () => {
  const { order, sorted } = distinctValues(24_000, 51);
  const a = new TargetedStream(nsqdTargets());
  const b = new TargetedStream(nsqdTargets());
  order.forEach((v, i) => (i % 3 === 0 ? a : b).insert(v));
  const merged = new TargetedStream(nsqdTargets());
  merged.merge(a.samples());
  merged.merge(b.samples());
  assert.is(merged.count(), 24_000);
  for (const q of NSQD_TARGETS) assertWithinError(sorted, q, merged.query(q), NSQD_ERROR, 'merged');
  assert.is(merged.query(1.0), sorted[sorted.length - 1]);

  // Merging into a stream that already has data of its own, then inserting more.
  const c = new TargetedStream(nsqdTargets());
  const lowHalf = sorted.slice(0, 12_000);
  const highHalf = sorted.slice(12_000);
  for (const v of shuffle(highHalf.slice(), rng(52))) c.insert(v);
  const d = new TargetedStream(nsqdTargets());
  for (const v of shuffle(lowHalf.slice(), rng(53))) d.insert(v);
  c.merge(d.samples());
  assert.is(c.count(), 24_000);
  for (const q of NSQD_TARGETS) assertWithinError(sorted, q, c.query(q), NSQD_ERROR, 'merged into data');
});

test('merge accepts unsorted samples and adds their widths to count', () => {
  const s = new TargetedStream(nsqdTargets());
  s.insert(5);
  s.merge([
    { value: 9, width: 1, delta: 0 },
    { value: 1, width: 1, delta: 0 },
    { value: 7, width: 2, delta: 0 },
  ]);
  assert.is(s.count(), 5);
  assert.equal(
    s.samples().map((x) => x.value),
    [1, 5, 7, 9],
  );
  assert.is(s.query(1.0), 9);
  assert.is(s.query(0.2), 1);
  s.merge([]);
  assert.is(s.count(), 5);
});

test('samples are value-sorted and their widths sum to count', () => {
  const { order } = distinctValues(7_777, 61);
  const s = new TargetedStream(nsqdTargets());
  for (const v of order) s.insert(v);
  const samples = s.samples();
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    total += samples[i].width;
    assert.ok(samples[i].delta >= 0);
    if (i > 0) assert.ok(samples[i].value >= samples[i - 1].value);
  }
  assert.is(total, 7_777);
  assert.is(s.count(), 7_777);
});

test('reset empties the stream and it is reusable', () => {
  const s = new TargetedStream(nsqdTargets());
  for (let i = 0; i < 1_234; i++) s.insert(i);
  s.reset();
  assert.is(s.count(), 0);
  assert.is(s.query(0.5), 0);
  for (let i = 1; i <= 10; i++) s.insert(i * 10);
  assert.is(s.count(), 10);
  assert.is(s.query(1.0), 100);
  assert.is(s.query(0.5), 50);
});

test('invalid targets are rejected', () => {
  assert.throws(() => new TargetedStream(new Map([[0, 0.01]])), RangeError);
  assert.throws(() => new TargetedStream(new Map([[1.5, 0.01]])), RangeError);
  assert.throws(() => new TargetedStream(new Map([[0.5, 0]])), RangeError);
  assert.throws(() => new TargetedStream(new Map([[0.5, Number.NaN]])), RangeError);
});

// --- E2eLatency ---------------------------------------------------------------------------------

const MINUTE = 60_000;

function clock(start = 1_700_000_000_000): { now: () => number; set: (t: number) => void; t0: number } {
  let t = start;
  return { now: () => t, set: (v) => (t = v), t0: start };
}

test('no percentiles: disabled shape, inserts ignored', () => {
  const e = new E2eLatency([], 10 * MINUTE);
  e.insert(123);
  assert.equal(e.result(), { count: 0, percentiles: null });
  assert.is(JSON.stringify(e.result()), '{"count":0,"percentiles":null}');
  // A disabled tracker does not care about the window (nsqd never builds one).
  assert.not.throws(() => new E2eLatency([], 0));
});

test('empty enabled tracker reports zero values in configured order', () => {
  const e = new E2eLatency([0.99, 0.9, 0.5], 10 * MINUTE);
  assert.equal(e.result(), {
    count: 0,
    percentiles: [
      { quantile: 0.99, value: 0 },
      { quantile: 0.9, value: 0 },
      { quantile: 0.5, value: 0 },
    ],
  });
});

test('result reports percentiles in the order given, values in ns', () => {
  const c = clock();
  const e = new E2eLatency([1.0, 0.99, 0.5], 10 * MINUTE, c.now);
  for (let i = 1; i <= 200; i++) e.insert(i * 1_000_000); // 1..200 ms
  const r = e.result();
  assert.is(r.count, 200);
  assert.equal(
    r.percentiles?.map((p) => p.quantile),
    [1.0, 0.99, 0.5],
  );
  assert.equal(
    r.percentiles?.map((p) => p.value),
    [200_000_000, 198_000_000, 100_000_000],
  );
});

test('window rotation: swap every window/2 (strictly after), older window dropped', () => {
  const c = clock();
  const e = new E2eLatency([0.5], 10 * MINUTE, c.now);
  for (let i = 0; i < 100; i++) e.insert(1_000);
  c.set(c.t0 + 5 * MINUTE); // exactly window/2: Go's now.After(last+move) is false
  assert.is(e.result().count, 100);
  c.set(c.t0 + 5 * MINUTE + 1); // moved: the 100 are now the older window
  assert.is(e.result().count, 100);
  for (let i = 0; i < 50; i++) e.insert(2_000);
  assert.is(e.result().count, 150);
  c.set(c.t0 + 10 * MINUTE); // last move was at t0+5min, so not stale yet
  assert.is(e.result().count, 150);
  c.set(c.t0 + 10 * MINUTE + 1); // second move: the first 100 are gone
  const r = e.result();
  assert.is(r.count, 50);
  assert.is(r.percentiles?.[0].value, 2_000);
  c.set(c.t0 + 60 * MINUTE); // many moves at once: everything gone
  assert.is(e.result().count, 0);
  e.insert(3_000);
  assert.is(e.result().count, 1);
});

test('rotation is on the move grid (last move advances by window/2, not to now)', () => {
  const c = clock();
  const e = new E2eLatency([0.5], 10 * MINUTE, c.now);
  c.set(c.t0 + 7 * MINUTE); // one move, last move = t0+5min
  e.insert(1);
  c.set(c.t0 + 10 * MINUTE + 1); // after t0+10min: second move, sample 1 becomes older window
  e.insert(2);
  assert.is(e.result().count, 2);
  c.set(c.t0 + 15 * MINUTE + 1); // third move drops sample 1
  assert.is(e.result().count, 1);
});

test('huge clock jumps with a tiny window rotate in constant time (a rotation per elapsed window would not end)', () => {
  const c = clock(0);
  const e = new E2eLatency([0.5], 2, c.now);
  e.insert(5);
  c.set(1e15);
  e.insert(6);
  assert.equal(e.result(), { count: 1, percentiles: [{ quantile: 0.5, value: 6 }] });
});

test('zero or negative window with percentiles is rejected', () => {
  assert.throws(() => new E2eLatency([0.5], 0), RangeError);
  assert.throws(() => new E2eLatency([0.5], -1), RangeError);
  assert.throws(() => new E2eLatency([0.5], Number.NaN), RangeError);
});

test('accuracy over both windows: 12,000 random latencies within 0.01 of true rank', () => {
  const c = clock();
  const percentiles = [1.0, 0.99, 0.9, 0.5];
  const e = new E2eLatency(percentiles, 10 * MINUTE, c.now);
  const { order, sorted } = distinctValues(12_000, 71);
  for (let i = 0; i < 6_000; i++) e.insert(order[i]);
  c.set(c.t0 + 6 * MINUTE);
  for (let i = 6_000; i < 12_000; i++) e.insert(order[i]);
  const r = e.result();
  assert.is(r.count, 12_000);
  for (const p of r.percentiles ?? []) assertWithinError(sorted, p.quantile, p.value, NSQD_ERROR, 'two windows');
  assert.is(r.percentiles?.[0].value, sorted[sorted.length - 1]);
});

test('aggregateE2e: topic = union of channels, channels unchanged', () => {
  const c = clock();
  const percentiles = [1.0, 0.99, 0.9, 0.5];
  const ch1 = new E2eLatency(percentiles, 10 * MINUTE, c.now);
  const ch2 = new E2eLatency(percentiles, 10 * MINUTE, c.now);
  const { order, sorted } = distinctValues(16_000, 81);
  order.forEach((v, i) => (i % 4 === 0 ? ch1 : ch2).insert(v));
  c.set(c.t0 + 6 * MINUTE);
  const more = distinctValues(4_000, 82).order.map((v) => v + 0.5); // distinct from the first set
  more.forEach((v, i) => (i % 2 === 0 ? ch1 : ch2).insert(v));
  const all = sorted.concat(more).sort((a, b) => a - b);

  const before1 = ch1.result();
  const before2 = ch2.result();
  const topic = aggregateE2e(percentiles, [ch1, ch2]);
  assert.is(topic.count, 20_000);
  assert.is(topic.count, before1.count + before2.count);
  for (const p of topic.percentiles ?? []) assertWithinError(all, p.quantile, p.value, NSQD_ERROR, 'topic');
  assert.is(topic.percentiles?.[0].value, all[all.length - 1]);
  assert.equal(ch1.result(), before1);
  assert.equal(ch2.result(), before2);
});

test('aggregateE2e: disabled shapes follow Go (no percentiles, no channels, no enabled channel)', () => {
  const c = clock();
  const ch = new E2eLatency([0.5], 10 * MINUTE, c.now);
  ch.insert(10);
  assert.equal(aggregateE2e([], [ch]), { count: 0, percentiles: null });
  assert.equal(aggregateE2e([0.5], []), { count: 0, percentiles: null });
  assert.equal(aggregateE2e([0.5], [new E2eLatency([], 10 * MINUTE)]), { count: 0, percentiles: null });
  assert.equal(aggregateE2e([0.5], [ch, new E2eLatency([], 10 * MINUTE)]), {
    count: 1,
    percentiles: [{ quantile: 0.5, value: 10 }],
  });
});

test('aggregateE2e leaves out windows that are stale on a channel clock, without rotating it', () => {
  const c = clock();
  const ch = new E2eLatency([0.5], 10 * MINUTE, c.now);
  for (let i = 0; i < 10; i++) ch.insert(100);
  c.set(c.t0 + 6 * MINUTE); // one move due but not yet applied
  for (const _ of [0, 1]) assert.is(aggregateE2e([0.5], [ch]).count, 10);
  c.set(c.t0 + 11 * MINUTE); // two moves due: everything stale
  assert.is(aggregateE2e([0.5], [ch]).count, 0);
  // Still the channel's own business to rotate; its result agrees.
  assert.is(ch.result().count, 0);
});

test('mergeFrom pairs windows and adopts the later move time', () => {
  const c1 = clock(0);
  const c2 = clock(0);
  const a = new E2eLatency([0.5], 10 * MINUTE, c1.now);
  const b = new E2eLatency([0.5], 10 * MINUTE, c2.now);
  c2.set(5 * MINUTE + 1); // b moves first; its samples land in its newer window
  for (let i = 0; i < 5; i++) b.insert(7);
  c1.set(5 * MINUTE + 1);
  a.mergeFrom(b); // a moves to t=5min too, then takes b's windows
  assert.is(a.result().count, 5);
  c1.set(10 * MINUTE + 1); // one more move: b's samples are a's older window now
  assert.is(a.result().count, 5);
  c1.set(15 * MINUTE + 1);
  assert.is(a.result().count, 0);
  assert.is(b.result().count, 5); // b itself untouched (its clock is still at 5min)
});

test.run();
