// nsq_tail (src/apps/nsq_tail.ts) as a real process against real nsqd / nsqlookupd: bodies one per
// line on stdout, -n, --print-topic, several --topic, --lookupd-http-address, the default
// ephemeral channel, the last of -n messages left unfinished, flag errors and exit codes.
// Facts: spec nsqlookupd-nsqadmin-tools-client.md §0, §3 (common) and §3.2.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { http, waitFor, type TestNsqd, type TestNsqlookupd } from '../helpers/daemons.js';
import {
  assertFatals, bodies, createChannel, GO_LOG_TIME, lookupdHasProducers, publish, startCluster, ToolSession, waitForChannel, type TestCluster,
} from '../helpers/tools.js';

const tools = new ToolSession();
let cluster: TestCluster;
let lookupd: TestNsqlookupd;
let nsqd: TestNsqd;
let seq = 0;
const topicName = (): string => `tail_${++seq}`;

test.before(async () => {
  cluster = await startCluster(1);
  lookupd = cluster.lookupd;
  nsqd = cluster.nsqds[0]!;
});

test.after(async () => {
  await tools.cleanup();
  await cluster.close();
});

const nsqdAddr = (): string => `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`;

// ---------------------------------------------------------------------------------------------
// Flags

test('--version prints "nsq_tail v1.3.0" and exits 0', async () => {
  const r = await tools.run('nsq_tail', ['--version']);
  assert.equal([r.code, r.stdout, r.stderr], [0, 'nsq_tail v1.3.0\n', '']);
});

test('-h prints Go-style usage with nsq_tail\'s flags and exits 0', async () => {
  const r = await tools.run('nsq_tail', ['-h']);
  assert.is(r.code, 0);
  assert.match(r.stderr, /^Usage of nsq_tail:\n/);
  assert.match(r.stderr, /^ {2}-max-in-flight int\n\s+max number of messages to allow in flight \(default 200\)$/m);
  assert.match(r.stderr, /^ {2}-n int\n\s+total messages to show \(will wait if starved\)$/m);
  assert.match(r.stderr, /^ {2}-print-topic\n\s+print topic name where message was received$/m);
  assert.match(r.stderr, /^ {2}-topic value\n\s+NSQ topic \(may be given multiple times\)$/m);
});

test('an unknown flag or a bad value exits 2 with the Go flag message and usage', async () => {
  let r = await tools.run('nsq_tail', ['--nope', '--topic=x']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('flag provided but not defined: -nope\nUsage of nsq_tail:\n'), r.stderr);
  r = await tools.run('nsq_tail', ['-n', 'many']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('invalid value "many" for flag -n: parse error\n'), r.stderr);
  r = await tools.run('nsq_tail', ['--consumer-opt=no_such_option,1']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^invalid value "no_such_option,1" for flag -consumer-opt: /);
});

test('configuration errors are log.Fatal lines (exit 1)', async () => {
  await assertFatals(tools, 'nsq_tail', [
    [['--topic=t'], '--nsqd-tcp-address or --lookupd-http-address required'],
    [['--topic=t', nsqdAddr(), `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`], 'use --nsqd-tcp-address or --lookupd-http-address not both'],
    [[nsqdAddr()], '--topic required'],
  ]);
  // go-nsq's NewConsumer refuses a bad name (after the "Adding consumer" line).
  for (const [args, msg] of [[['--topic=bad topic'], 'invalid topic name'], [['--topic=t', '--channel=a/b'], 'invalid channel name']] as const) {
    const r = await tools.run('nsq_tail', [nsqdAddr(), ...args]);
    assert.is(r.code, 1);
    assert.match(r.stderr, new RegExp(`^${GO_LOG_TIME} Adding consumer for topic: .*\n${GO_LOG_TIME} ${msg}\n$`));
  }
});

// ---------------------------------------------------------------------------------------------
// Consuming

test('prints each body on its own line and exits 0 after -n messages (--nsqd-tcp-address)', async () => {
  const topic = topicName();
  const sent = bodies('m', 5);
  await publish(nsqd.url, topic, sent);
  const r = await tools.run('nsq_tail', [`--topic=${topic}`, nsqdAddr(), '-n', '5']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, sent.map((b) => `${b}\n`).join(''));
  assert.match(r.stderr, new RegExp(`^${GO_LOG_TIME} Adding consumer for topic: ${topic}$`, 'm'));
  // go-nsq's default logger: level padded to 4, then the client's number.
  assert.match(r.stderr, new RegExp(String.raw`^${GO_LOG_TIME} INF    1 \[${topic}/tail\d{6}#ephemeral\] \(127\.0\.0\.1:${nsqd.tcpPort}\) connecting to nsqd$`, 'm'));
});

test('--consumer-opt values are checked one at a time, as go-nsq\'s Config.Set; heartbeat < read timeout is checked on the whole', async () => {
  const topic = topicName();
  await publish(nsqd.url, topic, ['hb']);
  // A heartbeat below the default read timeout, then a read timeout above it: valid together.
  let r = await tools.run('nsq_tail', [`--topic=${topic}`, nsqdAddr(), '-n', '1', '--consumer-opt=heartbeat_interval,5s', '--consumer-opt=read_timeout,10s']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'hb\n');
  // Invalid together: go-nsq's NewConsumer refuses the config (log.Fatal, exit 1).
  r = await tools.run('nsq_tail', [`--topic=${topic}`, nsqdAddr(), '-n', '1', '--consumer-opt=heartbeat_interval,20s', '--consumer-opt=read_timeout,10s']);
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`^${GO_LOG_TIME} HeartbeatInterval 20s must be less than ReadTimeout 10s$`, 'm'));
  // A Go duration needs its unit.
  r = await tools.run('nsq_tail', [`--topic=${topic}`, nsqdAddr(), '--consumer-opt=read_timeout,10000']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^invalid value "read_timeout,10000" for flag -consumer-opt: .*missing unit in duration "10000"/);
});

test('bodies are written byte for byte (spaces, tabs, UTF-8, an empty-looking body)', async () => {
  const topic = topicName();
  const sent = ['with space', 'tab\there', 'ünïcødé ✓', ' '];
  await publish(nsqd.url, topic, sent);
  const r = await tools.run('nsq_tail', [`--topic=${topic}`, nsqdAddr(), '-n=4']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, sent.map((b) => `${b}\n`).join(''));
});

test('the default channel is tail<6 digits>#ephemeral; SIGTERM stops it cleanly with exit 0', async () => {
  const topic = topicName();
  await createChannel(nsqd.url, topic);
  const p = tools.start('nsq_tail', [`--topic=${topic}`, nsqdAddr()]);
  let names: string[] = [];
  await waitFor(async () => {
    const res = await http('GET', `${nsqd.url}/stats?format=json&topic=${topic}`);
    const t = (JSON.parse(res.text) as { topics: { channels: { channel_name: string; client_count: number }[] }[] }).topics[0];
    names = (t?.channels ?? []).filter((c) => c.client_count === 1).map((c) => c.channel_name);
    return names.length === 1;
  }, 10_000, 'nsq_tail subscribed');
  assert.match(names[0]!, /^tail\d{6}#ephemeral$/);
  await publish(nsqd.url, topic, ['live-1', 'live-2']);
  await waitFor(() => p.stdout === 'live-1\nlive-2\n', 10_000, 'two lines printed');
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('a closed stdout (nsq_tail | head) ends it quietly, with the status SIGPIPE gives', async () => {
  const topic = topicName();
  await publish(nsqd.url, topic, ['first']);
  const p = tools.start('nsq_tail', [`--topic=${topic}`, nsqdAddr()]);
  await waitFor(() => p.stdout === 'first\n', 10_000, 'first line');
  p.child.stdout!.destroy();
  await publish(nsqd.url, topic, bodies('more', 20));
  const st = await p.exited();
  assert.equal(st, { code: 141, signal: null }, p.stderr);
  assert.not.match(p.stderr, /EPIPE|Error|\n\s+at /);
});

test('--print-topic with several --topic: one consumer per topic, lines "<topic> | <body>"', async () => {
  const t1 = topicName();
  const t2 = topicName();
  await publish(nsqd.url, t1, ['a1', 'a2']);
  await publish(nsqd.url, t2, ['b1', 'b2', 'b3']);
  const p = tools.start('nsq_tail', [`--topic=${t1}`, `--topic=${t2}`, '--print-topic', '--channel=pt', nsqdAddr()]);
  await waitFor(() => p.stdout.split('\n').length === 6, 10_000, 'five lines');
  const lines = p.stdout.trimEnd().split('\n');
  assert.equal(lines.filter((l) => l.startsWith(`${t1} | `)), [`${t1} | a1`, `${t1} | a2`]);
  assert.equal(lines.filter((l) => l.startsWith(`${t2} | `)), [`${t2} | b1`, `${t2} | b2`, `${t2} | b3`]);
  p.signal('SIGINT');
  assert.equal(await p.exited(), { code: 0, signal: null });
  assert.match(p.stderr, new RegExp(`Adding consumer for topic: ${t1}\n[^]*Adding consumer for topic: ${t2}\n`));
});

test('--lookupd-http-address: finds the topic\'s nsqd through nsqlookupd', async () => {
  const topic = topicName();
  const sent = bodies('lk', 3);
  await publish(nsqd.url, topic, sent);
  await waitFor(() => lookupdHasProducers(lookupd.url, topic), 10_000, 'topic registered with nsqlookupd');
  const r = await tools.run('nsq_tail', [`--topic=${topic}`, `--lookupd-http-address=127.0.0.1:${lookupd.httpPort}`, '-n', '3']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, sent.map((b) => `${b}\n`).join(''));
});

test('-n caps max-in-flight and the n-th message is never finished (it stays in flight after exit)', async () => {
  const topic = topicName();
  await publish(nsqd.url, topic, bodies('keep', 3));
  const r = await tools.run('nsq_tail', [`--topic=${topic}`, '--channel=durable', nsqdAddr(), '-n', '1']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, 'keep-0\n');
  // RDY was 1, so exactly one message went out; once nsqd has seen the connection go, whatever the
  // client sent has been processed: the message is still in flight (nsqd requeues it only when it
  // times out), i.e. it was never FIN'd.
  const c = await waitForChannel(nsqd.url, topic, 'durable', (s) => s.client_count === 0, 10_000, 'client gone');
  assert.equal([c.in_flight_count, c.depth, c.message_count], [1, 2, 3]);
});

test('-n 5: the four messages before the n-th are finished before the exit, the fifth is not', async () => {
  const topic = topicName();
  await publish(nsqd.url, topic, bodies('fin', 10));
  const r = await tools.run('nsq_tail', [`--topic=${topic}`, '--channel=durable', nsqdAddr(), '-n', '5']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, bodies('fin', 5).map((b) => `${b}\n`).join(''));
  // Four FIN'd, so six are left, queued or in flight (RDY 5 stays in force until the connection
  // goes, so nsqd may send more in place of the finished ones; those are not shown or finished).
  const c = await waitForChannel(nsqd.url, topic, 'durable', (s) => s.client_count === 0, 10_000, 'client gone');
  assert.equal([c.depth + c.in_flight_count, c.message_count], [6, 10], JSON.stringify(c));
});

test.run();
