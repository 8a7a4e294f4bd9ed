// Pure modules of nsqadmin: stats aggregation (clusterinfo Add semantics incl. the e2e quirk),
// Go-style JSON body decoding, CIDR checks, base-path normalisation, compression choice, Basic
// auth user, semver ordering and the index page's JS globals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { globalsScript, jsString } from '../../src/nsqadmin/assets.js';
import { cidrContains, parseCIDR } from '../../src/nsqadmin/cidr.js';
import { compareSemver } from '../../src/internal/clusterinfo/cluster-info.js';
import { joinHostPort } from '../../src/internal/listen.js';
import { pickEncoding } from '../../src/nsqadmin/compress.js';
import { basicAuthUser } from '../../src/nsqadmin/http.js';
import { decodeStringFields } from '../../src/nsqadmin/json-body.js';
import { joinBasePath, normalizeBasePath } from '../../src/nsqadmin/options.js';
import { addE2e, addTopic, decodeE2e, decodeTopic, newTopicAggregate } from '../../src/internal/clusterinfo/stats.js';

const nsqdTopic = (depth: number, chans: { name: string; depth: number }[]) => ({
  topic_name: 't', depth, backend_depth: 1, message_count: depth, paused: false,
  e2e_processing_latency: { count: 1, percentiles: [{ quantile: 0.99, value: depth * 10 }] },
  channels: chans.map((c) => ({ channel_name: c.name, depth: c.depth, backend_depth: 0, in_flight_count: 1, deferred_count: 0, message_count: c.depth, requeue_count: 0, timeout_count: 0, client_count: 0, clients: null, paused: false, e2e_processing_latency: { count: 0, percentiles: null } })),
});

test('addTopic sums nodes; a channel on two nodes becomes a "*" aggregate, one on one node stays as is', () => {
  const a = decodeTopic(nsqdTopic(5, [{ name: 'c1', depth: 2 }, { name: 'only', depth: 1 }]), 'h1:1', 'b-host', 0);
  const b = decodeTopic(nsqdTopic(3, [{ name: 'c1', depth: 4 }]), 'h2:1', 'a-host', 0);
  assert.is(a.memory_depth, 4);
  const agg = newTopicAggregate('t');
  addTopic(agg, a);
  addTopic(agg, b);
  assert.is(agg.node, '*');
  assert.is(agg.depth, 8);
  assert.is(agg.memory_depth, 6);
  assert.equal(agg.nodes!.map((n) => n.hostname), ['a-host', 'b-host'], 'nodes sorted by hostname');
  const c1 = agg.channels!.find((c) => c.channel_name === 'c1')!;
  assert.is(c1.node, '*');
  assert.is(c1.depth, 6);
  assert.is(c1.in_flight_count, 2);
  assert.is(c1.nodes!.length, 2);
  assert.is(agg.channels!.find((c) => c.channel_name === 'only')!.node, 'h1:1');
  const e2e = agg.e2e_processing_latency!;
  assert.is(e2e.host, '*');
  assert.is(e2e.count, 2);
  // max of max; min taken from the last node's max (NSQ's bug); count-weighted average.
  assert.equal(e2e.percentiles, [{ average: 40, count: 2, max: 50, min: 30, quantile: 0.99 }]);
});

test('decodeE2e: percentiles null when nsqd has none; addE2e of null only marks the host', () => {
  const e = decodeE2e({ count: 0, percentiles: null });
  assert.equal(e, { count: 0, percentiles: null, topic: '', channel: '', host: '' });
  addE2e(e, null);
  assert.is(e.host, '*');
  assert.is(e.percentiles, null);
});

test('addE2e keeps percentiles in the order first seen (Go sorts by a key its maps lack, so nothing moves) and merges by quantile', () => {
  const agg = decodeE2e({ count: 0, percentiles: null }, 't');
  addE2e(agg, decodeE2e({ count: 5, percentiles: [{ quantile: 0.5, value: 100 }] }, 't', '', 'aaa'));
  addE2e(agg, decodeE2e({ count: 5, percentiles: [{ quantile: 0.99, value: 300 }, { quantile: 0.5, value: 50 }] }, 't', '', 'bbb'));
  assert.equal(agg.percentiles, [
    { average: 75, count: 10, max: 100, min: 50, quantile: 0.5 },
    { average: 300, count: 5, max: 300, min: 300, quantile: 0.99 },
  ]);
  assert.is(agg.count, 10);
});

test('decodeStringFields: Go decoder texts, first value only, case-insensitive keys', () => {
  const d = (s: string) => decodeStringFields(Buffer.from(s), ['topic', 'channel'] as const);
  assert.is((d('') as Error).message, 'EOF');
  assert.is((d('  \n') as Error).message, 'EOF');
  assert.is((d('nope') as Error).message, "invalid character 'o' in literal null (expecting 'u')");
  assert.is((d('{"topic":') as Error).message, 'unexpected EOF');
  assert.is((d('x') as Error).message, "invalid character 'x' looking for beginning of value");
  assert.is((d('{"topic" 1}') as Error).message, "invalid character '1' after object key");
  assert.is((d('{"topic":1}') as Error).message, 'json: cannot unmarshal number into Go struct field .topic of type string');
  assert.equal(d('{"TOPIC":"a"} trailing junk'), { topic: 'a', channel: '' });
  assert.equal(d('null'), { topic: '', channel: '' });
  assert.equal(d('{"topic":"a","channel":null,"other":[1]}'), { topic: 'a', channel: '' });
});

test('CIDR parsing and matching like Go', () => {
  const net = parseCIDR('127.0.0.1/8');
  assert.ok(!(net instanceof Error));
  if (net instanceof Error) return;
  assert.ok(cidrContains(net, '127.9.9.9'));
  assert.ok(cidrContains(net, '::ffff:127.0.0.1'), 'IPv4-mapped IPv6');
  assert.not.ok(cidrContains(net, '10.0.0.1'));
  assert.not.ok(cidrContains(net, '::1'));
  const v6 = parseCIDR('::1/128');
  assert.ok(!(v6 instanceof Error) && cidrContains(v6, '::1'));
  assert.is((parseCIDR('nope') as Error).message, 'invalid CIDR address: nope');
  assert.is((parseCIDR('1.2.3.4/33') as Error).message, 'invalid CIDR address: 1.2.3.4/33');
  assert.is(cidrContains(net, 'bogus'), undefined);
});

test('base path normalisation and joining', () => {
  assert.is(normalizeBasePath(''), '/');
  assert.is(normalizeBasePath('/'), '/');
  assert.is(normalizeBasePath('admin/'), '/admin');
  assert.is(normalizeBasePath('//a/./b/../c/'), '/a/c');
  assert.is(joinBasePath('/', '/api/topics'), '/api/topics');
  assert.is(joinBasePath('/admin', '/'), '/admin');
  assert.is(joinBasePath('/admin', '/ping'), '/admin/ping');
});

test('compression choice, Basic auth user, semver, host:port', () => {
  assert.is(pickEncoding('br, gzip'), 'gzip');
  assert.is(pickEncoding('deflate, gzip'), 'deflate');
  assert.is(pickEncoding('gzip;q=1'), undefined);
  assert.is(pickEncoding(undefined), undefined);
  assert.is(basicAuthUser('Basic ' + Buffer.from('alice:pw').toString('base64')), 'alice');
  assert.is(basicAuthUser('Basic ' + Buffer.from('bob:').toString('base64')), 'bob');
  // The scheme is `Basic`, case and all (nsqadmin's basicAuthUser).
  assert.is(basicAuthUser('basic ' + Buffer.from('bob:').toString('base64')), '');
  assert.is(basicAuthUser('BASIC ' + Buffer.from('bob:').toString('base64')), '');
  assert.is(basicAuthUser('Basic ' + Buffer.from('nocolon').toString('base64')), '');
  assert.is(basicAuthUser('Bearer x'), '');
  assert.is(basicAuthUser(undefined), '');
  assert.ok(compareSemver('1.2.1', '1.3.0') < 0);
  assert.ok(compareSemver('1.3.0-alpha', '1.3.0') < 0);
  assert.ok(compareSemver('garbage', '0.0.1') < 0, 'unparsable is 0.0.0');
  assert.is(joinHostPort('::1', 4151), '[::1]:4151');
});

test('index globals are escaped JS', () => {
  assert.is(jsString("a'b</script>"), "'a\\u0027b\\u003c/script\\u003e'");
  const g = globalsScript({ version: '1.3.0', graphiteUrl: 'http://g', proxyGraphite: true, statsdCounterFormat: 'c', statsdGaugeFormat: 'g', statsdIntervalSeconds: 60, statsdPrefix: 'p', nsqlookupd: ['a:1', 'b:2'], isAdmin: false, basePath: '/x' });
  assert.ok(g.includes("var GRAPHITE_URL = '';"), 'empty when proxying');
  assert.ok(g.includes('var GRAPH_ENABLED = true;'));
  assert.ok(g.includes("var NSQLOOKUPD = ['a:1', 'b:2'];"));
  assert.ok(g.includes('var IS_ADMIN = false;'));
});

test.run();
