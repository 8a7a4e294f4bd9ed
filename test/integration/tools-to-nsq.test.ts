// to_nsq (src/apps/to_nsq.ts) as a real process against real nsqds: stdin split on --delimiter,
// every record published (in order) to --topic on every --nsqd-tcp-address, NSQ's quirk of
// dropping the last byte of an unterminated final record, --rate, exit 0 at EOF, flag errors.
// Facts: spec nsqlookupd-nsqadmin-tools-client.md §0, §3 (common) and §3.3.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNsqd, type TestNsqd } from '../helpers/daemons.js';
import { assertFatals, consumeBodies, ToolSession, topicMessageCount } from '../helpers/tools.js';

const tools = new ToolSession();
let a: TestNsqd;
let b: TestNsqd;
let seq = 0;
const topicName = (): string => `to_nsq_${++seq}`;

test.before(async () => {
  a = await startNsqd();
  b = await startNsqd();
});

test.after(async () => {
  await tools.cleanup();
  await a.close();
  await b.close();
});

const addr = (n: TestNsqd): string => `--nsqd-tcp-address=127.0.0.1:${n.tcpPort}`;

// ---------------------------------------------------------------------------------------------
// Flags

test('to_nsq has no --version flag (v1.3.0): exit 2 with the Go flag message', async () => {
  const r = await tools.run('to_nsq', ['--version']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('flag provided but not defined: -version\nUsage of to_nsq:\n'), r.stderr);
});

test('-h prints the usage with to_nsq\'s flags and defaults, exit 0', async () => {
  const r = await tools.run('to_nsq', ['-h']);
  assert.is(r.code, 0);
  assert.match(r.stderr, /^Usage of to_nsq:\n/);
  assert.match(r.stderr, /^ {2}-delimiter string\n\s+character to split input from stdin \(default "\\n"\)$/m);
  assert.match(r.stderr, /^ {2}-rate int\n\s+Throttle messages to n\/second\. 0 to disable$/m);
  assert.match(r.stderr, /^ {2}-topic string\n\s+NSQ topic to publish to$/m);
});

test('configuration errors are log.Fatal lines (exit 1)', async () => {
  await assertFatals(tools, 'to_nsq', [
    [[addr(a)], '--topic required'],
    [['--topic=t', addr(a), '--delimiter=ab'], '--delimiter must be a single byte'],
    [['--topic=t', addr(a), '--delimiter=é'], '--delimiter must be a single byte'],
    [['--topic=t', addr(a), '--delimiter='], '--delimiter must be a single byte'],
    [['--topic=t'], '--nsqd-tcp-address required'],
  ]);
  let r = await tools.run('to_nsq', ['--topic=t', addr(a), '--rate=fast']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('invalid value "fast" for flag -rate: parse error\n'), r.stderr);
  r = await tools.run('to_nsq', ['--topic=t', addr(a), '--producer-opt=nope']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /^invalid value "nope" for flag -producer-opt: /);
});

test('a failed publish is fatal (exit 1)', async () => {
  const r = await tools.run('to_nsq', ['--topic=t', '--nsqd-tcp-address=127.0.0.1:1'], { stdin: 'x\n' });
  assert.is(r.code, 1);
  assert.match(r.stderr, /ERR    1 \(127\.0\.0\.1:\d+\) error connecting to nsqd - dial tcp 127\.0\.0\.1:\d+: connect: connection refused\n.*\d dial tcp 127\.0\.0\.1:\d+: connect: connection refused\n$/);
});

// ---------------------------------------------------------------------------------------------
// Publishing

test('publishes every line of stdin, in order, and exits 0 at EOF', async () => {
  const topic = topicName();
  // Long enough to cross the stdin read chunks several times.
  const lines = Array.from({ length: 3000 }, (_, i) => `line ${i} ${'x'.repeat(i % 97)}`);
  const r = await tools.run('to_nsq', [`--topic=${topic}`, addr(a)], { stdin: lines.join('\n') + '\n' });
  assert.equal([r.code, r.stdout], [0, ''], r.stderr);
  assert.is(await topicMessageCount(a.url, topic), 3000);
  assert.equal(await consumeBodies(a.tcpPort, topic, 3000), lines);
});

test('empty records are skipped; an unterminated last record loses its last byte (as NSQ does)', async () => {
  const topic = topicName();
  const r = await tools.run('to_nsq', [`--topic=${topic}`, addr(a)], { stdin: 'l1\nl2\n\n\nl3' });
  assert.is(r.code, 0, r.stderr);
  assert.is(await topicMessageCount(a.url, topic), 3);
  assert.equal(await consumeBodies(a.tcpPort, topic, 3), ['l1', 'l2', 'l']);
});

test('--delimiter splits on another byte; "a,b,c" publishes a and b', async () => {
  const topic = topicName();
  const r = await tools.run('to_nsq', [`--topic=${topic}`, addr(a), '--delimiter=,'], { stdin: 'a,b,c' });
  assert.is(r.code, 0, r.stderr);
  assert.is(await topicMessageCount(a.url, topic), 2);
  assert.equal(await consumeBodies(a.tcpPort, topic, 2), ['a', 'b']);
  // Newlines are ordinary bytes then.
  const t2 = topicName();
  const r2 = await tools.run('to_nsq', [`--topic=${t2}`, addr(a), '--delimiter', ';'], { stdin: 'x\ny;z z;' });
  assert.is(r2.code, 0, r2.stderr);
  assert.equal(await consumeBodies(a.tcpPort, t2, 2), ['x\ny', 'z z']);
});

test('a repeated --nsqd-tcp-address publishes every record to every nsqd', async () => {
  const topic = topicName();
  const lines = Array.from({ length: 50 }, (_, i) => `both-${i}`);
  const r = await tools.run('to_nsq', [`--topic=${topic}`, addr(a), addr(b)], { stdin: lines.join('\n') + '\n' });
  assert.is(r.code, 0, r.stderr);
  assert.is(await topicMessageCount(a.url, topic), 50);
  assert.is(await topicMessageCount(b.url, topic), 50);
  assert.equal(await consumeBodies(a.tcpPort, topic, 50), lines);
  assert.equal(await consumeBodies(b.tcpPort, topic, 50), lines);
});

test('--rate throttles (logged) and still publishes everything', async () => {
  const topic = topicName();
  const lines = Array.from({ length: 12 }, (_, i) => `rated-${i}`);
  const r = await tools.run('to_nsq', [`--topic=${topic}`, addr(a), '--rate=40'], { stdin: lines.join('\n') + '\n' });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2} Throttling messages rate to max:40\/second$/m);
  assert.equal(await consumeBodies(a.tcpPort, topic, 12), lines);
});

test('empty stdin publishes nothing and exits 0', async () => {
  const topic = topicName();
  const r = await tools.run('to_nsq', [`--topic=${topic}`, addr(a)], { stdin: '' });
  assert.is(r.code, 0, r.stderr);
  assert.is(await topicMessageCount(a.url, topic), 0);
});

test.run();
