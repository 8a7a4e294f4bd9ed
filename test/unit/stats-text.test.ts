// The text /stats number formats: Go's NanoSecondToHuman (a unit only above its size, %0.1f).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { e2eDuration, goFixed } from '../../src/nsqd/stats.js';

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

test.run();
