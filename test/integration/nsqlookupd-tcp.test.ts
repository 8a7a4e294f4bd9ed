// nsqlookupd's V1 TCP protocol over raw sockets (spec nsqlookupd-nsqadmin-tools-client.md §1.2,
// §1.3, §1.6): the magic, [size][payload] replies without a frame type, every command and every
// error text (all fatal: reply, then close), the IDENTIFY body decoded like Go's encoding/json,
// (UN)REGISTER semantics incl. #ephemeral keys, cleanup on disconnect, and a daemon that
// survives bad magic, garbage, oversized input, half-closes and clients that never read.
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDurationNanos } from '../../src/internal/duration.js';
import { Logger } from '../../src/internal/log.js';
import { LookupConnection, MAX_IDENTIFY_BODY_SIZE, MAX_LINE_LENGTH } from '../../src/nsqlookupd/tcp.js';
import { http, startNsqlookupd, waitFor, type TestNsqlookupd } from '../helpers/daemons.js';
import { throwOnce } from '../helpers/fault.js';
import { identifyBody, LookupConn } from '../helpers/lookup-wire.js';
import { prng } from '../helpers/prng.js';
import { connectTcp, withTimeout } from '../helpers/wire.js';

let d: TestNsqlookupd;
test.before(async () => {
  d = await startNsqlookupd();
});
test.after(async () => {
  await d.close();
});

interface LookupDoc {
  channels: string[];
  producers: Record<string, unknown>[];
}

async function lookup(topic: string): Promise<{ status: number; doc: LookupDoc | null }> {
  const r = await http('GET', `${d.url}/lookup?topic=${encodeURIComponent(topic)}`);
  return { status: r.status, doc: r.status === 200 ? (JSON.parse(r.text) as LookupDoc) : null };
}

async function getJSON<T>(path: string): Promise<T> {
  const r = await http('GET', `${d.url}${path}`);
  assert.is(r.status, 200, `${path}: ${r.text}`);
  return JSON.parse(r.text) as T;
}

/** An identified connection (IDENTIFY reply checked to be JSON). */
async function identified(over: Record<string, unknown> = {}): Promise<LookupConn> {
  const c = await LookupConn.open(d.tcpPort);
  const reply = await c.identify(identifyBody(over));
  JSON.parse(reply);
  return c;
}

/** Open, optionally identify, send `bytes`, expect the fatal `text`. */
async function fatal(bytes: string | Buffer, text: string, identify = false): Promise<void> {
  const c = identify ? await identified() : await LookupConn.open(d.tcpPort);
  try {
    c.write(bytes);
    await c.expectFatal(text);
  } catch (err) {
    throw new Error(`sent ${JSON.stringify(Buffer.from(bytes).toString('latin1').slice(0, 80))}: ${(err as Error).message}`);
  } finally {
    c.close();
  }
}

function sizedBody(body: string | Buffer): Buffer {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const out = Buffer.alloc(4 + b.length);
  out.writeInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Magic and framing

test('PING before IDENTIFY answers OK as [int32 size]["OK"] with no frame type; the connection stays open', async () => {
  const c = await LookupConn.open(d.tcpPort);
  c.cmd('PING');
  const raw = await new Promise<Buffer>((resolve) => c.socket.once('data', (b: Buffer) => resolve(b)));
  assert.equal([...raw], [0, 0, 0, 2, 0x4f, 0x4b]);
  await c.ok('PING');
  c.close();
});

test('a wrong magic gets E_BAD_PROTOCOL and the connection is closed', async () => {
  for (const magic of ['  V2', 'V1  ', 'GET ', '\0\0\0\0']) {
    const c = await LookupConn.open(d.tcpPort, { magic: false });
    c.write(magic + 'PING\n');
    await c.expectFatal('E_BAD_PROTOCOL');
    c.close();
  }
});

test('a client that sends part of the magic and goes away gets no reply', async () => {
  const c = await LookupConn.open(d.tcpPort, { magic: false });
  c.write('  V');
  c.end();
  await c.expectClosed();
  c.close();
});

test('a whole session fed one byte at a time gives the same replies', async () => {
  const c = await LookupConn.open(d.tcpPort, { magic: false });
  const body = Buffer.from(JSON.stringify(identifyBody({ broadcast_address: 'bytewise' })));
  const all = Buffer.concat([Buffer.from('  V1PING\nIDENTIFY\n'), sizedBody(body), Buffer.from('REGISTER bytewise_t c\r\nPING\n')]);
  for (const b of all) {
    c.write(Buffer.from([b]));
    await new Promise((r) => setImmediate(r));
  }
  assert.is(await c.read(), 'OK');
  assert.ok((await c.read()).startsWith('{"broadcast_address":'));
  assert.is(await c.read(), 'OK');
  assert.is(await c.read(), 'OK');
  const l = await lookup('bytewise_t');
  assert.equal(l.doc?.channels, ['c']);
  assert.is(l.doc?.producers[0]?.broadcast_address, 'bytewise');
  c.close();
});

test('many commands in one write are answered in order', async () => {
  const c = await identified();
  c.write('PING\nREGISTER batch_t\nREGISTER batch_t c1\nUNREGISTER batch_t c1\nPING\n');
  for (let i = 0; i < 5; i++) assert.is(await c.read(), 'OK');
  c.close();
});

test('lines are trimmed (\\r\\n, tabs, Unicode spaces) and split on single spaces; extra params are ignored', async () => {
  const c = await identified();
  await c.ok('PING\r');
  await c.ok(' \t PING \u000b');
  c.write(Buffer.concat([Buffer.from([0xc2, 0xa0]), Buffer.from('PING'), Buffer.from([0xe3, 0x80, 0x80]), Buffer.from('\n')]));
  assert.is(await c.read(), 'OK');
  await c.ok('REGISTER trim_t trim_c extra params here');
  // Two spaces give an empty channel parameter: a topic-only registration.
  await c.ok('REGISTER trim_t2  ignored');
  assert.equal((await lookup('trim_t')).doc?.channels, ['trim_c']);
  assert.equal((await lookup('trim_t2')).doc?.channels, []);
  c.close();
});

test('unknown commands (and case mismatches, and an empty line) are fatal E_INVALID', async () => {
  await fatal('BOGUS x y\n', 'E_INVALID invalid command BOGUS');
  await fatal('ping\n', 'E_INVALID invalid command ping');
  await fatal('\n', 'E_INVALID invalid command ');
  await fatal('  \r\n', 'E_INVALID invalid command ');
  await fatal('PUB t\n', 'E_INVALID invalid command PUB', true);
});

// ---------------------------------------------------------------------------------------------
// IDENTIFY

test('IDENTIFY answers Go-ordered JSON with our broadcast address, hostname, real ports and version', async () => {
  const c = await LookupConn.open(d.tcpPort);
  const reply = await c.identify();
  assert.is(
    reply,
    `{"broadcast_address":"127.0.0.1","hostname":${JSON.stringify(hostname())},"http_port":${d.httpPort},"tcp_port":${d.tcpPort},"version":"1.3.0"}`,
  );
  await c.ok('PING');
  c.close();
});

test('a second IDENTIFY is fatal E_INVALID cannot IDENTIFY again (before any body is read)', async () => {
  await fatal('IDENTIFY\n', 'E_INVALID cannot IDENTIFY again', true);
});

test('IDENTIFY requires broadcast_address, tcp_port, http_port and version; hostname is optional', async () => {
  for (const over of [{ broadcast_address: '' }, { tcp_port: 0 }, { http_port: 0 }, { version: '' }, { version: null }]) {
    await fatal(Buffer.concat([Buffer.from('IDENTIFY\n'), sizedBody(JSON.stringify(identifyBody(over)))]), 'E_BAD_BODY IDENTIFY missing fields');
  }
  await fatal(Buffer.concat([Buffer.from('IDENTIFY\n'), sizedBody('null')]), 'E_BAD_BODY IDENTIFY missing fields');
  await fatal(Buffer.concat([Buffer.from('IDENTIFY\n'), sizedBody('{}')]), 'E_BAD_BODY IDENTIFY missing fields');
  const c = await identified({ hostname: undefined }); // JSON.stringify drops the key
  await c.ok('PING');
  c.close();
});

test('IDENTIFY bodies Go cannot decode are fatal E_BAD_BODY IDENTIFY failed to decode JSON body', async () => {
  const good = JSON.stringify(identifyBody());
  const bad: (string | Buffer)[] = [
    '',
    '{',
    '[]',
    '"x"',
    '42',
    'true',
    good + ' x',
    good + good,
    '{"tcp_port":"4150","http_port":4151,"broadcast_address":"a","version":"1"}',
    JSON.stringify(identifyBody()).replace('4150', '4150.0'),
    JSON.stringify(identifyBody()).replace('4150', '4e3'),
    JSON.stringify(identifyBody()).replace('4150', '9223372036854775808'),
    JSON.stringify(identifyBody({ version: 5 })),
    JSON.stringify(identifyBody({ hostname: ['x'] })),
    JSON.stringify(identifyBody({ remote_address: 1 })),
    JSON.stringify(identifyBody({ broadcast_address: true })),
    '{"version":"1",}',
    "{'version':'1'}",
    '{"a":01}',
    '{"a":"\u0001"}',
    '{"a":"\\x"}',
    Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(good)]),
    Buffer.concat([Buffer.from(good.slice(0, -1)), Buffer.from([0xff]), Buffer.from('}')]),
    '{"deep":' + '['.repeat(10000) + ']'.repeat(10000) + '}',
  ];
  for (const body of bad) {
    await fatal(Buffer.concat([Buffer.from('IDENTIFY\n'), sizedBody(body)]), 'E_BAD_BODY IDENTIFY failed to decode JSON body');
  }
});

test('IDENTIFY decodes like Go: keys case-insensitive, last duplicate wins, unknown keys (Object.prototype names too) skipped, remote_address replaced', async () => {
  const body =
    '{"BROADCAST_ADDRESS":"first","broadcast_address":"case_peer","Tcp_Port":1,"tcp_port":4150,"HTTP_PORT":4151,' +
    '"Version":"9.9.9","remote_address":"1.2.3.4:5","hostname":"h\\u00e9\\ud800","extra":{"x":[1,{"y":null}],"z":"w"},' +
    '"constructor":1,"__proto__":{"tcp_port":"x"},"toString":[],"hasOwnProperty":"y",' +
    '"deep":' + '['.repeat(9998) + ']'.repeat(9998) + '}';
  const c = await LookupConn.open(d.tcpPort);
  JSON.parse(await c.identify(body));
  await c.ok('REGISTER case_t');
  const p = (await lookup('case_t')).doc?.producers[0];
  const local = `127.0.0.1:${c.socket.localPort}`;
  assert.equal(p, { remote_address: local, hostname: 'h\u00e9\ufffd', broadcast_address: 'case_peer', tcp_port: 4150, http_port: 4151, version: '9.9.9' });
  c.close();
});

test('ports beyond 2^53 and negative ports are kept exactly, as Go keeps any int64', async () => {
  const c = await LookupConn.open(d.tcpPort);
  JSON.parse(await c.identify('{"broadcast_address":"big","tcp_port":9007199254740993,"http_port":-7,"version":"1"}'));
  await c.ok('REGISTER big_t');
  const r = await http('GET', `${d.url}/lookup?topic=big_t`);
  assert.match(r.text, /"tcp_port":9007199254740993,"http_port":-7,/);
  c.close();
});

test('IDENTIFY body sizes: negative and too big are refused with nsqd texts; a zero size fails to decode', async () => {
  await fatal(Buffer.concat([Buffer.from('IDENTIFY\n'), Buffer.from([0xff, 0xff, 0xff, 0xff])]), 'E_BAD_BODY IDENTIFY invalid body size -1');
  const big = Buffer.alloc(4);
  big.writeInt32BE(MAX_IDENTIFY_BODY_SIZE + 1, 0);
  await fatal(Buffer.concat([Buffer.from('IDENTIFY\n'), big]), `E_BAD_BODY IDENTIFY body too big ${MAX_IDENTIFY_BODY_SIZE + 1} > ${MAX_IDENTIFY_BODY_SIZE}`);
  await fatal(Buffer.concat([Buffer.from('IDENTIFY\n'), Buffer.alloc(4)]), 'E_BAD_BODY IDENTIFY failed to decode JSON body');
});

test('EOF in the middle of IDENTIFY gets Go\'s "failed to read body size" / "failed to read body" reply', async () => {
  const cases: [Buffer, string][] = [
    [Buffer.from('IDENTIFY\n'), 'E_BAD_BODY IDENTIFY failed to read body size'],
    [Buffer.from('IDENTIFY\n\0\0'), 'E_BAD_BODY IDENTIFY failed to read body size'],
    [Buffer.concat([Buffer.from('IDENTIFY\n'), sizedBody('{"version":"1"}').subarray(0, 10)]), 'E_BAD_BODY IDENTIFY failed to read body'],
  ];
  for (const [bytes, text] of cases) {
    const c = await LookupConn.open(d.tcpPort);
    c.write(bytes);
    c.end();
    await c.expectFatal(text);
    c.close();
  }
});

test('a client that closes mid-line or mid-body leaves the daemon working', async () => {
  for (const bytes of ['REGISTER half', 'IDENTIFY\n\0\0\0\x40{"a":']) {
    const c = await LookupConn.open(d.tcpPort);
    c.write(bytes);
    await new Promise((r) => setTimeout(r, 20));
    c.close();
  }
  const c = await identified();
  await c.ok('PING');
  c.close();
});

// ---------------------------------------------------------------------------------------------
// REGISTER / UNREGISTER errors

test('REGISTER and UNREGISTER need IDENTIFY first', async () => {
  await fatal('REGISTER t\n', 'E_INVALID client must IDENTIFY');
  await fatal('UNREGISTER t c\n', 'E_INVALID client must IDENTIFY');
  await fatal('REGISTER\n', 'E_INVALID client must IDENTIFY');
});

test('REGISTER/UNREGISTER argument errors, checked in NSQ\'s order, all fatal', async () => {
  for (const cmd of ['REGISTER', 'UNREGISTER']) {
    await fatal(`${cmd}\n`, `E_INVALID ${cmd} insufficient number of params`, true);
    await fatal(`${cmd}   \n`, `E_INVALID ${cmd} insufficient number of params`, true);
    await fatal(`${cmd} bad! c\n`, `E_BAD_TOPIC ${cmd} topic name 'bad!' is not valid`, true);
    await fatal(`${cmd} bad! bad!\n`, `E_BAD_TOPIC ${cmd} topic name 'bad!' is not valid`, true);
    await fatal(`${cmd}  t\n`, `E_BAD_TOPIC ${cmd} topic name '' is not valid`, true);
    await fatal(`${cmd} ${'a'.repeat(65)}\n`, `E_BAD_TOPIC ${cmd} topic name '${'a'.repeat(65)}' is not valid`, true);
    await fatal(`${cmd} t c#ephemeral#ephemeral\n`, `E_BAD_CHANNEL ${cmd} channel name 'c#ephemeral#ephemeral' is not valid`, true);
    await fatal(`${cmd} t \xe9\n`, `E_BAD_CHANNEL ${cmd} channel name '\xe9' is not valid`, true);
  }
});

// ---------------------------------------------------------------------------------------------
// Registration semantics

test('REGISTER with a channel registers the channel and the topic; re-registering is a no-op', async () => {
  const c = await identified({ broadcast_address: 'reg_peer' });
  await c.ok('REGISTER reg_t reg_c');
  await c.ok('REGISTER reg_t reg_c');
  await c.ok('REGISTER reg_t');
  const l = await lookup('reg_t');
  assert.equal(l.doc?.channels, ['reg_c']);
  assert.equal(l.doc?.producers.map((p) => p.broadcast_address), ['reg_peer']);
  c.close();
});

test('UNREGISTER of a channel keeps a normal channel key but deletes an #ephemeral one when its last producer leaves', async () => {
  const a = await identified({ broadcast_address: 'eph_a' });
  const b = await identified({ broadcast_address: 'eph_b' });
  await a.ok('REGISTER eph_t normal');
  await a.ok('REGISTER eph_t tmp#ephemeral');
  await b.ok('REGISTER eph_t tmp#ephemeral');
  await a.ok('UNREGISTER eph_t normal');
  await a.ok('UNREGISTER eph_t tmp#ephemeral');
  assert.equal((await lookup('eph_t')).doc?.channels, ['normal', 'tmp#ephemeral'], 'b still produces tmp#ephemeral');
  await b.ok('UNREGISTER eph_t tmp#ephemeral');
  assert.equal((await lookup('eph_t')).doc?.channels, ['normal']);
  // Unregistering what was never registered still answers OK.
  await b.ok('UNREGISTER eph_t never');
  await b.ok('UNREGISTER never_t');
  a.close();
  b.close();
});

test('UNREGISTER of a topic drops the peer from its channels too; an #ephemeral topic key goes with its last producer', async () => {
  const c = await identified({ broadcast_address: 'tu_peer' });
  await c.ok('REGISTER tu_t c1');
  await c.ok('REGISTER tu_t c2');
  await c.ok('UNREGISTER tu_t');
  const l = await lookup('tu_t');
  assert.equal(l.doc?.channels, ['c1', 'c2'], 'channel keys stay');
  assert.equal(l.doc?.producers, []);
  const debug = await getJSON<Record<string, unknown[]>>('/debug');
  assert.not.ok(Object.keys(debug).some((k) => k.includes(':tu_t:')), 'no producer left under tu_t');
  await c.ok('REGISTER tu_e#ephemeral');
  assert.is((await lookup('tu_e#ephemeral')).status, 200);
  await c.ok('UNREGISTER tu_e#ephemeral');
  assert.is((await lookup('tu_e#ephemeral')).status, 404);
  c.close();
});

test('PING refreshes last_update (unix ns to the nanosecond) and logs the time since the last one as Go prints a Duration; REGISTER does not', async () => {
  const lines: string[] = [];
  const l = await startNsqlookupd({ logger: new Logger({ prefix: '', level: 1, write: (x) => void lines.push(x.trimEnd()) }) });
  const c = await LookupConn.open(l.tcpPort);
  try {
    JSON.parse(await c.identify(identifyBody({ broadcast_address: 'ping_peer' })));
    await c.ok('REGISTER ping_t');
    const lastUpdate = async (): Promise<bigint> => {
      const r = await http('GET', `${l.url}/debug`);
      return BigInt(/"broadcast_address":"ping_peer",[^}]*"last_update":(\d+)/.exec(r.text)?.[1] ?? '0');
    };
    const t0 = await lastUpdate();
    await new Promise((r) => setTimeout(r, 5));
    await c.ok('REGISTER ping_t c');
    assert.is(await lastUpdate(), t0);
    const stamps = [t0];
    for (let i = 0; i < 3; i++) {
      await c.ok('PING');
      stamps.push(await lastUpdate());
      assert.ok(stamps[i + 1]! > stamps[i]!, `${stamps[i + 1]} > ${stamps[i]}`);
    }
    // Go's UnixNano: not whole microseconds (all four would be by chance once in 10^12).
    assert.ok(stamps.some((t) => t % 1000n !== 0n), `nanosecond digits in ${stamps.join(', ')}`);
    const pings = lines.map((x) => / INFO: CLIENT\(127\.0\.0\.1:\d+\): pinged \(last ping (.*)\)$/.exec(x)?.[1]).filter((x) => x !== undefined);
    assert.is(pings.length, 3, lines.join('\n'));
    for (let i = 0; i < 3; i++) {
      const ns = stamps[i + 1]! - stamps[i]!;
      // time.Duration.String(): e.g. 5.123456789ms, 812.345µs; here always at least a few µs.
      assert.ok(/^\d+(\.\d+)?(µs|ms|s)$/.test(pings[i]!), pings[i]);
      assert.is(pings[i], formatDurationNanos(ns));
    }
  } finally {
    c.close();
    await l.close();
  }
});

test('a disconnect removes the peer from every registration but keeps the keys', async () => {
  const c = await identified({ broadcast_address: 'gone_peer' });
  await c.ok('REGISTER gone_t gone_c');
  await c.ok('REGISTER gone_t2');
  assert.is((await lookup('gone_t')).doc?.producers.length, 1);
  c.close();
  await waitFor(async () => (await lookup('gone_t')).doc?.producers.length === 0, 5000, 'the producer to go');
  assert.equal((await lookup('gone_t')).doc, { channels: ['gone_c'], producers: [] });
  assert.equal((await lookup('gone_t2')).doc, { channels: [], producers: [] });
  const nodes = await getJSON<{ producers: { broadcast_address: string }[] }>('/nodes');
  assert.not.ok(nodes.producers.some((p) => p.broadcast_address === 'gone_peer'));
});

test('a fatal error also cleans up the peer\'s registrations', async () => {
  const c = await identified({ broadcast_address: 'fatal_peer' });
  await c.ok('REGISTER fatal_t');
  c.cmd('NOPE');
  await c.expectFatal('E_INVALID invalid command NOPE');
  await waitFor(async () => (await lookup('fatal_t')).doc?.producers.length === 0, 5000, 'cleanup');
  c.close();
});

// ---------------------------------------------------------------------------------------------
// Limits and robustness

test(`a line of ${MAX_LINE_LENGTH} bytes is accepted; a longer one closes the connection without a reply`, async () => {
  const c = await identified();
  await c.ok('PING ' + 'x'.repeat(MAX_LINE_LENGTH - 6));
  c.write('PING ' + 'x'.repeat(MAX_LINE_LENGTH));
  await c.expectClosed();
  c.close();
  const c2 = await LookupConn.open(d.tcpPort);
  c2.write('y'.repeat(MAX_LINE_LENGTH * 4));
  await c2.expectClosed();
  c2.close();
});

test('a client that never reads its replies is paced (the daemon stops reading), and gets every reply once it reads', async () => {
  const sock = await connectTcp(d.tcpPort);
  sock.pause();
  sock.write('  V1');
  // Keep sending PINGs without reading. A daemon that paces stops reading once its replies back
  // up, so what it holds stays small and our own unsent bytes pile up; one that does not would
  // read everything and queue the replies in memory.
  const batch = Buffer.from('PING\n'.repeat(200_000));
  let commands = 0;
  let maxHeld = 0;
  const held = (): number => Math.max(0, ...d.lookupd.clients.map((c) => c.pendingOutputBytes));
  for (;;) {
    if (commands >= 20_000_000) throw new Error(`the daemon read ${commands} PINGs without pausing`);
    sock.write(batch);
    commands += 200_000;
    await new Promise((r) => setTimeout(r, 50));
    maxHeld = Math.max(maxHeld, held());
    if (sock.writableLength === 0) continue;
    await new Promise((r) => setTimeout(r, 500));
    maxHeld = Math.max(maxHeld, held());
    if (sock.writableLength > 0) break;
  }
  assert.ok(maxHeld < 1024 * 1024, `the daemon queued ${maxHeld} reply bytes`);
  // Now read: every reply is [0 0 0 2 'O' 'K'].
  const reply = Buffer.from([0, 0, 0, 2, 0x4f, 0x4b]);
  let received = 0;
  await withTimeout(new Promise<void>((resolve, reject) => {
    sock.on('data', (chunk: Buffer) => {
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] !== reply[(received + i) % 6]) return reject(new Error(`unexpected byte at reply ${Math.floor((received + i) / 6)}`));
      }
      received += chunk.length;
      if (received === commands * 6) resolve();
    });
    sock.resume();
  }), 60_000, `${commands} replies`);
  sock.destroy();
});

test('random garbage never crashes or hangs the daemon; every reply is OK, JSON or an E_ error', async () => {
  const rand = prng(20261129);
  for (let round = 0; round < 60; round++) {
    const c = await LookupConn.open(d.tcpPort, { magic: round % 10 !== 0 });
    const words = ['PING', 'IDENTIFY', 'REGISTER', 'UNREGISTER', 't', 'c', '#ephemeral', ' ', '\n', '\r\n'];
    const parts: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      if (rand() < 0.5) parts.push(Buffer.from(words[Math.floor(rand() * words.length)] as string));
      else parts.push(Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * 256))));
    }
    c.write(Buffer.concat(parts));
    c.end();
    for (;;) {
      let r: string;
      try {
        r = await c.read(5000);
      } catch (err) {
        if (c.closed) break;
        throw err;
      }
      assert.ok(r === 'OK' || r.startsWith('{') || r.startsWith('E_'), `reply ${JSON.stringify(r)}`);
    }
    c.close();
  }
  const ok = await identified();
  await ok.ok('PING');
  ok.close();
  const ping = await http('GET', `${d.url}/ping`);
  assert.is(ping.text, 'OK');
});

test('a wildcard --tcp-address (0.0.0.0) listens dual-stack like Go, and names IPv6 peers [addr]:port', async () => {
  const own = await startNsqlookupd({ tcpAddress: '0.0.0.0:0' });
  try {
    const v4 = await LookupConn.open(own.tcpPort);
    JSON.parse(await v4.identify(identifyBody({ broadcast_address: 'v4' })));
    await v4.ok('REGISTER ds_t');
    let v6: Socket | null = null;
    try {
      v6 = await connectTcp(own.tcpPort, { host: '::1' });
    } catch {
      // no IPv6 loopback here: the IPv4 half is all that can be checked
    }
    if (v6 !== null) {
      v6.write('  V1PING\n');
      const reply = await withTimeout(new Promise<Buffer>((res) => v6!.once('data', (b: Buffer) => res(b))), 5000, 'PING over IPv6');
      assert.equal([...reply], [0, 0, 0, 2, 0x4f, 0x4b]);
      assert.ok(own.lookupd.clients.some((c) => c.remote === `[::1]:${v6!.localPort}`), own.lookupd.clients.map(String).join(' '));
      v6.destroy();
    }
    const debug = own.lookupd.db.findProducers('topic', 'ds_t', '');
    assert.equal(debug.map((p) => p.peerInfo.remoteAddress), [`127.0.0.1:${v4.socket.localPort}`], 'IPv4 peers show as a.b.c.d:port');
    v4.close();
  } finally {
    await own.close();
  }
});

test('close() drops connected peers and their registrations', async () => {
  const own = await startNsqlookupd();
  const c = await LookupConn.open(own.tcpPort);
  JSON.parse(await c.identify());
  await c.ok('REGISTER close_t');
  await own.close();
  await c.expectClosed();
  assert.equal(own.lookupd.db.findProducers('topic', 'close_t', ''), []);
  c.close();
});

test('a bug that throws while a peer is read ends that connection, logged with its stack; nsqlookupd keeps serving', async () => {
  const logs: string[] = [];
  const l = await startNsqlookupd({ logger: new Logger({ prefix: '[nsqlookupd] ', level: 1, write: (x) => void logs.push(x) }) });
  // The next chunk read from a peer throws.
  const undo = throwOnce(LookupConnection.prototype, 'consume');
  try {
    const victim = await LookupConn.open(l.tcpPort);
    victim.socket.write('PING\n');
    await victim.expectClosed();
    assert.ok(logs.some((x) => x.includes('internal error - Error: injected fault') && x.includes('    at ')), 'logged with the stack');
    const c = await LookupConn.open(l.tcpPort);
    await c.ok('PING');
    c.close();
  } finally {
    undo();
    await l.close();
  }
});

test('every ending is logged as nsqlookupd logs it: exiting ioloop, the registrations dropped, then client(addr) - <why> (EOF too); none before the magic', async () => {
  const lines: string[] = [];
  const logger = new Logger({ prefix: '', level: 1, write: (l) => void lines.push(l.replace(/^\S+ \S+ /, '').trimEnd()) });
  const l = await startNsqlookupd({ logger });
  let shutdown: string[] = [];
  try {
    // An ordinary disconnect: Go's IOLoop returns the EOF, and Handle logs it.
    const c = await LookupConn.open(l.tcpPort);
    const a = `127.0.0.1:${c.socket.localPort}`;
    JSON.parse(await c.identify(identifyBody()));
    await c.ok('REGISTER log_t');
    c.socket.end();
    await waitFor(() => lines.includes(`ERROR: client(${a}) - EOF`), 5000, 'EOF line');
    const tail = lines.slice(lines.indexOf(`INFO: PROTOCOL(V1): [${a}] exiting ioloop`));
    assert.is(tail[0], `INFO: PROTOCOL(V1): [${a}] exiting ioloop`);
    assert.equal(tail.slice(1, 3).sort(), [`INFO: DB: client(${a}) UNREGISTER category:client key: subkey:`, `INFO: DB: client(${a}) UNREGISTER category:topic key:log_t subkey:`]);
    assert.is(tail[3], `ERROR: client(${a}) - EOF`);

    // A fatal error: its text again.
    const f = await LookupConn.open(l.tcpPort);
    const fa = `127.0.0.1:${f.socket.localPort}`;
    f.write('NOPE\n');
    await waitFor(() => lines.includes(`ERROR: client(${fa}) - E_INVALID invalid command NOPE`), 5000, 'fatal line');

    // A bad magic never reaches the IOLoop: no exiting line.
    const b = await LookupConn.open(l.tcpPort, { magic: false });
    const ba = `127.0.0.1:${b.socket.localPort}`;
    b.write('  V2');
    await waitFor(() => lines.includes(`ERROR: client(${ba}) bad protocol magic '  V2'`), 5000, 'bad magic');
    await waitFor(() => b.closed, 5000, 'closed');
    assert.not.ok(lines.some((x) => x.includes(`[${ba}] exiting ioloop`)));

    // At shutdown a registered connection logs its ending before "TCP: closing".
    const s = await LookupConn.open(l.tcpPort);
    const sa = `127.0.0.1:${s.socket.localPort}`;
    JSON.parse(await s.identify(identifyBody({ tcp_port: 4250 })));
    await s.ok('REGISTER shut_t');
    const before = lines.length;
    await l.close();
    shutdown = lines.slice(before);
    const at = (x: string): number => shutdown.findIndex((y) => y.startsWith(x));
    assert.ok(at(`INFO: PROTOCOL(V1): [${sa}] exiting ioloop`) >= 0, shutdown.join('\n'));
    assert.ok(at(`INFO: DB: client(${sa}) UNREGISTER category:topic key:shut_t`) > at(`INFO: PROTOCOL(V1): [${sa}] exiting ioloop`), shutdown.join('\n'));
    assert.ok(at(`ERROR: client(${sa}) - read tcp 127.0.0.1:${l.tcpPort}->${sa}: use of closed network connection`) >= 0, shutdown.join('\n'));
    assert.ok(at('INFO: TCP: closing') > at(`ERROR: client(${sa})`), shutdown.join('\n'));
  } finally {
    await l.close();
  }
});

test.run();
