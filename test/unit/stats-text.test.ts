// The text /stats number formats: Go's NanoSecondToHuman (a unit only above its size, %0.1f).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { e2eDuration, gcPausePercentile, goFixed } from '../../src/nsqd/stats.js';

test('goFixed(v, 1) is Go\'s %0.1f: the exact binary value rounded, exact ties to even', () => {
  const cases: [number, string][] = [
    [1.25, '1.2'], // exact tie, 2 is even
    [0.75, '0.8'], // exact tie, 7 is odd
    [2.5, '2.5'],
    [1.35, '1.4'], // 1.350000000000000088... is above the tie
    [1.45, '1.4'], // 1.449999999999999955... is below it
    [0.15, '0.1'],
    [0.05, '0.1'],
    [999.95, '1000.0'],
    [0, '0.0'],
    [3, '3.0'],
  ];
  for (const [v, want] of cases) assert.is(goFixed(v, 1), want, String(v));
});

test('e2eDuration switches unit only above 1000 ns, 1 ms, 1 s, as NanoSecondToHuman', () => {
  assert.is(e2eDuration(999), '999.0ns');
  assert.is(e2eDuration(1000), '1000.0ns');
  assert.is(e2eDuration(1001), '1.0us');
  assert.is(e2eDuration(1_000_000), '1000.0us');
  assert.is(e2eDuration(1_250_000), '1.2ms');
  assert.is(e2eDuration(1_000_000_000), '1000.0ms');
  assert.is(e2eDuration(2_000_000_001), '2.0s');
});


test('GC pause percentiles pick as nsqd does: index floor(p·n + 0.5) capped at n-1, whole µs', () => {
  const ten = [1.9, 2, 3, 4, 5, 6, 7, 8, 9, 10.7];
  assert.is(gcPausePercentile(ten, 0.95), 10); // floor(10) = 10 → capped at index 9, 10.7 µs → 10
  assert.is(gcPausePercentile(ten, 0.5), 6); // floor(5.5) = 5 → the sixth
  assert.is(gcPausePercentile(ten, 0.04), 1); // floor(0.9) = 0 → 1.9 µs → 1
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.is(gcPausePercentile(hundred, 0.95), 96); // floor(95.5) = 95 → the 96th (a nearest-rank 95th would be 95)
  assert.is(gcPausePercentile(hundred, 0.99), 100);
  assert.is(gcPausePercentile([], 0.99), 0);
});

test.run();
