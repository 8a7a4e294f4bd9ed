// nsq_stat (src/apps/nsq_stat.ts) as a real process against real nsqds and nsqlookupd: the two
// header lines, --count data rows of the channel's depth / in-flight / counters (summed over every
// nsqd of the topic when found through nsqlookupd), the missing-channel error, flag errors.
// Facts: spec nsqlookupd-nsqadmin-tools-client.md §0 and §3.4.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Consumer, type Message } from '../../src/client/index.js';
import { waitFor, type TestNsqd, type TestNsqlookupd } from '../helpers/daemons.js';
import { freePort } from '../helpers/proc.js';
import {
  assertFatals, bodies, createChannel, fatalLine, lookupdHasProducers, publish, startCluster, ToolSession, waitForChannel, type TestCluster,
} from '../helpers/tools.js';

const tools = new ToolSession();
let cluster: TestCluster;
let lookupd: TestNsqlookupd;
let n1: TestNsqd;
let n2: TestNsqd;
let seq = 0;
const topicName = (): string => `stat_${++seq}`;

const HEADER =
  '------rate------+----------------depth----------------+--------------metadata---------------\n' +
  'ingress  egress |   total     mem    disk inflt   def |     req     t-o         msgs clients\n';

test.before(async () => {
  cluster = await startCluster(2);
  lookupd = cluster.lookupd;
  [n1, n2] = cluster.nsqds as [TestNsqd, TestNsqd];
});

test.after(async () => {
  await tools.cleanup();
  await cluster.close();
});

const nsqdHttp = (n: TestNsqd): string => `--nsqd-http-address=127.0.0.1:${n.httpPort}`;

/** A data row split into its 11 numbers. */
function rowNumbers(line: string): number[] {
  const m = /^ *(-?\d+) +(-?\d+) \| +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) \| +(\d+) +(\d+) +(\d+) +(\d+)$/.exec(line);
  assert.ok(m !== null, `not a data row: ${JSON.stringify(line)}`);
  return m!.slice(1).map(Number);
}

// ---------------------------------------------------------------------------------------------
// Flags

test('--version prints "nsq_stat v1.3.0", exit 0', async () => {
  const r = await tools.run('nsq_stat', ['--version']);
  assert.equal([r.code, r.stdout], [0, 'nsq_stat v1.3.0\n']);
});

test('-h usage; a bad --count is a flag error (exit 2) with strconv\'s message', async () => {
  let r = await tools.run('nsq_stat', ['-h']);
  assert.is(r.code, 0);
  assert.match(r.stderr, /^Usage of nsq_stat:\n/);
  assert.match(r.stderr, /^ {2}-count value\n\s+number of reports$/m);
  assert.match(r.stderr, /^ {2}-interval duration\n\s+duration of time between polling\/printing output \(default 2s\)$/m);
  r = await tools.run('nsq_stat', ['--count=abc']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('invalid value "abc" for flag -count: strconv.ParseInt: parsing "abc": invalid syntax\nUsage of nsq_stat:\n'), r.stderr);
  r = await tools.run('nsq_stat', ['--interval=soon']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('invalid value "soon" for flag -interval: parse error\n'), r.stderr);
});

test('configuration errors are log.Fatal lines (exit 1), checked in NSQ\'s order', async () => {
  const a = nsqdHttp(n1);
  await assertFatals(tools, 'nsq_stat', [
    [[a, '--channel=c'], '--topic and --channel are required'],
    [[a, '--topic=t'], '--topic and --channel are required'],
    [[a, '--topic=t', '--channel=c', '--interval=0s'], '--interval should be positive'],
    [[a, '--topic=t', '--channel=c', '--http-client-connect-timeout=0s'], '--http-client-connect-timeout should be positive'],
    [[a, '--topic=t', '--channel=c', '--http-client-request-timeout=-1s'], '--http-client-request-timeout should be positive'],
    [[a, '--topic=t', '--channel=c', '--count=0'], '--count should be positive'],
    [['--topic=t', '--channel=c'], '--nsqd-http-address or --lookupd-http-address required'],
    [[a, '--topic=t', '--channel=c', `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`], 'use --nsqd-http-address or --lookupd-http-address not both'],
    [['--nsqd-http-address=http://127.0.0.1:1', '--topic=t', '--channel=c'], '--nsqd-http-address error - address should not contain scheme'],
    [['--lookupd-http-address=https://127.0.0.1:1', '--topic=t', '--channel=c'], '--lookupd-http-address error - address should not contain scheme'],
  ]);
});

test('a channel the topic does not have is fatal: "failed to find channel(...)"', async () => {
  const topic = topicName();
  await createChannel(n1.url, topic, 'other');
  let r = await tools.run('nsq_stat', [nsqdHttp(n1), `--topic=${topic}`, '--channel=missing', '--interval=50ms']);
  assert.is(r.code, 1);
  assert.match(r.stderr, fatalLine(`ERROR: failed to find channel(missing) in stats metadata for topic(${topic})`));
  r = await tools.run('nsq_stat', ['--nsqd-http-address=127.0.0.1:1', '--topic=t', '--channel=c', '--interval=50ms']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^\S+ \S+ ERROR: failed to get topic producers - /);
});

test('one nsqlookupd not answering is fatal even when another does (clusterinfo\'s partial error), in Go\'s words', async () => {
  const topic = topicName();
  await createChannel(n1.url, topic, 'ch');
  const lookupdUrl = `http://127.0.0.1:${lookupd.httpPort}`;
  await waitFor(() => lookupdHasProducers(lookupdUrl, topic), 5000, `${topic} registered`);
  const dead = await freePort();
  const r = await tools.run('nsq_stat', [`--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`, `--lookupd-http-address=127.0.0.1:${dead}`, `--topic=${topic}`, '--channel=ch', '--interval=50ms', '--count=1']);
  assert.is(r.code, 1);
  assert.match(r.stderr, fatalLine(`ERROR: failed to get topic producers - Get "http://127.0.0.1:${dead}/lookup?topic=${topic}": dial tcp 127.0.0.1:${dead}: connect: connection refused`));
  assert.is(r.stdout, '');
});

// ---------------------------------------------------------------------------------------------
// Output

test('--count=N prints the header then N rows and exits 0; depth after 10 unconsumed messages', async () => {
  const topic = topicName();
  await createChannel(n1.url, topic, 'ch');
  await publish(n1.url, topic, bodies('d', 10));
  const r = await tools.run('nsq_stat', [nsqdHttp(n1), `--topic=${topic}`, '--channel=ch', '--count=3', '--interval=100ms']);
  assert.is(r.code, 0, r.stderr);
  const row = '      0       0 |      10      10       0     0     0 |       0       0           10       0\n';
  assert.is(r.stdout, HEADER + row + row + row);
});

test('rows show in-flight, depth and client count of a live consumer holding messages', async () => {
  const topic = topicName();
  await createChannel(n1.url, topic, 'held');
  await publish(n1.url, topic, bodies('h', 10));
  const held: Message[] = [];
  const c = new Consumer(topic, 'held', { logLevel: 'none', maxInFlight: 4, disableAutoResponse: true });
  c.on('message', (m) => void held.push(m));
  try {
    await c.connectToNsqd(`127.0.0.1:${n1.tcpPort}`);
    await waitForChannel(n1.url, topic, 'held', (s) => s.in_flight_count === 4 && s.depth === 6, 10_000, '4 in flight');
    const r = await tools.run('nsq_stat', [nsqdHttp(n1), `--topic=${topic}`, '--channel=held', '--count=1', '--interval=50ms']);
    assert.is(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.is(lines.slice(0, 2).join('\n') + '\n', HEADER);
    assert.equal(lines.length, 4, r.stdout);
    // ingress, egress | total, mem, disk, inflt, def | req, t-o, msgs, clients
    assert.equal(rowNumbers(lines[2]!), [0, 0, 6, 6, 0, 4, 0, 0, 0, 10, 1]);
    // Requeue two with a delay: they become deferred and count as requeued; two more go in flight.
    held[0]!.requeue(60_000, false);
    held[1]!.requeue(60_000, false);
    await waitForChannel(n1.url, topic, 'held', (s) => s.deferred_count === 2 && s.in_flight_count === 4 && s.depth === 4, 10_000, '2 deferred, 4 in flight');
    const r2 = await tools.run('nsq_stat', [nsqdHttp(n1), `--topic=${topic}`, '--channel=held', '--count=1', '--interval=50ms']);
    assert.is(r2.code, 0, r2.stderr);
    assert.equal(rowNumbers(r2.stdout.split('\n')[2]!), [0, 0, 4, 4, 0, 4, 2, 2, 0, 10, 1], r2.stdout);
  } finally {
    for (const m of held) if (!m.hasResponded) m.finish();
    await c.close(1000);
  }
});

test('--lookupd-http-address: the channel is summed over every nsqd of the topic', async () => {
  const topic = topicName();
  await createChannel(n1.url, topic, 'sum');
  await createChannel(n2.url, topic, 'sum');
  await publish(n1.url, topic, bodies('x', 7));
  await publish(n2.url, topic, bodies('y', 5));
  await waitFor(() => lookupdHasProducers(lookupd.url, topic, 2), 10_000, 'both nsqds registered');
  const r = await tools.run('nsq_stat', [`--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`, `--topic=${topic}`, '--channel=sum', '--count=2', '--interval=100ms']);
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.is(lines.length, 4, r.stdout);
  for (const l of lines.slice(2)) assert.equal(rowNumbers(l), [0, 0, 12, 12, 0, 0, 0, 0, 0, 12, 0]);
  // The same through both nsqd HTTP addresses.
  const r2 = await tools.run('nsq_stat', [nsqdHttp(n1), nsqdHttp(n2), `--topic=${topic}`, '--channel=sum', '--count=1', '--interval=50ms']);
  assert.is(r2.code, 0, r2.stderr);
  assert.equal(rowNumbers(r2.stdout.split('\n')[2]!), [0, 0, 12, 12, 0, 0, 0, 0, 0, 12, 0]);
});

test('without --count it keeps printing rows until SIGTERM (exit 0)', async () => {
  const topic = topicName();
  await createChannel(n1.url, topic, 'ch');
  const p = tools.start('nsq_stat', [nsqdHttp(n1), `--topic=${topic}`, '--channel=ch', '--interval=50ms']);
  await waitFor(() => p.stdout.split('\n').length >= 6, 15_000, 'three data rows');
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
  assert.ok(p.stdout.startsWith(HEADER));
});

test.run();
