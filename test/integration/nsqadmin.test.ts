// The real `nsqadmin` binary (dist/apps/nsqadmin.js) against real nsqlookupd and nsqd binaries on
// loopback: every GET route's JSON shape and aggregation over two nsqd, the admin actions and
// their effect on the daemons, ACL refusals, notifications, /config and its CIDR check,
// --base-path, router errors, the UI page with its injected globals and static assets.
// Facts: spec nsqlookupd-nsqadmin-tools-client.md §1.4 and §2.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { http, waitFor } from '../helpers/daemons.js';
import { expectErr, expectV1 } from '../helpers/http-v1.js';
import { BinSession, type Bin } from '../helpers/nsqadmin-cluster.js';
import { freePort } from '../helpers/proc.js';
import { rawHttp, takeMessages } from '../helpers/stats.js';

const s = new BinSession();
let lookupd: Bin;
let nsqdA: Bin;
let nsqdB: Bin;
let admin: Bin;
let sink: Server;
let sinkPort = 0;
const received: { body: string; headers: IncomingMessage['headers'] }[] = [];

async function post(url: string): Promise<void> {
  const r = await http('POST', url);
  assert.is(r.status, 200, `${url}: ${r.text}`);
}
async function json(url: string): Promise<Record<string, unknown>> {
  const r = await http('GET', url);
  assert.is(r.status, 200, `${url}: ${r.text}`);
  return JSON.parse(r.text) as Record<string, unknown>;
}
async function nsqdChannel(n: Bin, topic: string, channel: string): Promise<Record<string, unknown> | undefined> {
  const doc = (await json(`${n.url}/stats?format=json&topic=${topic}`)) as { topics: { topic_name: string; channels: Record<string, unknown>[] }[] };
  return doc.topics.find((t) => t.topic_name === topic)?.channels.find((c) => c.channel_name === channel);
}
async function nsqdTopic(n: Bin, topic: string): Promise<Record<string, unknown> | undefined> {
  const doc = (await json(`${n.url}/stats?format=json`)) as { topics: Record<string, unknown>[] };
  return doc.topics.find((t) => t.topic_name === topic);
}
async function lookupProducers(topic: string): Promise<number> {
  const r = await http('GET', `${lookupd.url}/lookup?topic=${topic}`);
  return r.status === 200 ? (JSON.parse(r.text) as { producers: unknown[] }).producers.length : 0;
}

test.before(async () => {
  sink = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ body, headers: req.headers });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  sinkPort = (sink.address() as { port: number }).port;
  lookupd = await s.nsqlookupd();
  [nsqdA, nsqdB] = await Promise.all([s.nsqd(lookupd.tcpPort), s.nsqd(lookupd.tcpPort)]);
  // t1 on both nsqd with channel c1 (3 messages on A, 2 on B); t2 only on B.
  for (const n of [nsqdA, nsqdB]) {
    await post(`${n.url}/topic/create?topic=t1`);
    await post(`${n.url}/channel/create?topic=t1&channel=c1`);
  }
  for (let i = 0; i < 3; i++) await http('POST', `${nsqdA.url}/pub?topic=t1`, `a${i}`);
  for (let i = 0; i < 2; i++) await http('POST', `${nsqdB.url}/pub?topic=t1`, `b${i}`);
  await post(`${nsqdB.url}/topic/create?topic=t2`);
  await waitFor(async () => (await lookupProducers('t1')) === 2 && (await lookupProducers('t2')) === 1, 10_000, 'lookupd to know both nsqd');
  admin = await s.nsqadmin([`--lookupd-http-address=${lookupd.httpAddr}`]);
});

test.after(async () => {
  await s.cleanup();
  await new Promise<void>((r) => sink.close(() => r()));
});

/** fetch asks for gzip by default; this asks for the body as is. */
const IDENTITY = { 'Accept-Encoding': 'identity' };

test('GET /api/topics lists every topic sorted; /ping is plain OK', async () => {
  expectV1(await http('GET', `${admin.url}/api/topics`), 200, '{"topics":["t1","t2"],"message":""}', 'json');
  const ping = await http('GET', `${admin.url}/ping`, undefined, IDENTITY);
  assert.is(ping.status, 200);
  assert.is(ping.text, 'OK');
  assert.is(ping.headers.get('content-type'), 'text/plain; charset=utf-8');
});

test('GET /api/topics/:topic sums depth and message_count over both nsqd, fields in Go order', async () => {
  const doc = await json(`${admin.url}/api/topics/t1`);
  assert.equal(Object.keys(doc), ['node', 'hostname', 'topic_name', 'depth', 'memory_depth', 'backend_depth', 'message_count', 'nodes', 'channels', 'paused', 'e2e_processing_latency', 'message']);
  assert.is(doc.node, '*');
  assert.is(doc.topic_name, 't1');
  assert.is(doc.message_count, 5);
  assert.is(doc.depth, 0, 'topic depth 0: messages moved to the channel');
  assert.is(doc.message, '');
  const nodes = doc.nodes as Record<string, unknown>[];
  assert.equal(nodes.map((n) => n.node).sort(), [nsqdA.httpAddr, nsqdB.httpAddr].sort());
  assert.equal(nodes.map((n) => n.message_count).sort(), [2, 3]);
  for (const n of nodes) {
    assert.is(n.nodes, null);
    const chans = n.channels as Record<string, unknown>[];
    assert.is(chans.length, 1);
    assert.is(chans[0]!.clients, null, 'stats fetched with include_clients=false');
    assert.is(chans[0]!.node, n.node);
  }
  const chans = doc.channels as Record<string, unknown>[];
  assert.is(chans.length, 1);
  assert.is(chans[0]!.node, '*');
  assert.is(chans[0]!.depth, 5);
  assert.is(chans[0]!.memory_depth, 5);
  assert.is(chans[0]!.message_count, 5);
  assert.equal(doc.e2e_processing_latency, { count: 0, percentiles: null, topic: 't1', channel: '', host: '*' });
});

test('GET /api/topics/:topic/:channel aggregates the channel; unknown channel is just a message', async () => {
  const doc = await json(`${admin.url}/api/topics/t1/c1`);
  assert.equal(Object.keys(doc), ['node', 'hostname', 'topic_name', 'channel_name', 'depth', 'memory_depth', 'backend_depth', 'in_flight_count', 'deferred_count', 'requeue_count', 'timeout_count', 'message_count', 'client_count', 'nodes', 'clients', 'paused', 'e2e_processing_latency', 'message']);
  assert.is(doc.node, '*');
  assert.is(doc.hostname, '');
  assert.is(doc.depth, 5);
  assert.is(doc.message_count, 5);
  assert.is(doc.client_count, 0);
  assert.is(doc.clients, null);
  assert.is((doc.nodes as unknown[]).length, 2);
  expectV1(await http('GET', `${admin.url}/api/topics/t1/nochan`), 200, '{"message":""}', 'json');
});

test('unknown topic is a 502 carrying nsqlookupd\'s 404', async () => {
  expectErr(await http('GET', `${admin.url}/api/topics/nope`), 502, 'UPSTREAM_ERROR: failed to query any nsqlookupd: got response 404 Not Found \\"{\\\\\\"message\\\\\\":\\\\\\"TOPIC_NOT_FOUND\\\\\\"}\\"');
});

test('GET /api/nodes lists both nsqd with lookupd remote addresses; /api/nodes/:node totals', async () => {
  const doc = await json(`${admin.url}/api/nodes`);
  const nodes = doc.nodes as Record<string, unknown>[];
  assert.is(nodes.length, 2);
  for (const n of nodes) {
    assert.equal(Object.keys(n), ['remote_addresses', 'remote_address', 'hostname', 'broadcast_address', 'tcp_port', 'http_port', 'version', 'topics', 'out_of_date']);
    assert.equal(n.remote_addresses, [`${lookupd.httpAddr}/${n.remote_address as string}`]);
    assert.is(n.broadcast_address, '127.0.0.1');
    assert.is(n.out_of_date, false);
  }
  const b = nodes.find((n) => n.http_port === nsqdB.httpPort)!;
  assert.equal(b.topics, [{ topic: 't1', tombstoned: false }, { topic: 't2', tombstoned: false }]);
  const one = await json(`${admin.url}/api/nodes/${nsqdA.httpAddr}`);
  assert.equal(Object.keys(one), ['node', 'topics', 'total_messages', 'total_clients', 'message']);
  assert.is(one.node, nsqdA.httpAddr);
  assert.is(one.total_messages, 3);
  assert.is(one.total_clients, 0);
  expectErr(await http('GET', `${admin.url}/api/nodes/127.0.0.1:1`), 404, 'NODE_NOT_FOUND');
});

test('GET /api/counter has one entry per topic:channel:node', async () => {
  const doc = await json(`${admin.url}/api/counter`);
  assert.equal(doc.stats, {
    [`t1:c1:${nsqdA.httpAddr}`]: { node: nsqdA.httpAddr, topic_name: 't1', channel_name: 'c1', message_count: 3 },
    [`t1:c1:${nsqdB.httpAddr}`]: { node: nsqdB.httpAddr, topic_name: 't1', channel_name: 'c1', message_count: 2 },
  });
  assert.is(doc.message, '');
});

test('POST /api/topics creates on lookupd only; inactive topics list it with its channel', async () => {
  expectV1(await http('POST', `${admin.url}/api/topics`, '{"topic":"lonely","channel":"ch"}'), 200, '{"message":""}', 'json');
  assert.equal(await json(`${lookupd.url}/channels?topic=lonely`), { channels: ['ch'] });
  assert.is(await nsqdTopic(nsqdA, 'lonely'), undefined, 'not created on nsqd');
  expectV1(await http('GET', `${admin.url}/api/topics?inactive=true`), 200, '{"topics":{"lonely":["ch"]},"message":""}', 'json');
  expectV1(await http('POST', `${admin.url}/api/topics`, '{"topic":"bare"}'), 200, '{"message":""}', 'json');
  expectV1(await http('GET', `${admin.url}/api/topics?inactive=true`), 200, '{"topics":{"bare":null,"lonely":["ch"]},"message":""}', 'json');
});

test('bad action bodies get Go decoder texts and NSQ codes', async () => {
  expectErr(await http('POST', `${admin.url}/api/topics`, ''), 400, 'EOF');
  expectErr(await http('POST', `${admin.url}/api/topics`, 'nope'), 400, "invalid character 'o' in literal null (expecting 'u')");
  expectErr(await http('POST', `${admin.url}/api/topics`, '{"topic":'), 400, 'unexpected EOF');
  expectErr(await http('POST', `${admin.url}/api/topics`, '{"topic":"bad!"}'), 400, 'INVALID_TOPIC');
  expectErr(await http('POST', `${admin.url}/api/topics`, '{"topic":"ok","channel":"bad!"}'), 400, 'INVALID_CHANNEL');
  expectErr(await http('POST', `${admin.url}/api/topics/t1`, '{"action":"bogus"}'), 400, 'INVALID_ACTION');
  expectErr(await http('DELETE', `${admin.url}/api/nodes/${nsqdA.httpAddr}`, 'garbage'), 400, 'INVALID_BODY');
  expectErr(await http('DELETE', `${admin.url}/api/nodes/${nsqdA.httpAddr}`, '{"topic":"bad!"}'), 400, 'INVALID_TOPIC');
});

test('pause/unpause/empty a channel and a topic reach both nsqd', async () => {
  expectV1(await http('POST', `${admin.url}/api/topics/t1/c1`, '{"action":"pause"}'), 200, '{"message":""}', 'json');
  for (const n of [nsqdA, nsqdB]) assert.is((await nsqdChannel(n, 't1', 'c1'))!.paused, true);
  assert.is((await json(`${admin.url}/api/topics/t1/c1`)).paused, true);
  expectV1(await http('POST', `${admin.url}/api/topics/t1/c1`, '{"action":"unpause"}'), 200, '{"message":""}', 'json');
  for (const n of [nsqdA, nsqdB]) assert.is((await nsqdChannel(n, 't1', 'c1'))!.paused, false);
  expectV1(await http('POST', `${admin.url}/api/topics/t1/c1`, '{"action":"empty"}'), 200, '{"message":""}', 'json');
  for (const n of [nsqdA, nsqdB]) assert.is((await nsqdChannel(n, 't1', 'c1'))!.depth, 0);
  expectV1(await http('POST', `${admin.url}/api/topics/t1`, '{"action":"pause"}'), 200, '{"message":""}', 'json');
  for (const n of [nsqdA, nsqdB]) assert.is((await nsqdTopic(n, 't1'))!.paused, true);
  assert.is((await json(`${admin.url}/api/topics/t1`)).paused, true);
  expectV1(await http('POST', `${admin.url}/api/topics/t1`, '{"action":"unpause"}'), 200, '{"message":""}', 'json');
  for (const n of [nsqdA, nsqdB]) assert.is((await nsqdTopic(n, 't1'))!.paused, false);
  await http('POST', `${nsqdB.url}/pub?topic=t2`, 'x');
  expectV1(await http('POST', `${admin.url}/api/topics/t2`, '{"action":"empty"}'), 200, '{"message":""}', 'json');
  assert.is((await nsqdTopic(nsqdB, 't2'))!.depth, 0);
});

test('DELETE channel and topic remove them from nsqd and nsqlookupd', async () => {
  await post(`${nsqdA.url}/channel/create?topic=t1&channel=gone`);
  await waitFor(async () => ((await json(`${lookupd.url}/channels?topic=t1`)).channels as string[]).includes('gone'), 5000, 'lookupd to see channel gone');
  // nsqd B does not have the channel: its 404 is a partial failure, not an error.
  expectV1(await http('DELETE', `${admin.url}/api/topics/t1/gone`), 200, '{"message":"WARNING: got response 404 Not Found \\"{\\\\\\"message\\\\\\":\\\\\\"CHANNEL_NOT_FOUND\\\\\\"}\\""}', 'json');
  assert.is(await nsqdChannel(nsqdA, 't1', 'gone'), undefined);
  assert.not.ok(((await json(`${lookupd.url}/channels?topic=t1`)).channels as string[]).includes('gone'));
  expectV1(await http('DELETE', `${admin.url}/api/topics/t2`), 200, '{"message":""}', 'json');
  assert.is(await nsqdTopic(nsqdB, 't2'), undefined);
  expectErr(await http('GET', `${lookupd.url}/lookup?topic=t2`), 404, 'TOPIC_NOT_FOUND');
});

test('/config GET and PUT', async () => {
  expectV1(await http('GET', `${admin.url}/config/nsqlookupd_http_addresses`), 200, JSON.stringify([lookupd.httpAddr]), 'json');
  expectV1(await http('GET', `${admin.url}/config/statsd_interval`), 200, '60000000000', 'json');
  expectV1(await http('GET', `${admin.url}/config/log_level`), 200, '2', 'json');
  expectV1(await http('GET', `${admin.url}/config/statsd_prefix`, undefined, IDENTITY), 200, 'nsq.%s', 'text');
  // Unset list flags are empty, non-nil slices in Go (go-options resolves them through the flag's Get()).
  expectV1(await http('GET', `${admin.url}/config/admin_users`), 200, '[]', 'json');
  expectV1(await http('GET', `${admin.url}/config/nsqd_http_addresses`), 200, '[]', 'json');
  expectV1(await http('GET', `${admin.url}/config/proxy_graphite`), 200, 'false', 'json');
  expectErr(await http('GET', `${admin.url}/config/nope`), 400, 'INVALID_OPTION');
  expectV1(await http('PUT', `${admin.url}/config/log_level`, 'debug'), 200, '1', 'json');
  expectV1(await http('PUT', `${admin.url}/config/log_level`, 'info'), 200, '2', 'json');
  expectErr(await http('PUT', `${admin.url}/config/log_level`, 'loud'), 400, 'INVALID_VALUE');
  expectErr(await http('PUT', `${admin.url}/config/log_level`, ''), 413, 'INVALID_VALUE');
  expectErr(await http('PUT', `${admin.url}/config/log_level`, Buffer.alloc(1024 * 1024 + 1, 0x61)), 413, 'INVALID_VALUE');
  expectErr(await http('PUT', `${admin.url}/config/statsd_prefix`, 'x'), 400, 'INVALID_OPTION');
  expectErr(await http('PUT', `${admin.url}/config/nsqlookupd_http_addresses`, '{nope'), 400, 'INVALID_VALUE');
  const body = JSON.stringify([lookupd.httpAddr, lookupd.httpAddr]);
  expectV1(await http('PUT', `${admin.url}/config/nsqlookupd_http_addresses`, body), 200, body, 'json');
  // Applies to the next request: each lookupd entry now contributes a remote address.
  const nodes = (await json(`${admin.url}/api/nodes`)).nodes as { remote_addresses: string[] }[];
  assert.is(nodes[0]!.remote_addresses.length, 2);
  // JSON null leaves Go a nil slice (null); [] an empty one.
  expectV1(await http('PUT', `${admin.url}/config/nsqlookupd_http_addresses`, 'null'), 200, 'null', 'json');
  expectV1(await http('GET', `${admin.url}/config/nsqlookupd_http_addresses`), 200, 'null', 'json');
  expectV1(await http('PUT', `${admin.url}/config/nsqlookupd_http_addresses`, '[]'), 200, '[]', 'json');
  await http('PUT', `${admin.url}/config/nsqlookupd_http_addresses`, JSON.stringify([lookupd.httpAddr]));
});

test('router errors, gzip, UI index page and static assets', async () => {
  expectErr(await http('GET', `${admin.url}/api/nope`), 404, 'NOT_FOUND');
  const r405 = await http('PUT', `${admin.url}/api/topics`);
  expectErr(r405, 405, 'METHOD_NOT_ALLOWED');
  assert.is(r405.headers.get('allow'), 'GET, OPTIONS, POST');
  const gz = await http('GET', `${admin.url}/api/topics`, undefined, { 'Accept-Encoding': 'br, gzip' });
  assert.is(gz.headers.get('content-encoding'), 'gzip');
  assert.is(gz.headers.get('vary'), 'Accept-Encoding');
  assert.is(JSON.parse(gz.text).message, '');
  assert.is(gz.headers.get('content-type'), 'application/json; charset=utf-8', 'an explicit type stays');
  // A text answer's type is sniffed by Go's server, which it does not do for an encoded body.
  const pingGz = await http('GET', `${admin.url}/ping`, undefined, { 'Accept-Encoding': 'gzip' });
  assert.is(pingGz.text, 'OK');
  assert.is(pingGz.headers.get('content-encoding'), 'gzip');
  assert.is(pingGz.headers.get('content-type'), null, 'no sniffed type on a gzip body');
  assert.is((await http('GET', `${admin.url}/ping`, undefined, IDENTITY)).headers.get('content-type'), 'text/plain; charset=utf-8');
  for (const page of ['/', '/topics/t1', '/topics/t1/c1', '/nodes', `/nodes/${nsqdA.httpAddr}`, '/counter', '/lookup']) {
    const r = await http('GET', admin.url + page);
    assert.is(r.status, 200, page);
    assert.is(r.headers.get('content-type'), 'text/html', page);
    assert.ok(r.text.includes("var USER_AGENT = 'nsqadmin/v1.3.0';"), page);
  }
  const index = (await http('GET', `${admin.url}/`)).text;
  for (const g of ["var VERSION = '1.3.0';", "var GRAPHITE_URL = '';", 'var GRAPH_ENABLED = false;', "var STATSD_COUNTER_FORMAT = 'stats.counters.%s.count';", "var STATSD_GAUGE_FORMAT = 'stats.gauges.%s';", 'var STATSD_INTERVAL = 60;', "var STATSD_PREFIX = 'nsq.%s';", `var NSQLOOKUPD = ['${lookupd.httpAddr}'];`, 'var IS_ADMIN = true;', "var BASE_PATH = '/';"]) {
    assert.ok(index.includes(g), `index has ${g}`);
  }
  assert.ok(index.includes('src="/static/app.js"'));
  const js = await http('GET', `${admin.url}/static/app.js`);
  assert.is(js.status, 200);
  assert.is(js.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.ok(js.text.includes('<svg'), 'the UI draws SVG charts');
  const css = await http('GET', `${admin.url}/fonts/app.css`);
  assert.is(css.headers.get('content-type'), 'text/css; charset=utf-8');
  const missing = await http('GET', `${admin.url}/static/nope.js`, undefined, IDENTITY);
  assert.is(missing.status, 404);
  assert.is(missing.text, 'NOT_FOUND');
  assert.is(missing.headers.get('content-type'), 'text/plain; charset=utf-8');
  assert.is((await http('GET', `${admin.url}/static/.hidden`)).status, 404);
});

test('tombstone a producer: lookupd marks it, the nsqd drops the topic', async () => {
  expectV1(await http('DELETE', `${admin.url}/api/nodes/${nsqdA.httpAddr}`, '{"topic":"t1"}'), 200, '{"message":""}', 'json');
  assert.is(await nsqdTopic(nsqdA, 't1'), undefined, 'topic deleted on the node');
  assert.ok(await nsqdTopic(nsqdB, 't1'), 'other node keeps it');
});

test('ACL, notifications, --base-path and the /config CIDR check on a second nsqadmin', async () => {
  const a2 = await s.nsqadmin([`--lookupd-http-address=${lookupd.httpAddr}`, '--admin-user=alice', `--notification-http-endpoint=http://127.0.0.1:${sinkPort}/notify`, '--base-path=admin/', '--allow-config-from-cidr=10.0.0.0/8']);
  const url = `${a2.url}/admin`;
  expectErr(await http('POST', `${url}/api/topics`, '{"topic":"acl"}'), 403, 'FORBIDDEN');
  expectErr(await http('POST', `${url}/api/topics`, '{"topic":"acl"}', { 'X-Forwarded-User': 'bob' }), 403, 'FORBIDDEN');
  // Go's Header.Get takes the first of a repeated header.
  const twice = await rawHttp('POST', `${url}/api/topics/t1`, '{"action":"nope"}', { headers: { 'X-Forwarded-User': ['alice', 'bob'] } });
  assert.is(twice.status, 400, twice.text);
  assert.is(twice.text, '{"message":"INVALID_ACTION"}');
  expectErr(await http('DELETE', `${url}/api/topics/t1`), 403, 'FORBIDDEN');
  expectErr(await http('POST', `${url}/api/topics/t1`, '{"action":"pause"}'), 403, 'FORBIDDEN');
  expectErr(await http('DELETE', `${url}/api/nodes/${nsqdB.httpAddr}`, '{"topic":"t1"}'), 403, 'FORBIDDEN');
  assert.is(received.length, 0, 'no notification for a refused action');
  const ok = await http('POST', `${url}/api/topics?foo=bar`, '{"topic":"acl","channel":"ch"}', {
    'X-Forwarded-User': 'alice',
    Authorization: 'Basic ' + Buffer.from('alice:secret').toString('base64'),
    'User-Agent': 'tester<&>',
  });
  expectV1(ok, 200, '{"message":""}', 'json');
  await waitFor(() => received.length >= 2, 5000, 'two notifications');
  const [first, second] = received.map((r) => JSON.parse(r.body) as Record<string, unknown>);
  assert.equal(Object.keys(first!), ['action', 'topic', 'timestamp', 'user', 'remote_ip', 'user_agent', 'url', 'via']);
  assert.is(first!.action, 'create_topic');
  assert.is(first!.topic, 'acl');
  assert.is(first!.user, 'alice');
  assert.is(first!.user_agent, 'tester<&>');
  assert.ok(received[0]!.body.includes('"user_agent":"tester\\u003c\\u0026\\u003e"'), `json.Marshal escapes <, > and &: ${received[0]!.body}`);
  assert.is(first!.url, `http://127.0.0.1:${a2.httpPort}/admin/api/topics?foo=bar`);
  assert.match(String(first!.remote_ip), /^127\.0\.0\.1:\d+$/);
  assert.ok(Math.abs(Number(first!.timestamp) - Date.now() / 1000) < 60);
  assert.is(second!.action, 'create_channel');
  assert.is(second!.channel, 'ch');
  assert.is(received[0]!.headers['content-type'], 'application/json');
  // The url is rebuilt from the decoded path, escaped again; the user name and agent are the
  // bytes sent, each byte that is not UTF-8 written \ufffd (encoding/json); the scheme is `Basic`.
  received.length = 0;
  const agent = Buffer.concat([Buffer.from('café/1.0 '), Buffer.from([0xff])]).toString('latin1');
  const paused = await rawHttp('POST', `${url}/api/topics/acl%2Fch`, '{"action":"pause"}', {
    headers: { 'X-Forwarded-User': 'alice', Authorization: 'Basic ' + Buffer.from([0x62, 0xff, 0xfe, 0x3a, 0x78]).toString('base64'), 'User-Agent': agent },
  });
  assert.is(paused.status, 200, paused.text);
  await waitFor(() => received.length >= 1, 5000, 'the pause notification');
  const note = received[0]!.body;
  assert.ok(note.includes('"action":"pause_channel","topic":"acl","channel":"ch",'), note);
  assert.ok(note.includes('"user":"b\\ufffd\\ufffd",'), note);
  assert.ok(note.includes('"user_agent":"café/1.0 \\ufffd",'), note);
  assert.ok(note.includes(`"url":"http://127.0.0.1:${a2.httpPort}/admin/api/topics/acl/ch",`), note);
  received.length = 0;
  const lower = await http('POST', `${url}/api/topics/acl/ch`, '{"action":"unpause"}', { 'X-Forwarded-User': 'alice', Authorization: 'basic ' + Buffer.from('bob:pw').toString('base64') });
  expectV1(lower, 200, '{"message":""}', 'json');
  await waitFor(() => received.length >= 1, 5000, 'the unpause notification');
  assert.not.ok(received[0]!.body.includes('"user"'), received[0]!.body);
  // Base path: index at /admin, /admin/ redirects, unprefixed routes are gone.
  const index = await http('GET', url);
  assert.is(index.status, 200);
  assert.ok(index.text.includes('var IS_ADMIN = false;'));
  assert.ok(index.text.includes("var BASE_PATH = '/admin';"));
  assert.ok(index.text.includes('src="/admin/static/app.js"'));
  assert.ok((await http('GET', url, undefined, { 'X-Forwarded-User': 'alice' })).text.includes('var IS_ADMIN = true;'));
  const redirect = await fetch(`${url}/`, { redirect: 'manual' });
  assert.is(redirect.status, 301);
  assert.is(redirect.headers.get('location'), '/admin');
  expectErr(await http('GET', `${a2.url}/api/topics`), 404, 'NOT_FOUND');
  assert.is((await http('GET', `${url}/ping`)).text, 'OK');
  assert.is((await http('GET', `${url}/static/app.css`)).status, 200);
  expectErr(await http('GET', `${url}/config/log_level`), 403, 'FORBIDDEN');
});

test('nsqd mode: topics and nodes from nsqd; create-topic is a no-op, create-channel a 502', async () => {
  const a3 = await s.nsqadmin([`--nsqd-http-address=${nsqdA.httpAddr}`, `--nsqd-http-address=${nsqdB.httpAddr}`]);
  expectV1(await http('GET', `${a3.url}/api/topics`), 200, '{"topics":["t1"],"message":""}', 'json');
  expectV1(await http('GET', `${a3.url}/api/topics?inactive=true`), 200, '{"topics":{},"message":""}', 'json');
  const nodes = (await json(`${a3.url}/api/nodes`)).nodes as Record<string, unknown>[];
  assert.is(nodes.length, 2);
  for (const n of nodes) {
    assert.is(n.remote_addresses, null);
    assert.is(n.remote_address, '');
  }
  const t1 = await json(`${a3.url}/api/topics/t1`);
  assert.is((t1.nodes as unknown[]).length, 1, 'only nsqd B still has t1');
  assert.ok((await http('GET', `${a3.url}/`)).text.includes('var NSQLOOKUPD = [];'));
  expectV1(await http('POST', `${a3.url}/api/topics`, '{"topic":"x"}'), 200, '{"message":""}', 'json');
  expectErr(await http('POST', `${a3.url}/api/topics`, '{"topic":"x","channel":"y"}'), 502, 'UPSTREAM_ERROR: failed to query any nsqlookupd: ');
});

test('an nsqd without topics is "topics": null in /api/nodes; a node\'s e2e percentiles keep nsqd\'s "value" (the aggregate has none)', async () => {
  const c = await s.nsqd(lookupd.tcpPort, ['--e2e-processing-latency-percentile=0.99']);
  const nodeOf = async (): Promise<Record<string, unknown> | undefined> =>
    ((await json(`${admin.url}/api/nodes`)).nodes as Record<string, unknown>[]).find((n) => n.http_port === c.httpPort);
  await waitFor(async () => (await nodeOf()) !== undefined, 10_000, 'the third nsqd in /api/nodes');
  assert.is((await nodeOf())!.topics, null, 'Go appends topics to a nil slice');
  await http('POST', `${c.url}/pub?topic=e2e`, 'm');
  await takeMessages(c.tcpPort, c.url, 'e2e', 'ch', 1);
  await waitFor(async () => (await lookupProducers('e2e')) === 1, 10_000, 'lookupd to know the e2e topic');
  const doc = await json(`${admin.url}/api/topics/e2e`);
  const node = (doc.nodes as { e2e_processing_latency: { percentiles: Record<string, number>[] | null } }[])[0]!;
  assert.equal(Object.keys(node.e2e_processing_latency.percentiles![0]!), ['average', 'count', 'max', 'min', 'quantile', 'value']);
  const agg = doc.e2e_processing_latency as { percentiles: Record<string, number>[] | null };
  assert.equal(Object.keys(agg.percentiles![0]!), ['average', 'count', 'max', 'min', 'quantile']);
  await c.proc.kill();
  await waitFor(async () => (await nodeOf()) === undefined, 10_000, 'the third nsqd gone from /api/nodes');
});

test('an unreachable nsqd gives a WARNING; all unreachable a 502', async () => {
  const dead = await freePort();
  const a4 = await s.nsqadmin([`--nsqd-http-address=${nsqdB.httpAddr}`, `--nsqd-http-address=127.0.0.1:${dead}`]);
  const doc = await json(`${a4.url}/api/topics`);
  assert.equal(doc.topics, ['t1']);
  assert.is(doc.message, `WARNING: Get "http://127.0.0.1:${dead}/stats?format=json": dial tcp 127.0.0.1:${dead}: connect: connection refused`);
  const a5 = await s.nsqadmin([`--nsqd-http-address=127.0.0.1:${dead}`]);
  expectErr(await http('GET', `${a5.url}/api/nodes`), 502, `UPSTREAM_ERROR: failed to query any nsqd: Get \\"http://127.0.0.1:${dead}/info\\": dial tcp 127.0.0.1:${dead}: connect: connection refused`);
  assert.is((await http('GET', `${a5.url}/ping`)).text, 'OK', 'still alive');
});

test.run();
