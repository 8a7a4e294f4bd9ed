// nsq_to_nsq (src/apps/nsq_to_nsq.ts) as a real process between two real nsqds: every message
// republished to --destination-nsqd-tcp-address (same topic name or --destination-topic), several
// --topic, the modes, the JSON filter (--require-json-field / --require-json-value /
// --whitelist-json-field), a failed publish leaves the source message requeued, flag errors.
// Facts: spec nsqlookupd-nsqadmin-tools-client.md §0, §3 (common) and §3.6.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNsqd, waitFor, type TestNsqd, type TestNsqlookupd } from '../helpers/daemons.js';
import {
  assertFatals, bodies, consumeBodies, lookupdHasProducers, publish, startCluster, ToolSession, topicMessageCount, waitDrained, waitForChannel,
  type TestCluster,
} from '../helpers/tools.js';

const tools = new ToolSession();
let cluster: TestCluster;
let lookupd: TestNsqlookupd;
let src: TestNsqd;
let dst1: TestNsqd;
let dst2: TestNsqd;
let seq = 0;
const topicName = (): string => `to_nsq2_${++seq}`;

test.before(async () => {
  cluster = await startCluster(1);
  lookupd = cluster.lookupd;
  src = cluster.nsqds[0]!;
  dst1 = await startNsqd();
  dst2 = await startNsqd();
});

test.after(async () => {
  await tools.cleanup();
  for (const n of [dst1, dst2]) await n.close();
  await cluster.close();
});

const srcAddr = (): string => `--nsqd-tcp-address=127.0.0.1:${src.tcpPort}`;
const dest = (n: TestNsqd): string => `--destination-nsqd-tcp-address=127.0.0.1:${n.tcpPort}`;

/** Wait until the source channel finished `count` messages (nothing left in it). */
const drained = (topic: string, count: number, channel = 'nsq_to_nsq'): Promise<void> => waitDrained(src.url, topic, channel, count);

// ---------------------------------------------------------------------------------------------
// Flags

test('--version prints "nsq_to_nsq v1.3.0"; -h lists whitelist-json-field', async () => {
  let r = await tools.run('nsq_to_nsq', ['--version']);
  assert.equal([r.code, r.stdout], [0, 'nsq_to_nsq v1.3.0\n']);
  r = await tools.run('nsq_to_nsq', ['-h']);
  assert.is(r.code, 0);
  assert.match(r.stderr, /^Usage of nsq_to_nsq:\n/);
  assert.match(r.stderr, /^ {2}-whitelist-json-field value\n\s+for JSON messages: pass this field \(may be given multiple times\)$/m);
  assert.match(r.stderr, /^ {2}-mode string\n\s+.*\(default "hostpool"\)$/m);
  r = await tools.run('nsq_to_nsq', ['--white-list-json-field=a']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('flag provided but not defined: -white-list-json-field\n'), r.stderr);
});

test('configuration errors are log.Fatal lines (exit 1), checked in NSQ\'s order', async () => {
  const s = srcAddr();
  const d = dest(dst1);
  await assertFatals(tools, 'nsq_to_nsq', [
    [[s, d], '--topic and --channel are required'],
    [[s, d, '--topic=t', '--channel='], '--topic and --channel are required'],
    [[s, d, '--topic=t', '--topic=bad topic'], '--topic is invalid'],
    [[s, d, '--topic=t', '--destination-topic=no/slash'], '--destination-topic is invalid'],
    [[s, d, '--topic=t', '--channel=bad channel'], '--channel is invalid'],
    [[d, '--topic=t'], '--nsqd-tcp-address or --lookupd-http-address required'],
    [[s, d, '--topic=t', `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`], 'use --nsqd-tcp-address or --lookupd-http-address not both'],
    [[s, '--topic=t'], '--destination-nsqd-tcp-address required'],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Republishing

test('every message arrives at the destination under the same topic name, bodies intact', async () => {
  const topic = topicName();
  const sent = [...bodies('copy', 100), 'ünïcødé ✓', 'with space'];
  await publish(src.url, topic, sent);
  const p = tools.start('nsq_to_nsq', [`--topic=${topic}`, srcAddr(), dest(dst1)]);
  await drained(topic, sent.length);
  assert.is(await topicMessageCount(dst1.url, topic), sent.length);
  assert.equal((await consumeBodies(dst1.tcpPort, topic, sent.length)).sort(), [...sent].sort());
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('--destination-topic and several --topic: every source topic goes to the one destination topic', async () => {
  const t1 = topicName();
  const t2 = topicName();
  const into = topicName();
  await publish(src.url, t1, bodies('one', 5));
  await publish(src.url, t2, bodies('two', 5));
  const p = tools.start('nsq_to_nsq', [`--topic=${t1}`, `--topic=${t2}`, `--destination-topic=${into}`, '--channel=merge', srcAddr(), dest(dst1)]);
  await drained(t1, 5, 'merge');
  await drained(t2, 5, 'merge');
  assert.equal((await consumeBodies(dst1.tcpPort, into, 10)).sort(), [...bodies('one', 5), ...bodies('two', 5)].sort());
  assert.is(await topicMessageCount(dst1.url, t1), 0);
  p.signal('SIGINT');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('--lookupd-http-address finds the source nsqd', async () => {
  const topic = topicName();
  await publish(src.url, topic, bodies('lk', 6));
  await waitFor(() => lookupdHasProducers(lookupd.url, topic), 10_000, 'registered');
  const p = tools.start('nsq_to_nsq', [`--topic=${topic}`, `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`, dest(dst2)]);
  await drained(topic, 6);
  assert.equal((await consumeBodies(dst2.tcpPort, topic, 6)).sort(), bodies('lk', 6).sort());
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('--mode=round-robin splits evenly between destinations; hostpool sends each message to exactly one', async () => {
  const topic = topicName();
  await publish(src.url, topic, bodies('rr', 10));
  const p = tools.start('nsq_to_nsq', [`--topic=${topic}`, srcAddr(), dest(dst1), dest(dst2), '--mode=round-robin']);
  await drained(topic, 10);
  assert.equal([await topicMessageCount(dst1.url, topic), await topicMessageCount(dst2.url, topic)], [5, 5]);
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });

  for (const mode of ['hostpool', 'epsilon-greedy', 'something-else']) {
    const t = topicName();
    await publish(src.url, t, bodies(mode, 20));
    const q = tools.start('nsq_to_nsq', [`--topic=${t}`, srcAddr(), dest(dst1), dest(dst2), `--mode=${mode}`]);
    await drained(t, 20);
    const n1 = await topicMessageCount(dst1.url, t);
    const n2 = await topicMessageCount(dst2.url, t);
    assert.is(n1 + n2, 20, mode);
    const got = [...(n1 > 0 ? await consumeBodies(dst1.tcpPort, t, n1) : []), ...(n2 > 0 ? await consumeBodies(dst2.tcpPort, t, n2) : [])];
    assert.equal(got.sort(), bodies(mode, 20).sort(), mode);
    q.signal('SIGTERM');
    assert.equal(await q.exited(), { code: 0, signal: null });
  }
});

test('a failed publish requeues the source message instead of finishing it', async () => {
  const topic = topicName();
  await publish(src.url, topic, ['undeliverable']);
  const p = tools.start('nsq_to_nsq', [
    `--topic=${topic}`, srcAddr(), '--destination-nsqd-tcp-address=127.0.0.1:1',
    '--consumer-opt=default_requeue_delay,10ms', '--consumer-opt=backoff_multiplier,10ms',
  ]);
  await waitForChannel(src.url, topic, 'nsq_to_nsq', (s) => s.requeue_count >= 2, 15_000, 'requeued repeatedly');
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
  const st = await waitForChannel(src.url, topic, 'nsq_to_nsq', (s) => s.client_count === 0);
  assert.is(st.depth + st.deferred_count + st.in_flight_count, 1, 'still in the source channel');
});

// ---------------------------------------------------------------------------------------------
// JSON filtering

test('--require-json-field / --require-json-value: matching messages pass, others are dropped (FIN), a missing field backs off (REQ)', async () => {
  const topic = topicName();
  const msgs = [
    '{"kind":"keep","n":1}', // pass (string equal)
    '{"kind":"drop","n":2}', // dropped
    'not json', // dropped, logged
    '[1,2]', // not an object: dropped, logged
    '{"kind":5}', // number vs a non-number flag value: dropped
    '{"kind":"keep","n":3}', // pass
    '{"other":1}', // field missing with a required value: REQ + backoff
  ];
  await publish(src.url, topic, msgs);
  const p = tools.start('nsq_to_nsq', [`--topic=${topic}`, srcAddr(), dest(dst1), '--require-json-field=kind', '--require-json-value=keep']);
  await waitForChannel(src.url, topic, 'nsq_to_nsq', (s) => s.message_count === 7 && s.depth === 0 && s.in_flight_count === 0 && s.requeue_count >= 1, 15_000, 'six finished, one requeued');
  await waitFor(async () => (await topicMessageCount(dst1.url, topic)) === 2, 10_000, 'two passed');
  assert.equal((await consumeBodies(dst1.tcpPort, topic, 2)).sort(), ['{"kind":"keep","n":1}', '{"kind":"keep","n":3}']);
  assert.match(p.stderr, /^\S+ \S+ ERROR: Unable to decode json: not json$/m);
  assert.match(p.stderr, /^\S+ \S+ ERROR: Unable to decode json: \[1,2\]$/m);
  assert.match(p.stderr, /^\S+ \S+ ERROR: missing field to check required value$/m);
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('--require-json-value that parses as a number matches JSON numbers (and equal strings); field only: presence', async () => {
  const topic = topicName();
  await publish(src.url, topic, ['{"v":5}', '{"v":5.0}', '{"v":"5"}', '{"v":6}', '{"v":"05"}', '{"v":true}']);
  const p = tools.start('nsq_to_nsq', [`--topic=${topic}`, srcAddr(), dest(dst1), '--require-json-field=v', '--require-json-value=5']);
  await drained(topic, 6);
  assert.equal((await consumeBodies(dst1.tcpPort, topic, 3)).sort(), ['{"v":"5"}', '{"v":5.0}', '{"v":5}']);
  assert.is(await topicMessageCount(dst1.url, topic), 3);
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });

  const t2 = topicName();
  await publish(src.url, t2, ['{"v":null}', '{"w":1}', '{"v":{}}']);
  const q = tools.start('nsq_to_nsq', [`--topic=${t2}`, srcAddr(), dest(dst1), '--require-json-field=v']);
  await drained(t2, 3);
  assert.equal((await consumeBodies(dst1.tcpPort, t2, 2)).sort(), ['{"v":null}', '{"v":{}}']);
  assert.is(await topicMessageCount(dst1.url, t2), 2);
  q.signal('SIGTERM');
  assert.equal(await q.exited(), { code: 0, signal: null });
});

test('--whitelist-json-field re-encodes objects with only the listed fields (keys sorted, integral numbers as integers)', async () => {
  const topic = topicName();
  await publish(src.url, topic, [
    '{"z":0,"n":5.0,"f":1.5,"o":{"z":1,"a":2},"drop":"x"}',
    '{"s":"<tag> & \\"q\\"","other":1}',
    '{"nothing":"listed"}',
  ]);
  const p = tools.start('nsq_to_nsq', [`--topic=${topic}`, srcAddr(), dest(dst1), '--whitelist-json-field=o', '--whitelist-json-field=n', '--whitelist-json-field=f', '--whitelist-json-field=s']);
  await drained(topic, 3);
  assert.equal((await consumeBodies(dst1.tcpPort, topic, 3)).sort(), [
    '{"f":1.5,"n":5,"o":{"a":2,"z":1}}',
    '{"s":"\\u003ctag\\u003e \\u0026 \\"q\\""}',
    '{}',
  ].sort());
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test.run();
