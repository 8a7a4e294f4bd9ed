// nsqadmin's graphite side against a stand-in graphite (a local HTTP server answering /render
// with canned JSON; graphite is a third-party server, not ours): /api/graphite's query and rate
// (spec §2.3, §2.9), its errors, the globals the page gets, and the --proxy-graphite /render proxy.
import { createServer, type Server } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { http } from '../helpers/daemons.js';
import { BinSession, type Bin } from '../helpers/nsqadmin-cluster.js';

const s = new BinSession();
let graphite: Server;
let graphiteUrl = '';
let direct: Bin;
let proxied: Bin;
/** What graphite answers next, and what it was asked. */
let answer: { status: number; body: string } = { status: 200, body: '[]' };
const asked: { url: string; auth: string | undefined }[] = [];

test.before(async () => {
  graphite = createServer((req, res) => {
    asked.push({ url: req.url ?? '', auth: req.headers.authorization });
    res.writeHead(answer.status, { 'Content-Type': 'application/json' });
    res.end(answer.body);
  });
  await new Promise<void>((r) => graphite.listen(0, '127.0.0.1', () => r()));
  graphiteUrl = `http://127.0.0.1:${(graphite.address() as { port: number }).port}`;
  // No nsqd needs to answer for these routes; nsqadmin only requires an address.
  direct = await s.nsqadmin(['--nsqd-http-address=127.0.0.1:9', `--graphite-url=${graphiteUrl}`, '--statsd-interval=30s']);
  proxied = await s.nsqadmin(['--nsqd-http-address=127.0.0.1:9', `--graphite-url=http://user:p%40ss@127.0.0.1:${(graphite.address() as { port: number }).port}`, '--proxy-graphite']);
});

test.after(async () => {
  await s.cleanup();
  await new Promise<void>((r) => graphite.close(() => r()));
});

test('/api/graphite?metric=rate: asks graphite for the last interval and divides by it', async () => {
  answer = { status: 200, body: JSON.stringify([{ target: 'x', datapoints: [[123, 1700000000], [7, 1700000030]] }]) };
  asked.length = 0;
  const r = await http('GET', `${direct.url}/api/graphite?metric=rate&target=sumSeries(nsq.*.topic.t.message_count)`);
  assert.is(r.status, 200, r.text);
  assert.equal(JSON.parse(r.text), { rate: '4.10' }, '123 / 30 s with two decimals');
  assert.is(asked.length, 1);
  const u = new URL(asked[0]!.url, graphiteUrl);
  assert.is(u.pathname, '/render');
  assert.equal([...u.searchParams.entries()], [
    ['format', 'json'],
    ['from', '-60sec'],
    ['target', 'sumSeries(nsq.*.topic.t.message_count)'],
    ['until', '-30sec'],
  ], 'parameters as url.Values.Encode writes them (sorted)');
});

test('/api/graphite: the rate is printed as Go\'s %.2f: an exact tie to the even digit, plain digits at any size', async () => {
  for (const [point, rate] of [[3.75, '0.12'], [11.25, '0.38'], [3e22, '1000000000000000000000.00']] as const) {
    answer = { status: 200, body: JSON.stringify([{ target: 'x', datapoints: [[point, 1700000000]] }]) };
    const r = await http('GET', `${direct.url}/api/graphite?metric=rate&target=x`);
    assert.equal([r.status, JSON.parse(r.text)], [200, { rate }], `${point} / 30 s`);
  }
});

test('/api/graphite: a negative datapoint is N/A; bad arguments and a failing graphite are errors', async () => {
  answer = { status: 200, body: JSON.stringify([{ target: 'x', datapoints: [[-1, 1700000000]] }]) };
  let r = await http('GET', `${direct.url}/api/graphite?metric=rate&target=x`);
  assert.equal([r.status, JSON.parse(r.text)], [200, { rate: 'N/A' }]);
  r = await http('GET', `${direct.url}/api/graphite?metric=depth&target=x`);
  assert.equal([r.status, JSON.parse(r.text)], [400, { message: 'INVALID_ARG_METRIC' }]);
  r = await http('GET', `${direct.url}/api/graphite?metric=rate`);
  assert.equal([r.status, JSON.parse(r.text)], [400, { message: 'INVALID_ARG_TARGET' }]);
  answer = { status: 500, body: 'boom' };
  r = await http('GET', `${direct.url}/api/graphite?metric=rate&target=x`);
  assert.equal([r.status, JSON.parse(r.text)], [500, { message: 'INTERNAL_ERROR' }]);
  answer = { status: 200, body: 'not json' };
  r = await http('GET', `${direct.url}/api/graphite?metric=rate&target=x`);
  assert.equal([r.status, JSON.parse(r.text)], [500, { message: 'INTERNAL_ERROR' }]);
  r = await http('GET', `${direct.url}/ping`);
  assert.is(r.text, 'OK', 'nsqadmin is still up');
});

test('the page gets the graphite settings; with --proxy-graphite it gets no URL and /render is proxied with the URL\'s credentials', async () => {
  let r = await http('GET', `${direct.url}/`);
  assert.ok(r.text.includes(`var GRAPHITE_URL = '${graphiteUrl}';`), 'direct: the graphite URL');
  assert.ok(r.text.includes('var GRAPH_ENABLED = true;'));
  assert.ok(r.text.includes('var STATSD_INTERVAL = 30;'));
  r = await http('GET', `${proxied.url}/`);
  assert.ok(r.text.includes("var GRAPHITE_URL = '';"), 'proxied: images go to our /render');
  answer = { status: 200, body: '[{"target":"y","datapoints":[[1,2]]}]' };
  asked.length = 0;
  r = await http('GET', `${proxied.url}/render?target=y&format=json`);
  assert.equal([r.status, r.text], [200, answer.body]);
  assert.is(asked[0]!.url, '/render?target=y&format=json');
  assert.is(asked[0]!.auth, `Basic ${Buffer.from('user:p@ss').toString('base64')}`);
  r = await http('GET', `${direct.url}/render?target=y`);
  assert.is(r.status, 404, 'no proxy without --proxy-graphite');
});

test.run();
