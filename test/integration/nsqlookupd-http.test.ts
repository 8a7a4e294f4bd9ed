// nsqlookupd's HTTP API (spec nsqlookupd-nsqadmin-tools-client.md §1.3, §1.4, §1.6, §4.6): every
// endpoint with its status codes and V1 bodies, compared with responses recorded from Go
// nsqlookupd 1.3.0 (test/fixtures/go-1.3.0/http-samples/lookupd-*), the router's 404/405/OPTIONS/
// redirect behaviour, the tombstone and inactivity filters with small timeouts, `*` wildcards,
// and the third-party client nsqjs discovering our nsqd through our nsqlookupd.
import { hostname } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import nsq, { type Message } from 'nsqjs';
import type { NSQLookupdInit } from '../../src/nsqlookupd/nsqlookupd.js';
import { debugDocument, debugJson, nodesDocument, nodesJson } from '../../src/nsqlookupd/http.js';
import { goJSON } from '../../src/internal/http.js';
import { http, startNsqd, startNsqlookupd, waitFor, type TestNsqlookupd } from '../helpers/daemons.js';
import { expectErr, expectV1, V1, type Res } from '../helpers/http-v1.js';
import { identifyBody, LookupConn } from '../helpers/lookup-wire.js';
import { jsonShape, rawHttp, readFixture } from '../helpers/stats.js';
import { withTimeout } from '../helpers/wire.js';

const ACCEPT_V1 = { Accept: 'application/vnd.nsq; version=1.0' };

async function withLookupd(init: NSQLookupdInit, fn: (d: TestNsqlookupd) => Promise<void>): Promise<void> {
  const d = await startNsqlookupd(init);
  try {
    await fn(d);
  } finally {
    await d.close();
  }
}

const get = (d: TestNsqlookupd, path: string, headers: Record<string, string> = {}): Promise<Res> => http('GET', `${d.url}${path}`, undefined, headers);
const post = (d: TestNsqlookupd, path: string): Promise<Res> => http('POST', `${d.url}${path}`);

/** Register an nsqd-like peer over TCP the way nsqd does: IDENTIFY, then its channels (or bare topics). */
async function registerPeer(d: TestNsqlookupd, over: Record<string, unknown>, regs: string[]): Promise<LookupConn> {
  const c = await LookupConn.open(d.tcpPort);
  JSON.parse(await c.identify(identifyBody(over)));
  for (const r of regs) await c.ok(`REGISTER ${r}`);
  return c;
}

/** The recorded Go peer: hostname vm, 127.0.0.1, ports 34150/34151, topics orders (2 channels), audit, paused_topic. */
function goFixturePeer(d: TestNsqlookupd): Promise<LookupConn> {
  return registerPeer(d, { hostname: 'vm', broadcast_address: '127.0.0.1', tcp_port: 34150, http_port: 34151 }, [
    'orders billing',
    'orders shipping',
    'audit',
    'paused_topic',
  ]);
}

// ---------------------------------------------------------------------------------------------
// Simple endpoints and the V1 envelope

test('/ping is plain text OK without the V1 header; /info matches Go', async () => {
  await withLookupd({}, async (d) => {
    const ping = await get(d, '/ping');
    assert.equal([ping.status, ping.text, ping.headers.get('content-type'), ping.headers.get('x-nsq-content-type')], [200, 'OK', 'text/plain; charset=utf-8', null]);
    expectV1(await get(d, '/info'), 200, readFixture('lookupd-info.json'), 'json');
  });
});

test('empty database: /topics, /nodes and /debug give empty JSON; /lookup 404s like Go (headers included)', async () => {
  await withLookupd({}, async (d) => {
    expectV1(await get(d, '/topics'), 200, '{"topics":[]}', 'json');
    expectV1(await get(d, '/nodes'), 200, '{"producers":[]}', 'json');
    expectV1(await get(d, '/debug'), 200, '{}', 'json');
    expectV1(await get(d, '/channels?topic=none'), 200, '{"channels":[]}', 'json');
    const missing = await rawHttp('GET', `${d.url}/lookup?topic=nope`);
    const [head, body] = readFixture('lookupd-lookup-missing.txt').split(/\r?\n\r?\n/);
    assert.is(missing.status, Number(/^HTTP\/1\.1 (\d+)/.exec(head ?? '')?.[1]));
    assert.is(missing.text, body);
    for (const line of (head ?? '').split(/\r?\n/).slice(1)) {
      const [name, value] = line.split(': ') as [string, string];
      if (name === 'Date') continue;
      assert.is(missing.headers[name.toLowerCase()], value, `header ${name}`);
    }
  });
});

test('the V1 header and body shape are the same with and without Accept: application/vnd.nsq; version=1.0', async () => {
  await withLookupd({}, async (d) => {
    const c = await registerPeer(d, {}, ['acc_t acc_c']);
    for (const path of ['/lookup?topic=acc_t', '/topics', '/channels?topic=acc_t', '/nodes', '/info', '/lookup?topic=nope', '/lookup']) {
      const plain = await get(d, path);
      const versioned = await get(d, path, ACCEPT_V1);
      assert.is(versioned.headers.get('x-nsq-content-type'), V1, path);
      assert.is(plain.headers.get('x-nsq-content-type'), V1, path);
      assert.equal([versioned.status, versioned.text], [plain.status, plain.text], path);
    }
    c.close();
  });
});

test('registered data matches the shapes recorded from Go (field names, order, types)', async () => {
  await withLookupd({}, async (d) => {
    const c = await goFixturePeer(d);
    const local = `127.0.0.1:${c.socket.localPort}`;

    const lookup = await get(d, '/lookup?topic=orders', ACCEPT_V1);
    expectV1(lookup, 200, lookup.text, 'json');
    const want = JSON.parse(readFixture('lookupd-lookup.json')) as { producers: { remote_address: string }[] };
    const p0 = want.producers[0];
    if (p0 !== undefined) p0.remote_address = local;
    assert.equal(JSON.parse(lookup.text), want);
    assert.is(lookup.text, JSON.stringify(want), 'byte-identical apart from the remote address');

    const nodes = JSON.parse((await get(d, '/nodes')).text) as { producers: { topics: string[]; remote_address: string }[] };
    const wantNodes = JSON.parse(readFixture('lookupd-nodes.json')) as typeof nodes;
    assert.equal(jsonShape(nodes), jsonShape(wantNodes));
    assert.equal([...(nodes.producers[0]?.topics ?? [])].sort(), [...(wantNodes.producers[0]?.topics ?? [])].sort());
    assert.is(nodes.producers[0]?.remote_address, local);

    const topics = JSON.parse((await get(d, '/topics')).text) as { topics: string[] };
    const wantTopics = JSON.parse(readFixture('lookupd-topics.json')) as typeof topics;
    assert.equal(jsonShape(topics), jsonShape(wantTopics));
    assert.equal([...topics.topics].sort(), [...wantTopics.topics].sort());

    expectV1(await get(d, '/channels?topic=orders'), 200, readFixture('lookupd-channels.json'), 'json');
    c.close();
  });
});

test('/debug dumps every key with producers, keys and fields sorted, Go\'s zero time for no tombstone', async () => {
  await withLookupd({}, async (d) => {
    const c = await registerPeer(d, { hostname: 'dbg', broadcast_address: 'b', tcp_port: 1, http_port: 2, version: 'v' }, ['t1 c1']);
    await post(d, '/topic/create?topic=empty_t');
    const r = await get(d, '/debug');
    expectV1(r, 200, r.text, 'json');
    const doc = JSON.parse(r.text) as Record<string, Record<string, unknown>[]>;
    assert.equal(Object.keys(doc), ['channel:t1:c1', 'client::', 'topic:t1:']);
    const e = doc['topic:t1:']?.[0] ?? {};
    assert.equal(Object.keys(e), ['broadcast_address', 'hostname', 'http_port', 'id', 'last_update', 'tcp_port', 'tombstoned', 'tombstoned_at', 'version']);
    assert.equal([e.broadcast_address, e.hostname, e.http_port, e.id, e.tcp_port, e.tombstoned, e.version], ['b', 'dbg', 2, `127.0.0.1:${c.socket.localPort}`, 1, false, 'v']);
    assert.match(r.text, /"tombstoned_at":-6795364578871345152[,}]/);
    const lastUpdate = BigInt(/"last_update":(\d+)/.exec(r.text)?.[1] ?? '0');
    const now = BigInt(Date.now()) * 1_000_000n;
    assert.ok(lastUpdate <= now && now - lastUpdate < 60_000_000_000n, `last_update ${lastUpdate} is unix ns`);
    c.close();
  });
});

// ---------------------------------------------------------------------------------------------
// Parameters and errors

test('missing and malformed parameters: 400 MISSING_ARG_TOPIC / INVALID_REQUEST; topic= present but empty', async () => {
  await withLookupd({}, async (d) => {
    expectErr(await get(d, '/lookup'), 400, 'MISSING_ARG_TOPIC');
    expectErr(await get(d, '/channels'), 400, 'MISSING_ARG_TOPIC');
    expectErr(await get(d, '/lookup?topic=%zz'), 400, 'INVALID_REQUEST');
    expectErr(await get(d, '/channels?a=1;b=2'), 400, 'INVALID_REQUEST');
    expectErr(await get(d, '/lookup?topic='), 404, 'TOPIC_NOT_FOUND');
    expectV1(await get(d, '/channels?topic='), 200, '{"channels":[]}', 'json');
    // Parameters come from the query only; the first of repeated values wins; the body is ignored.
    expectErr(await http('GET', `${d.url}/lookup`, undefined, { 'Content-Type': 'application/x-www-form-urlencoded' }), 400, 'MISSING_ARG_TOPIC');
    await post(d, '/topic/create?topic=first&topic=second');
    expectV1(await get(d, '/topics'), 200, '{"topics":["first"]}', 'json');
    expectErr(await http('POST', `${d.url}/topic/create`, 'topic=x'), 400, 'MISSING_ARG_TOPIC');
  });
});

test('/topic/create and /channel/create: empty 200s, NSQ\'s error order, channel/create adds the topic', async () => {
  await withLookupd({}, async (d) => {
    expectV1(await post(d, '/topic/create?topic=ct'), 200, '', 'empty');
    expectV1(await post(d, '/topic/create?topic=ct'), 200, '', 'empty', 'twice');
    expectErr(await post(d, '/topic/create'), 400, 'MISSING_ARG_TOPIC');
    expectErr(await post(d, '/topic/create?topic=bad!'), 400, 'INVALID_ARG_TOPIC');
    expectErr(await post(d, '/topic/create?topic=*'), 400, 'INVALID_ARG_TOPIC');
    expectErr(await post(d, '/channel/create?channel=c'), 400, 'MISSING_ARG_TOPIC');
    expectErr(await post(d, '/channel/create?topic=bad!'), 400, 'INVALID_ARG_TOPIC');
    expectErr(await post(d, '/channel/create?topic=ok'), 400, 'MISSING_ARG_CHANNEL');
    expectErr(await post(d, '/channel/create?topic=ok&channel=bad!'), 400, 'INVALID_ARG_CHANNEL');
    expectV1(await post(d, '/channel/create?topic=ct2&channel=ch'), 200, '', 'empty');
    expectV1(await get(d, '/lookup?topic=ct'), 200, '{"channels":[],"producers":[]}', 'json');
    expectV1(await get(d, '/lookup?topic=ct2'), 200, '{"channels":["ch"],"producers":[]}', 'json');
    expectV1(await get(d, '/debug'), 200, '{}', 'json', 'keys without producers are not in /debug');
  });
});

test('/topic/delete removes the topic, its channels and their producers; /channel/delete 404s an unknown channel', async () => {
  await withLookupd({}, async (d) => {
    const c = await registerPeer(d, {}, ['del_t c1', 'del_t c2', 'keep_t k']);
    expectErr(await post(d, '/topic/delete'), 400, 'MISSING_ARG_TOPIC');
    expectErr(await post(d, '/channel/delete?topic=del_t&channel=nope'), 404, 'CHANNEL_NOT_FOUND');
    expectErr(await post(d, '/channel/delete?topic=del_t'), 400, 'MISSING_ARG_CHANNEL');
    expectV1(await post(d, '/channel/delete?topic=del_t&channel=c1'), 200, '', 'empty');
    expectV1(await get(d, '/channels?topic=del_t'), 200, '{"channels":["c2"]}', 'json');
    expectV1(await post(d, '/topic/delete?topic=del_t'), 200, '', 'empty');
    expectErr(await get(d, '/lookup?topic=del_t'), 404, 'TOPIC_NOT_FOUND');
    expectV1(await get(d, '/channels?topic=del_t'), 200, '{"channels":[]}', 'json');
    expectV1(await post(d, '/topic/delete?topic=never'), 200, '', 'empty', 'unknown topic');
    const nodes = JSON.parse((await get(d, '/nodes')).text) as { producers: { topics: string[]; tombstones: boolean[] }[] };
    assert.equal(nodes.producers.map((p) => [p.topics, p.tombstones]), [[['keep_t'], [false]]]);
    // The still-connected nsqd appears again only when it registers again.
    await c.ok('REGISTER del_t c1');
    assert.is(JSON.parse((await get(d, '/lookup?topic=del_t')).text).producers.length, 1);
    c.close();
  });
});

test('the topic parameter is a registration-DB query, so `*` matches every topic (as in Go)', async () => {
  await withLookupd({}, async (d) => {
    const c = await registerPeer(d, {}, ['wa x', 'wb y']);
    const all = JSON.parse((await get(d, '/lookup?topic=*')).text) as { channels: string[]; producers: unknown[] };
    assert.equal([all.channels.sort(), all.producers.length], [['x', 'y'], 1]);
    assert.equal((JSON.parse((await get(d, '/channels?topic=*')).text) as { channels: string[] }).channels.sort(), ['x', 'y']);
    expectV1(await post(d, '/topic/delete?topic=*'), 200, '', 'empty');
    expectV1(await get(d, '/topics'), 200, '{"topics":[]}', 'json');
    c.close();
  });
});

test('router: 404 NOT_FOUND, 405 with Allow, OPTIONS, trailing-slash redirect, HEAD not handled; no /config in 1.3.0', async () => {
  await withLookupd({}, async (d) => {
    expectErr(await get(d, '/nope'), 404, 'NOT_FOUND');
    expectErr(await get(d, '/config/log_level'), 404, 'NOT_FOUND');
    expectErr(await get(d, '/debug/pprof'), 404, 'NOT_FOUND');
    const wrong = await http('POST', `${d.url}/lookup?topic=x`);
    expectErr(wrong, 405, 'METHOD_NOT_ALLOWED');
    assert.is(wrong.headers.get('allow'), 'GET, OPTIONS');
    const wrong2 = await get(d, '/topic/create?topic=x');
    expectErr(wrong2, 405, 'METHOD_NOT_ALLOWED');
    assert.is(wrong2.headers.get('allow'), 'OPTIONS, POST');
    const head = await http('HEAD', `${d.url}/ping`);
    assert.equal([head.status, head.headers.get('allow')], [405, 'GET, OPTIONS']);
    const opts = await http('OPTIONS', `${d.url}/nodes`);
    assert.equal([opts.status, opts.text, opts.headers.get('allow')], [200, '', 'GET, OPTIONS']);
    const redirect = await rawHttp('GET', `${d.url}/lookup/?topic=x`);
    assert.equal([redirect.status, redirect.headers.location], [301, '/lookup?topic=x']);
  });
});

// ---------------------------------------------------------------------------------------------
// Tombstones and inactivity

/**
 * An answer made in slices (renderInSlices) reads as `whole` either way: with no time budget it
 * lets the event loop run after every item, with an unlimited one it never does.
 */
async function assertSliced(make: (sliceMs: number) => Promise<string[]>, whole: string): Promise<void> {
  let ran = false;
  setImmediate(() => (ran = true));
  assert.is((await make(0)).join(''), whole);
  assert.ok(ran, 'the event loop ran while the answer was being made');
  ran = false;
  const immediate = new Promise<void>((res) => setImmediate(() => { ran = true; res(); }));
  assert.is((await make(Infinity)).join(''), whole);
  assert.not.ok(ran, 'without slicing nothing else runs');
  await immediate;
}

test('/nodes is made a producer at a time (the event loop runs between) and reads exactly as the whole document does', async () => {
  await withLookupd({}, async (d) => {
    const peers: LookupConn[] = [];
    try {
      for (let i = 0; i < 30; i++) {
        const regs = [`n${i % 7}`, `n${i % 7} c${i % 3}`, `own${i}`, `own${i} x`];
        peers.push(await registerPeer(d, { hostname: `h${i}`, broadcast_address: `10.1.0.${i}`, tcp_port: 4150 + i, http_port: 5150 + i }, regs));
      }
      // A tombstoned entry and a topic-less peer.
      assert.is((await post(d, '/topic/tombstone?topic=n3&node=10.1.0.3:5153')).status, 200);
      peers.push(await registerPeer(d, { hostname: 'bare', broadcast_address: '10.1.1.1', tcp_port: 1, http_port: 2 }, []));
      const whole = goJSON(nodesDocument(d.lookupd));
      const r = await get(d, '/nodes');
      expectV1(r, 200, whole, 'json');
      const doc = JSON.parse(r.text) as { producers: { broadcast_address: string; topics: string[]; tombstones: boolean[] }[] };
      assert.is(doc.producers.length, 31);
      assert.equal(doc.producers.find((p) => p.broadcast_address === '10.1.0.3'), { ...doc.producers.find((p) => p.broadcast_address === '10.1.0.3')!, topics: ['n3', 'own3'], tombstones: [true, false] });
      assert.equal(doc.producers.find((p) => p.broadcast_address === '10.1.1.1')!.topics, []);
      await assertSliced((ms) => nodesJson(d.lookupd, ms), whole);
    } finally {
      for (const c of peers) c.close();
    }
  });
});

test('/debug is made a registration at a time (the event loop runs between) and reads exactly as the whole document does', async () => {
  await withLookupd({}, async (d) => {
    const peers: LookupConn[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const regs = [`d${i % 4}`, `d${i % 4} c${i % 3}`, `mine${i}`];
        peers.push(await registerPeer(d, { hostname: `h${i}`, broadcast_address: `10.2.0.${i}`, tcp_port: 4150 + i, http_port: 5150 + i }, regs));
      }
      // A tombstoned producer, and a hostname Go's encoder escapes.
      assert.is((await post(d, '/topic/tombstone?topic=d1&node=10.2.0.1:5151')).status, 200);
      peers.push(await registerPeer(d, { hostname: '<&>', broadcast_address: '10.2.1.1', tcp_port: 1, http_port: 2 }, ['esc']));
      const whole = goJSON(debugDocument(d.lookupd));
      const r = await get(d, '/debug');
      expectV1(r, 200, whole, 'json');
      const doc = JSON.parse(r.text) as Record<string, { broadcast_address: string; tombstoned: boolean }[]>;
      const keys = Object.keys(doc);
      assert.equal(keys, [...keys].sort(), 'keys sorted as Go marshals a map');
      assert.ok(keys.includes('client::'), 'every peer registers under client::');
      assert.is(doc['client::']!.length, 13);
      assert.is(doc['topic:d1:']!.length, 3);
      assert.equal(doc['topic:d1:']!.filter((p) => p.tombstoned).map((p) => p.broadcast_address), ['10.2.0.1']);
      assert.is(doc['channel:d2:c2']!.length, 1);
      assert.match(r.text, /"hostname":"\\u003c\\u0026\\u003e"/);
      await assertSliced((ms) => debugJson(d.lookupd, ms), whole);
    } finally {
      for (const c of peers) c.close();
    }
  });
});

test('tombstone: the producer is hidden from /lookup for --tombstone-lifetime, marked in /nodes, then back', async () => {
  await withLookupd({ tombstoneLifetime: 400 }, async (d) => {
    const a = await registerPeer(d, { broadcast_address: 'host-a', http_port: 5001 }, ['tomb_t', 'other_t']);
    const b = await registerPeer(d, { broadcast_address: 'host-b', http_port: 5002 }, ['tomb_t']);
    expectErr(await post(d, '/topic/tombstone?node=host-a:5001'), 400, 'MISSING_ARG_TOPIC');
    expectErr(await post(d, '/topic/tombstone?topic=tomb_t'), 400, 'MISSING_ARG_NODE');
    expectV1(await post(d, '/topic/tombstone?topic=tomb_t&node=nobody:1'), 200, '', 'empty', 'no match');
    expectV1(await post(d, '/topic/tombstone?topic=tomb_t&node=host-a:5001'), 200, '', 'empty');
    const producers = async (topic: string): Promise<string[]> =>
      (JSON.parse((await get(d, `/lookup?topic=${topic}`)).text) as { producers: { broadcast_address: string }[] }).producers.map((p) => p.broadcast_address);
    assert.equal(await producers('tomb_t'), ['host-b']);
    assert.equal(await producers('other_t'), ['host-a'], 'a tombstone is per topic');
    const nodes = JSON.parse((await get(d, '/nodes')).text) as { producers: { broadcast_address: string; topics: string[]; tombstones: boolean[] }[] };
    const nodeA = nodes.producers.find((p) => p.broadcast_address === 'host-a');
    assert.equal(Object.fromEntries((nodeA?.topics ?? []).map((t, i) => [t, nodeA?.tombstones[i]])), { tomb_t: true, other_t: false });
    assert.match((await get(d, '/debug')).text, /"broadcast_address":"host-a"[^}]*"tombstoned":true,"tombstoned_at":1\d{18}/);
    // Re-registering does not clear a tombstone (the existing entry stays).
    await a.ok('REGISTER tomb_t');
    assert.equal(await producers('tomb_t'), ['host-b']);
    await waitFor(async () => (await producers('tomb_t')).length === 2, 5000, 'the tombstone to expire');
    const later = JSON.parse((await get(d, '/nodes')).text) as typeof nodes;
    assert.equal(later.producers.find((p) => p.broadcast_address === 'host-a')?.tombstones, [false, false]);
    a.close();
    b.close();
  });
});

test('an nsqd that UNREGISTERs the tombstoned topic and registers again comes back at once', async () => {
  await withLookupd({ tombstoneLifetime: 60_000 }, async (d) => {
    const a = await registerPeer(d, { broadcast_address: 'host-r', http_port: 6001 }, ['rt c']);
    await post(d, '/topic/tombstone?topic=rt&node=host-r:6001');
    assert.equal(JSON.parse((await get(d, '/lookup?topic=rt')).text).producers, []);
    await a.ok('UNREGISTER rt c');
    await a.ok('UNREGISTER rt');
    await a.ok('REGISTER rt');
    assert.is(JSON.parse((await get(d, '/lookup?topic=rt')).text).producers.length, 1);
    a.close();
  });
});

test('inactive producers (no PING for --inactive-producer-timeout) vanish from /lookup and /nodes; a PING brings them back', async () => {
  await withLookupd({ inactiveProducerTimeout: 300 }, async (d) => {
    const c = await registerPeer(d, { broadcast_address: 'sleepy' }, ['idle_t']);
    const counts = async (): Promise<[number, number]> => [
      (JSON.parse((await get(d, '/lookup?topic=idle_t')).text) as { producers: unknown[] }).producers.length,
      (JSON.parse((await get(d, '/nodes')).text) as { producers: unknown[] }).producers.length,
    ];
    assert.equal(await counts(), [1, 1]);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(await counts(), [0, 0]);
    expectV1(await get(d, '/lookup?topic=idle_t'), 200, '{"channels":[],"producers":[]}', 'json', 'the key is still there');
    await c.ok('PING');
    assert.equal(await counts(), [1, 1]);
    c.close();
  });
});

// ---------------------------------------------------------------------------------------------
// A third-party client

test('nsqjs finds our nsqd through our nsqlookupd (lookupdHTTPAddresses) and consumes from it', async () => {
  const lookupd = await startNsqlookupd();
  const nsqd = await startNsqd();
  try {
    // Register the real nsqd by hand, exactly as its lookup loop would.
    const peer = await registerPeer(lookupd, { hostname: hostname(), tcp_port: nsqd.tcpPort, http_port: nsqd.httpPort }, ['nsqjs_t nsqjs_c']);
    const pub = await http('POST', `${nsqd.url}/pub?topic=nsqjs_t`, 'via lookupd');
    assert.is(pub.status, 200);
    const reader = new nsq.Reader('nsqjs_t', 'nsqjs_c', { lookupdHTTPAddresses: [`127.0.0.1:${lookupd.httpPort}`], lookupdPollInterval: 1 });
    try {
      const body = await withTimeout(new Promise<string>((resolve, reject) => {
        reader.on('message', (m: Message) => {
          m.finish();
          resolve(m.body.toString());
        });
        reader.on('error', reject);
        reader.connect();
      }), 10_000, 'nsqjs to receive the message');
      assert.is(body, 'via lookupd');
    } finally {
      reader.close();
    }
    peer.close();
  } finally {
    await nsqd.close();
    await lookupd.close();
  }
});

test.run();
