// Consumer discovery through nsqlookupd: three nsqds registered with a real nsqlookupd, a fourth
// that appears later, one that goes away and comes back (its connection removed, then re-made),
// the legacy `{"data": {...}}` response shape from a stand-in lookupd, and round-robin retries
// past a dead lookupd.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { Consumer, Producer } from '../../src/client/index.js';
import type { NsqdInit } from '../../src/nsqd/nsqd.js';
import { http, startNsqd, startNsqlookupd, waitFor, type TestNsqd, type TestNsqlookupd } from '../helpers/daemons.js';

const quiet = { logLevel: (process.env.CLIENT_LOG ?? 'none') as 'none' } as const;
let lookupd: TestNsqlookupd;
let seq = 0;

test.before(async () => {
  lookupd = await startNsqlookupd();
});

test.after(async () => {
  await lookupd.close();
});

function registered(tcpPort = 0): NsqdInit {
  return {
    nsqlookupdTcpAddresses: [`127.0.0.1:${lookupd.tcpPort}`],
    broadcastAddress: '127.0.0.1',
    ...(tcpPort > 0 ? { tcpAddress: `127.0.0.1:${tcpPort}` } : {}),
  };
}

async function publishTo(n: TestNsqd, topic: string, count: number): Promise<void> {
  const p = new Producer(`127.0.0.1:${n.tcpPort}`, quiet);
  for (let i = 0; i < count; i++) await p.publish(topic, `${n.tcpPort}-${i}`);
  await p.close();
}

async function producersOf(topic: string): Promise<number> {
  const res = await http('GET', `${lookupd.url}/lookup?topic=${topic}`);
  if (res.status !== 200) return 0;
  return (JSON.parse(res.text) as { producers: unknown[] }).producers.length;
}

test('consumes from every nsqd lookupd lists; picks up a new one; re-makes a connection to an nsqd that came back', async () => {
  const topic = `lk${++seq}`;
  const nodes = [await startNsqd(registered()), await startNsqd(registered()), await startNsqd(registered())];
  for (const n of nodes) await publishTo(n, topic, 10);
  await waitFor(async () => (await producersOf(topic)) === 3, 5000, 'three producers registered');

  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 30, lookupdPollInterval: 100, lookupdPollJitter: 0.1 });
  const from = new Map<string, number>();
  const connected: string[] = [];
  const closed: string[] = [];
  c.on('message', (m) => void from.set(m.nsqdAddress, (from.get(m.nsqdAddress) ?? 0) + 1));
  c.on('nsqd_connected', (a) => void connected.push(a));
  c.on('nsqd_closed', (a) => void closed.push(a));
  await c.connectToNsqLookupd(`127.0.0.1:${lookupd.httpPort}`);
  assert.is(c.stats().connections, 3, 'the first query connects before connectToNsqLookupd resolves');
  await waitFor(() => c.stats().messagesFinished === 30, 5000, '30 messages');
  assert.equal([...from.values()], [10, 10, 10]);

  // A fourth nsqd registers the topic: found on a later poll.
  const fourth = await startNsqd(registered());
  await publishTo(fourth, topic, 5);
  await waitFor(() => c.stats().connections === 4, 5000, 'fourth nsqd discovered');
  await waitFor(() => c.stats().messagesFinished === 35, 5000, '35 messages');
  assert.is(connected.length, 4, 'one connection per nsqd, no duplicates across polls');

  // One nsqd goes away: its connection is removed; when it is back on the same port it is re-made.
  const gone = nodes[1]!;
  const port = gone.tcpPort;
  await gone.close();
  await waitFor(() => c.stats().connections === 3, 5000, 'connection removed');
  assert.equal(closed, [`127.0.0.1:${port}`]);
  const back = await startNsqd(registered(port));
  await publishTo(back, topic, 3);
  await waitFor(() => c.stats().connections === 4, 5000, 'connection re-made');
  await waitFor(() => c.stats().messagesFinished === 38, 5000, '38 messages');
  assert.is(connected.filter((a) => a === `127.0.0.1:${port}`).length, 2);

  await c.close();
  for (const n of [nodes[0]!, nodes[2]!, fourth, back]) await n.close();
});

function standIn(body: (port: number) => unknown): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  return new Promise((resolve) => {
    let port = 0;
    const server = createServer((req, res) => {
      hits.push(`${req.url} ${String(req.headers.accept)}`);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(body(port)));
    });
    server.listen(0, '127.0.0.1', () => {
      port = (server.address() as { port: number }).port;
      resolve({ server, port, hits });
    });
  });
}

test('legacy response shape {"status_code":200,"data":{"producers":[...]}} and go-nsq\'s request', async () => {
  const n = await startNsqd();
  const topic = `lk${++seq}`;
  await publishTo(n, topic, 4);
  const legacy = await standIn(() => ({
    status_code: 200,
    status_txt: 'OK',
    data: { channels: ['ch'], producers: [{ remote_address: 'x', hostname: 'h', broadcast_address: '127.0.0.1', tcp_port: n.tcpPort, http_port: n.httpPort, version: '1.3.0' }] },
  }));
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 4 });
  c.on('message', () => {});
  await c.connectToNsqLookupd(`http://127.0.0.1:${legacy.port}`);
  await waitFor(() => c.stats().messagesFinished === 4, 5000, '4 messages');
  assert.equal(legacy.hits, [`/lookup?topic=${topic} application/vnd.nsq; version=1.0`]);
  await c.close();
  await new Promise<void>((r) => legacy.server.close(() => r()));
  await n.close();
});

test('a dead lookupd: the query moves on to the next one (three attempts, round robin)', async () => {
  const n = await startNsqd(registered());
  const topic = `lk${++seq}`;
  await publishTo(n, topic, 2);
  await waitFor(async () => (await producersOf(topic)) === 1, 5000, 'registered');
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 2, lookupdPollTimeout: 500, lookupdPollInterval: 200 });
  c.on('message', () => {});
  // The dead one is added first and queried first; the same query then tries the live one.
  await c.connectToNsqLookupds(['127.0.0.1:1', `127.0.0.1:${lookupd.httpPort}`]);
  await waitFor(() => c.stats().messagesFinished === 2, 5000, '2 messages');
  await c.close();
  await n.close();
});

test('setDiscoveryFilter (go-nsq\'s DiscoveryFilter) chooses among the nsqds a query found; null lifts it; a throwing filter connects nowhere', async () => {
  const topic = `lk${++seq}`;
  const nodes = [await startNsqd(registered()), await startNsqd(registered()), await startNsqd(registered())];
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: 30, lookupdPollInterval: 100, lookupdPollJitter: 0.1 });
  const c2 = new Consumer(topic, 'ch2', { ...quiet, lookupdPollInterval: 100, lookupdPollJitter: 0.1 });
  try {
    for (const n of nodes) await publishTo(n, topic, 4);
    await waitFor(async () => (await producersOf(topic)) === 3, 5000, 'three producers registered');
    const addrs = nodes.map((n) => `127.0.0.1:${n.tcpPort}`);
    const chosen = addrs[1]!;

    const from = new Set<string>();
    c.on('message', (m) => void from.add(m.nsqdAddress));
    const seen: string[][] = [];
    c.setDiscoveryFilter((found) => {
      seen.push([...found].sort());
      return found.filter((a) => a === chosen);
    });
    await c.connectToNsqLookupd(`127.0.0.1:${lookupd.httpPort}`);
    assert.equal(seen[0], [...addrs].sort(), 'the filter sees every nsqd the query found');
    assert.is(c.stats().connections, 1);
    await waitFor(() => c.stats().messagesFinished === 4, 5000, "the chosen nsqd's 4 messages");
    await waitFor(() => seen.length >= 3, 5000, 'later polls');
    assert.is(c.stats().connections, 1, 'later polls keep to the filter');
    assert.equal([...from], [chosen]);

    c.setDiscoveryFilter(null);
    await waitFor(() => c.stats().connections === 3, 5000, 'all three once the filter is lifted');
    await waitFor(() => c.stats().messagesFinished === 12, 5000, '12 messages');

    let calls = 0;
    c2.setDiscoveryFilter(() => {
      calls++;
      throw new Error('boom');
    });
    await c2.connectToNsqLookupd(`127.0.0.1:${lookupd.httpPort}`);
    await waitFor(() => calls >= 3, 5000, 'polled again after the filter threw');
    assert.is(c2.stats().connections, 0);
  } finally {
    await c.close(1000);
    await c2.close(1000);
    for (const n of nodes) await n.close();
  }
});

test.run();
