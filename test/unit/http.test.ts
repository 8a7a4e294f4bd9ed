import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { getServers, setServers } from 'node:dns';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { goTransportError, httpRequestRaw, HttpTimeoutError, requestV1 } from '../../src/internal/http-client.js';
import { goUrlParseError, parseQuery, ReqParams, unescapeGo, URLEscapeError } from '../../src/internal/go-url.js';
import { encodeInSlices, ENCODE_BLOCK_BYTES, goJSON, readBody, respondText, respondV1, respondV1Error, SlicedText, v1Handler } from '../../src/internal/http.js';
import { goNoSuchHost } from '../../src/internal/listen.js';
import { cleanPath, Router } from '../../src/internal/router.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
}

let server: http.Server;
let port = 0;
const errors: unknown[] = [];
let lastBody: Buffer | undefined;
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function request(method: string, path: string, body?: string | Buffer, useAgent: http.Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: useAgent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), reusedSocket: req.reusedSocket }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function setup(): Router {
  const router = new Router({ onError: (err) => errors.push(err) });
  router
    .add('GET', '/ping', (_req, res) => respondText(res, 200, 'OK'))
    .add('GET', '/info', (_req, res) => respondV1(res, 200, { version: '1.3.0', html: '<a&b>' }))
    .add('GET', '/lookup', (req, res) => {
      const params = ReqParams.parse(req);
      if (params instanceof Error) return respondV1Error(res, 400, 'INVALID_REQUEST');
      const topic = params.get('topic');
      if (topic === undefined) return respondV1Error(res, 400, 'MISSING_ARG_TOPIC');
      respondV1(res, 200, { topic, all: params.getAll('topic'), hasEmpty: params.has('empty'), empty: params.get('empty') ?? null });
    })
    .add('POST', '/topic/create', (_req, res) => respondV1(res, 200, null))
    .add('POST', '/topic/delete', (_req, res) => respondV1(res, 200, null))
    .add('GET', '/topic/:name', (_req, res, p) => respondV1(res, 200, `topic ${p.name}`))
    .add('GET', '/config/:opt', (_req, res, p) => respondV1(res, 200, { opt: p.opt }))
    .add('PUT', '/config/:opt', async (req, res, p) => {
      lastBody = await readBody(req, 8);
      respondV1(res, 200, { opt: p.opt, len: lastBody.length });
    })
    .add('GET', '/debug/pprof/*profile', (_req, res, p) => respondV1(res, 200, { profile: p.profile }))
    .add('GET', '/raw', (_req, res) => respondV1(res, 200, Buffer.from([0x68, 0x69])))
    .add('POST', '/pub', async (req, res) => {
      const body = await readBody(req, 4);
      respondV1(res, 200, body.toString('latin1'));
    })
    .add('GET', '/throw', () => {
      throw new Error('boom');
    })
    .add('GET', '/reject', async () => {
      await new Promise((r) => setTimeout(r, 1));
      throw new Error('async boom');
    })
    .add('GET', '/late-throw', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('partial');
      throw new Error('late boom');
    })
    .add('GET', '/dir/', (_req, res) => respondV1(res, 200, 'dir'))
    .add('GET', '/sliced/json', v1Handler(async () => new SlicedText(SLICED_PARTS, true)))
    .add('GET', '/sliced/text', v1Handler(() => new SlicedText(['a', 'é', 'b'], false)))
    .add('GET', '/sliced/empty', v1Handler(() => new SlicedText(['', ''], true)));
  return router;
}

/** Parts of a sliced answer: multi-byte characters, empty parts, and parts larger than a block. */
const SLICED_PARTS = ['{"a":[', '"héllo ☃ 𝄞"', '', ...Array.from({ length: 300 }, (_, i) => `,"${'x'.repeat(i * 7)}ü"`), `,"${'y'.repeat(ENCODE_BLOCK_BYTES + 3)}"`, `,"${'z'.repeat(ENCODE_BLOCK_BYTES - 20)}"`, ']}'];

test.before(async () => {
  const router = setup();
  server = http.createServer((req: IncomingMessage, res: ServerResponse) => router.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

test.after(async () => {
  agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('plain text /ping has no V1 header', async () => {
  const r = await request('GET', '/ping');
  assert.is(r.status, 200);
  assert.is(r.body, 'OK');
  assert.is(r.headers['content-type'], 'text/plain; charset=utf-8');
  assert.is(r.headers['content-length'], '2');
  assert.is(r.headers['x-nsq-content-type'], undefined);
});

test('V1 JSON response with Go escaping', async () => {
  const r = await request('GET', '/info');
  assert.is(r.status, 200);
  assert.is(r.headers['x-nsq-content-type'], 'nsq; version=1.0');
  assert.is(r.headers['content-type'], 'application/json; charset=utf-8');
  assert.is(r.body, '{"version":"1.3.0","html":"\\u003ca\\u0026b\\u003e"}');
});

test('V1 empty, string and bytes responses', async () => {
  const empty = await request('POST', '/topic/create');
  assert.is(empty.status, 200);
  assert.is(empty.body, '');
  assert.is(empty.headers['content-length'], '0');
  assert.is(empty.headers['content-type'], undefined);
  assert.is(empty.headers['x-nsq-content-type'], 'nsq; version=1.0');
  const text = await request('GET', '/topic/abc');
  assert.is(text.body, 'topic abc');
  assert.is(text.headers['content-type'], 'text/plain; charset=utf-8');
  assert.is(text.headers['x-nsq-content-type'], 'nsq; version=1.0');
  const raw = await request('GET', '/raw');
  assert.is(raw.body, 'hi');
  assert.is(raw.headers['content-type'], 'text/plain; charset=utf-8');
});

test('Go transport error texts: refused, reset, DNS, connect and header timeouts', () => {
  const url = 'http://127.0.0.1:9/stats';
  const err = (e: unknown): string => goTransportError('Get', url, e).message;
  assert.is(err(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), `Get "${url}": dial tcp 127.0.0.1:9: connect: connection refused`);
  assert.is(err(Object.assign(new Error('x'), { code: 'ECONNRESET' })), `Get "${url}": EOF`);
  const saved = getServers();
  try {
    setServers(['10.0.0.2']);
    assert.is(goTransportError('Post', 'http://nohost.invalid:4151/x', Object.assign(new Error('x'), { code: 'ENOTFOUND' })).message, 'Post "http://nohost.invalid:4151/x": dial tcp: lookup nohost.invalid on 10.0.0.2:53: no such host');
    // Go's DNSError names the nameserver as host:port, an IPv6 one in brackets.
    setServers(['10.0.0.2:5353', '10.0.0.3']);
    assert.is(goNoSuchHost('a'), 'lookup a on 10.0.0.2:5353: no such host');
    setServers(['fd00::2']);
    assert.is(goNoSuchHost('a'), 'lookup a on [fd00::2]:53: no such host');
    setServers(['[fd00::2]:5353']);
    assert.is(goNoSuchHost('a'), 'lookup a on [fd00::2]:5353: no such host');
  } finally {
    setServers(saved);
  }
  assert.is(err(new HttpTimeoutError('connect', 'c')), `Get "${url}": dial tcp 127.0.0.1:9: i/o timeout`);
  assert.is(err(new HttpTimeoutError('request', 'r')), `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`);
});

test('outgoing requests as Go\'s http.Transport makes them: Accept-Encoding gzip unless the caller set one (or Range, or HEAD), and a gzip\'d answer unzipped, or failing as compress/gzip', async () => {
  const seen: IncomingHttpHeaders[] = [];
  const json = Buffer.from('{"ttl":1}');
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const path = req.url ?? '';
    const asked = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = path === '/broken' ? Buffer.from('not gzip at all') : path === '/cut' ? gzipSync(json).subarray(0, 12) : path === '/empty' ? Buffer.alloc(0) : gzipSync(json);
    if (asked || path === '/always') res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': body.length }).end(body);
    else res.writeHead(200, { 'Content-Length': json.length }).end(json);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const t = { connectTimeoutMs: 2000, requestTimeoutMs: 2000 };
  try {
    const plain = await httpRequestRaw(`${base}/`, t);
    assert.is(seen.at(-1)!['accept-encoding'], 'gzip');
    assert.is(seen.at(-1)!['user-agent'], 'Go-http-client/1.1');
    assert.is(plain.body.toString(), '{"ttl":1}');
    assert.is(plain.headers['content-encoding'], undefined);
    assert.is(plain.headers['content-length'], undefined);
    // The caller's own Accept-Encoding: nothing added, nothing unzipped.
    const own = await httpRequestRaw(`${base}/always`, { ...t, headers: { 'Accept-Encoding': 'identity' } });
    assert.is(seen.at(-1)!['accept-encoding'], 'identity');
    assert.equal(own.body, gzipSync(json));
    await httpRequestRaw(`${base}/`, { ...t, headers: { Range: 'bytes=0-3' } });
    assert.is(seen.at(-1)!['accept-encoding'], undefined);
    await httpRequestRaw(`${base}/`, { ...t, method: 'HEAD' });
    assert.is(seen.at(-1)!['accept-encoding'], undefined);
    assert.is((await httpRequestRaw(`${base}/empty`, t)).body.length, 0);
    const failure = (path: string): Promise<string> => requestV1('GET', `${base}${path}`, t).then(() => 'answered', (err: Error) => err.message);
    // Body read errors are Go's reader's, not wrapped as a transport error (`Get "...": ...`).
    assert.is(await failure('/broken'), 'gzip: invalid header');
    assert.is(await failure('/cut'), 'unexpected EOF');
    assert.is(await failure('/'), 'answered');
  } finally {
    server.close();
  }
});

test('encodeInSlices: the parts\' UTF-8 bytes in blocks of at most ENCODE_BLOCK_BYTES (a larger part alone), the event loop running between slices', async () => {
  const whole = Buffer.from(SLICED_PARTS.join(''), 'utf8');
  let ran = false;
  setImmediate(() => (ran = true));
  const blocks = await encodeInSlices(SLICED_PARTS, 0);
  assert.ok(ran, 'the event loop ran while the parts were encoded');
  assert.ok(Buffer.concat(blocks).equals(whole));
  const big = SLICED_PARTS.filter((p) => Buffer.byteLength(p) >= ENCODE_BLOCK_BYTES).length;
  assert.is(big, 1);
  assert.is(blocks.filter((b) => b.length > ENCODE_BLOCK_BYTES).length, big, 'only a part larger than a block makes a larger block');
  assert.ok(blocks.length < 20, `${blocks.length} blocks`);
  ran = false;
  const immediate = new Promise<void>((res) => setImmediate(() => { ran = true; res(); }));
  assert.ok(Buffer.concat(await encodeInSlices(SLICED_PARTS, Infinity)).equals(whole));
  assert.not.ok(ran, 'without slicing nothing else runs');
  await immediate;
  assert.equal(await encodeInSlices([], 0), []);
  assert.equal(await encodeInSlices(['', ''], 0), []);
});

test('a SlicedText answer is sent as respondV1 sends its text in one piece', async () => {
  const json = await request('GET', '/sliced/json');
  assert.is(json.status, 200);
  assert.is(json.body, SLICED_PARTS.join(''));
  assert.is(json.headers['content-length'], String(Buffer.byteLength(SLICED_PARTS.join(''))));
  assert.is(json.headers['content-type'], 'application/json; charset=utf-8');
  assert.is(json.headers['x-nsq-content-type'], 'nsq; version=1.0');
  const text = await request('GET', '/sliced/text');
  assert.is(text.body, 'aéb');
  assert.is(text.headers['content-length'], '4');
  assert.is(text.headers['content-type'], 'text/plain; charset=utf-8');
  const empty = await request('GET', '/sliced/empty');
  assert.is(empty.body, '');
  assert.is(empty.headers['content-length'], '0');
  assert.is(empty.headers['content-type'], undefined);
  assert.is(empty.headers['x-nsq-content-type'], 'nsq; version=1.0');
});

test('unknown path is 404 NOT_FOUND', async () => {
  for (const [method, path] of [['GET', '/nope'], ['POST', '/nope'], ['DELETE', '/'], ['OPTIONS', '/nope'], ['GET', '/topic/']]) {
    const r = await request(method as string, path as string);
    assert.is(r.status, 404, `${method} ${path}`);
    assert.is(r.body, '{"message":"NOT_FOUND"}');
    assert.is(r.headers['x-nsq-content-type'], 'nsq; version=1.0');
    assert.is(r.headers['content-type'], 'application/json; charset=utf-8');
  }
});

test('wrong method is 405 with a sorted Allow header', async () => {
  let r = await request('POST', '/ping');
  assert.is(r.status, 405);
  assert.is(r.body, '{"message":"METHOD_NOT_ALLOWED"}');
  assert.is(r.headers.allow, 'GET, OPTIONS');
  assert.is(r.headers['x-nsq-content-type'], 'nsq; version=1.0');
  // GET /topic/:name also matches this path, so GET and POST are both allowed.
  r = await request('DELETE', '/topic/create');
  assert.is(r.status, 405);
  assert.is(r.headers.allow, 'GET, OPTIONS, POST');
  r = await request('GET', '/topic/delete/x');
  assert.is(r.status, 404);
  r = await request('DELETE', '/config/x');
  assert.is(r.headers.allow, 'GET, OPTIONS, PUT');
});

test('HEAD is not automatic', async () => {
  const r = await request('HEAD', '/ping');
  assert.is(r.status, 405);
  assert.is(r.headers.allow, 'GET, OPTIONS');
});

test('OPTIONS on a known path answers 200 with Allow', async () => {
  let r = await request('OPTIONS', '/ping');
  assert.is(r.status, 200);
  assert.is(r.body, '');
  assert.is(r.headers.allow, 'GET, OPTIONS');
  assert.is(r.headers['content-length'], '0');
  r = await request('OPTIONS', '/topic/create');
  assert.is(r.headers.allow, 'GET, OPTIONS, POST');
});

test('trailing-slash redirects: 301 for GET, 307 otherwise, query kept', async () => {
  let r = await request('GET', '/lookup/?topic=a&x=%20');
  assert.is(r.status, 301);
  assert.is(r.headers.location, '/lookup?topic=a&x=%20');
  assert.ok(r.body.includes('Moved Permanently'));
  r = await request('POST', '/topic/create/');
  assert.is(r.status, 307);
  assert.is(r.headers.location, '/topic/create');
  r = await request('GET', '/dir');
  assert.is(r.status, 301);
  assert.is(r.headers.location, '/dir/');
  r = await request('GET', '/debug/pprof');
  assert.is(r.status, 301);
  assert.is(r.headers.location, '/debug/pprof/');
});

test('fixed-path redirects for case and unclean paths', async () => {
  let r = await request('GET', '/PING');
  assert.is(r.status, 301);
  assert.is(r.headers.location, '/ping');
  r = await request('GET', '//ping');
  assert.is(r.headers.location, '/ping');
  r = await request('GET', '/x/../Info/');
  assert.is(r.headers.location, '/info');
  r = await request('GET', '/Config/Log_Level?a=1');
  assert.is(r.status, 301);
  assert.is(r.headers.location, '/config/Log_Level?a=1');
  r = await request('POST', '/TOPIC/CREATE');
  assert.is(r.status, 307);
  assert.is(r.headers.location, '/topic/create');
});

test('params, catch-all and percent-decoded paths', async () => {
  let r = await request('GET', '/config/log_level');
  assert.is(r.body, '{"opt":"log_level"}');
  r = await request('GET', '/config/a%20b');
  assert.is(r.body, '{"opt":"a b"}');
  r = await request('GET', '/debug/pprof/');
  assert.is(r.body, '{"profile":"/"}');
  r = await request('GET', '/debug/pprof/heap/x');
  assert.is(r.body, '{"profile":"/heap/x"}');
  // Static segments win over a parameter in the same place.
  r = await request('GET', '/topic/create');
  assert.is(r.body, 'topic create');
  r = await request('GET', '/config/%zz');
  assert.is(r.status, 400);
});

test('query parameters: first value wins, empty counts as present', async () => {
  let r = await request('GET', '/lookup?topic=a+b&topic=c&empty=');
  assert.is(r.status, 200);
  assert.equal(JSON.parse(r.body), { topic: 'a b', all: ['a b', 'c'], hasEmpty: true, empty: '' });
  r = await request('GET', '/lookup?topic=');
  assert.equal(JSON.parse(r.body), { topic: '', all: [''], hasEmpty: false, empty: null });
  r = await request('GET', '/lookup');
  assert.is(r.body, '{"message":"MISSING_ARG_TOPIC"}');
  r = await request('GET', '/lookup?topic=a;b');
  assert.is(r.status, 400);
  assert.is(r.body, '{"message":"INVALID_REQUEST"}');
  r = await request('GET', '/lookup?topic=%zz');
  assert.is(r.body, '{"message":"INVALID_REQUEST"}');
});

test('handler errors become 500 INTERNAL_ERROR', async () => {
  errors.length = 0;
  let r = await request('GET', '/throw');
  assert.is(r.status, 500);
  assert.is(r.body, '{"message":"INTERNAL_ERROR"}');
  assert.is(r.headers['x-nsq-content-type'], 'nsq; version=1.0');
  r = await request('GET', '/reject');
  assert.is(r.status, 500);
  assert.is(r.body, '{"message":"INTERNAL_ERROR"}');
  assert.equal(errors.map((e) => (e as Error).message), ['boom', 'async boom']);
  // After the headers are out the only honest signal left is a cut connection.
  let failed = false;
  try {
    await request('GET', '/late-throw');
  } catch {
    failed = true;
  }
  assert.ok(failed);
  assert.is((errors[2] as Error).message, 'late boom');
});

test('readBody stops at the limit and keeps the connection usable', async () => {
  let r = await request('POST', '/pub', 'abcdefgh', agent);
  assert.is(r.status, 200);
  assert.is(r.body, 'abcd');
  r = await request('POST', '/pub', 'xy', agent);
  assert.is(r.body, 'xy');
  assert.ok(r.reusedSocket);
  r = await request('POST', '/pub', '', agent);
  assert.is(r.body, '');
  // A body much larger than one chunk: only `limit` bytes are kept, the rest is drained.
  r = await request('PUT', '/config/x', Buffer.alloc(1 << 20, 0x61), agent);
  assert.equal(JSON.parse(r.body), { opt: 'x', len: 8 });
  assert.is(lastBody?.length, 8);
  assert.ok((lastBody?.buffer.byteLength ?? 0) <= 8192, 'kept bytes must not pin a whole chunk');
  r = await request('PUT', '/config/y', 'abc', agent);
  assert.equal(JSON.parse(r.body), { opt: 'y', len: 3 });
  assert.ok(r.reusedSocket);
});

test('goJSON escapes like Go encoding/json', () => {
  assert.is(goJSON({ a: '<script>&</script>' }), '{"a":"\\u003cscript\\u003e\\u0026\\u003c/script\\u003e"}');
  assert.is(goJSON('\u2028\u2029'), '"\\u2028\\u2029"');
  assert.is(goJSON(undefined), 'null');
  assert.is(goJSON([1, 'x', null, true]), '[1,"x",null,true]');
  assert.is(goJSON({ tombstoned_at: -6795364578871345152n, n: 5n }), '{"tombstoned_at":-6795364578871345152,"n":5}');
  assert.is(goJSON({ s: '\u0000bigint:5' }), '{"s":"\\u0000bigint:5"}');
});

test('parseQuery follows url.ParseQuery', () => {
  const m = parseQuery('a=1&b=2&a=3&&c&d=&e=x=y&f+g=h%20i+j');
  assert.ok(!(m instanceof Error));
  if (m instanceof Error) return;
  assert.equal([...m.entries()], [
    ['a', ['1', '3']],
    ['b', ['2']],
    ['c', ['']],
    ['d', ['']],
    ['e', ['x=y']],
    ['f g', ['h i j']],
  ]);
  const empty = parseQuery('');
  assert.ok(empty instanceof Map && empty.size === 0);
  const semi = parseQuery('a=1;b=2');
  assert.ok(semi instanceof Error);
  assert.is((semi as Error).message, 'invalid semicolon separator in query');
  for (const [q, msg] of [
    ['a=%zz', 'invalid URL escape "%zz"'],
    ['a=%4', 'invalid URL escape "%4"'],
    ['a=%', 'invalid URL escape "%"'],
    ['%g1=b', 'invalid URL escape "%g1"'],
    ['a=1&b=%x&c=%y', 'invalid URL escape "%x"'],
  ] as const) {
    const r = parseQuery(q);
    assert.ok(r instanceof URLEscapeError, q);
    assert.is((r as Error).message, msg);
  }
  const utf = parseQuery('t=%E2%9C%93&u=%c3%a9');
  assert.ok(utf instanceof Map && utf.get('t')?.[0] === '\u2713' && utf.get('u')?.[0] === '\u00e9');
});

test('goUrlParseError gives Go url.Parse\'s error text (what nsqadmin checks --graphite-url with)', () => {
  for (const ok of ['http://127.0.0.1:8080', 'https://graphite.example.com/render/', 'localhost:8080', 'http://h/?q=%zz', '', '/path', '*', 'http://[::1]:80/', 'http://u:p@h:1/']) {
    assert.is(goUrlParseError(ok), undefined, ok);
  }
  const cases: [string, string][] = [
    ['127.0.0.1:8080', 'parse "127.0.0.1:8080": first path segment in URL cannot contain colon'],
    ['://x', 'parse "://x": missing protocol scheme'],
    ['http://[::1', 'parse "http://[::1": missing \']\' in host'],
    ['http://[::1]x', 'parse "http://[::1]x": invalid port "x" after host'],
    ['http://host:port', 'parse "http://host:port": invalid port ":port" after host'],
    ['http://a b/', 'parse "http://a b/": invalid character " " in host name'],
    ['http://a%41/', 'parse "http://a%41/": invalid URL escape "%41"'],
    ['http://h/%zz', 'parse "http://h/%zz": invalid URL escape "%zz"'],
    ['http://h/%4', 'parse "http://h/%4": invalid URL escape "%4"'],
    ['http://h/#%zz', 'parse "http://h/#%zz": invalid URL escape "%zz"'],
    ['http://u^@h/', 'parse "http://u^@h/": net/url: invalid userinfo'],
    ['http://h/\u0001', 'parse "http://h/\\x01": net/url: invalid control character in URL'],
  ];
  for (const [raw, want] of cases) assert.is(goUrlParseError(raw), want, raw);
});

test('unescapeGo and cleanPath helpers', () => {
  assert.is(unescapeGo('a+b%2F', true), 'a b/');
  assert.is(unescapeGo('a+b%2F', false), 'a+b/');
  assert.is(cleanPath(''), '/');
  assert.is(cleanPath('/'), '/');
  assert.is(cleanPath('//a//b/'), '/a/b/');
  assert.is(cleanPath('/a/./b/../c'), '/a/c');
  assert.is(cleanPath('/../a'), '/a');
  assert.is(cleanPath('a/b'), '/a/b');
});

test('registration errors', () => {
  const r = new Router();
  r.add('GET', '/a/:x', () => {});
  assert.throws(() => r.add('GET', '/a/:y', () => {}), /already registered/);
  assert.throws(() => r.add('GET', 'a', () => {}), /must begin with/);
  assert.throws(() => r.add('GET', '/a/*rest/b', () => {}), /only allowed at the end/);
  assert.throws(() => r.add('GET', '/a/:', () => {}), /non-empty name/);
  r.add('POST', '/a/:x', () => {});
});

test.run();
