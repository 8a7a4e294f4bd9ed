// Producer and ProducerPool against real nsqds: PUB/MPUB/DPUB answered in order, pipelining,
// nsqd's error frames as typed errors, lazy connect and reconnect, heartbeats, close(), the
// IDENTIFY upgrades (snappy, deflate, TLS) and AUTH, and the pool's round robin and failover.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Consumer, NsqError, Producer, ProducerPool, type ClientOptions } from '../../src/client/index.js';
import { startNsqd, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { WireConn } from '../helpers/wire.js';
import { topicStats, waitTopic } from '../helpers/stats.js';
import { startRecordingProxy } from '../helpers/recording-proxy.js';

let d: TestNsqd;
let seq = 0;
const quiet = { logLevel: 'none' } as const;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test.before(async () => {
  d = await startNsqd();
});

test.after(async () => {
  await d.close();
});

function topicName(): string {
  return `pt${++seq}_${process.pid}`;
}

async function errorOf(p: Promise<unknown>): Promise<NsqError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  assert.instance(e, NsqError, `expected an NsqError, got ${String(e)}`);
  return e as NsqError;
}

test('PUB, MPUB and DPUB resolve on OK; the messages arrive as sent; DPUB after its delay', async () => {
  const topic = topicName();
  const p = new Producer(`127.0.0.1:${d.tcpPort}`, quiet);
  assert.is(p.isConnected, false, 'lazy: no connection before the first publish');
  await p.publish(topic, 'one');
  await p.publish(topic, Buffer.from([0, 1, 2, 255]));
  await p.mpublish(topic, ['two', Buffer.from('three'), 'vier ✓']);
  const sub = await WireConn.open(d.tcpPort);
  await sub.sub(topic, 'ch');
  sub.cmd('RDY 10');
  const bodies: string[] = [];
  for (let i = 0; i < 5; i++) bodies.push((await sub.readMessage()).body.toString('latin1'));
  assert.equal(bodies, ['one', '\x00\x01\x02\xff', 'two', 'three', Buffer.from('vier ✓').toString('latin1')]);
  const t0 = performance.now();
  await p.deferredPublish(topic, 'deferred', 300);
  const m = await sub.readMessage(3000);
  assert.is(m.body.toString(), 'deferred');
  assert.ok(performance.now() - t0 >= 250, `deferred message after ${performance.now() - t0} ms`);
  sub.close();
  await p.close();
});

test('5000 pipelined publishes all resolve, in one connection', async () => {
  const topic = topicName();
  const p = new Producer(`127.0.0.1:${d.tcpPort}`, quiet);
  let connects = 0;
  p.on('connected', () => void connects++);
  await Promise.all(Array.from({ length: 5000 }, (_, i) => p.publish(topic, `msg-${i}`)));
  assert.is(connects, 1);
  assert.is(p.pendingCount, 0);
  assert.is((await topicStats(d.url, topic))?.message_count, 5000);
  await p.close();
});

test('nsqd error frames reject with their E_* code; later commands fail with ERR_NOT_CONNECTED; then it reconnects', async () => {
  const small = await startNsqd({ maxMsgSize: 100 });
  const topic = topicName();
  const p = new Producer(`127.0.0.1:${small.tcpPort}`, quiet);
  let connects = 0;
  p.on('connected', () => void connects++);
  await p.publish(topic, 'fits');
  const [tooBig, after] = await Promise.all([errorOf(p.publish(topic, 'x'.repeat(200))), errorOf(p.publish(topic, 'queued behind it'))]);
  assert.is(tooBig.code, 'E_BAD_MESSAGE');
  assert.is(tooBig.message, 'E_BAD_MESSAGE PUB message too big 200 > 100');
  assert.ok(tooBig.fromServer);
  assert.is(after.code, 'ERR_NOT_CONNECTED');
  await p.publish(topic, 'fits again');
  assert.is(connects, 2);
  const dpub = await errorOf(p.deferredPublish(topic, 'x', 3_600_001));
  assert.is(dpub.code, 'E_INVALID');
  assert.match(dpub.message, /DPUB timeout 3600001 out of range 0-3600000/);
  await p.close();
  await small.close();
});

test('arguments are checked before anything is sent', async () => {
  const p = new Producer(`127.0.0.1:${d.tcpPort}`, quiet);
  assert.is((await errorOf(p.publish('bad topic', 'x'))).code, 'ERR_INVALID_ARGUMENT');
  assert.is((await errorOf(p.publish('t', ''))).code, 'ERR_INVALID_ARGUMENT');
  assert.is((await errorOf(p.mpublish('t', []))).code, 'ERR_INVALID_ARGUMENT');
  assert.is((await errorOf(p.mpublish('t', ['a', '']))).code, 'ERR_INVALID_ARGUMENT');
  assert.is((await errorOf(p.deferredPublish('t', 'x', -5))).code, 'ERR_INVALID_ARGUMENT');
  assert.is(p.isConnected, false);
  assert.throws(() => new Producer('no-port'), (e: unknown) => e instanceof NsqError && e.code === 'ERR_INVALID_ARGUMENT');
  assert.throws(() => new Producer('127.0.0.1:1', { maxInFlight: -2 }), (e: unknown) => e instanceof NsqError && e.code === 'ERR_CONFIG');
  await p.close();
});

test('unreachable nsqd: ERR_CONNECTION; a restarted nsqd is reconnected on the next publish', async () => {
  assert.is((await errorOf(new Producer('127.0.0.1:1', quiet).publish('t', 'x'))).code, 'ERR_CONNECTION');
  const n1 = await startNsqd();
  const port = n1.tcpPort;
  const p = new Producer(`127.0.0.1:${port}`, quiet);
  const topic = topicName();
  await p.publish(topic, 'before');
  await n1.close();
  await waitFor(() => !p.isConnected, 5000, 'disconnect noticed');
  assert.is((await errorOf(p.publish(topic, 'while down'))).code, 'ERR_CONNECTION');
  const n2 = await startNsqd({ tcpAddress: `127.0.0.1:${port}` });
  await p.publish(topic, 'after');
  assert.is((await topicStats(n2.url, topic))?.message_count, 1);
  await p.close();
  await n2.close();
});

test('ping() (go-nsq\'s Ping) connects and sends a NOP nsqd takes silently; ERR_CONNECTION when nsqd is down', async () => {
  assert.is((await errorOf(new Producer('127.0.0.1:1', quiet).ping())).code, 'ERR_CONNECTION');
  const proxy = await startRecordingProxy(d.tcpPort);
  const p = new Producer(proxy.address, quiet);
  try {
    assert.is(p.isConnected, false);
    await p.ping();
    assert.is(p.isConnected, true);
    await waitFor(() => proxy.lines(true).includes('NOP'), 5000, 'the NOP reached nsqd');
    await p.ping();
    // nsqd answered neither NOP (an error frame would have closed the connection): a publish
    // on the same connection gets its own OK.
    const topic = topicName();
    await p.publish(topic, 'after ping');
    assert.is(p.isConnected, true);
    assert.equal(proxy.lines(true).filter((l) => l !== 'IDENTIFY'), ['NOP', 'NOP', `PUB ${topic}`]);
    assert.is(new Set(proxy.commands.map((c) => c.conn)).size, 1);
  } finally {
    await p.close();
    await proxy.close();
  }
});

test('heartbeats keep an idle producer connected; IDENTIFY refusals are typed', async () => {
  const p = new Producer(`127.0.0.1:${d.tcpPort}`, { ...quiet, heartbeatInterval: 1000 });
  let connects = 0;
  const closes: unknown[] = [];
  p.on('connected', () => void connects++);
  p.on('closed', (_a, err) => void closes.push(err));
  const topic = topicName();
  await p.publish(topic, 'a');
  await sleep(2600);
  await p.publish(topic, 'b');
  assert.is(connects, 1);
  assert.equal(closes, []);
  await p.close();

  const bad = await errorOf(new Producer(`127.0.0.1:${d.tcpPort}`, { ...quiet, heartbeatInterval: 100 }).publish(topic, 'x'));
  assert.is(bad.code, 'E_BAD_BODY');
  assert.match(bad.message, /E_BAD_BODY IDENTIFY heartbeat interval \(100\) is invalid/);
});

test('close() waits for unanswered publishes; afterwards publishes fail with ERR_STOPPED', async () => {
  const topic = topicName();
  const p = new Producer(`127.0.0.1:${d.tcpPort}`, quiet);
  const inFlight = Array.from({ length: 200 }, (_, i) => p.publish(topic, `m${i}`));
  await sleep(0);
  await p.close();
  await Promise.all(inFlight);
  assert.is((await errorOf(p.publish(topic, 'late'))).code, 'ERR_STOPPED');
  assert.is((await topicStats(d.url, topic))?.message_count, 200);
});

const certs = fileURLToPath(new URL('../fixtures/certs/', import.meta.url));

test('snappy, deflate and TLS: publish and consume through each layer', async () => {
  const n = await startNsqd({ snappy: true, deflate: true, tlsCert: join(certs, 'server.pem'), tlsKey: join(certs, 'server.key') });
  const tls = { ca: readFileSync(join(certs, 'ca.pem')), servername: 'localhost' };
  const variants: [string, ClientOptions][] = [
    ['snappy', { snappy: true }],
    ['deflate', { deflate: true, deflateLevel: 9 }],
    ['tls', { tlsV1: true, tls }],
    ['tls+snappy', { tlsV1: true, snappy: true, tls }],
    ['tls+deflate', { tlsV1: true, deflate: true, tls }],
  ];
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff;
  for (const [name, opts] of variants) {
    const topic = topicName();
    const p = new Producer(`127.0.0.1:${n.tcpPort}`, { ...quiet, ...opts });
    await p.publish(topic, big);
    await p.mpublish(topic, Array.from({ length: 200 }, (_, i) => `${name}-${i}`));
    const c = new Consumer(topic, 'ch', { ...quiet, ...opts, maxInFlight: 50 });
    let count = 0;
    let bigOk = false;
    c.on('message', (m) => {
      count++;
      if (m.body.length === big.length) bigOk = m.body.equals(big);
    });
    await c.connectToNsqd(`127.0.0.1:${n.tcpPort}`);
    await waitFor(() => count === 201, 10_000, `${name}: 201 messages`);
    assert.ok(bigOk, `${name}: the 300 kB body arrived intact`);
    await c.close();
    await p.close();
  }
  await n.close();
});

test('AUTH: sent when nsqd requires it; without a secret the connection fails with Auth Required', async () => {
  const auth = createServer((req, res) => {
    const secret = new URL(req.url ?? '', 'http://x').searchParams.get('secret');
    if (secret !== 'opensesame') {
      res.writeHead(403).end('{"message":"no"}');
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
      ttl: 60, identity: 'tester', identity_url: '', authorizations: [{ topic: '.*', channels: ['.*'], permissions: ['publish', 'subscribe'] }],
    }));
  });
  await new Promise<void>((r) => auth.listen(0, '127.0.0.1', r));
  const n = await startNsqd({ authHttpAddresses: [`127.0.0.1:${(auth.address() as { port: number }).port}`] });
  const topic = topicName();
  const ok = new Producer(`127.0.0.1:${n.tcpPort}`, { ...quiet, authSecret: 'opensesame' });
  await ok.publish(topic, 'authorized');
  const missing = await errorOf(new Producer(`127.0.0.1:${n.tcpPort}`, quiet).publish(topic, 'x'));
  assert.is(missing.code, 'ERR_IDENTIFY');
  assert.is(missing.message, 'Auth Required');
  const wrong = await errorOf(new Producer(`127.0.0.1:${n.tcpPort}`, { ...quiet, authSecret: 'nope' }).publish(topic, 'x'));
  assert.is(wrong.code, 'E_AUTH_FAILED');
  await ok.close();
  await n.close();
  await new Promise<void>((r) => auth.close(() => r()));
});

test('ProducerPool: round robin over three nsqds', async () => {
  const nodes = [d, await startNsqd(), await startNsqd()];
  const topic = topicName();
  const pool = new ProducerPool(nodes.map((n) => `127.0.0.1:${n.tcpPort}`), quiet);
  for (let i = 0; i < 30; i++) await pool.publish(topic, `m${i}`);
  await pool.mpublish(topic, ['a', 'b']);
  await pool.deferredPublish(topic, 'later', 10);
  const counts = await Promise.all(nodes.map(async (n) => (await topicStats(n.url, topic))?.message_count ?? 0));
  assert.equal(counts, [12, 11, 10]);
  await pool.close();
  for (const n of nodes.slice(1)) await n.close();
});

test('ProducerPool: fails over when a node is down, retries it after a delay, and refusals are not retried', async () => {
  const nodes = [await startNsqd(), await startNsqd(), await startNsqd()];
  const port1 = nodes[1]!.tcpPort;
  const topic = topicName();
  const pool = new ProducerPool(nodes.map((n) => `127.0.0.1:${n.tcpPort}`), { ...quiet, nodeRetryDelay: 300 });
  const downs: string[] = [];
  const ups: string[] = [];
  pool.on('node_down', (a) => void downs.push(a));
  pool.on('node_up', (a) => void ups.push(a));
  for (let i = 0; i < 6; i++) await pool.publish(topic, `warm${i}`);
  await nodes[1]!.close();
  for (let i = 0; i < 30; i++) await pool.publish(topic, `m${i}`);
  assert.equal(downs, [`127.0.0.1:${port1}`]);
  assert.is(pool.status()[1]!.up, false);
  const survivors = await Promise.all([nodes[0]!, nodes[2]!].map(async (n) => (await topicStats(n.url, topic))?.message_count ?? 0));
  assert.is(survivors[0]! + survivors[1]!, 4 + 30);
  nodes[1] = await startNsqd({ tcpAddress: `127.0.0.1:${port1}` });
  await sleep(350);
  for (let i = 0; i < 9; i++) await pool.publish(topic, `back${i}`);
  assert.equal(ups, [`127.0.0.1:${port1}`]);
  await waitTopic(nodes[1]!.url, topic, (t) => t.message_count >= 2, 'the restarted node gets publishes again');

  const refused = await errorOf(pool.publish(topic, 'x'.repeat(2 * 1024 * 1024)));
  assert.is(refused.code, 'E_BAD_MESSAGE');
  assert.is(downs.length, 1, 'a refusal does not mark the node down');

  for (const n of nodes) await n.close();
  const none = await errorOf(pool.publish(topic, 'nowhere'));
  assert.is(none.code, 'ERR_NO_NSQD');
  await pool.close();
});

test.run();
