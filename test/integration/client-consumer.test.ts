// The Consumer against real nsqds on loopback: exactly-once consumption, handler auto responses,
// touch, requeue with delay, max_attempts discards, graceful close, max_in_flight spread over three
// nsqds (and redistribution below one RDY per connection), the async iterator and its back
// pressure, heartbeats, reconnection, and typed errors. nsqd's /stats is the independent witness.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Consumer, NsqError, Producer, type Message } from '../../src/client/index.js';
import { startNsqd, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { startRecordingProxy } from '../helpers/recording-proxy.js';
import { channelStats, getStats, waitChannel } from '../helpers/stats.js';

let d: TestNsqd;
let producer: Producer;
let seq = 0;
const quiet = { logLevel: 'none' } as const;

test.before(async () => {
  d = await startNsqd();
  producer = new Producer(`127.0.0.1:${d.tcpPort}`, quiet);
});

test.after(async () => {
  await producer.close();
  await d.close();
});

function topicName(): string {
  return `ct${++seq}_${process.pid}`;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function publishN(p: Producer, topic: string, n: number, prefix = 'm'): Promise<void> {
  const bodies = Array.from({ length: n }, (_, i) => `${prefix}${i}`);
  for (let i = 0; i < n; i += 100) await p.mpublish(topic, bodies.slice(i, i + 100));
}

test('publish and consume 2000 messages exactly once', async () => {
  const topic = topicName();
  await publishN(producer, topic, 2000);
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 200 });
  const bodies = new Map<string, number>();
  const ids = new Set<string>();
  c.on('message', (m) => {
    ids.add(m.id);
    const b = m.body.toString();
    bodies.set(b, (bodies.get(b) ?? 0) + 1);
  });
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  await waitFor(() => ids.size >= 2000, 10_000, '2000 messages');
  const ch = await waitChannel(d.url, topic, 'ch', (x) => x.in_flight_count === 0 && x.depth === 0, 'all finished');
  assert.is(ch.requeue_count, 0);
  assert.is(ch.timeout_count, 0);
  await sleep(100);
  assert.is(ids.size, 2000);
  assert.is(bodies.size, 2000);
  assert.ok([...bodies.values()].every((n) => n === 1), 'each body once');
  assert.equal(c.stats(), { messagesReceived: 2000, messagesFinished: 2000, messagesRequeued: 0, messagesDiscarded: 0, connections: 1 });
  await c.close();
});

test('async handlers: resolve finishes, reject requeues (default delay policy, attempts grow)', async () => {
  const topic = topicName();
  await producer.publish(topic, 'x');
  const c = new Consumer(topic, 'ch', { ...quiet, maxBackoffDuration: 0, defaultRequeueDelay: 0 });
  const attempts: number[] = [];
  c.on('message', async (m) => {
    attempts.push(m.attempts);
    await sleep(5);
    if (m.attempts < 3) throw new Error('not yet');
  });
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  await waitChannel(d.url, topic, 'ch', (x) => x.requeue_count === 2 && x.in_flight_count === 0 && x.depth === 0, 'finished on the third attempt');
  assert.equal(attempts, [1, 2, 3]);
  await c.close();
});

test('touch keeps a message past its msg_timeout', async () => {
  const topic = topicName();
  await producer.publish(topic, 'slow');
  const c = new Consumer(topic, 'ch', { ...quiet, msgTimeout: 1000 });
  const attempts: number[] = [];
  c.on('message', async (m) => {
    attempts.push(m.attempts);
    for (let i = 0; i < 6; i++) {
      await sleep(350);
      m.touch();
    }
  });
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  await waitFor(() => c.stats().messagesFinished === 1, 10_000, 'finish after 2.1 s of touching');
  const ch = await waitChannel(d.url, topic, 'ch', (x) => x.in_flight_count === 0, 'not in flight');
  assert.is(ch.timeout_count, 0);
  assert.equal(attempts, [1]);
  await c.close();
});

test('requeue with an explicit delay redelivers after it', async () => {
  const topic = topicName();
  await producer.publish(topic, 'later');
  const c = new Consumer(topic, 'ch', quiet);
  const seen: [number, number][] = [];
  c.on('message', (m) => {
    seen.push([m.attempts, performance.now()]);
    if (m.attempts === 1) m.requeue(300, false);
  });
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  await waitFor(() => seen.length === 2, 5000, 'redelivery');
  assert.is(seen[1]![0], 2);
  assert.ok(seen[1]![1] - seen[0]![1] >= 250, `redelivered after ${seen[1]![1] - seen[0]![1]} ms`);
  await c.close();
});

test('max_attempts: the message is discarded (discard event, then FIN) without calling the handler', async () => {
  const topic = topicName();
  await producer.publish(topic, 'poison');
  const c = new Consumer(topic, 'ch', { ...quiet, maxAttempts: 2, maxBackoffDuration: 0, defaultRequeueDelay: 0 });
  let calls = 0;
  const discarded: Message[] = [];
  c.on('message', () => {
    calls++;
    throw new Error('always');
  });
  c.on('discard', (m) => void discarded.push(m));
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  await waitFor(() => discarded.length === 1, 5000, 'discard');
  const ch = await waitChannel(d.url, topic, 'ch', (x) => x.in_flight_count === 0 && x.depth === 0, 'finished');
  assert.is(calls, 2);
  assert.is(discarded[0]!.attempts, 3);
  assert.is(discarded[0]!.body.toString(), 'poison');
  assert.ok(discarded[0]!.hasResponded);
  assert.is(ch.requeue_count, 2);
  assert.is(c.stats().messagesDiscarded, 1);
  await c.close();
});

test('a SUB refused by nsqd (--max-channel-consumers) on a direct connection is retried every lookupd_poll_interval, as go-nsq retries the closed connection', async () => {
  const n = await startNsqd({ maxChannelConsumers: 1 });
  const topic = topicName();
  const first = new Consumer(topic, 'ch', quiet);
  const second = new Consumer(topic, 'ch', { ...quiet, lookupdPollInterval: 100 });
  const p = new Producer(`127.0.0.1:${n.tcpPort}`, quiet);
  try {
    first.on('message', () => {});
    await first.connectToNsqd(`127.0.0.1:${n.tcpPort}`);
    const got: string[] = [];
    second.on('message', (m: Message) => void got.push(m.body.toString()));
    const err = await second.connectToNsqd(`127.0.0.1:${n.tcpPort}`).catch((e: NsqError) => e);
    assert.instance(err, NsqError);
    assert.is((err as NsqError).code, 'E_SUB_FAILED');
    await first.close();
    await waitFor(() => second.stats().connections === 1, 10_000, 'the second consumer subscribed once the first left');
    await p.publish(topic, 'after');
    await waitFor(() => got.length === 1, 10_000, 'a message to the retried connection');
    assert.equal(got, ['after']);
  } finally {
    p.close();
    await first.close();
    await second.close();
    await n.close();
  }
});

test('disconnectFromNsqd on a busy connection: RDY 0 at once, what is in flight is answered, then the connection closes', async () => {
  const topic = topicName();
  await publishN(producer, topic, 300);
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 10 });
  let received = 0;
  c.on('message', async () => {
    received++;
    await sleep(5 + (received % 7) * 5);
  });
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  await waitFor(() => received >= 30, 10_000, '30 messages');
  const atDisconnect = received;
  c.disconnectFromNsqd(`127.0.0.1:${d.tcpPort}`);
  const ch = await waitChannel(d.url, topic, 'ch', (x) => x.client_count === 0, 'the connection closed');
  // Past RDY 0 nsqd sends nothing new: at most the 10-message window was still on its way.
  assert.ok(received <= atDisconnect + 10, `${received - atDisconnect} messages after the disconnect`);
  assert.is(ch.in_flight_count, 0);
  assert.is(ch.depth, 300 - received);
  await c.close();
});

/** A consumer of a fresh topic holding one message in a handler for `holdMs`; resolves once the handler runs. */
async function holding(holdMs: number): Promise<{ c: Consumer; topic: string; handlerDone: () => boolean }> {
  const topic = topicName();
  await producer.publish(topic, 'held');
  const c = new Consumer(topic, 'ch', quiet);
  let started = false;
  let done = false;
  c.on('message', async () => {
    started = true;
    await sleep(holdMs);
    done = true;
  });
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  await waitFor(() => started, 5000, 'handler start');
  return { c, topic, handlerDone: () => done };
}

test('close() waits for in-flight handlers, then closes; close(timeout) gives up after it', async () => {
  const { c, topic } = await holding(400);
  const t0 = performance.now();
  await c.close();
  assert.ok(performance.now() - t0 >= 300, `close returned after ${performance.now() - t0} ms`);
  const ch = await waitChannel(d.url, topic, 'ch', (x) => x.client_count === 0, 'client gone');
  assert.is(ch.in_flight_count, 0);
  assert.is(ch.depth, 0);
  assert.is(c.stats().messagesFinished, 1);

  const slow = await holding(3000);
  const t1 = performance.now();
  await slow.c.close(300);
  const took = performance.now() - t1;
  assert.ok(took >= 250, `close(300) took ${took} ms`);
  assert.not.ok(slow.handlerDone(), 'close(300) gave up on the handler instead of waiting for it');
  assert.is(slow.c.stats().connections, 0);
});

async function readyCounts(nodes: TestNsqd[], topic: string): Promise<number[]> {
  return Promise.all(nodes.map(async (n) => (await channelStats(n.url, topic, 'ch'))?.clients?.[0]?.ready_count ?? -1));
}

test('max_in_flight spread over 3 nsqds: 10 → RDY 3 each; messages come from all of them', async () => {
  const nodes = [d, await startNsqd(), await startNsqd()];
  const topic = topicName();
  const producers = nodes.slice(1).map((n) => new Producer(`127.0.0.1:${n.tcpPort}`, quiet));
  await publishN(producer, topic, 30, 'a');
  await publishN(producers[0]!, topic, 30, 'b');
  await publishN(producers[1]!, topic, 30, 'c');
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 10 });
  const from = new Map<string, number>();
  c.on('message', async (m) => {
    from.set(m.nsqdAddress, (from.get(m.nsqdAddress) ?? 0) + 1);
    await sleep(1);
  });
  for (const n of nodes) await c.connectToNsqd(`127.0.0.1:${n.tcpPort}`);
  await waitFor(() => c.stats().messagesFinished === 90, 10_000, '90 messages');
  assert.equal([...from.values()].sort(), [30, 30, 30]);
  await waitFor(async () => (await readyCounts(nodes, topic)).join() === '3,3,3', 5000, 'RDY 3 on each nsqd');
  await c.close();
  for (const p of producers) await p.close();
  for (const n of nodes.slice(1)) await n.close();
});

test('max_in_flight 1 over 3 nsqds: RDY never sums above 1 and redistribution reaches every nsqd', async () => {
  const nodes = [d, await startNsqd(), await startNsqd()];
  const topic = topicName();
  const producers = nodes.map((n) => new Producer(`127.0.0.1:${n.tcpPort}`, quiet));
  for (const [i, p] of producers.entries()) await publishN(p, topic, 2, `n${i}-`);
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 1, rdyRedistributeInterval: 50, lowRdyIdleTimeout: 1000, lowRdyTimeout: 1000 });
  const from = new Set<string>();
  c.on('message', (m) => void from.add(m.nsqdAddress));
  for (const n of nodes) await c.connectToNsqd(`127.0.0.1:${n.tcpPort}`);
  let maxSum = 0;
  const deadline = Date.now() + 25_000;
  while (c.stats().messagesFinished < 6 && Date.now() < deadline) {
    const counts = await readyCounts(nodes, topic);
    maxSum = Math.max(maxSum, counts.reduce((a, b) => a + Math.max(b, 0), 0));
    await sleep(100);
  }
  assert.is(c.stats().messagesFinished, 6);
  assert.is(from.size, 3);
  assert.ok(maxSum <= 1, `RDY summed to ${maxSum}`);
  await c.close();
  for (const p of producers) await p.close();
  for (const n of nodes.slice(1)) await n.close();
});

test('async iterator: every message once; finished when the loop moves on; break requeues the current one', async () => {
  const topic = topicName();
  await publishN(producer, topic, 50);
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 8 });
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  const seen = new Set<string>();
  for await (const m of c) {
    seen.add(m.body.toString());
    if (seen.size === 50) {
      m.finish();
      break;
    }
  }
  assert.is(seen.size, 50);
  await waitChannel(d.url, topic, 'ch', (x) => x.in_flight_count === 0 && x.depth === 0 && x.requeue_count === 0, 'all finished');

  await producer.publish(topic, 'last');
  for await (const m of c) {
    assert.is(m.attempts, 1);
    break; // unanswered: requeued at once
  }
  const ch = await waitChannel(d.url, topic, 'ch', (x) => x.requeue_count === 1, 'requeued');
  assert.ok(ch.depth + ch.in_flight_count === 1);
  let again: Message | undefined;
  for await (const m of c) {
    again = m;
    break;
  }
  assert.is(again?.attempts, 2);
  again?.finish();
  await c.close();
});

test('async iterator back pressure: a slow loop never has more than max_in_flight in flight', async () => {
  const topic = topicName();
  await publishN(producer, topic, 40);
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 4 });
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  let maxInFlight = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const ch = await channelStats(d.url, topic, 'ch');
      maxInFlight = Math.max(maxInFlight, ch?.in_flight_count ?? 0);
      await sleep(15);
    }
  })();
  let n = 0;
  for await (const _m of c) {
    await sleep(10);
    if (++n === 40) break;
  }
  sampling = false;
  await sampler;
  assert.ok(maxInFlight > 0 && maxInFlight <= 4, `in flight peaked at ${maxInFlight}`);
  const closing = c.close();
  await closing;
  const ch = await channelStats(d.url, topic, 'ch');
  assert.is((ch?.depth ?? 0) + (ch?.in_flight_count ?? 0), 1, 'only the message left at break is back in the queue');
});

test('iterator ends when the consumer closes', async () => {
  const topic = topicName();
  const c = new Consumer(topic, 'ch', quiet);
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  const loop = (async () => {
    let n = 0;
    for await (const _m of c) n++;
    return n;
  })();
  await sleep(50);
  await c.close();
  assert.is(await loop, 0);
});

test('heartbeats are answered with NOP; the connection survives idle periods', async () => {
  const topic = topicName();
  const proxy = await startRecordingProxy(d.tcpPort);
  const c = new Consumer(topic, 'ch', { ...quiet, heartbeatInterval: 1000 });
  const closed: string[] = [];
  c.on('nsqd_closed', (a) => void closed.push(a));
  let got = 0;
  c.on('message', () => void got++);
  await c.connectToNsqd(proxy.address);
  await sleep(2600);
  assert.ok(proxy.commands.filter((x) => x.name === 'NOP').length >= 2, proxy.lines(true).join(' | '));
  assert.equal(closed, []);
  await producer.publish(topic, 'after idle');
  await waitFor(() => got === 1, 5000, 'message after idle');
  await c.close();
  await proxy.close();
});

test('disableAutoResponse: the application answers', async () => {
  const topic = topicName();
  await producer.publish(topic, 'manual');
  const c = new Consumer(topic, 'ch', { ...quiet, disableAutoResponse: true });
  let held: Message | undefined;
  c.on('message', async (m) => {
    held = m;
  });
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  await waitFor(() => held !== undefined, 5000, 'message');
  await sleep(100);
  assert.is((await channelStats(d.url, topic, 'ch'))?.in_flight_count, 1);
  held!.finish();
  await waitChannel(d.url, topic, 'ch', (x) => x.in_flight_count === 0 && x.depth === 0, 'finished by hand');
  await c.close();
});

test('connect() with nsqjs-style address lists; pause() sets RDY 0, unpause() restores it', async () => {
  const topic = topicName();
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 7 });
  let got = 0;
  c.on('message', () => void got++);
  await c.connect({ nsqdTcpAddresses: [`127.0.0.1:${d.tcpPort}`] });
  await waitFor(async () => (await readyCounts([d], topic))[0] === 7, 5000, 'RDY 7');
  c.pause();
  assert.ok(c.isPaused());
  await waitFor(async () => (await readyCounts([d], topic))[0] === 0, 5000, 'RDY 0 while paused');
  await producer.publish(topic, 'while paused');
  await sleep(300);
  assert.is(got, 0);
  c.unpause();
  await waitFor(() => got === 1, 5000, 'delivered after unpause');
  assert.is((await readyCounts([d], topic))[0], 7);
  await c.close();
});

test('reconnects to a direct nsqd after it restarts (every lookupd_poll_interval)', async () => {
  const n1 = await startNsqd();
  const port = n1.tcpPort;
  const topic = topicName();
  const c = new Consumer(topic, 'ch', { ...quiet, lookupdPollInterval: 100 });
  let connected = 0;
  let got = 0;
  c.on('nsqd_connected', () => void connected++);
  c.on('message', () => void got++);
  await c.connectToNsqd(`127.0.0.1:${port}`);
  await n1.close();
  await waitFor(() => c.stats().connections === 0, 5000, 'connection closed');
  const n2 = await startNsqd({ tcpAddress: `127.0.0.1:${port}` });
  await waitFor(() => connected === 2, 5000, 'reconnected');
  const p = new Producer(`127.0.0.1:${port}`, quiet);
  await p.publish(topic, 'hello again');
  await waitFor(() => got === 1, 5000, 'message after reconnect');
  await c.close();
  await p.close();
  await n2.close();
});

test('typed errors: invalid names, duplicate and unreachable nsqds, SUB refused by nsqd', async () => {
  assert.throws(() => new Consumer('bad topic', 'ch'), (e: unknown) => e instanceof NsqError && e.code === 'ERR_INVALID_ARGUMENT');
  const topic = topicName();
  const c = new Consumer(topic, 'ch', quiet);
  await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`);
  const dup = await c.connectToNsqd(`127.0.0.1:${d.tcpPort}`).catch((e: unknown) => e);
  assert.is((dup as NsqError).code, 'ERR_ALREADY_CONNECTED');
  const down = await c.connectToNsqd('127.0.0.1:1').catch((e: unknown) => e);
  assert.is((down as NsqError).code, 'ERR_CONNECTION');
  await c.close();

  const limited = await startNsqd({ maxChannelConsumers: 1 });
  const a = new Consumer(topic, 'ch', quiet);
  const b = new Consumer(topic, 'ch', quiet);
  await a.connectToNsqd(`127.0.0.1:${limited.tcpPort}`);
  const refused = await b.connectToNsqd(`127.0.0.1:${limited.tcpPort}`).catch((e: unknown) => e);
  assert.instance(refused, NsqError);
  assert.is((refused as NsqError).code, 'E_SUB_FAILED');
  assert.match((refused as NsqError).message, /exceeds limit of 1/);
  await a.close();
  await b.close();
  await limited.close();
  // The stats witness saw a consumer with our user agent.
  const s = await getStats(d.url);
  assert.ok(s !== undefined);
});

test.run();
