// Pure helpers of the tools: bitly/timer_metrics' percentile index (nsq_to_http and nsq_to_nsq
// --status-every) and nsq_to_http's --header parsing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalHeaderKey, parseCustomHeaders } from '../../src/tools/nsq-to-http/publisher.js';
import { percentile } from '../../src/tools/timer-metrics.js';

test('the index is ceil(p/100 × n + 0.5), capped at the last value', () => {
  const ms = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100, sorted
  assert.is(percentile(95, ms), 97); // ceil(95.5) = 96 → the 97th value
  assert.is(percentile(99, ms), 100); // ceil(99.5) = 100 → capped at index 99
  assert.is(percentile(50, [1, 2, 3, 4]), 4); // ceil(2.5) = 3
  assert.is(percentile(95, []), 0);
  assert.is(percentile(95, [7]), 7);
});

test('--header keys are canonicalised as Go\'s Header.Set does; the last value of a key wins', () => {
  assert.is(canonicalHeaderKey('x-foo-bar'), 'X-Foo-Bar');
  assert.is(canonicalHeaderKey('CONTENT-type'), 'Content-Type');
  assert.is(canonicalHeaderKey('has space'), 'has space');
  assert.equal(parseCustomHeaders(['x-a: 1', 'X-A: 2', 'b:3']), { 'X-A': '2', B: '3' });
  assert.is(parseCustomHeaders(['nocolon']), null);
});

test.run();
