import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, formatDurationNanos, parseDuration, parseDurationNanos, toNanos } from '../../src/internal/duration.js';

// Expected values are Go's time.ParseDuration results (in nanoseconds).
const PARSE_OK: Array<[string, bigint]> = [
  ['0', 0n],
  ['-0', 0n],
  ['+0', 0n],
  ['5s', 5_000_000_000n],
  ['30s', 30_000_000_000n],
  ['1478s', 1_478_000_000_000n],
  ['-5s', -5_000_000_000n],
  ['+5s', 5_000_000_000n],
  ['-0s', 0n],
  ['5.0s', 5_000_000_000n],
  ['5.6s', 5_600_000_000n],
  ['5.s', 5_000_000_000n],
  ['.5s', 500_000_000n],
  ['1.0s', 1_000_000_000n],
  ['1.00s', 1_000_000_000n],
  ['1.004s', 1_004_000_000n],
  ['1.0040s', 1_004_000_000n],
  ['100.00100s', 100_001_000_000n],
  ['10ns', 10n],
  ['11us', 11_000n],
  ['12\u00b5s', 12_000n],
  ['12\u03bcs', 12_000n],
  ['13ms', 13_000_000n],
  ['14s', 14_000_000_000n],
  ['15m', 900_000_000_000n],
  ['16h', 57_600_000_000_000n],
  ['3h30m', 12_600_000_000_000n],
  ['10.5s4m', 250_500_000_000n],
  ['-2m3.4s', -123_400_000_000n],
  ['1h2m3s4ms5us6ns', 3_723_004_005_006n],
  ['39h9m14.425s', 140_954_425_000_000n],
  ['52763797000ns', 52_763_797_000n],
  ['0.3333333333333333333h', 1_200_000_000_000n],
  ['9007199254740993ns', 9_007_199_254_740_993n],
  ['9223372036854775807ns', 9_223_372_036_854_775_807n],
  ['9223372036854775.807us', 9_223_372_036_854_775_807n],
  ['9223372036s854ms775us807ns', 9_223_372_036_854_775_807n],
  ['-9223372036854775808ns', -9_223_372_036_854_775_808n],
  ['-9223372036854775.808us', -9_223_372_036_854_775_808n],
  ['0.100000000000000000000h', 360_000_000_000n],
  ['0.830103483285477580700h', 2_988_372_539_827n],
  ['1.5h', 5_400_000_000_000n],
  ['2h45m', 9_900_000_000_000n],
  ['300ms', 300_000_000n],
];

test('parseDurationNanos matches Go for valid input', () => {
  for (const [input, want] of PARSE_OK) {
    assert.is(parseDurationNanos(input), want, input);
  }
});

test('parseDuration returns milliseconds as a float', () => {
  assert.is(parseDuration('300ms'), 300);
  assert.is(parseDuration('1.5h'), 5_400_000);
  assert.is(parseDuration('2h45m'), 9_900_000);
  assert.is(parseDuration('-1s'), -1000);
  assert.is(parseDuration('0'), 0);
  assert.is(parseDuration('250us'), 0.25);
  assert.is(parseDuration('1ns'), 0.000001);
});

test('parseDuration errors use Go messages', () => {
  const cases: Array<[string, string]> = [
    ['', 'time: invalid duration ""'],
    ['3', 'time: missing unit in duration "3"'],
    ['-', 'time: invalid duration "-"'],
    ['s', 'time: invalid duration "s"'],
    ['.', 'time: invalid duration "."'],
    ['-.', 'time: invalid duration "-."'],
    ['.s', 'time: invalid duration ".s"'],
    ['+.s', 'time: invalid duration "+.s"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['1.5x', 'time: unknown unit "x" in duration "1.5x"'],
    ['3000000h', 'time: invalid duration "3000000h"'],
    ['9223372036854775808ns', 'time: invalid duration "9223372036854775808ns"'],
    ['9223372036854775.808us', 'time: invalid duration "9223372036854775.808us"'],
    ['9223372036854ms775us808ns', 'time: invalid duration "9223372036854ms775us808ns"'],
    ['-9223372036854775809ns', 'time: invalid duration "-9223372036854775809ns"'],
    ['1s 2s', 'time: unknown unit "s " in duration "1s 2s"'],
    ['"1s"', 'time: invalid duration "\\"1s\\""'],
    ['1\u00b5', 'time: unknown unit "\\xc2\\xb5" in duration "1\\xc2\\xb5"'],
    ['1\u00b5\u00b5s', 'time: unknown unit "\\xc2\\xb5\\xc2\\xb5s" in duration "1\\xc2\\xb5\\xc2\\xb5s"'],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseDuration(input), (err: unknown) => err instanceof Error && err.message === message, input);
  }
});

test('formatDurationNanos matches Go Duration.String', () => {
  const cases: Array<[bigint, string]> = [
    [0n, '0s'],
    [1n, '1ns'],
    [1_100n, '1.1\u00b5s'],
    [2_200_000n, '2.2ms'],
    [3_300_000_000n, '3.3s'],
    [4n * 60_000_000_000n + 5_000_000_000n, '4m5s'],
    [4n * 60_000_000_000n + 5_001_000_000n, '4m5.001s'],
    [5n * 3_600_000_000_000n + 6n * 60_000_000_000n + 7_001_000_000n, '5h6m7.001s'],
    [8n * 60_000_000_000n + 1n, '8m0.000000001s'],
    [(1n << 63n) - 1n, '2562047h47m16.854775807s'],
    [-(1n << 63n), '-2562047h47m16.854775808s'],
    [-1_000_000_000n, '-1s'],
    [-1n, '-1ns'],
    [100_000n, '100\u00b5s'],
    [3_600_000_000_000n, '1h0m0s'],
  ];
  for (const [ns, want] of cases) assert.is(formatDurationNanos(ns), want, String(ns));
});

test('formatDuration takes milliseconds', () => {
  assert.is(formatDuration(3_600_000), '1h0m0s');
  assert.is(formatDuration(300_000), '5m0s');
  assert.is(formatDuration(250), '250ms');
  assert.is(formatDuration(1500), '1.5s');
  assert.is(formatDuration(2154.713924), '2.154713924s');
  assert.is(formatDuration(0), '0s');
  assert.is(formatDuration(0.1), '100\u00b5s');
  assert.is(formatDuration(-1000), '-1s');
  assert.is(formatDuration(60_000), '1m0s');
  assert.is(formatDuration(900_000), '15m0s');
  assert.is(formatDuration(25), '25ms');
  assert.is(formatDuration(-0), '0s');
  assert.throws(() => formatDuration(NaN));
});

test('parse and format round-trip', () => {
  for (const s of ['1h0m0s', '5m0s', '250ms', '1.5s', '2.154713924s', '100\u00b5s', '-1s', '1ns', '2562047h47m16.854775807s']) {
    assert.is(formatDurationNanos(parseDurationNanos(s)), s);
  }
  for (const s of ['1h0m0s', '5m0s', '250ms', '1.5s', '2.154713924s', '100\u00b5s']) {
    assert.is(formatDuration(parseDuration(s)), s);
  }
});

test('toNanos rounds to integer nanoseconds', () => {
  assert.is(toNanos(60_000), 60_000_000_000);
  assert.is(toNanos(0.25), 250_000);
  assert.is(toNanos(2154.713924), 2_154_713_924);
  assert.is(toNanos(0.0000004), 0);
  assert.ok(Object.is(toNanos(-0.0000001), 0));
});

test.run();
