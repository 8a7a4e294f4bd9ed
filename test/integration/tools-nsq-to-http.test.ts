// nsq_to_http (src/apps/nsq_to_http.ts) as a real process: consumes from a real nsqd and calls tiny
// node:http servers standing in for the external endpoints. POST and GET (query-escaped %s),
// --content-type, --header, User-Agent, the modes (round-robin, hostpool, any other value = every
// address), a non-2xx answer or a request timeout → REQ and later redelivery, --sample, flags.
// Facts: spec nsqlookupd-nsqadmin-tools-client.md §0, §3 (common) and §3.5.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNsqd, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { assertFatals, bodies, publish, ToolSession, waitDrained, waitForChannel } from '../helpers/tools.js';

const tools = new ToolSession();
let nsqd: TestNsqd;
let seq = 0;
const topicName = (): string => `to_http_${++seq}`;
const sinks: Sink[] = [];

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** An HTTP endpoint recording every request; `answer` picks the status (null: never answer). */
class Sink {
  readonly requests: Received[] = [];
  answer: (r: Received, seen: number) => number | { status: number; location: string } | null = () => 200;
  private readonly server: Server;
  port = 0;

  constructor() {
    this.server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(parts) };
        this.requests.push(r);
        const key = r.method === 'GET' ? r.url : r.body.toString();
        const seen = this.requests.filter((x) => (x.method === 'GET' ? x.url : x.body.toString()) === key).length;
        const status = this.answer(r, seen);
        if (status === null) return; // hold the request open
        if (typeof status === 'object') res.writeHead(status.status, { 'Content-Type': 'text/plain', Location: status.location });
        else res.writeHead(status, { 'Content-Type': 'text/plain' });
        res.end('ok');
      });
    });
  }

  static async start(): Promise<Sink> {
    const s = new Sink();
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', () => resolve()));
    const a = s.server.address();
    s.port = typeof a === 'object' && a !== null ? a.port : 0;
    sinks.push(s);
    return s;
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  bodies(): string[] {
    return this.requests.map((r) => r.body.toString());
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

test.before(async () => {
  nsqd = await startNsqd();
});

test.after(async () => {
  await tools.cleanup();
  for (const s of sinks) await s.close();
  await nsqd.close();
});

const nsqdAddr = (): string => `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`;
/** Fast requeues so that redelivery after a failure comes quickly. */
const fastRetry = ['--consumer-opt=default_requeue_delay,10ms', '--consumer-opt=backoff_multiplier,10ms'];

/** Wait until the channel has delivered and finished everything. */
const drained = (topic: string, channel: string, count: number): Promise<void> => waitDrained(nsqd.url, topic, channel, count);

// ---------------------------------------------------------------------------------------------
// Flags

test('--version prints "nsq_to_http v1.3.0"; -h shows the usage, defaults included', async () => {
  let r = await tools.run('nsq_to_http', ['--version']);
  assert.equal([r.code, r.stdout], [0, 'nsq_to_http v1.3.0\n']);
  r = await tools.run('nsq_to_http', ['-h']);
  assert.is(r.code, 0);
  assert.match(r.stderr, /^Usage of nsq_to_http:\n/);
  assert.match(r.stderr, /^ {2}-http-client-request-timeout duration\n\s+timeout for HTTP request \(default 20s\)$/m);
  assert.match(r.stderr, /^ {2}-content-type string\n\s+the Content-Type used for POST requests \(default "application\/octet-stream"\)$/m);
  assert.match(r.stderr, /^ {2}-mode string\n\s+.*\(default "hostpool"\)$/m);
  assert.match(r.stderr, /^ {2}-n int\n\s+number of concurrent publishers \(default 100\)$/m);
  r = await tools.run('nsq_to_http', ['--sample=lots']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.startsWith('invalid value "lots" for flag -sample: parse error\nUsage of nsq_to_http:\n'), r.stderr);
});

test('configuration errors are log.Fatal lines (exit 1), checked in NSQ\'s order', async () => {
  const n = nsqdAddr();
  const post = '--post=http://127.0.0.1:1/';
  await assertFatals(tools, 'nsq_to_http', [
    [[n, post], '--topic and --channel are required'],
    [[n, post, '--topic=t', '--channel='], '--topic and --channel are required'],
    [[n, '--get=http://127.0.0.1:1/?%s', '--topic=t', '--content-type=text/plain'], '--content-type only used with --post'],
    [[n, post, '--topic=t', '--content-type='], '--content-type requires a value when used'],
    [[post, '--topic=t'], '--nsqd-tcp-address or --lookupd-http-address required'],
    [[n, post, '--topic=t', '--lookupd-http-address=127.0.0.1:1'], 'use --nsqd-tcp-address or --lookupd-http-address not both'],
    [[n, '--topic=t'], '--get or --post required'],
    [[n, post, '--get=http://127.0.0.1:1/?%s', '--topic=t'], 'use --get or --post not both'],
    [[n, '--get=http://127.0.0.1:1/', '--topic=t'], 'invalid GET address - must be a printf string'],
    [[n, '--get=http://127.0.0.1:1/?a=%s&b=%s', '--topic=t'], 'invalid GET address - must be a printf string'],
    [[n, post, '--topic=t', '--header=NoColon'], "--header value format should be 'key=value'"],
    [[n, post, '--topic=t', '--header=Key:'], "--header value format should be 'key=value'"],
    [[n, post, '--topic=t', '--sample=1.5'], 'ERROR: --sample must be between 0.0 and 1.0'],
    [[n, post, '--topic=t', '--sample=-0.1'], 'ERROR: --sample must be between 0.0 and 1.0'],
  ]);
});

// ---------------------------------------------------------------------------------------------
// Delivery

test('--post: every message reaches the endpoint once, body as published, default Content-Type and User-Agent', async () => {
  const sink = await Sink.start();
  const topic = topicName();
  const sent = [...bodies('post', 40), 'spaces and ünïcødé ✓', '{"json":true}'];
  await publish(nsqd.url, topic, sent);
  const p = tools.start('nsq_to_http', [`--topic=${topic}`, nsqdAddr(), `--post=${sink.url('/in')}`, '--header=X-Extra: yes ', '--header', 'Authorization:Bearer abc']);
  await drained(topic, 'nsq_to_http', sent.length);
  assert.equal(sink.bodies().sort(), [...sent].sort());
  for (const r of sink.requests) {
    assert.is(r.method, 'POST');
    assert.is(r.url, '/in');
    assert.is(r.headers['content-type'], 'application/octet-stream');
    assert.is(r.headers['user-agent'], 'nsq_to_http v1.3.0');
    assert.is(r.headers['x-extra'], 'yes');
    assert.is(r.headers.authorization, 'Bearer abc');
  }
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('--content-type is sent with POST; a 2xx other than 200 counts as success', async () => {
  const sink = await Sink.start();
  sink.answer = () => 204;
  const topic = topicName();
  await publish(nsqd.url, topic, ['{"a":1}', '{"b":2}']);
  // A --header key is canonicalised (Go's Header.Set), so user-agent replaces the default User-Agent.
  const p = tools.start('nsq_to_http', [`--topic=${topic}`, '--channel=ct', nsqdAddr(), `--post=${sink.url()}`, '--content-type=application/json', '--header=user-agent: mine']);
  await drained(topic, 'ct', 2);
  assert.equal(sink.bodies().sort(), ['{"a":1}', '{"b":2}']);
  assert.ok(sink.requests.every((r) => r.headers['content-type'] === 'application/json'));
  assert.equal(sink.requests.map((r) => r.headers['user-agent']), ['mine', 'mine']);
  const st = await waitForChannel(nsqd.url, topic, 'ct', () => true);
  assert.is(st.requeue_count, 0);
  p.signal('SIGINT');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('redirects are followed as Go\'s http.Client does: 307 repeats the POST, 302 turns it into a GET; the final status decides', async () => {
  const sink = await Sink.start();
  sink.answer = (r) => {
    if (r.url === '/keep') return { status: 307, location: '/final' };
    if (r.url === '/drop') return { status: 302, location: `${sink.url('/got')}?x=1` };
    return r.url === '/final' || r.url.startsWith('/got') ? 200 : 500;
  };
  const topic = topicName();
  await publish(nsqd.url, topic, ['m1']);
  const p = tools.start('nsq_to_http', [`--topic=${topic}`, '--channel=rd', nsqdAddr(), `--post=${sink.url('/keep')}`, `--post=${sink.url('/drop')}`, '--mode=multicast']);
  await drained(topic, 'rd', 1);
  const seen = sink.requests.map((r) => `${r.method} ${r.url} ${r.body.toString()}`).sort();
  assert.equal(seen, ['GET /got?x=1 ', 'POST /drop m1', 'POST /final m1', 'POST /keep m1']);
  const st = await waitForChannel(nsqd.url, topic, 'rd', () => true);
  assert.is(st.requeue_count, 0);
  p.signal('SIGINT');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('--get replaces %s with the query-escaped body (space as +)', async () => {
  const sink = await Sink.start();
  const topic = topicName();
  const sent = ['plain', 'a b&c=d', 'ü/?#%'];
  await publish(nsqd.url, topic, sent);
  const p = tools.start('nsq_to_http', [`--topic=${topic}`, nsqdAddr(), `--get=${sink.url('/get?v=1&msg=%s&z=%%')}`]);
  await drained(topic, 'nsq_to_http', 3);
  assert.equal(sink.requests.map((r) => r.url).sort(), ['/get?v=1&msg=a+b%26c%3Dd&z=%', '/get?v=1&msg=plain&z=%', '/get?v=1&msg=%C3%BC%2F%3F%23%25&z=%'].sort());
  assert.ok(sink.requests.every((r) => r.method === 'GET' && r.body.length === 0 && r.headers['user-agent'] === 'nsq_to_http v1.3.0'));
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('a non-2xx answer (and non-200 for GET) requeues the message; it is redelivered until it succeeds', async () => {
  const sink = await Sink.start();
  sink.answer = (_r, seen) => (seen === 1 ? 500 : 200);
  const topic = topicName();
  const sent = bodies('retry', 5);
  await publish(nsqd.url, topic, sent);
  const p = tools.start('nsq_to_http', [`--topic=${topic}`, nsqdAddr(), `--post=${sink.url()}`, ...fastRetry]);
  await drained(topic, 'nsq_to_http', 5);
  // Each body was posted twice: the 500, then the redelivery.
  for (const b of sent) assert.is(sink.bodies().filter((x) => x === b).length, 2, b);
  const st = await waitForChannel(nsqd.url, topic, 'nsq_to_http', () => true);
  assert.is(st.requeue_count, 5);
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });

  // GET wants exactly 200: a 201 is a failure.
  const g = await Sink.start();
  g.answer = (_r, seen) => (seen === 1 ? 201 : 200);
  const t2 = topicName();
  await publish(nsqd.url, t2, ['only']);
  const p2 = tools.start('nsq_to_http', [`--topic=${t2}`, nsqdAddr(), `--get=${g.url('/?m=%s')}`, ...fastRetry]);
  await drained(t2, 'nsq_to_http', 1);
  assert.equal(g.requests.map((r) => r.url), ['/?m=only', '/?m=only']);
  p2.signal('SIGTERM');
  assert.equal(await p2.exited(), { code: 0, signal: null });
});

test('--http-client-request-timeout: an unanswered request fails and the message is redelivered', async () => {
  const sink = await Sink.start();
  sink.answer = (_r, seen) => (seen === 1 ? null : 200);
  const topic = topicName();
  await publish(nsqd.url, topic, ['slow']);
  const p = tools.start('nsq_to_http', [`--topic=${topic}`, nsqdAddr(), `--post=${sink.url()}`, '--http-client-request-timeout=200ms', ...fastRetry]);
  await drained(topic, 'nsq_to_http', 1);
  assert.equal(sink.bodies(), ['slow', 'slow']);
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
  // A refused connection is a failure too: nothing is finished while the endpoint is down.
  const t2 = topicName();
  await publish(nsqd.url, t2, ['nowhere']);
  const p2 = tools.start('nsq_to_http', [`--topic=${t2}`, nsqdAddr(), '--post=http://127.0.0.1:1/', '--http-client-connect-timeout=200ms', ...fastRetry]);
  await waitForChannel(nsqd.url, t2, 'nsq_to_http', (s) => s.requeue_count >= 2, 15_000, 'requeued repeatedly');
  p2.signal('SIGTERM');
  assert.equal(await p2.exited(), { code: 0, signal: null });
  const st = await waitForChannel(nsqd.url, t2, 'nsq_to_http', () => true);
  assert.is(st.depth + st.deferred_count + st.in_flight_count, 1, 'the message is still in the channel');
});

test('--mode=round-robin alternates destinations, starting with the second', async () => {
  const s1 = await Sink.start();
  const s2 = await Sink.start();
  const topic = topicName();
  await publish(nsqd.url, topic, bodies('rr', 10));
  // -n 1 and max-in-flight 1: one request at a time, so the order is the message order.
  const p = tools.start('nsq_to_http', [`--topic=${topic}`, nsqdAddr(), `--post=${s1.url('/one')}`, `--post=${s2.url('/two')}`, '--mode=round-robin', '-n', '1', '--max-in-flight=1']);
  await drained(topic, 'nsq_to_http', 10);
  assert.equal(s2.bodies(), ['rr-0', 'rr-2', 'rr-4', 'rr-6', 'rr-8']);
  assert.equal(s1.bodies(), ['rr-1', 'rr-3', 'rr-5', 'rr-7', 'rr-9']);
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('--mode=hostpool (default) and epsilon-greedy deliver each message to exactly one destination', async () => {
  for (const mode of ['hostpool', 'epsilon-greedy']) {
    const s1 = await Sink.start();
    const s2 = await Sink.start();
    const topic = topicName();
    const sent = bodies(mode, 30);
    await publish(nsqd.url, topic, sent);
    const p = tools.start('nsq_to_http', [`--topic=${topic}`, nsqdAddr(), `--post=${s1.url()}`, `--post=${s2.url()}`, `--mode=${mode}`]);
    await drained(topic, 'nsq_to_http', 30);
    assert.equal([...s1.bodies(), ...s2.bodies()].sort(), [...sent].sort(), mode);
    if (mode === 'hostpool') assert.ok(s1.requests.length > 0 && s2.requests.length > 0, 'both hosts used');
    p.signal('SIGTERM');
    assert.equal(await p.exited(), { code: 0, signal: null });
  }
});

test('any other --mode sends every message to every destination', async () => {
  const s1 = await Sink.start();
  const s2 = await Sink.start();
  const topic = topicName();
  const sent = bodies('all', 8);
  await publish(nsqd.url, topic, sent);
  const p = tools.start('nsq_to_http', [`--topic=${topic}`, nsqdAddr(), `--post=${s1.url()}`, `--post=${s2.url()}`, '--mode=multicast']);
  await drained(topic, 'nsq_to_http', 8);
  assert.equal(s1.bodies().sort(), [...sent].sort());
  assert.equal(s2.bodies().sort(), [...sent].sort());
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('--sample=0 finishes every message without sending it', async () => {
  const sink = await Sink.start();
  const topic = topicName();
  await publish(nsqd.url, topic, bodies('skip', 10));
  const p = tools.start('nsq_to_http', [`--topic=${topic}`, nsqdAddr(), `--post=${sink.url()}`, '--sample=0']);
  await drained(topic, 'nsq_to_http', 10);
  assert.is(sink.requests.length, 0);
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test('--status-every logs timer_metrics lines per destination and in aggregate', async () => {
  const s1 = await Sink.start();
  const s2 = await Sink.start();
  const topic = topicName();
  // The line comes when the ring of 2 wraps: at the 3rd request of a destination.
  await publish(nsqd.url, topic, bodies('st', 6));
  const p = tools.start('nsq_to_http', [`--topic=${topic}`, nsqdAddr(), `--post=${s1.url()}`, `--post=${s2.url()}`, '--mode=round-robin', '--status-every=2']);
  await drained(topic, 'nsq_to_http', 6);
  await waitFor(() => /\[aggregate\]: finished 2 - 99th: \d+\.\d{2}ms - 95th: \d+\.\d{2}ms - avg: \d+\.\d{2}ms/.test(p.stderr), 5000, 'aggregate status line');
  assert.match(p.stderr, new RegExp(`\\[${s1.url().replace(/[/.]/g, '\\$&')}\\]: finished 2 - 99th: `));
  assert.match(p.stderr, /Warning: use more than 100 status values for accurate percentiles \(configured with 2\)/);
  p.signal('SIGTERM');
  assert.equal(await p.exited(), { code: 0, signal: null });
});

test.run();
