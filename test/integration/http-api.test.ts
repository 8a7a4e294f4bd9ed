// nsqd's HTTP API (spec section 5): every endpoint of the 5.2 table with its error codes, the V1
// response conventions (X-NSQ-Content-Type, content types), /pub and /mpub modes and limits,
// /stats formats and filters with the exact JSON field order and text layout of the recorded Go
// responses (test/fixtures/go-1.3.0/http-samples), /info, /config, and nsqd.dat after changes.
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NsqdInit } from '../../src/nsqd/nsqd.js';
import { statsDocument, statsJson, statsTextSliced } from '../../src/nsqd/http.js';
import { statsText } from '../../src/nsqd/stats.js';
import { goJSON } from '../../src/internal/http.js';
import { http, startNsqd, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { getStats, jsonShape, stripNative, mustChannel, mustTopic, rawHttp, readFixture, topicStats, type StatsJson } from '../helpers/stats.js';
import { expectErr, expectV1, JSON_CT, TEXT_CT, V1 } from '../helpers/http-v1.js';
import { WireConn } from '../helpers/wire.js';

const enc = encodeURIComponent;

async function withNsqd(init: NsqdInit, fn: (d: TestNsqd) => Promise<void>): Promise<void> {
  const d = await startNsqd(init);
  try {
    await fn(d);
  } finally {
    await d.close();
  }
}

async function ok(d: TestNsqd, path: string, body?: string | Buffer): Promise<void> {
  const r = await http('POST', `${d.url}${path}`, body);
  if (r.status !== 200) throw new Error(`POST ${path} answered ${r.status} ${r.text}`);
}

/** Subscribe over TCP and read `n` messages' bodies (then close). */
async function consume(d: TestNsqd, topic: string, channel: string, n: number): Promise<string[]> {
  const c = await WireConn.open(d.tcpPort);
  try {
    await c.sub(topic, channel);
    c.cmd(`RDY ${Math.max(1, n)}`);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const m = await c.readMessage();
      out.push(m.body.toString('latin1'));
      c.cmd(`FIN ${m.id}`);
    }
    await c.expectNothing(200);
    return out;
  } finally {
    c.close();
  }
}

function binaryMpub(bodies: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeInt32BE(bodies.length, 0);
  for (const b of bodies) {
    const bb = typeof b === 'string' ? Buffer.from(b) : b;
    const len = Buffer.alloc(4);
    len.writeInt32BE(bb.length, 0);
    parts.push(len, bb);
  }
  return Buffer.concat(parts);
}

function int32(...vals: number[]): Buffer {
  const b = Buffer.alloc(4 * vals.length);
  vals.forEach((v, i) => b.writeInt32BE(v, 4 * i));
  return b;
}

// ---------------------------------------------------------------------------------------------
// 5.1 general: /ping, 404, 405, INVALID_REQUEST

test('GET /ping: 200 OK as plain text, without the X-NSQ-Content-Type header', () =>
  withNsqd({}, async (d) => {
    const r = await http('GET', `${d.url}/ping`);
    assert.is(r.status, 200);
    assert.is(r.text, 'OK');
    assert.is(r.headers.get('x-nsq-content-type'), null);
    assert.is(r.headers.get('content-type'), TEXT_CT);
  }));

test('unknown path: 404 {"message":"NOT_FOUND"} (V1)', () =>
  withNsqd({}, async (d) => {
    for (const [m, p] of [['GET', '/nope'], ['POST', '/topic/nope'], ['GET', '/put'], ['POST', '/create_topic'], ['POST', '/mput'], ['GET', '/channel']] as const) {
      expectErr(await http(m, `${d.url}${p}`), 404, 'NOT_FOUND', `${m} ${p}`);
    }
  }));

test('known path, wrong method: 405 {"message":"METHOD_NOT_ALLOWED"} (V1)', () =>
  withNsqd({}, async (d) => {
    const cases: [string, string][] = [
      ['GET', '/pub?topic=t'], ['GET', '/mpub?topic=t'], ['POST', '/stats'], ['POST', '/info'], ['POST', '/ping'],
      ['GET', '/topic/create?topic=t'], ['PUT', '/topic/delete?topic=t'], ['GET', '/topic/pause?topic=t'],
      ['DELETE', '/channel/delete?topic=t&channel=c'], ['GET', '/channel/create?topic=t&channel=c'],
      ['POST', '/config/log_level'], ['DELETE', '/config/log_level'],
    ];
    for (const [m, p] of cases) expectErr(await http(m, `${d.url}${p}`), 405, 'METHOD_NOT_ALLOWED', `${m} ${p}`);
    // no side effect: the GET /pub and GET /topic/create did not create topic t
    assert.is(await topicStats(d.url, 't'), undefined);
  }));

test('a query string Go cannot parse (%zz) → 400 INVALID_REQUEST on every endpoint that reads params', () =>
  withNsqd({}, async (d) => {
    const cases: [string, string, string?][] = [
      ['GET', '/stats?format=json&topic=%zz'],
      ['POST', '/pub?topic=%zz', 'body'],
      ['POST', '/mpub?topic=%zz', 'a\nb'],
      ['POST', '/topic/create?topic=%zz'],
      ['POST', '/topic/delete?topic=%zz'],
      ['POST', '/topic/empty?topic=%zz'],
      ['POST', '/topic/pause?topic=%zz'],
      ['POST', '/topic/unpause?topic=%zz'],
      ['POST', '/channel/create?topic=t&channel=%zz'],
      ['POST', '/channel/delete?topic=%zz&channel=c'],
      ['POST', '/channel/empty?topic=%zz&channel=c'],
      ['POST', '/channel/pause?topic=%zz&channel=c'],
      ['POST', '/channel/unpause?topic=%zz&channel=c'],
    ];
    for (const [m, p, body] of cases) expectErr(await http(m, `${d.url}${p}`, body), 400, 'INVALID_REQUEST', `${m} ${p}`);
  }));

test('a query string with a ";" separator (refused by Go >= 1.17 url.ParseQuery) → 400 INVALID_REQUEST', () =>
  withNsqd({}, async (d) => {
    expectErr(await http('GET', `${d.url}/stats?format=json;topic=x`), 400, 'INVALID_REQUEST', '/stats');
    expectErr(await http('POST', `${d.url}/topic/create?topic=a;b=c`), 400, 'INVALID_REQUEST', '/topic/create');
  }));

// ---------------------------------------------------------------------------------------------
// 5.3 /info

test('GET /info: field order of the Go fixture, durations in ns, real ports', () =>
  withNsqd({ broadcastAddress: '127.0.0.1' }, async (d) => {
    const before = Math.floor(Date.now() / 1000);
    const r = await http('GET', `${d.url}/info`);
    assert.is(r.status, 200);
    assert.is(r.headers.get('x-nsq-content-type'), V1);
    assert.is(r.headers.get('content-type'), JSON_CT);
    const fixture = JSON.parse(readFixture('nsqd-info.json')) as Record<string, unknown>;
    const doc = stripNative(JSON.parse(r.text) as Record<string, unknown>);
    assert.equal(jsonShape(doc), jsonShape(fixture));
    assert.is(doc.hostname, hostname());
    assert.is(doc.http_port, d.httpPort);
    assert.is(doc.tcp_port, d.tcpPort);
    assert.ok(typeof doc.start_time === 'number' && doc.start_time <= before + 1 && doc.start_time >= before - 60, `start_time ${String(doc.start_time)}`);
    // the rest is exactly the fixture (same defaults, broadcast address 127.0.0.1)
    const normalized = { ...doc, hostname: fixture.hostname, http_port: fixture.http_port, tcp_port: fixture.tcp_port, start_time: fixture.start_time };
    assert.is(JSON.stringify(normalized), readFixture('nsqd-info.json'));
  }));

test('GET /info and /stats say which backend runs ("native", last field)', () =>
  withNsqd({}, async (d) => {
    const info = JSON.parse((await http('GET', `${d.url}/info`)).text) as { native: boolean };
    const stats = JSON.parse((await http('GET', `${d.url}/stats?format=json`)).text) as { native: boolean };
    assert.is(info.native, d.nsqd.backend.native);
    assert.is(stats.native, d.nsqd.backend.native);
    assert.is(d.nsqd.backend.native, process.env.NSQ_NATIVE === '1' ? true : process.env.NSQ_NATIVE === '0' ? false : d.nsqd.backend.native);
  }));

test('GET /info reflects non-default limits in ns', () =>
  withNsqd({ maxHeartbeatInterval: 5000, maxOutputBufferSize: 1000, maxOutputBufferTimeout: 2500, maxDeflateLevel: 9 }, async (d) => {
    const doc = stripNative(JSON.parse((await http('GET', `${d.url}/info`)).text) as Record<string, unknown>);
    assert.is(doc.max_heartbeat_interval, 5_000_000_000);
    assert.is(doc.max_output_buffer_size, 1000);
    assert.is(doc.max_output_buffer_timeout, 2_500_000_000);
    assert.is(doc.max_deflate_level, 9);
  }));

// ---------------------------------------------------------------------------------------------
// 5.4 /pub

test('POST /pub: 200 OK text/plain with the V1 header; the body is the message', () =>
  withNsqd({}, async (d) => {
    expectV1(await http('POST', `${d.url}/pub?topic=p`, 'hello world'), 200, 'OK', 'text');
    expectV1(await http('POST', `${d.url}/pub?topic=p`, Buffer.from([0, 1, 2, 0xff])), 200, 'OK', 'text');
    const t = await mustTopic(d.url, 'p');
    assert.is(t.message_count, 2);
    assert.is(t.message_bytes, 15);
    assert.is(t.depth, 2);
    const got = await consume(d, 'p', 'c', 2);
    assert.equal(got, ['hello world', Buffer.from([0, 1, 2, 0xff]).toString('latin1')]);
  }));

test('POST /pub errors: MSG_EMPTY before topic checks; MISSING_ARG_TOPIC; INVALID_TOPIC', () =>
  withNsqd({}, async (d) => {
    expectErr(await http('POST', `${d.url}/pub?topic=ok`, ''), 400, 'MSG_EMPTY', 'empty body');
    expectErr(await http('POST', `${d.url}/pub?topic=bad!topic`, ''), 400, 'MSG_EMPTY', 'empty body + bad topic');
    expectErr(await http('POST', `${d.url}/pub`, ''), 400, 'MSG_EMPTY', 'empty body + no topic');
    expectErr(await http('POST', `${d.url}/pub?topic=%zz`, ''), 400, 'MSG_EMPTY', 'empty body + bad query');
    expectErr(await http('POST', `${d.url}/pub`, 'x'), 400, 'MISSING_ARG_TOPIC');
    expectErr(await http('POST', `${d.url}/pub?tpoic=t`, 'x'), 400, 'MISSING_ARG_TOPIC');
    expectErr(await http('POST', `${d.url}/pub?topic=`, 'x'), 400, 'INVALID_TOPIC', 'empty topic value');
    expectErr(await http('POST', `${d.url}/pub?topic=bad!topic`, 'x'), 400, 'INVALID_TOPIC');
    expectErr(await http('POST', `${d.url}/pub?topic=${'a'.repeat(65)}`, 'x'), 400, 'INVALID_TOPIC', '65 chars');
    expectErr(await http('POST', `${d.url}/pub?topic=${enc('#ephemeral')}`, 'x'), 400, 'INVALID_TOPIC', '#ephemeral');
    expectV1(await http('POST', `${d.url}/pub?topic=${'a'.repeat(64)}`, 'x'), 200, 'OK', 'text', '64 chars');
    // nothing was created by the failed requests
    const doc = await getStats(d.url);
    assert.equal(doc.topics!.map((t) => t.topic_name), ['a'.repeat(64)]);
  }));

test('POST /pub with an empty body and a bad topic matches the recorded Go response (nsqd-pub-bad-topic.txt)', () =>
  withNsqd({}, async (d) => {
    const fixture = readFixture('nsqd-pub-bad-topic.txt');
    const [head, body] = fixture.split('\r\n\r\n') as [string, string];
    const lines = head.split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const hdrs = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 2)]));
    const r = await rawHttp('POST', `${d.url}/pub?topic=bad!topic`, '');
    assert.is(r.status, status);
    assert.is(r.text, body);
    assert.is(r.headers['content-type'], hdrs.get('content-type'));
    assert.is(r.headers['x-nsq-content-type'], hdrs.get('x-nsq-content-type'));
    assert.is(r.headers['content-length'], hdrs.get('content-length'));
  }));

/** Send `head` on a fresh connection; resolve with what arrives until `until` matches or the peer closes. */
function rawExchange(port: number, head: string, until: RegExp, then?: (sock: Socket, got: string) => void): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let text = '';
    let thenDone = false;
    sock.setTimeout(10_000, () => sock.destroy(new Error(`no answer; got ${JSON.stringify(text)}`)));
    sock.on('error', reject);
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (then !== undefined && !thenDone && /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(text)) {
        thenDone = true;
        then(sock, text);
      }
      if (until.test(text)) {
        sock.end();
        resolve({ text, closed: false });
      }
    });
    sock.on('end', () => resolve({ text, closed: true }));
    sock.write(head);
  });
}

test('Expect: 100-continue: a body refused on its Content-Length is answered at once, without 100 and with Connection: close; an accepted one gets 100 Continue first', () =>
  withNsqd({ maxMsgSize: 100 }, async (d) => {
    const refused = await rawExchange(d.httpPort, 'POST /pub?topic=ec HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n', /MSG_TOO_BIG"\}$/);
    assert.match(refused.text, /^HTTP\/1\.1 413 Request Entity Too Large\r\n/, refused.text);
    assert.match(refused.text, /\r\nConnection: close\r\n/i, refused.text);
    const body = 'y'.repeat(50);
    const ok = await rawExchange(d.httpPort, `POST /pub?topic=ec HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`, /\r\n\r\nOK$/, (sock) => sock.write(body));
    assert.match(ok.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/, ok.text);
    assert.is((await mustTopic(d.url, 'ec')).message_count, 1);
  }));

test('OPTIONS * is answered by the server itself, as net/http does: 200, empty', () =>
  withNsqd({}, async (d) => {
    const r = await rawExchange(d.httpPort, 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', /\r\n\r\n$/);
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n/, r.text);
    assert.match(r.text, /\r\nContent-Length: 0\r\n/i, r.text);
  }));

test('POST /pub: MSG_TOO_BIG by Content-Length and by the body itself (chunked); max size accepted', () =>
  withNsqd({ maxMsgSize: 100 }, async (d) => {
    const big = 'x'.repeat(101);
    const max = 'y'.repeat(100);
    const byLength = await rawHttp('POST', `${d.url}/pub?topic=big`, big);
    assert.is(byLength.status, 413);
    assert.is(byLength.reason, 'Request Entity Too Large', 'Go\'s reason phrase (Node\'s is "Payload Too Large")');
    assert.is(byLength.text, '{"message":"MSG_TOO_BIG"}');
    assert.is(byLength.headers['x-nsq-content-type'], V1);
    assert.is(byLength.headers['content-type'], JSON_CT);
    const byBody = await rawHttp('POST', `${d.url}/pub?topic=big`, big, { chunked: true });
    assert.is(byBody.status, 413);
    assert.is(byBody.text, '{"message":"MSG_TOO_BIG"}');
    // the size checks come before the topic checks
    expectErr(await http('POST', `${d.url}/pub`, big), 413, 'MSG_TOO_BIG', 'no topic');
    expectErr(await http('POST', `${d.url}/pub?topic=bad!`, big), 413, 'MSG_TOO_BIG', 'bad topic');
    const fits = await rawHttp('POST', `${d.url}/pub?topic=big`, max);
    assert.is(fits.status, 200);
    assert.is(fits.text, 'OK');
    const fitsChunked = await rawHttp('POST', `${d.url}/pub?topic=big`, max, { chunked: true });
    assert.is(fitsChunked.status, 200);
    assert.is(fitsChunked.text, 'OK');
    const emptyChunked = await rawHttp('POST', `${d.url}/pub?topic=big`, '', { chunked: true });
    assert.is(emptyChunked.status, 400);
    assert.is(emptyChunked.text, '{"message":"MSG_EMPTY"}');
    const t = await mustTopic(d.url, 'big');
    assert.is(t.message_count, 2);
    assert.is(t.message_bytes, 200);
  }));

test('POST /pub defer: valid values defer per channel; negative, too big, non-numeric → 400 INVALID_DEFER', () =>
  withNsqd({}, async (d) => {
    await ok(d, '/topic/create?topic=df');
    await ok(d, '/channel/create?topic=df&channel=c');
    expectV1(await http('POST', `${d.url}/pub?topic=df&defer=60000`, 'later'), 200, 'OK', 'text');
    let ch = await waitFor(async () => (await mustChannel(d.url, 'df', 'c')).deferred_count === 1, 3000, 'deferred').then(() => mustChannel(d.url, 'df', 'c'));
    assert.is(ch.depth, 0);
    expectV1(await http('POST', `${d.url}/pub?topic=df&defer=3600000`, 'max'), 200, 'OK', 'text', 'defer = max-req-timeout');
    expectV1(await http('POST', `${d.url}/pub?topic=df&defer=${enc('+5000')}`, 'plus'), 200, 'OK', 'text', 'signed decimal');
    expectV1(await http('POST', `${d.url}/pub?topic=df&defer=0`, 'now'), 200, 'OK', 'text', 'defer 0');
    await waitFor(async () => (await mustChannel(d.url, 'df', 'c')).depth === 1, 3000, 'defer=0 message in depth');
    ch = await mustChannel(d.url, 'df', 'c');
    assert.is(ch.deferred_count, 3);
    for (const bad of ['-1', '3600001', 'abc', '1.5', '', '1e3', '99999999999999999999', ' 5']) {
      expectErr(await http('POST', `${d.url}/pub?topic=df&defer=${enc(bad)}`, 'x'), 400, 'INVALID_DEFER', `defer=${bad}`);
    }
    // a raw '+' in a query string is a space for Go's url.ParseQuery
    expectErr(await http('POST', `${d.url}/pub?topic=df&defer=+5000`, 'x'), 400, 'INVALID_DEFER', 'defer=+5000 (space)');
    assert.is((await mustTopic(d.url, 'df')).message_count, 4);
  }));

// ---------------------------------------------------------------------------------------------
// 5.5 /mpub

test('POST /mpub text mode: split on \\n, \\r kept, empty lines skipped; zero lines → 200 OK', () =>
  withNsqd({}, async (d) => {
    await ok(d, '/topic/create?topic=mt');
    await ok(d, '/channel/create?topic=mt&channel=c');
    expectV1(await http('POST', `${d.url}/mpub?topic=mt`, 'a\nb\r\n\n\nc\n'), 200, 'OK', 'text');
    expectV1(await http('POST', `${d.url}/mpub?topic=mt&binary=false`, 'd\ne'), 200, 'OK', 'text', 'binary=false');
    expectV1(await http('POST', `${d.url}/mpub?topic=mt&binary=0`, 'f'), 200, 'OK', 'text', 'binary=0');
    expectV1(await http('POST', `${d.url}/mpub?topic=mt`, '\n\n\n'), 200, 'OK', 'text', 'only empty lines');
    expectV1(await http('POST', `${d.url}/mpub?topic=mt`, ''), 200, 'OK', 'text', 'empty body');
    expectV1(await http('POST', `${d.url}/mpub?topic=mt`, 'g\r\n\r\n'), 200, 'OK', 'text', 'a lone \\r is a message');
    const t = await mustTopic(d.url, 'mt');
    assert.is(t.message_count, 8);
    assert.is(t.message_bytes, 10);
    assert.equal(await consume(d, 'mt', 'c', 8), ['a', 'b\r', 'c', 'd', 'e', 'f', 'g\r', '\r']);
  }));

test('POST /mpub binary mode: binary=true/1/anything-else; BAD_BODY / BAD_MESSAGE as 413; all-or-nothing', () =>
  withNsqd({ maxMsgSize: 100, maxBodySize: 1000 }, async (d) => {
    await ok(d, '/topic/create?topic=mb');
    await ok(d, '/channel/create?topic=mb&channel=c');
    expectV1(await http('POST', `${d.url}/mpub?topic=mb&binary=true`, binaryMpub(['one', 'two\nlines'])), 200, 'OK', 'text', 'binary=true');
    expectV1(await http('POST', `${d.url}/mpub?topic=mb&binary=1`, binaryMpub(['three'])), 200, 'OK', 'text', 'binary=1');
    expectV1(await http('POST', `${d.url}/mpub?topic=mb&binary=yes`, binaryMpub(['four'])), 200, 'OK', 'text', 'binary=yes means binary');
    expectV1(await http('POST', `${d.url}/mpub?topic=mb&binary=`, binaryMpub(['five'])), 200, 'OK', 'text', 'binary= (empty) means binary');
    const base = (await mustTopic(d.url, 'mb')).message_count;
    assert.is(base, 5);
    const bad: [string, Buffer, string][] = [
      ['empty body (count unreadable)', Buffer.alloc(0), 'BAD_BODY'],
      ['count 0', int32(0), 'BAD_BODY'],
      ['count -1', int32(-1), 'BAD_BODY'],
      ['count > (max-body-size-4)/5', int32(200), 'BAD_BODY'],
      ['message size unreadable', int32(1), 'BAD_MESSAGE'],
      ['message size 0', int32(1, 0), 'BAD_MESSAGE'],
      ['message size > max-msg-size', Buffer.concat([int32(1, 101), Buffer.alloc(101)]), 'BAD_MESSAGE'],
      ['body truncated', Buffer.concat([int32(1, 10), Buffer.from('abc')]), 'BAD_MESSAGE'],
      ['second message bad (nothing published)', Buffer.concat([int32(2, 2), Buffer.from('ok'), int32(0)]), 'BAD_MESSAGE'],
    ];
    for (const [what, body, code] of bad) expectErr(await http('POST', `${d.url}/mpub?topic=mb&binary=true`, body), 413, code, what);
    assert.is((await mustTopic(d.url, 'mb')).message_count, base, 'failed binary MPUBs publish nothing');
    const got = await consume(d, 'mb', 'c', 5);
    assert.equal(got, ['one', 'two\nlines', 'three', 'four', 'five']);
  }));

test('POST /mpub limits and order of checks: BODY_TOO_BIG (Content-Length, body), MSG_TOO_BIG per line, topic errors', () =>
  withNsqd({ maxMsgSize: 100, maxBodySize: 1000 }, async (d) => {
    const lines = (n: number) => Array.from({ length: n }, () => 'z'.repeat(9)).join('\n') + '\n'; // 10 bytes a line
    expectErr(await http('POST', `${d.url}/mpub?topic=ml`, lines(101)), 413, 'BODY_TOO_BIG', 'Content-Length 1010');
    expectErr(await http('POST', `${d.url}/mpub`, lines(101)), 413, 'BODY_TOO_BIG', 'Content-Length checked before topic');
    const chunked = await rawHttp('POST', `${d.url}/mpub?topic=ml`, lines(101), { chunked: true });
    assert.is(chunked.status, 413);
    assert.is(chunked.text, '{"message":"BODY_TOO_BIG"}');
    expectV1(await http('POST', `${d.url}/mpub?topic=ml`, lines(100)), 200, 'OK', 'text', 'exactly max-body-size');
    expectErr(await http('POST', `${d.url}/mpub?topic=ml`, `short\n${'q'.repeat(101)}\nshort`), 413, 'MSG_TOO_BIG', 'line > max-msg-size');
    expectV1(await http('POST', `${d.url}/mpub?topic=ml`, `${'q'.repeat(100)}\n`), 200, 'OK', 'text', 'line = max-msg-size');
    assert.is((await mustTopic(d.url, 'ml')).message_count, 101, 'the MSG_TOO_BIG batch published nothing');
    expectErr(await http('POST', `${d.url}/mpub`, 'a'), 400, 'MISSING_ARG_TOPIC');
    expectErr(await http('POST', `${d.url}/mpub?topic=b@d`, 'a'), 400, 'INVALID_TOPIC');
    expectErr(await http('POST', `${d.url}/mpub?topic=`, 'a'), 400, 'INVALID_TOPIC');
  }));

// ---------------------------------------------------------------------------------------------
// 5.2 topic endpoints

test('POST /topic/create: 200 with an empty body and no Content-Type; MISSING_ARG_TOPIC, INVALID_TOPIC', () =>
  withNsqd({}, async (d) => {
    expectV1(await http('POST', `${d.url}/topic/create?topic=made`), 200, '', 'empty');
    expectV1(await http('POST', `${d.url}/topic/create?topic=made`), 200, '', 'empty', 'again (idempotent)');
    expectV1(await http('POST', `${d.url}/topic/create?topic=${enc('e#ephemeral')}`), 200, '', 'empty', 'ephemeral');
    expectErr(await http('POST', `${d.url}/topic/create`), 400, 'MISSING_ARG_TOPIC');
    expectErr(await http('POST', `${d.url}/topic/create?channel=x`), 400, 'MISSING_ARG_TOPIC');
    expectErr(await http('POST', `${d.url}/topic/create?topic=`), 400, 'INVALID_TOPIC');
    expectErr(await http('POST', `${d.url}/topic/create?topic=a%20b`), 400, 'INVALID_TOPIC');
    expectErr(await http('POST', `${d.url}/topic/create?topic=${enc('a#b')}`), 400, 'INVALID_TOPIC');
    expectErr(await http('POST', `${d.url}/topic/create?topic=${'t'.repeat(65)}`), 400, 'INVALID_TOPIC');
    const t = await mustTopic(d.url, 'made');
    assert.equal(t.channels, []);
    assert.is(t.depth, 0);
    const doc = await getStats(d.url);
    assert.equal(doc.topics!.map((x) => x.topic_name), ['e#ephemeral', 'made']);
  }));

test('POST /topic/delete: 200 empty; MISSING_ARG_TOPIC; 404 TOPIC_NOT_FOUND (name not validated)', () =>
  withNsqd({}, async (d) => {
    await ok(d, '/topic/create?topic=del');
    await ok(d, '/channel/create?topic=del&channel=c');
    expectV1(await http('POST', `${d.url}/topic/delete?topic=del`), 200, '', 'empty');
    assert.is(await topicStats(d.url, 'del'), undefined);
    expectErr(await http('POST', `${d.url}/topic/delete?topic=del`), 404, 'TOPIC_NOT_FOUND', 'already deleted');
    expectErr(await http('POST', `${d.url}/topic/delete?topic=bad!name`), 404, 'TOPIC_NOT_FOUND', 'invalid name');
    expectErr(await http('POST', `${d.url}/topic/delete?topic=`), 404, 'TOPIC_NOT_FOUND', 'empty name');
    expectErr(await http('POST', `${d.url}/topic/delete`), 400, 'MISSING_ARG_TOPIC');
  }));

test('POST /topic/empty: 200 empty; MISSING_ARG_TOPIC, INVALID_TOPIC, TOPIC_NOT_FOUND', () =>
  withNsqd({}, async (d) => {
    await ok(d, '/mpub?topic=emp', 'a\nb\nc');
    assert.is((await mustTopic(d.url, 'emp')).depth, 3);
    expectV1(await http('POST', `${d.url}/topic/empty?topic=emp`), 200, '', 'empty');
    const t = await mustTopic(d.url, 'emp');
    assert.is(t.depth, 0);
    assert.is(t.message_count, 3);
    expectErr(await http('POST', `${d.url}/topic/empty`), 400, 'MISSING_ARG_TOPIC');
    expectErr(await http('POST', `${d.url}/topic/empty?topic=bad!`), 400, 'INVALID_TOPIC');
    expectErr(await http('POST', `${d.url}/topic/empty?topic=missing`), 404, 'TOPIC_NOT_FOUND');
    assert.is(await topicStats(d.url, 'missing'), undefined);
  }));

test('POST /topic/pause and /topic/unpause: 200 empty, paused in /stats and nsqd.dat; MISSING_ARG_TOPIC, TOPIC_NOT_FOUND', () =>
  withNsqd({}, async (d) => {
    await ok(d, '/topic/create?topic=pt');
    const dat = () => JSON.parse(readFileSync(join(d.dataPath, 'nsqd.dat'), 'utf8')) as { topics: { name: string; paused: boolean }[] | null };
    expectV1(await http('POST', `${d.url}/topic/pause?topic=pt`), 200, '', 'empty');
    assert.is((await mustTopic(d.url, 'pt')).paused, true);
    assert.is(dat().topics!.find((t) => t.name === 'pt')!.paused, true, 'nsqd.dat written by /topic/pause before it answers');
    expectV1(await http('POST', `${d.url}/topic/pause?topic=pt`), 200, '', 'empty', 'pause twice');
    expectV1(await http('POST', `${d.url}/topic/unpause?topic=pt`), 200, '', 'empty');
    assert.is((await mustTopic(d.url, 'pt')).paused, false);
    assert.is(dat().topics!.find((t) => t.name === 'pt')!.paused, false, 'nsqd.dat written by /topic/unpause before it answers');
    for (const a of ['pause', 'unpause']) {
      expectErr(await http('POST', `${d.url}/topic/${a}`), 400, 'MISSING_ARG_TOPIC', a);
      expectErr(await http('POST', `${d.url}/topic/${a}?topic=nope`), 404, 'TOPIC_NOT_FOUND', a);
      expectErr(await http('POST', `${d.url}/topic/${a}?topic=bad!`), 404, 'TOPIC_NOT_FOUND', `${a} (name not validated)`);
    }
  }));

// ---------------------------------------------------------------------------------------------
// 5.2 channel endpoints

test('channel endpoints: MISSING_ARG_TOPIC / INVALID_ARG_TOPIC / MISSING_ARG_CHANNEL / INVALID_ARG_CHANNEL / TOPIC_NOT_FOUND / CHANNEL_NOT_FOUND', () =>
  withNsqd({}, async (d) => {
    await ok(d, '/topic/create?topic=ct');
    for (const a of ['create', 'delete', 'empty', 'pause', 'unpause']) {
      const u = (q: string) => `${d.url}/channel/${a}${q}`;
      expectErr(await http('POST', u('')), 400, 'MISSING_ARG_TOPIC', `${a}: nothing`);
      expectErr(await http('POST', u('?channel=c')), 400, 'MISSING_ARG_TOPIC', `${a}: channel only`);
      expectErr(await http('POST', u('?topic=bad!')), 400, 'INVALID_ARG_TOPIC', `${a}: bad topic, no channel`);
      expectErr(await http('POST', u('?topic=&channel=c')), 400, 'INVALID_ARG_TOPIC', `${a}: empty topic`);
      expectErr(await http('POST', u('?topic=ct')), 400, 'MISSING_ARG_CHANNEL', `${a}: no channel`);
      expectErr(await http('POST', u('?topic=nope')), 400, 'MISSING_ARG_CHANNEL', `${a}: missing topic, no channel`);
      expectErr(await http('POST', u('?topic=ct&channel=bad!')), 400, 'INVALID_ARG_CHANNEL', `${a}: bad channel`);
      expectErr(await http('POST', u('?topic=ct&channel=')), 400, 'INVALID_ARG_CHANNEL', `${a}: empty channel`);
      expectErr(await http('POST', u(`?topic=ct&channel=${'c'.repeat(65)}`)), 400, 'INVALID_ARG_CHANNEL', `${a}: 65-char channel`);
      expectErr(await http('POST', u('?topic=nope&channel=bad!')), 400, 'INVALID_ARG_CHANNEL', `${a}: names checked before lookup`);
      expectErr(await http('POST', u('?topic=nope&channel=c')), 404, 'TOPIC_NOT_FOUND', `${a}: missing topic`);
      if (a !== 'create') expectErr(await http('POST', u('?topic=ct&channel=nope')), 404, 'CHANNEL_NOT_FOUND', `${a}: missing channel`);
    }
    // no failed request created anything
    const doc = await getStats(d.url);
    assert.equal(doc.topics!.map((t) => t.topic_name), ['ct']);
    assert.equal(doc.topics![0]!.channels, []);
  }));

test('POST /channel/create, /channel/empty, /channel/pause|unpause, /channel/delete: 200 empty; effects visible in /stats and nsqd.dat', () =>
  withNsqd({}, async (d) => {
    await ok(d, '/topic/create?topic=cc');
    expectV1(await http('POST', `${d.url}/channel/create?topic=cc&channel=ch`), 200, '', 'empty', 'create');
    expectV1(await http('POST', `${d.url}/channel/create?topic=cc&channel=ch`), 200, '', 'empty', 'create again');
    let ch = await mustChannel(d.url, 'cc', 'ch');
    assert.equal(ch.clients, []);
    assert.is(ch.client_count, 0);
    await ok(d, '/mpub?topic=cc', '1\n2\n3');
    await waitFor(async () => (await mustChannel(d.url, 'cc', 'ch')).depth === 3, 3000, 'channel depth 3');
    expectV1(await http('POST', `${d.url}/channel/empty?topic=cc&channel=ch`), 200, '', 'empty', 'empty');
    ch = await mustChannel(d.url, 'cc', 'ch');
    assert.is(ch.depth, 0);
    assert.is(ch.message_count, 3);
    const dat = () => JSON.parse(readFileSync(join(d.dataPath, 'nsqd.dat'), 'utf8')) as { topics: { name: string; channels: { name: string; paused: boolean }[] | null }[] };
    expectV1(await http('POST', `${d.url}/channel/pause?topic=cc&channel=ch`), 200, '', 'empty', 'pause');
    assert.is((await mustChannel(d.url, 'cc', 'ch')).paused, true);
    assert.is(dat().topics.find((t) => t.name === 'cc')!.channels!.find((c) => c.name === 'ch')!.paused, true, 'nsqd.dat written by /channel/pause before it answers');
    expectV1(await http('POST', `${d.url}/channel/unpause?topic=cc&channel=ch`), 200, '', 'empty', 'unpause');
    assert.is((await mustChannel(d.url, 'cc', 'ch')).paused, false);
    assert.is(dat().topics.find((t) => t.name === 'cc')!.channels!.find((c) => c.name === 'ch')!.paused, false, 'nsqd.dat written by /channel/unpause before it answers');
    expectV1(await http('POST', `${d.url}/channel/delete?topic=cc&channel=ch`), 200, '', 'empty', 'delete');
    assert.equal((await mustTopic(d.url, 'cc')).channels, []);
    expectErr(await http('POST', `${d.url}/channel/delete?topic=cc&channel=ch`), 404, 'CHANNEL_NOT_FOUND', 'deleted twice');
  }));

// ---------------------------------------------------------------------------------------------
// 5.6 /stats

test('GET /stats: text by default (and for any format but "json"), JSON with format=json; V1 header on both', () =>
  withNsqd({}, async (d) => {
    await ok(d, '/topic/create?topic=s');
    for (const q of ['', '?format=text', '?format=JSON', '?format=']) {
      const r = await http('GET', `${d.url}/stats${q}`);
      assert.is(r.status, 200, q);
      assert.is(r.headers.get('content-type'), TEXT_CT, `text Content-Type for ${q}`);
      assert.is(r.headers.get('x-nsq-content-type'), V1, q);
      assert.ok(r.text.startsWith('nsqd v1.3.0 (built w/'), `text stats start with the version line for ${q}: ${JSON.stringify(r.text.slice(0, 40))}`);
    }
    const r = await http('GET', `${d.url}/stats?format=json`);
    assert.is(r.status, 200);
    assert.is(r.headers.get('content-type'), JSON_CT);
    assert.is(r.headers.get('x-nsq-content-type'), V1);
    const doc = stripNative(JSON.parse(r.text) as StatsJson);
    assert.is(doc.version, '1.3.0');
    assert.is(doc.health, 'OK');
    assert.equal(Object.keys(doc), ['version', 'health', 'start_time', 'topics', 'memory', 'producers']);
  }));

test('GET /stats filters: topic (missing → "topics":null), channel (topics lacking it omitted), include_clients, include_mem', () =>
  withNsqd({}, async (d) => {
    await ok(d, '/topic/create?topic=t1');
    await ok(d, '/topic/create?topic=t2');
    await ok(d, '/topic/create?topic=t3');
    await ok(d, '/channel/create?topic=t1&channel=shared');
    await ok(d, '/channel/create?topic=t1&channel=only1');
    await ok(d, '/channel/create?topic=t2&channel=shared');
    const c = await WireConn.open(d.tcpPort);
    const prod = await WireConn.open(d.tcpPort);
    try {
      await c.sub('t1', 'shared');
      await prod.pub('t3', 'x');

      let doc = await getStats(d.url, 'topic=t2');
      assert.equal(doc.topics!.map((t) => t.topic_name), ['t2']);

      // missing topic: the whole document matches the Go fixture (volatile values aside)
      const r = await http('GET', `${d.url}/stats?format=json&topic=nope&include_clients=false`);
      doc = stripNative(JSON.parse(r.text) as StatsJson);
      assert.is(doc.topics, null);
      const fx = JSON.parse(readFixture('nsqd-stats-missing-topic.json')) as StatsJson;
      assert.equal(jsonShape(doc), jsonShape(fx));
      assert.is(JSON.stringify({ ...doc, start_time: fx.start_time, memory: fx.memory }), readFixture('nsqd-stats-missing-topic.json'));
      // nsqd's GetStats returns the empty document at once: no producers even with a publisher connected
      doc = await getStats(d.url, 'topic=nope&include_clients=true');
      assert.is(doc.producers, null, 'missing topic: producers null');
      assert.match((await http('GET', `${d.url}/stats?topic=nope`)).text, /\n   Producers: None\n|\nProducers: None/);

      doc = await getStats(d.url, 'channel=shared');
      assert.equal(doc.topics!.map((t) => t.topic_name), ['t1', 't2'], 'topics without the channel are omitted');
      for (const t of doc.topics!) assert.equal(t.channels.map((x) => x.channel_name), ['shared']);
      doc = await getStats(d.url, 'channel=only1');
      assert.equal(doc.topics!.map((t) => t.topic_name), ['t1']);
      doc = await getStats(d.url, 'channel=none');
      assert.equal(doc.topics, []);
      doc = await getStats(d.url, 'topic=t2&channel=only1');
      assert.equal(doc.topics, []);
      doc = await getStats(d.url, 'topic=t1&channel=shared');
      assert.equal(doc.topics!.map((t) => t.topic_name), ['t1']);
      assert.equal(doc.topics![0]!.channels.map((x) => x.channel_name), ['shared']);

      doc = await getStats(d.url);
      assert.is(doc.topics!.find((t) => t.topic_name === 't1')!.channels.find((x) => x.channel_name === 'shared')!.clients!.length, 1);
      assert.is(doc.producers!.length, 1);
      for (const q of ['include_clients=false', 'include_clients=0']) {
        doc = await getStats(d.url, q);
        for (const t of doc.topics!) for (const ch of t.channels) assert.is(ch.clients, null, `${q}: clients null`);
        assert.is(doc.producers, null, `${q}: producers null`);
        assert.is(doc.topics!.find((t) => t.topic_name === 't1')!.channels.find((x) => x.channel_name === 'shared')!.client_count, 1, `${q}: client_count still filled`);
      }
      for (const q of ['include_clients=true', 'include_clients=1', 'include_clients=maybe']) {
        doc = await getStats(d.url, q);
        assert.ok(Array.isArray(doc.producers), `${q}: producers listed`);
      }
      for (const q of ['include_mem=false', 'include_mem=0']) {
        const raw = (await http('GET', `${d.url}/stats?format=json&${q}`)).text;
        doc = stripNative(JSON.parse(raw) as StatsJson);
        assert.ok(!('memory' in doc), `${q}: no memory key`);
        assert.ok(!raw.includes('"memory"'), `${q}: no memory key in the text`);
        assert.equal(Object.keys(doc), ['version', 'health', 'start_time', 'topics', 'producers']);
      }
      for (const q of ['include_mem=true', 'include_mem=1', 'include_mem=whatever']) {
        doc = await getStats(d.url, q);
        assert.ok('memory' in doc, `${q}: memory present`);
      }
      // pub_counts, filtered by the topic parameter
      doc = await getStats(d.url, 'topic=t3');
      assert.equal(doc.producers![0]!.pub_counts, [{ topic: 't3', count: 1 }]);
    } finally {
      c.close();
      prod.close();
    }
  }));

/** The fixture situation of nsqd-stats.json / nsqd-stats.txt (recorded with --mem-queue-size=0). */
async function recreateStatsFixture(d: TestNsqd): Promise<void> {
  await ok(d, '/topic/create?topic=audit');
  await ok(d, '/mpub?topic=audit', Array.from({ length: 5 }, (_, i) => `audit-${i + 1}`).join('\n'));
  await ok(d, '/topic/create?topic=orders');
  await ok(d, '/channel/create?topic=orders&channel=billing');
  await ok(d, '/channel/create?topic=orders&channel=shipping');
  await ok(d, '/channel/pause?topic=orders&channel=shipping');
  await ok(d, '/mpub?topic=orders', Array.from({ length: 60 }, (_, i) => `order-${String(i + 1).padStart(3, '0')}`).join('\n'));
  await ok(d, '/topic/create?topic=paused_topic');
  await ok(d, '/topic/pause?topic=paused_topic');
  await waitFor(async () => {
    const t = await mustTopic(d.url, 'orders');
    return t.depth === 0 && t.channels.every((c) => c.depth === 60);
  }, 5000, 'orders fanned out');
}

/** Replace the fields that legitimately differ between runs by the fixture's values, after checking them. */
function normalizeDoc(doc: StatsJson, fx: StatsJson): StatsJson {
  const now = Math.floor(Date.now() / 1000);
  assert.ok(doc.start_time <= now && doc.start_time > now - 120, `start_time ${doc.start_time}`);
  const out: StatsJson = { ...doc, start_time: fx.start_time };
  if ('memory' in doc) {
    assert.equal(jsonShape(doc.memory), jsonShape(fx.memory), 'memory object fields');
    out.memory = fx.memory;
  }
  return out;
}

/** Mask the volatile parts of text /stats (build, times, memory numbers, ports, durations, e2e values). */
function maskText(s: string): string {
  return s
    .split('\n')
    .map((l) =>
      l
        .replace(/^nsqd v1\.3\.0 \(built w\/[^)]*\)$/, 'nsqd v1.3.0 (built w/BUILD)')
        .replace(/^start_time .*$/, 'start_time TIME')
        .replace(/^uptime .*$/, 'uptime DURATION')
        .replace(/^( {3}[a-z0-9_]+ +\t)\d+$/, '$1N')
        .replace(/(\[V2 [^\]\s:]+:)\d{5}/, '$1PORT')
        .replace(/connected: \S+$/, 'connected: DUR')
        .replace(/\d+\.\d(?:ns|us|ms|s)\b/g, 'E2E'),
    )
    .join('\n');
}

function checkTextHeader(text: string, startTime: number): void {
  const lines = text.split('\n');
  assert.match(lines[0]!, /^nsqd v1\.3\.0 \(built w\/[^)]+\)$/);
  const m = /^start_time (\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2}))$/.exec(lines[1]!);
  assert.ok(m, `RFC3339 start_time line: ${JSON.stringify(lines[1])}`);
  assert.is(Date.parse(m![1]!) / 1000, startTime, 'start_time text = JSON start_time');
  assert.match(lines[2]!, /^uptime (?:(?:\d+h)?(?:\d+m)?\d+(?:\.\d+)?s|\d+(?:\.\d+)?(?:ms|µs|ns)|0s)$/);
}

test('GET /stats JSON: fields, order and values identical to nsqd-stats.json for the same situation', () =>
  withNsqd({ memQueueSize: 0 }, async (d) => {
    await recreateStatsFixture(d);
    const text = readFixture('nsqd-stats.json');
    const fx = JSON.parse(text) as StatsJson;
    const doc = await getStats(d.url);
    assert.equal(jsonShape(doc), jsonShape(fx), 'ordered key structure');
    assert.is(JSON.stringify(normalizeDoc(doc, fx)), text);
  }));

test('GET /stats text: topic/channel lines identical to nsqd-stats.txt (volatile numbers masked)', () =>
  withNsqd({ memQueueSize: 0 }, async (d) => {
    await recreateStatsFixture(d);
    const r = await http('GET', `${d.url}/stats`);
    assert.is(r.status, 200);
    checkTextHeader(r.text, (await getStats(d.url)).start_time);
    const want = maskText(readFixture('nsqd-stats.txt')).split('\n');
    const got = maskText(r.text).split('\n');
    assert.equal(got, want);
  }));

/** The fixture situation of nsqd-stats-with-clients.*: one consumer with one FIN and one in flight, one producer with two PUBs. */
async function recreateClientsFixture(d: TestNsqd): Promise<{ consumer: WireConn; producer: WireConn; t0: number }> {
  const t0 = Math.floor(Date.now() / 1000);
  const consumer = await WireConn.open(d.tcpPort);
  const producer = await WireConn.open(d.tcpPort);
  assert.is(await consumer.identify({ client_id: 'consumer-1', hostname: 'worker.example', user_agent: 'sample/1.0' }), 'OK');
  await consumer.sub('clicks', 'metrics');
  consumer.cmd('RDY 10');
  await producer.pub('clicks', 'click');
  await producer.pub('clicks', 'clack');
  const m1 = await consumer.readMessage();
  await consumer.readMessage();
  consumer.cmd(`FIN ${m1.id}`);
  await waitFor(async () => (await mustChannel(d.url, 'clicks', 'metrics')).clients![0]!.finish_count === 1, 3000, 'FIN counted');
  return { consumer, producer, t0 };
}

function checkAndNormalizeE2e(e: { count: number; percentiles: { quantile: number; value: number }[] | null }, fx: { percentiles: { value: number }[] | null }): void {
  assert.ok(Array.isArray(e.percentiles), 'percentiles configured → array');
  const vals = e.percentiles!.map((p) => p.value);
  for (const v of vals) assert.ok(typeof v === 'number' && v > 0 && v < 60e9, `e2e value ${v} ns`);
  assert.ok(vals.every((v) => v === vals[0]), 'one sample → every quantile is that sample');
  e.percentiles!.forEach((p, i) => (p.value = fx.percentiles![i]!.value));
}

test('GET /stats with clients: JSON identical to nsqd-stats-with-clients.json and nsqd-stats-no-clients-no-mem.json; text to nsqd-stats-with-clients.txt', () =>
  withNsqd({ e2eProcessingLatencyPercentiles: [0.99, 0.5] }, async (d) => {
    const { consumer, producer, t0 } = await recreateClientsFixture(d);
    try {
      const t1 = Math.floor(Date.now() / 1000);
      // JSON with clients and memory
      {
        const fxText = readFixture('nsqd-stats-with-clients.json');
        const fx = JSON.parse(fxText) as StatsJson;
        const doc = await getStats(d.url);
        assert.equal(jsonShape(doc), jsonShape(fx), 'ordered key structure');
        const n = normalizeDoc(doc, fx);
        const t = n.topics![0]!;
        const ch = t.channels[0]!;
        const cl = ch.clients![0]!;
        const pr = n.producers![0]!;
        assert.is(cl.remote_address, `127.0.0.1:${consumer.socket.localPort}`);
        assert.is(pr.remote_address, `127.0.0.1:${producer.socket.localPort}`);
        for (const c of [cl, pr]) assert.ok(c.connect_ts >= t0 && c.connect_ts <= t1 + 1, `connect_ts ${c.connect_ts}`);
        cl.remote_address = fx.topics![0]!.channels[0]!.clients![0]!.remote_address;
        cl.connect_ts = fx.topics![0]!.channels[0]!.clients![0]!.connect_ts;
        pr.remote_address = fx.producers![0]!.remote_address;
        pr.connect_ts = fx.producers![0]!.connect_ts;
        checkAndNormalizeE2e(t.e2e_processing_latency, fx.topics![0]!.e2e_processing_latency);
        checkAndNormalizeE2e(ch.e2e_processing_latency, fx.topics![0]!.channels[0]!.e2e_processing_latency);
        assert.is(JSON.stringify(n), fxText);
      }
      // JSON without clients and memory
      {
        const fxText = readFixture('nsqd-stats-no-clients-no-mem.json');
        const fx = JSON.parse(fxText) as StatsJson;
        const doc = await getStats(d.url, 'include_clients=false&include_mem=false');
        assert.equal(jsonShape(doc), jsonShape(fx), 'ordered key structure');
        const n = normalizeDoc(doc, fx);
        checkAndNormalizeE2e(n.topics![0]!.e2e_processing_latency, fx.topics![0]!.e2e_processing_latency);
        checkAndNormalizeE2e(n.topics![0]!.channels[0]!.e2e_processing_latency, fx.topics![0]!.channels[0]!.e2e_processing_latency);
        assert.is(JSON.stringify(n), fxText);
      }
      // text
      {
        const r = await http('GET', `${d.url}/stats`);
        checkTextHeader(r.text, (await getStats(d.url)).start_time);
        const lines = r.text.split('\n');
        const clientLine = lines.find((l) => l.startsWith('        [V2 '));
        assert.ok(clientLine?.includes(`worker.example:${consumer.socket.localPort} sample/1.0]`), `client line ${clientLine}`);
        const prodLine = lines.find((l) => l.startsWith('   [V2 '));
        assert.ok(prodLine?.includes(`127.0.0.1:${producer.socket.localPort} `), `producer line ${prodLine}`);
        assert.match(clientLine!, /connected: (?:\d+h)?(?:\d+m)?\d+s$/);
        assert.equal(maskText(r.text).split('\n'), maskText(readFixture('nsqd-stats-with-clients.txt')).split('\n'));
      }
    } finally {
      consumer.close();
      producer.close();
    }
  }));

test('GET /stats text with no topics: "Topics: None", "Producers: None"; include_mem=false drops the Memory block', () =>
  withNsqd({}, async (d) => {
    const mem = ['heap_objects', 'heap_idle_bytes', 'heap_in_use_bytes', 'heap_released_bytes', 'gc_pause_usec_100', 'gc_pause_usec_99', 'gc_pause_usec_95', 'next_gc_bytes', 'gc_total_runs'];
    const head = 'nsqd v1.3.0 (built w/BUILD)\nstart_time TIME\nuptime DURATION\n\nHealth: OK\n';
    const memBlock = '\nMemory:\n' + mem.map((k) => `   ${k.padEnd(25)}\tN\n`).join('');
    const tail = '\nTopics: None\n\nProducers: None\n';
    const r = await http('GET', `${d.url}/stats`);
    checkTextHeader(r.text, (await getStats(d.url)).start_time);
    assert.is(maskText(r.text), head + memBlock + tail);
    assert.is(maskText((await http('GET', `${d.url}/stats?include_mem=false`)).text), head + tail);
    await ok(d, '/topic/create?topic=exists');
    assert.is(maskText((await http('GET', `${d.url}/stats?topic=nope`)).text), head + memBlock + tail, 'missing filtered topic');
  }));

test('GET /stats text: exact consumer and producer lines (no IDENTIFY: hostname = remote IP, empty user agent)', () =>
  withNsqd({}, async (d) => {
    const c = await WireConn.open(d.tcpPort);
    const p = await WireConn.open(d.tcpPort);
    try {
      await c.sub('tx', 'ch');
      c.cmd('RDY 7');
      await p.pub('tx', 'a');
      await p.pub('tx', 'b');
      const m = await c.readMessage();
      await c.readMessage();
      c.cmd(`REQ ${m.id} 0`);
      await c.readMessage();
      await waitFor(async () => (await mustChannel(d.url, 'tx', 'ch')).requeue_count === 1, 3000, 'REQ counted');
      const r = await http('GET', `${d.url}/stats`);
      const lines = r.text.split('\n');
      const pad = (v: number | string, n: number) => String(v).padEnd(n);
      const ci = lines.findIndex((l) => l.startsWith('        [V2 '));
      assert.ok(ci > 0, 'a client line under the channel');
      assert.is(lines[ci - 1], `      [${pad('ch', 25)}] depth: ${pad(0, 5)} be-depth: ${pad(0, 5)} inflt: ${pad(2, 4)} def: ${pad(0, 4)} re-q: ${pad(1, 5)} timeout: ${pad(0, 5)} msgs: ${pad(2, 8)} e2e%: `);
      assert.is(lines[ci - 2], `   [${pad('tx', 15)}] depth: ${pad(0, 5)} be-depth: ${pad(0, 5)} msgs: ${pad(2, 8)} e2e%: `);
      const consumerLine = lines[ci]!.replace(/connected: (?:\d+h)?(?:\d+m)?\d+s$/, 'connected: D');
      assert.is(consumerLine, `        [V2 ${pad(`127.0.0.1:${c.socket.localPort} `, 21)}] state: 3 inflt: ${pad(2, 4)} rdy: ${pad(7, 4)} fin: ${pad(0, 8)} re-q: ${pad(1, 8)} msgs: ${pad(3, 8)} connected: D`);
      const pi = lines.indexOf('Producers:');
      assert.ok(pi > 0, 'a "Producers:" header');
      assert.is(lines[pi - 1], '');
      const producerLine = lines[pi + 1]!.replace(/connected: (?:\d+h)?(?:\d+m)?\d+s$/, 'connected: D');
      assert.is(producerLine, `   [V2 ${pad(`127.0.0.1:${p.socket.localPort} `, 21)}] msgs: ${pad(2, 8)} topics: tx=2 connected: D`);
      assert.is(lines[pi + 2], '');
      assert.is(lines.length, pi + 3, 'the text ends after the producers');
    } finally {
      c.close();
      p.close();
    }
  }));

test('GET /stats producers: pub_counts holds at most one entry (quirk 17), filtered by topic; a publishing consumer is listed in both places', () =>
  withNsqd({}, async (d) => {
    const p = await WireConn.open(d.tcpPort);
    const both = await WireConn.open(d.tcpPort);
    try {
      await p.pub('q1', 'x');
      await p.pub('q1', 'x');
      await p.pub('q2', 'x');
      await p.pub('q2', 'x');
      await p.pub('q2', 'x');
      await ok(d, '/topic/create?topic=q3');
      let doc = await getStats(d.url);
      assert.is(doc.producers!.length, 1);
      const pc = doc.producers![0]!.pub_counts!;
      assert.is(pc.length, 1, `pub_counts ${JSON.stringify(pc)}`);
      assert.ok((pc[0]!.topic === 'q1' && pc[0]!.count === 2) || (pc[0]!.topic === 'q2' && pc[0]!.count === 3), JSON.stringify(pc));
      assert.is(doc.producers![0]!.state, 0);
      doc = await getStats(d.url, 'topic=q2');
      assert.equal(doc.producers![0]!.pub_counts, [{ topic: 'q2', count: 3 }]);
      doc = await getStats(d.url, 'topic=q1');
      assert.equal(doc.producers![0]!.pub_counts, [{ topic: 'q1', count: 2 }]);
      const raw = (await http('GET', `${d.url}/stats?format=json&topic=q3`)).text;
      doc = stripNative(JSON.parse(raw) as StatsJson);
      assert.is(doc.producers!.length, 1, 'producers are not filtered by topic');
      assert.ok(!('pub_counts' in doc.producers![0]!), 'empty pub_counts is omitted (omitempty)');

      await both.pub('q1', 'y');
      await both.sub('q1', 'c');
      doc = await getStats(d.url, 'topic=q1');
      assert.is(doc.producers!.length, 2);
      const asProducer = doc.producers!.find((x) => x.remote_address === `127.0.0.1:${both.socket.localPort}`);
      assert.ok(asProducer, 'the publishing consumer is a producer');
      assert.is(asProducer!.state, 3);
      const asClient = doc.topics![0]!.channels[0]!.clients![0]!;
      assert.is(asClient.remote_address, `127.0.0.1:${both.socket.localPort}`);
      assert.equal(asClient.pub_counts, [{ topic: 'q1', count: 1 }]);
    } finally {
      p.close();
      both.close();
    }
  }));

test('GET /stats: HTTP publishes do not make producers; e2e without percentiles is {"count":0,"percentiles":null}', () =>
  withNsqd({}, async (d) => {
    await ok(d, '/pub?topic=h', 'x');
    const r = await http('GET', `${d.url}/stats?format=json`);
    const doc = stripNative(JSON.parse(r.text) as StatsJson);
    assert.is(doc.producers, null);
    assert.ok(r.text.includes('"e2e_processing_latency":{"count":0,"percentiles":null}'));
  }));

// ---------------------------------------------------------------------------------------------
// 5.7 /config

test('GET /config/:opt: strings raw, ints/bools/arrays as JSON, durations in ns, log_level as an integer; unknown → 400 INVALID_OPTION', () =>
  withNsqd({ nodeId: 7, e2eProcessingLatencyPercentiles: [0.99, 0.5] }, async (d) => {
    const get = (o: string) => http('GET', `${d.url}/config/${o}`);
    expectV1(await get('tcp_address'), 200, '127.0.0.1:0', 'text', 'tcp_address');
    expectV1(await get('http_address'), 200, '127.0.0.1:0', 'text', 'http_address');
    expectV1(await get('data_path'), 200, d.dataPath, 'text', 'data_path');
    // Expanded at start, as nsqd's New() does, like the unset broadcast ports.
    const info = JSON.parse((await http('GET', `${d.url}/info`)).text) as { broadcast_address: string };
    expectV1(await get('statsd_prefix'), 200, `nsq.${info.broadcast_address.replace(/\./g, '_')}_${d.httpPort}.`, 'text', 'statsd_prefix');
    expectV1(await get('broadcast_tcp_port'), 200, String(d.tcpPort), 'json', 'broadcast_tcp_port');
    expectV1(await get('broadcast_http_port'), 200, String(d.httpPort), 'json', 'broadcast_http_port');
    expectV1(await get('statsd_address'), 200, '', 'empty', 'statsd_address (an empty string has no Content-Type)');
    expectV1(await get('log_prefix'), 200, '[nsqd] ', 'text', 'log_prefix');
    expectV1(await get('mem_queue_size'), 200, '10000', 'json', 'mem_queue_size');
    expectV1(await get('max_msg_size'), 200, '1048576', 'json', 'max_msg_size');
    expectV1(await get('id'), 200, '7', 'json', 'id (cfg name of --node-id)');
    expectV1(await get('snappy'), 200, 'true', 'json', 'snappy');
    expectV1(await get('statsd_exclude_ephemeral'), 200, 'false', 'json', 'statsd_exclude_ephemeral');
    expectV1(await get('msg_timeout'), 200, '60000000000', 'json', 'msg_timeout');
    expectV1(await get('max_msg_timeout'), 200, '900000000000', 'json', 'max_msg_timeout');
    expectV1(await get('min_output_buffer_timeout'), 200, '25000000', 'json', 'min_output_buffer_timeout');
    expectV1(await get('max_req_timeout'), 200, '3600000000000', 'json', 'max_req_timeout');
    expectV1(await get('nsqlookupd_tcp_addresses'), 200, '[]', 'json', 'nsqlookupd_tcp_addresses');
    expectV1(await get('e2e_processing_latency_percentiles'), 200, '[0.99,0.5]', 'json', 'e2e_processing_latency_percentiles');
    expectV1(await get('log_level'), 200, '2', 'json', 'log_level (info)');
    for (const bad of ['nope', 'node_id', 'lookupd_tcp_address', 'tcp-address', 'TCP_ADDRESS', 'version', 'config']) {
      expectErr(await get(bad), 400, 'INVALID_OPTION', bad);
    }
  }));

test('PUT /config: nsqlookupd_tcp_addresses (array echoed, bad JSON 400, empty 413), log_level, other options INVALID_OPTION', () =>
  withNsqd({ maxMsgSize: 100 }, async (d) => {
    const put = (o: string, body: string) => http('PUT', `${d.url}/config/${o}`, body);
    const fixture = readFixture('nsqd-config-nsqlookupd_tcp_addresses.txt');
    expectV1(await put('nsqlookupd_tcp_addresses', fixture), 200, fixture, 'json', 'PUT lookupd addresses');
    expectV1(await http('GET', `${d.url}/config/nsqlookupd_tcp_addresses`), 200, fixture, 'json', 'GET after PUT');
    expectV1(await put('nsqlookupd_tcp_addresses', '[ "127.0.0.1:1" , "127.0.0.1:2" ]'), 200, '["127.0.0.1:1","127.0.0.1:2"]', 'json', 'echo is compact');
    expectErr(await put('nsqlookupd_tcp_addresses', '['), 400, 'INVALID_VALUE', 'bad JSON');
    expectErr(await put('nsqlookupd_tcp_addresses', '127.0.0.1:4160'), 400, 'INVALID_VALUE', 'not JSON');
    expectErr(await put('nsqlookupd_tcp_addresses', '{"a":1}'), 400, 'INVALID_VALUE', 'object');
    expectErr(await put('nsqlookupd_tcp_addresses', '[1]'), 400, 'INVALID_VALUE', 'array of numbers');
    expectErr(await put('nsqlookupd_tcp_addresses', ''), 413, 'INVALID_VALUE', 'empty body');
    expectErr(await put('nsqlookupd_tcp_addresses', `["${'x'.repeat(100)}"]`), 413, 'INVALID_VALUE', 'body > max-msg-size');
    expectV1(await http('GET', `${d.url}/config/nsqlookupd_tcp_addresses`), 200, '["127.0.0.1:1","127.0.0.1:2"]', 'json', 'failed PUTs changed nothing');
    expectV1(await put('nsqlookupd_tcp_addresses', '[]'), 200, '[]', 'json', 'reset');

    expectV1(await put('log_level', 'debug'), 200, '1', 'json', 'log_level debug');
    expectV1(await http('GET', `${d.url}/config/log_level`), 200, '1', 'json', 'GET log_level');
    expectV1(await put('log_level', 'WARN'), 200, '3', 'json', 'log_level WARN (case-insensitive)');
    expectV1(await put('log_level', 'error'), 200, '4', 'json', 'log_level error');
    expectErr(await put('log_level', 'verbose'), 400, 'INVALID_VALUE', 'bad level');
    expectErr(await put('log_level', ''), 413, 'INVALID_VALUE', 'empty level');
    expectV1(await put('log_level', 'info'), 200, '2', 'json', 'log_level info');

    expectErr(await put('mem_queue_size', '5'), 400, 'INVALID_OPTION', 'read-only option');
    expectErr(await put('nope', 'x'), 400, 'INVALID_OPTION', 'unknown option');
    expectErr(await put('nope', ''), 413, 'INVALID_VALUE', 'body checked before the option name');
    expectV1(await http('GET', `${d.url}/config/mem_queue_size`), 200, '10000', 'json', 'mem_queue_size unchanged');
  }));

test('PUT /config/nsqlookupd_tcp_addresses with JSON null: accepted and echoed as null (Go json.Unmarshal sets the slice to nil)', () =>
  withNsqd({}, async (d) => {
    expectV1(await http('PUT', `${d.url}/config/nsqlookupd_tcp_addresses`, 'null'), 200, 'null', 'json', 'PUT null');
    expectV1(await http('GET', `${d.url}/config/nsqlookupd_tcp_addresses`), 200, 'null', 'json', 'GET after PUT null');
    // A null element becomes "" (the zero string); nsqd then fails to connect there and keeps serving.
    expectV1(await http('PUT', `${d.url}/config/nsqlookupd_tcp_addresses`, '["127.0.0.1:1",null]'), 200, '["127.0.0.1:1",""]', 'json', 'PUT with a null element');
    expectV1(await http('GET', `${d.url}/config/nsqlookupd_tcp_addresses`), 200, '["127.0.0.1:1",""]', 'json', 'GET after');
    expectErr(await http('PUT', `${d.url}/config/nsqlookupd_tcp_addresses`, '["127.0.0.1:1",5]'), 400, 'INVALID_VALUE', 'a number element');
    assert.is((await http('GET', `${d.url}/ping`)).text, 'OK');
  }));

test('query parameters: the first of repeated values is used; names are case-sensitive; "+" is a space', () =>
  withNsqd({}, async (d) => {
    expectV1(await http('POST', `${d.url}/topic/create?topic=first&topic=bad!`), 200, '', 'empty', 'first value valid');
    expectErr(await http('POST', `${d.url}/topic/create?topic=bad!&topic=second`), 400, 'INVALID_TOPIC', 'first value invalid');
    expectV1(await http('POST', `${d.url}/channel/create?topic=first&channel=c1&channel=bad!`), 200, '', 'empty', 'first channel value');
    expectErr(await http('POST', `${d.url}/topic/create?Topic=x`), 400, 'MISSING_ARG_TOPIC', 'Topic');
    expectErr(await http('POST', `${d.url}/topic/create?topic=a+b`), 400, 'INVALID_TOPIC', 'a+b is "a b"');
    expectV1(await http('POST', `${d.url}/topic/create?topic=%61%62`), 200, '', 'empty', 'percent-decoded');
    const doc = await getStats(d.url);
    assert.equal(doc.topics!.map((t) => t.topic_name), ['ab', 'first']);
    assert.equal(doc.topics![1]!.channels.map((c) => c.channel_name), ['c1']);
  }));

test('GET /stats e2e_processing_latency with percentiles configured (Go source): no channel → null percentiles; no samples → zero values; text 0.0ns', () =>
  withNsqd({ e2eProcessingLatencyPercentiles: [0.99, 0.5] }, async (d) => {
    await ok(d, '/topic/create?topic=bare');
    await ok(d, '/topic/create?topic=withch');
    await ok(d, '/channel/create?topic=withch&channel=c');
    const raw = (await http('GET', `${d.url}/stats?format=json`)).text;
    const doc = JSON.parse(raw) as StatsJson;
    const zero = { count: 0, percentiles: [{ quantile: 0.99, value: 0 }, { quantile: 0.5, value: 0 }] };
    assert.equal(doc.topics![0]!.e2e_processing_latency, { count: 0, percentiles: null }, 'topic without channels');
    assert.equal(doc.topics![1]!.e2e_processing_latency, zero, 'topic aggregate over a channel without samples');
    assert.equal(doc.topics![1]!.channels[0]!.e2e_processing_latency, zero, 'channel without samples');
    const text = (await http('GET', `${d.url}/stats`)).text;
    assert.ok(text.includes(`   [${'bare'.padEnd(15)}] depth: 0     be-depth: 0     msgs: 0        e2e%: \n`), 'bare topic line');
    assert.ok(text.includes(`   [${'withch'.padEnd(15)}] depth: 0     be-depth: 0     msgs: 0        e2e%: 0.0ns, 0.0ns\n`), 'topic line with zero e2e');
    assert.ok(text.includes(`      [${'c'.padEnd(25)}] depth: 0     be-depth: 0     inflt: 0    def: 0    re-q: 0     timeout: 0     msgs: 0        e2e%: 0.0ns, 0.0ns\n`), 'channel line with zero e2e');
  }));

test('GET /stats JSON escapes <, >, & like Go (quirk 18); IDENTIFY without hostname stores ""', () =>
  withNsqd({}, async (d) => {
    const c = await WireConn.open(d.tcpPort);
    try {
      assert.is(await c.identify({ client_id: 'a<b>&c', user_agent: '<ua>' }), 'OK');
      await c.sub('esc', 'c');
      const raw = (await http('GET', `${d.url}/stats?format=json`)).text;
      assert.ok(raw.includes('"client_id":"a\\u003cb\\u003e\\u0026c","hostname":"","version":"V2"'), raw);
      assert.ok(raw.includes('"user_agent":"\\u003cua\\u003e"'), raw);
      const doc = JSON.parse(raw) as StatsJson;
      assert.is(doc.topics![0]!.channels[0]!.clients![0]!.client_id, 'a<b>&c');
    } finally {
      c.close();
    }
  }));

// ---------------------------------------------------------------------------------------------
// 3.10 nsqd.dat

test('nsqd.dat: compact JSON, key order, ephemeral topics/channels excluded, "channels":null, follows creates and deletes', () =>
  withNsqd({}, async (d) => {
    const file = join(d.dataPath, 'nsqd.dat');
    type Dat = { topics: { name: string; paused: boolean; channels: { name: string; paused: boolean }[] | null }[] | null; version: string };
    const read = (): { raw: string; dat: Dat } => {
      const raw = readFileSync(file, 'utf8');
      return { raw, dat: JSON.parse(raw) as Dat };
    };
    /** Order-insensitive view of the metadata (arrays are in map order in Go). */
    const view = (dat: Dat) => ({
      version: dat.version,
      topics: dat.topics === null ? null : [...dat.topics].sort((a, b) => (a.name < b.name ? -1 : 1)).map((t) => ({ ...t, channels: t.channels === null ? null : [...t.channels].sort((a, b) => (a.name < b.name ? -1 : 1)) })),
    });
    const waitDat = async (want: unknown, what: string) => {
      let last = '';
      try {
        await waitFor(() => {
          try {
            last = readFileSync(file, 'utf8');
            return JSON.stringify(view(JSON.parse(last) as Dat)) === JSON.stringify(want);
          } catch {
            return false;
          }
        }, 5000, what);
      } catch (e) {
        throw new Error(`${(e as Error).message}; nsqd.dat is ${last}`);
      }
      const { raw, dat } = read();
      assert.is(raw, JSON.stringify(dat), 'compact JSON, no trailing newline');
      assert.equal(Object.keys(dat), ['topics', 'version']);
      for (const t of dat.topics ?? []) {
        assert.equal(Object.keys(t), ['name', 'paused', 'channels']);
        for (const c of t.channels ?? []) assert.equal(Object.keys(c), ['name', 'paused']);
      }
    };

    // written at start-up even with nothing in it
    assert.is(read().raw, '{"topics":null,"version":"1.3.0"}');

    await ok(d, '/topic/create?topic=t1');
    await ok(d, '/channel/create?topic=t1&channel=c1');
    await ok(d, `/channel/create?topic=t1&channel=${enc('c2#ephemeral')}`);
    await ok(d, '/topic/create?topic=t2');
    await ok(d, `/topic/create?topic=${enc('eph#ephemeral')}`);
    await ok(d, `/channel/create?topic=${enc('eph#ephemeral')}&channel=c`);
    await ok(d, '/topic/create?topic=t3');
    await ok(d, `/channel/create?topic=t3&channel=${enc('only#ephemeral')}`);
    await waitDat({
      version: '1.3.0',
      topics: [
        { name: 't1', paused: false, channels: [{ name: 'c1', paused: false }] },
        { name: 't2', paused: false, channels: null },
        { name: 't3', paused: false, channels: null },
      ],
    }, 'creates persisted');

    await ok(d, '/channel/pause?topic=t1&channel=c1');
    await ok(d, '/topic/pause?topic=t2');
    await waitDat({
      version: '1.3.0',
      topics: [
        { name: 't1', paused: false, channels: [{ name: 'c1', paused: true }] },
        { name: 't2', paused: true, channels: null },
        { name: 't3', paused: false, channels: null },
      ],
    }, 'pauses persisted');

    await ok(d, '/channel/delete?topic=t1&channel=c1');
    await ok(d, '/topic/delete?topic=t3');
    await waitDat({
      version: '1.3.0',
      topics: [
        { name: 't1', paused: false, channels: null },
        { name: 't2', paused: true, channels: null },
      ],
    }, 'deletes persisted');

    // a topic created by a TCP PUB and a channel created by SUB are persisted too
    const c = await WireConn.open(d.tcpPort);
    try {
      await c.pub('t4', 'x');
      await c.sub('t4', 'c4');
    } finally {
      c.close();
    }
    await ok(d, '/topic/delete?topic=t1');
    await ok(d, '/topic/delete?topic=t2');
    await waitDat({ version: '1.3.0', topics: [{ name: 't4', paused: false, channels: [{ name: 'c4', paused: false }] }] }, 'TCP-created persisted');
    await ok(d, '/topic/delete?topic=t4');
    await waitDat({ version: '1.3.0', topics: null }, 'no topics → "topics":null');
    assert.is(read().raw, '{"topics":null,"version":"1.3.0"}');
    // ephemeral topic still exists but is not listed
    assert.ok(await topicStats(d.url, 'eph#ephemeral'));
  }));

test('nsqd.dat under concurrent changes: once every answer is in, the file holds the last state (writes run off the event loop, newest last)', () =>
  withNsqd({}, async (d) => {
    type Dat = { topics: { name: string; paused: boolean; channels: { name: string; paused: boolean }[] | null }[] | null };
    const N = 30;
    const want = new Map<string, { paused: boolean; channels: Map<string, boolean> }>();
    const check = (phase: string): void => {
      // Read at once: every change was answered only after a write holding it was on disk.
      const dat = JSON.parse(readFileSync(join(d.dataPath, 'nsqd.dat'), 'utf8')) as Dat;
      const got = (dat.topics ?? [])
        .map((t) => ({ name: t.name, paused: t.paused, channels: (t.channels ?? []).map((c) => `${c.name}:${c.paused}`).sort() }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      const exp = [...want]
        .map(([name, t]) => ({ name, paused: t.paused, channels: [...t.channels].map(([c, p]) => `${c}:${p}`).sort() }))
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      assert.equal(got, exp, phase);
    };
    const name = (i: number): string => `cc${String(i).padStart(2, '0')}`;

    await Promise.all(Array.from({ length: N }, (_, i) => ok(d, `/topic/create?topic=${name(i)}`)));
    for (let i = 0; i < N; i++) want.set(name(i), { paused: false, channels: new Map() });
    check('after the creates');

    const b: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      for (const c of ['c0', 'c1', 'c2']) b.push(ok(d, `/channel/create?topic=${name(i)}&channel=${c}`));
      if (i % 3 === 0) b.push(ok(d, `/topic/pause?topic=${name(i)}`));
    }
    await Promise.all(b);
    const c: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const t = want.get(name(i))!;
      for (const ch of ['c0', 'c1', 'c2']) t.channels.set(ch, false);
      if (i % 3 === 0) t.paused = true;
      if (i % 4 === 0) c.push(ok(d, `/channel/pause?topic=${name(i)}&channel=c1`));
    }
    await Promise.all(c);
    for (let i = 0; i < N; i += 4) want.get(name(i))!.channels.set('c1', true);
    check('after the channel creates and pauses');

    const e: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      if (i % 5 === 0) {
        e.push(ok(d, `/topic/delete?topic=${name(i)}`));
        want.delete(name(i));
        continue;
      }
      if (i % 2 === 0) {
        e.push(ok(d, `/channel/delete?topic=${name(i)}&channel=c2`));
        want.get(name(i))!.channels.delete('c2');
      }
      if (i % 6 === 3) {
        e.push(ok(d, `/topic/unpause?topic=${name(i)}`));
        want.get(name(i))!.paused = false;
      }
    }
    await Promise.all(e);
    check('after the deletes and unpauses');
  }));

test('GET /stats is made a topic at a time (the event loop runs between), JSON and text, and reads exactly as the whole document does', () =>
  withNsqd({}, async (d) => {
    for (let i = 0; i < 40; i++) {
      await ok(d, `/topic/create?topic=${enc(`sl${String(i).padStart(2, '0')}`)}`);
      await ok(d, `/channel/create?topic=sl${String(i).padStart(2, '0')}&channel=c1`);
      if (i % 3 === 0) await ok(d, `/channel/create?topic=sl${String(i).padStart(2, '0')}&channel=c2`);
    }
    // Subscribers and publishers that stay connected, so clients and producers are listed.
    const conns: WireConn[] = [];
    try {
      for (let i = 0; i < 12; i++) {
        const c = await WireConn.open(d.tcpPort);
        conns.push(c);
        c.cmd('IDENTIFY', JSON.stringify({ client_id: `sub${i}`, hostname: `h${i}`, user_agent: 'slices/1' }));
        await c.readFrame();
        await c.sub(`sl${String(i * 3).padStart(2, '0')}`, i % 2 === 0 ? 'c1' : 'c2');
        c.cmd(`RDY ${i}`);
      }
      for (let i = 0; i < 4; i++) {
        const c = await WireConn.open(d.tcpPort);
        conns.push(c);
        c.cmd(`PUB sl${String(i).padStart(2, '0')}`, `m${i}`);
        await c.expectResponse('OK');
      }
      await waitFor(() => d.nsqd.clients.size === 16, 5000, '16 clients');
      // Once nothing moves, the sliced answer and the whole document agree byte for byte.
      const queries: [string, string, string, boolean][] = [
        ['', '', '', true], ['topic=sl03', 'sl03', '', true], ['topic=nope', 'nope', '', true], ['channel=c2', '', 'c2', true],
        ['topic=sl06&channel=c1', 'sl06', 'c1', true], ['include_clients=false', '', '', false], ['channel=none', '', 'none', true],
      ];
      for (const [q, topic, channel, clients] of queries) {
        const r = await http('GET', `${d.url}/stats?format=json&include_mem=false${q === '' ? '' : `&${q}`}`);
        assert.is(r.status, 200);
        assert.is(r.headers.get('content-type'), JSON_CT, q);
        assert.is(r.text, goJSON(statsDocument(d.nsqd, topic, channel, clients, false)), q);
      }
      // With no time budget it yields after every topic: a callback queued before the call runs
      // before the answer is ready. With an unlimited budget it never yields.
      let ran = false;
      setImmediate(() => (ran = true));
      const sliced = (await statsJson(d.nsqd, '', '', true, false, 0)).join('');
      assert.ok(ran, 'the event loop ran while /stats was being made');
      assert.is(sliced, goJSON(statsDocument(d.nsqd, '', '', true, false)));
      ran = false;
      const immediate = new Promise<void>((r) => setImmediate(() => { ran = true; r(); }));
      await statsJson(d.nsqd, '', '', true, false, Infinity);
      assert.not.ok(ran, 'without slicing nothing else runs');
      await immediate;
      // The text format the same way, with the clock fixed (clients' connected times, uptime).
      const nowSec = Math.floor(Date.now() / 1000) + 90;
      const uptime = 123_456_789_000n;
      for (const [, topic, channel, clients] of queries) {
        for (const mem of [false, true]) {
          const whole = statsText(statsDocument(d.nsqd, topic, channel, clients, mem), uptime, nowSec);
          const text = (await statsTextSliced(d.nsqd, topic, channel, clients, mem, 0, nowSec, uptime)).join('');
          // Memory figures move between two readings: compare the rest.
          const noMem = (t: string): string => t.replace(/\nMemory:\n(?: {3}.*\n)*/, '\nMemory:\n');
          assert.is(noMem(text), noMem(whole), `${topic}/${channel}/${clients}/${mem}`);
        }
      }
      ran = false;
      setImmediate(() => (ran = true));
      await statsTextSliced(d.nsqd, '', '', true, false, 0);
      assert.ok(ran, 'the event loop ran while the text /stats was being made');
      const r = await http('GET', `${d.url}/stats?include_mem=false`);
      assert.is(r.status, 200);
      assert.match(r.text, /\nTopics:\n {3}\[sl00 {11}\] depth: 0 /);
      assert.match(r.text, /\nProducers:\n {3}\[V2 /);
    } finally {
      for (const c of conns) c.close();
    }
  }));

test.run();
