// The Consumer's backoff state machine checked on the wire: a recording proxy between the client
// and a real nsqd parses every command the client sends, and the sequences must be go-nsq's
// (consumer.go: RDY 0 to all before the REQ that caused it, RDY 1 after the backoff timer,
// successes during the timer ignored, normal RDY on leaving backoff). Timing is checked loosely.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Consumer, type Message, type ClientOptions } from '../../src/client/index.js';
import { http, startNsqd, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.js';

let nsqd: TestNsqd;
let topicSeq = 0;

test.before(async () => {
  nsqd = await startNsqd();
});

test.after(async () => {
  await nsqd.close();
});

async function publish(topic: string, bodies: string[]): Promise<void> {
  for (const b of bodies) {
    const res = await http('POST', `${nsqd.url}/pub?topic=${topic}`, b);
    assert.is(res.status, 200, res.text);
  }
}

interface Run {
  proxy: RecordingProxy;
  consumer: Consumer;
  ids: Map<string, string>;
  done: () => number;
}

/**
 * Publish `bodies`, then consume them through a proxy with `handle` deciding each outcome; the
 * body → id map lets expected traces name messages by body.
 */
async function run(bodies: string[], options: ClientOptions, handle: (m: Message, body: string) => void | Promise<void>, setup?: (c: Consumer) => void): Promise<Run> {
  const topic = `backoff${++topicSeq}`;
  await publish(topic, bodies);
  const proxy = await startRecordingProxy(nsqd.tcpPort);
  const consumer = new Consumer(topic, 'ch', { logLevel: 'none', ...options });
  const ids = new Map<string, string>();
  let handled = 0;
  consumer.on('message', (m) => {
    handled++;
    const body = m.body.toString();
    ids.set(body, m.id);
    return handle(m, body);
  });
  setup?.(consumer);
  await consumer.connectToNsqd(proxy.address);
  return { proxy, consumer, ids, done: () => handled };
}

async function finish(r: Run): Promise<void> {
  await r.consumer.close(2000);
  await r.proxy.close();
}

/** The recorded lines with message ids replaced by `<body>`. */
function named(r: Run): string[] {
  const byId = new Map([...r.ids].map(([body, id]) => [id, body]));
  return r.proxy.lines().map((l) => l.replace(/\b[0-9a-f]{16}\b/g, (id) => `<${byId.get(id) ?? id}>`));
}

function gap(r: Run, fromIndex: number, toIndex: number): number {
  const cmds = r.proxy.commands.filter((c) => c.name !== 'NOP');
  return cmds[toIndex]!.at - cmds[fromIndex]!.at;
}

test('max_in_flight 1: go-nsq trace of failures, test-the-water RDY 1, stepwise recovery', async () => {
  // g = succeeds; b = fails (REQ with backoff) on its first attempt only.
  const r = await run(['g1', 'g2', 'g3', 'b1', 'b2', 'g6', 'g7'], { maxInFlight: 1, backoffMultiplier: 50, defaultRequeueDelay: 0 }, (m, body) => {
    if (body.startsWith('b') && m.attempts === 1) throw new Error('bad');
  });
  await waitFor(() => r.proxy.lines().filter((l) => l.startsWith('FIN')).length === 7, 10_000, 'all 7 finished');
  const trace = named(r);
  assert.equal(trace, [
    'IDENTIFY', 'SUB ' + r.consumer.topic + ' ch', 'RDY 1',
    'FIN <g1>', 'FIN <g2>', 'FIN <g3>',
    'RDY 0', 'REQ <b1> 0', // level 1: 2 × 50 ms
    'RDY 1',
    'RDY 0', 'REQ <b2> 0', // level 2: 4 × 50 ms
    'RDY 1',
    'RDY 0', 'FIN <g6>', // success: level 1 again, RDY 0 and a shorter timer
    'RDY 1',
    'FIN <g7>', // level 0: leave backoff; RDY 1 is unchanged so not re-sent
    'FIN <b1>', 'FIN <b2>',
  ]);
  // Loose timing: each RDY 1 comes after (most of) its backoff duration.
  assert.ok(gap(r, 7, 8) >= 80, `first backoff ${gap(r, 7, 8)} ms`);
  assert.ok(gap(r, 10, 11) >= 160, `second backoff ${gap(r, 10, 11)} ms`);
  assert.ok(gap(r, 13, 14) >= 80, `third backoff ${gap(r, 13, 14)} ms`);
  assert.is(r.consumer.backoffLevel, 0);
  await finish(r);
});

test('max_in_flight 5: RDY 5, RDY 0 before the REQ, successes during the timer ignored, RDY 1 then RDY 5', async () => {
  const r = await run(['b', 'g1', 'g2', 'g3', 'g4'], { maxInFlight: 5, backoffMultiplier: 50, defaultRequeueDelay: 0 }, (m, body) => {
    if (body === 'b' && m.attempts === 1) throw new Error('bad');
  });
  await waitFor(() => r.proxy.lines().filter((l) => l.startsWith('FIN')).length === 5, 10_000, 'all 5 finished');
  const trace = named(r);
  assert.equal(trace.slice(0, 3), ['IDENTIFY', 'SUB ' + r.consumer.topic + ' ch', 'RDY 5']);
  const req = trace.indexOf('REQ <b> 0');
  assert.ok(req > 0, trace.join(' | '));
  assert.is(trace[req - 1], 'RDY 0', 'RDY 0 precedes the REQ that caused it');
  // The good messages finished while the timer ran did not end the backoff: no RDY between them.
  assert.equal(trace.slice(-3), ['RDY 1', 'RDY 5', 'FIN <b>'], trace.join(' | '));
  assert.is(trace.filter((l) => l.startsWith('RDY')).length, 4, trace.join(' | '));
  await finish(r);
});

test('a requeue without backoff during backoff continues it (go-nsq no-backoff trace)', async () => {
  const r = await run(['b', 'nb', 'g'], { maxInFlight: 1, backoffMultiplier: 50, defaultRequeueDelay: 0 }, (m, body) => {
    if (m.attempts > 1) return;
    if (body === 'b') throw new Error('bad');
    if (body === 'nb') m.requeueWithoutBackoff(0);
  });
  await waitFor(() => r.proxy.lines().filter((l) => l.startsWith('FIN')).length === 3, 10_000, 'all 3 finished');
  assert.equal(named(r), [
    'IDENTIFY', 'SUB ' + r.consumer.topic + ' ch', 'RDY 1',
    'RDY 0', 'REQ <b> 0', 'RDY 1',
    'RDY 0', 'REQ <nb> 0', 'RDY 1',
    'FIN <g>', 'FIN <b>', 'FIN <nb>',
  ]);
  await finish(r);
});

test('backoff and resume events report the duration and level', async () => {
  const events: string[] = [];
  const r = await run(['b1', 'b2', 'g'], { maxInFlight: 2, backoffMultiplier: 40, defaultRequeueDelay: 0 }, (m, body) => {
    if (body.startsWith('b') && m.attempts === 1) throw new Error('bad');
  }, (c) => {
    c.on('backoff', (ms, level) => events.push(`backoff ${ms} ${level}`));
    c.on('resume', () => events.push('resume'));
  });
  await waitFor(() => r.done() >= 5, 10_000, 'all handled');
  assert.equal(events, ['backoff 80 1', 'resume']);
  await finish(r);
});

test('close() during a backoff: CLS, no test-the-water RDY afterwards, resolves', async () => {
  let backedOff = false;
  const r = await run(['b'], { maxInFlight: 1, backoffMultiplier: 500, defaultRequeueDelay: 0 }, () => {
    throw new Error('bad');
  }, (c) => c.on('backoff', () => (backedOff = true)));
  await waitFor(() => backedOff, 5000, 'backoff');
  await r.consumer.close(5000);
  // Past the 500 ms backoff timer: had close() left it armed, its RDY 1 would be in the trace.
  await new Promise((res) => setTimeout(res, 1100));
  const trace = named(r);
  assert.equal(trace.slice(2), ['RDY 1', 'RDY 0', 'REQ <b> 0', 'CLS'], trace.join(' | '));
  await r.proxy.close();
});

test('two nsqds: RDY 0 to all, one RDY 1 at a time while backing off (redistributed when idle), normal RDY after', async () => {
  const other = await startNsqd();
  const topic = `backoff${++topicSeq}`;
  await publish(topic, ['b']);
  const proxies = [await startRecordingProxy(nsqd.tcpPort), await startRecordingProxy(other.tcpPort)];
  const c = new Consumer(topic, 'ch', { logLevel: 'none', maxInFlight: 4, backoffMultiplier: 50, defaultRequeueDelay: 0, rdyRedistributeInterval: 50, lowRdyIdleTimeout: 1000 });
  c.on('message', (m) => {
    if (m.attempts === 1) throw new Error('bad');
  });
  for (const p of proxies) await c.connectToNsqd(p.address);
  await waitFor(() => proxies[0]!.lines().some((l) => l.startsWith('FIN')), 15_000, 'the message finished');
  await waitFor(() => proxies.every((p) => p.lines().at(-1) === 'RDY 2' || p.lines().at(-2) === 'RDY 2'), 5000, 'normal RDY again');
  // Replay both RDY streams in time order: once RDY 0 reached both, until normal RDY returns, the sum is ≤ 1.
  const events = proxies.flatMap((p, i) => p.commands.filter((x) => x.name === 'RDY').map((x) => ({ i, n: Number(x.line.slice(4)), at: x.at })));
  events.sort((a, b) => a.at - b.at);
  const rdy = [0, 0];
  let backingOff = false;
  let maxDuring = 0;
  for (const e of events) {
    rdy[e.i] = e.n;
    if (e.n === 0 && rdy[0] === 0 && rdy[1] === 0) backingOff = true; // RDY 0 has reached every connection
    if (e.n > 1) backingOff = false; // leaving backoff: normal RDY everywhere, in one go
    if (backingOff) maxDuring = Math.max(maxDuring, rdy[0]! + rdy[1]!);
  }
  assert.is(maxDuring, 1, JSON.stringify(events));
  for (const p of proxies) assert.ok(p.lines().includes('RDY 0'), p.lines().join(' | '));
  const trace = proxies[0]!.lines();
  assert.is(trace[trace.indexOf(trace.find((l) => l.startsWith('REQ'))!) - 1], 'RDY 0');
  await c.close(2000);
  for (const p of proxies) await p.close();
  await other.close();
});

test('max_backoff_duration below the first backoff step: never backs off (no RDY 0)', async () => {
  const r = await run(['b', 'g'], { maxInFlight: 1, maxBackoffDuration: 50, defaultRequeueDelay: 0 }, (m, body) => {
    if (body === 'b' && m.attempts < 3) throw new Error('bad');
  });
  await waitFor(() => r.proxy.lines().filter((l) => l.startsWith('FIN')).length === 2, 10_000, 'both finished');
  const trace = named(r);
  assert.not.ok(trace.includes('RDY 0'), trace.join(' | '));
  assert.is(trace.filter((l) => l === 'REQ <b> 0').length, 2);
  await finish(r);
});

test('default requeue delay: default_requeue_delay × attempts, capped by max_requeue_delay', async () => {
  const r = await run(['x'], { maxInFlight: 1, maxBackoffDuration: 0, defaultRequeueDelay: 60, maxRequeueDelay: 100 }, (m) => {
    if (m.attempts < 4) throw new Error('again');
  });
  await waitFor(() => r.proxy.lines().some((l) => l.startsWith('FIN')), 10_000, 'finished');
  assert.equal(named(r).slice(3), ['REQ <x> 60', 'REQ <x> 100', 'REQ <x> 100', 'FIN <x>']);
  await finish(r);
});

test('an explicit requeue delay is sent as given', async () => {
  const r = await run(['x'], { maxInFlight: 1, maxBackoffDuration: 0 }, (m) => {
    if (m.attempts === 1) m.requeue(25);
  });
  await waitFor(() => r.proxy.lines().some((l) => l.startsWith('FIN')), 10_000, 'finished');
  assert.equal(named(r).slice(3), ['REQ <x> 25', 'FIN <x>']);
  await finish(r);
});

test.run();
