// TCP protocol V2, success paths and semantics (spec nsqd.md §1, §2, §11 quirks 1, 4-7):
// exact frame bytes, IDENTIFY negotiation, SUB/RDY/FIN/REQ/TOUCH/CLS/NOP/PUB/MPUB/DPUB,
// heartbeats, output buffering and sample_rate.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor } from '../helpers/daemons.js';
import {
  channelStats,
  expectAlive,
  frameBytes,
  readMessages,
  sleep,
  topicStats,
  withNsqd,
} from '../helpers/protocol-checks.js';
import { decodeMessage, mpubBody, sized } from '../helpers/wire.js';

/** §2.2 example: the IDENTIFY response for default settings, byte for byte. */
const DEFAULT_IDENTIFY_JSON =
  '{"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":60000,"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":250}';

/** The default JSON with some fields replaced (keeps the field order). */
function identifyJson(over: Record<string, number | boolean | string>): string {
  const o = JSON.parse(DEFAULT_IDENTIFY_JSON) as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    if (!(k in o)) throw new Error(`unknown IDENTIFY response field ${k}`);
    o[k] = v;
  }
  return JSON.stringify(o);
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// ---------------------------------------------------------------------------------------------
// §1.1 magic, §1.5a worked byte examples

test('§1.1 commands may follow the magic in the same write', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open({ magic: false });
    c.write(Buffer.concat([Buffer.from('  V2PUB m\n'), sized('x'), Buffer.from('NOP\nPUB m\n'), sized('y')]));
    await c.expectResponse('OK');
    await c.expectResponse('OK');
  });
});

test('§1.5a PUB `hi` to `t`: request bytes answered by exactly 00000006 00000000 4f4b', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.write(hex('50 55 42 20 74 0a 00 00 00 02 68 69'));
    const f = await c.readFrame();
    assert.equal(frameBytes(f).toString('hex'), '00000006000000004f4b');
  });
});

test('§1.4/§1.5a message frame layout: size 4+26+N, type 2, int64 ns timestamp, attempts, 16 hex id, body', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open();
    const before = BigInt(Date.now() - 1000) * 1_000_000n;
    await p.pub('t', 'hi');
    const after = BigInt(Date.now() + 1000) * 1_000_000n;
    const c = await open();
    await c.sub('t', 'c');
    c.cmd('RDY 1');
    const f = await c.readFrame();
    const raw = frameBytes(f);
    assert.is(raw.length, 4 + 32, 'whole frame is 36 bytes');
    assert.is(raw.readInt32BE(0), 32, 'size = 4 + 26 + 2');
    assert.is(raw.readInt32BE(4), 2, 'frame type message');
    const ts = raw.readBigInt64BE(8);
    assert.ok(ts >= before && ts <= after, `timestamp ${ts} is nanoseconds at publish time`);
    assert.is(raw.readUInt16BE(16), 1, 'attempts 1 on first delivery');
    const id = raw.toString('latin1', 18, 34);
    assert.match(id, /^[0-9a-f]{16}$/);
    assert.is(raw.toString('latin1', 34), 'hi');
    c.cmd(`FIN ${id}`);
    await expectAlive(c);
    const ch = await channelStats(d, 't', 'c');
    assert.is(ch?.in_flight_count, 0);
    assert.is(ch?.clients[0]?.finish_count, 1);
  });
});

test('§1.5a error frame bytes: 00000022 00000001 `E_INVALID invalid command ASDF`', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.cmd('ASDF');
    const f = await c.readFrame();
    const text = 'E_INVALID invalid command ASDF';
    assert.equal(frameBytes(f).toString('hex'), '0000002200000001' + Buffer.from(text).toString('hex'));
    await c.expectClosed();
  });
});

test('§1.2 lines may end with \\r\\n', async () => {
  await withNsqd({}, async (d, open) => {
    const c = await open();
    c.write(Buffer.concat([Buffer.from('PUB crlf\r\n'), sized('x')]));
    await c.expectResponse('OK');
    c.write('SUB crlf c\r\n');
    await c.expectResponse('OK');
    c.write('RDY 1\r\n');
    const m = await c.readMessage();
    assert.is(m.body.toString(), 'x');
    c.write(`FIN ${m.id}\r\nNOP\r\n`);
    await expectAlive(c);
    assert.is((await channelStats(d, 'crlf', 'c'))?.in_flight_count, 0);
  });
});

// ---------------------------------------------------------------------------------------------
// §2.2 IDENTIFY

test('§2.2 IDENTIFY without feature_negotiation answers the literal OK', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    assert.is(await c.identify({ client_id: 'a' }), 'OK');
    assert.is(await c.identify({ feature_negotiation: false, msg_timeout: 5000 }), 'OK');
    assert.is(await c.identify({}), 'OK');
    // no upgrades happen without negotiation, even when asked for
    assert.is(await c.identify({ deflate: true, snappy: true, tls_v1: true }), 'OK');
    await expectAlive(c);
  });
});

test('§2.2 IDENTIFY feature_negotiation with default settings: exact JSON, exact field order', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.cmd('IDENTIFY', JSON.stringify({ feature_negotiation: true }));
    const f = await c.readFrame();
    assert.is(f.type, 0);
    assert.is(f.data.toString('latin1'), DEFAULT_IDENTIFY_JSON);
    await expectAlive(c);
  });
});

test('§2.2 IDENTIFY JSON carries the values the client set (lower bounds)', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    const r = await c.identify({
      feature_negotiation: true, heartbeat_interval: 1000, output_buffer_size: 64, output_buffer_timeout: 25, sample_rate: 99, msg_timeout: 1000,
    });
    assert.is(r, identifyJson({ msg_timeout: 1000, sample_rate: 99, output_buffer_size: 64, output_buffer_timeout: 25 }));
    await expectAlive(c);
  });
});

test('§2.2 IDENTIFY accepts the upper bounds', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    const r = await c.identify({
      feature_negotiation: true, heartbeat_interval: 60000, output_buffer_size: 65536, output_buffer_timeout: 30000, sample_rate: 0, msg_timeout: 900000,
    });
    assert.is(r, identifyJson({ msg_timeout: 900000, output_buffer_size: 65536, output_buffer_timeout: 30000 }));
    await expectAlive(c);
  });
});

test('§2.2 IDENTIFY JSON reflects server options; deflate_level is clamped even without deflate', async () => {
  await withNsqd({ maxRdyCount: 10, maxMsgTimeout: 120000, msgTimeout: 5000, outputBufferTimeout: 100, maxDeflateLevel: 3 }, async (_d, open) => {
    const c = await open();
    const r = await c.identify({ feature_negotiation: true });
    assert.is(r, identifyJson({ max_rdy_count: 10, max_msg_timeout: 120000, msg_timeout: 5000, deflate_level: 3, max_deflate_level: 3, output_buffer_timeout: 100 }));
  });
});

test('§2.2 IDENTIFY -1 values: output_buffer_timeout -1 → 0; output_buffer_size -1 → size 1 and timeout 0', async () => {
  await withNsqd({}, async (_d, open) => {
    const a = await open();
    assert.is(await a.identify({ feature_negotiation: true, output_buffer_timeout: -1 }), identifyJson({ output_buffer_timeout: 0 }));
    const b = await open();
    assert.is(
      await b.identify({ feature_negotiation: true, output_buffer_size: -1, output_buffer_timeout: 500 }),
      identifyJson({ output_buffer_size: 1, output_buffer_timeout: 0 }),
    );
    const h = await open();
    assert.is(await h.identify({ feature_negotiation: true, heartbeat_interval: -1 }), DEFAULT_IDENTIFY_JSON);
  });
});

test('§2.2 IDENTIFY keys match case-insensitively', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.cmd('IDENTIFY', '{"FEATURE_NEGOTIATION":true,"Msg_Timeout":5000,"SAMPLE_rate":7,"Output_Buffer_Size":128}');
    const f = await c.readFrame();
    assert.is(f.type, 0, f.data.toString());
    assert.is(f.data.toString(), identifyJson({ msg_timeout: 5000, sample_rate: 7, output_buffer_size: 128 }));
  });
});

test('§2.2 IDENTIFY ignores unknown keys (go-nsq short_id, long_id, topology_*) and null values', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    const r = await c.identify({
      short_id: 's', long_id: 'l', topology_region: 'r', topology_zone: 'z', extra: { nested: [1, 2.5, 'x'] }, other: true,
      msg_timeout: null, client_id: null, feature_negotiation: true,
    });
    assert.is(r, DEFAULT_IDENTIFY_JSON);
  });
});

test('§2.2 IDENTIFY body `null` decodes to nothing and answers OK', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.cmd('IDENTIFY', 'null');
    await c.expectResponse('OK');
    await expectAlive(c);
  });
});

test('§2.2 IDENTIFY is repeatable in init state, then SUB works', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    assert.is(await c.identify({ client_id: 'one' }), 'OK');
    assert.is(await c.identify({ feature_negotiation: true, msg_timeout: 2000 }), identifyJson({ msg_timeout: 2000 }));
    await c.pub('rep', 'x');
    await c.sub('rep', 'c');
  });
});

test('§2.2 server with --deflate=false --snappy=false negotiates neither; connection stays plaintext', async () => {
  await withNsqd({ deflate: false, snappy: false }, async (_d, open) => {
    const c = await open();
    const r = await c.identify({ feature_negotiation: true, deflate: true, deflate_level: 9, snappy: true });
    assert.is(r, DEFAULT_IDENTIFY_JSON);
    await expectAlive(c);
  });
});

test('§2.2 tls_v1 is not negotiated without a server certificate; the connection stays plaintext', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    assert.is(await c.identify({ feature_negotiation: true, tls_v1: true }), DEFAULT_IDENTIFY_JSON);
    await expectAlive(c);
  });
});

test('§2.2 auth_required is true when --auth-http-address is set', async () => {
  await withNsqd({ authHttpAddresses: ['127.0.0.1:1'] }, async (_d, open) => {
    const c = await open();
    assert.is(await c.identify({ feature_negotiation: true }), identifyJson({ auth_required: true }));
  });
});

test('§2.2 client_id, hostname, user_agent and sample_rate are stored (seen in /stats)', async () => {
  await withNsqd({}, async (d, open) => {
    const c = await open();
    assert.is(await c.identify({ client_id: 'cid-1', hostname: 'h.example', user_agent: 'ua/1.0', sample_rate: 5 }), 'OK');
    await c.sub('ident', 'c');
    const ch = await channelStats(d, 'ident', 'c');
    const cl = ch?.clients[0];
    assert.ok(cl, 'client listed');
    assert.is(cl!.client_id, 'cid-1');
    assert.is(cl!.hostname, 'h.example');
    assert.is(cl!.user_agent, 'ua/1.0');
    assert.is(cl!.sample_rate, 5);
  });
});

// ---------------------------------------------------------------------------------------------
// §2.4 SUB, §2.11 PUB, §2.12 MPUB, §2.14 DPUB

test('§2.4 SUB creates topic and channel, answers OK, and RDY starts at 0', async () => {
  await withNsqd({}, async (d, open) => {
    const c = await open();
    await c.sub('newtopic', 'newchan');
    const ch = await channelStats(d, 'newtopic', 'newchan');
    assert.ok(ch, 'channel exists');
    assert.is(ch!.client_count, 1);
    assert.is(ch!.clients[0]!.state, 3);
    assert.is(ch!.clients[0]!.ready_count, 0);
    const p = await open();
    await p.pub('newtopic', 'x');
    await waitFor(async () => (await channelStats(d, 'newtopic', 'newchan'))?.depth === 1, 5000, 'depth 1');
    await c.expectNothing(300);
  });
});

test('§2.4 SUB ignores extra parameters', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.cmd('SUB t c extra more');
    await c.expectResponse('OK');
  });
});

test('§2.11/§2.12 PUB and MPUB deliver bodies byte-exact, in order, attempts 1, distinct ids', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open();
    const binary = Buffer.from([0x00, 0x0a, 0x0d, 0x20, 0xff, 0x0a, 0x41]);
    const bodies = [Buffer.from('a'), binary, Buffer.from('b'), Buffer.from('PUB x\n'), Buffer.alloc(3000, 0x7a)];
    await p.pub('order', bodies[0]!);
    await p.pub('order', bodies[1]!);
    await p.mpub('order', bodies.slice(2));
    const t = await topicStats(d, 'order');
    assert.is(t?.message_count, 5);
    const c = await open();
    await c.sub('order', 'c');
    c.cmd('RDY 10');
    const ms = await readMessages(c, 5);
    ms.forEach((m, i) => {
      assert.ok(m.body.equals(bodies[i]!), `body ${i}`);
      assert.is(m.attempts, 1);
      assert.match(m.id, /^[0-9a-f]{16}$/);
    });
    assert.is(new Set(ms.map((m) => m.id)).size, 5);
  });
});

test('§2.11/§2.12/§2.14 publish lines of the same length that differ in one byte each act on their own topic, timeout and name', async () => {
  // nsqd keeps a connection's last publish line to skip splitting a repeat: a repeat must be
  // the same bytes, not just the same length.
  await withNsqd({}, async (d, open) => {
    const p = await open();
    p.write(
      Buffer.concat([
        Buffer.from('PUB ta\n'), sized('a1'),
        Buffer.from('PUB tb\n'), sized('b1'),
        Buffer.from('PUB ta\n'), sized('a2'),
        Buffer.from('MPUB tb\n'), mpubBody(['b2', 'b3']),
        Buffer.from('MPUB ta\n'), mpubBody(['a3']),
        Buffer.from('DPUB td 0000000\n'), sized('now'),
        Buffer.from('DPUB td 3000000\n'), sized('later'),
        Buffer.from('DPUB td 0000000\n'), sized('now too'),
      ]),
    );
    for (let i = 0; i < 8; i++) await p.expectResponse('OK');
    assert.is((await topicStats(d, 'ta'))?.message_count, 3);
    assert.is((await topicStats(d, 'tb'))?.message_count, 3);
    const c = await open();
    await c.sub('ta', 'c');
    c.cmd('RDY 10');
    assert.equal((await readMessages(c, 3)).map((m) => m.body.toString()), ['a1', 'a2', 'a3']);
    const c2 = await open();
    await c2.sub('td', 'c');
    c2.cmd('RDY 10');
    // td existed without a channel: all three wait in the topic, then reach the channel, the
    // deferred one in its deferred queue.
    assert.equal((await readMessages(c2, 2)).map((m) => m.body.toString()).sort(), ['now', 'now too']);
    await waitFor(async () => (await channelStats(d, 'td', 'c'))?.deferred_count === 1, 5000, 'DPUB td 3000000 deferred');
    // A name that differs from the last valid one in one byte is checked, not taken as valid.
    p.write(Buffer.concat([Buffer.from('PUB t!\n'), sized('x')]));
    await p.expectError('E_BAD_TOPIC PUB topic name "t!" is not valid');
  });
});

test('§2.11/§2.12/§2.14 a body of exactly --max-msg-size and an MPUB of exactly --max-body-size are accepted', async () => {
  await withNsqd({ maxMsgSize: 100, maxBodySize: 104 }, async (d, open) => {
    const p = await open();
    await p.pub('limits', Buffer.alloc(100, 0x61));
    p.cmd('DPUB limits 0', Buffer.alloc(100, 0x62));
    await p.expectResponse('OK');
    // (104 - 4) / 5 = 20 messages of 1 byte = 4 + 20 × 5 = 104 body bytes
    await p.mpub('limits', Array.from({ length: 20 }, () => 'm'));
    assert.is((await topicStats(d, 'limits'))?.message_count, 22);
  });
  await withNsqd({ maxMsgSize: 100 }, async (d, open) => {
    const p = await open();
    await p.mpub('limits2', [Buffer.alloc(100, 0x63), 'x']);
    assert.is((await topicStats(d, 'limits2'))?.message_count, 2);
  });
});

test('§2.12 an MPUB of --max-body-size in 16-byte messages (262,143 of them, ~80 socket reads) is accepted whole, in order', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open({ timeoutMs: 20000 });
    const count = Math.floor((5 * 1024 * 1024 - 4) / 20);
    const bodies = Array.from({ length: count }, (_, i) => `m${String(i).padStart(15, '0')}`);
    // The next command follows in the same write: it must not be taken into the MPUB.
    p.write(Buffer.concat([Buffer.from('MPUB huge\n'), Buffer.from(mpubBody(bodies)), Buffer.from('PUB huge\n'), sized('after')]));
    await p.expectResponse('OK');
    await p.expectResponse('OK');
    assert.is((await topicStats(d, 'huge'))?.message_count, count + 1);
    const c = await open({ timeoutMs: 20000 });
    await c.sub('huge', 'c');
    c.cmd('RDY 2500');
    for (let i = 0; i < 2500; i++) assert.is((await c.readMessage()).body.toString('latin1'), bodies[i]);
  });
});

test('§2.12 quirk: MPUB messages are read from the stream; a smaller declared body_size is not checked', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open();
    const real = mpubBody(['one', 'two']); // [size][count][len][one][len][two]
    const body = Buffer.from(real);
    body.writeInt32BE(5, 0); // declared body_size 5 (> 0, <= max) though 18 bytes follow
    p.write(Buffer.concat([Buffer.from('MPUB small\n'), body, Buffer.from('PUB small\n'), sized('three')]));
    await p.expectResponse('OK');
    await p.expectResponse('OK');
    assert.is((await topicStats(d, 'small'))?.message_count, 3);
  });
});

test('§2.12 quirk: a larger declared MPUB body_size does not swallow the next command', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open({ timeoutMs: 3000 });
    const body = Buffer.from(mpubBody(['one', 'two']));
    body.writeInt32BE(1000, 0);
    p.write(Buffer.concat([Buffer.from('MPUB large\n'), body, Buffer.from('PUB large\n'), sized('three')]));
    await p.expectResponse('OK');
    await p.expectResponse('OK');
    assert.is((await topicStats(d, 'large'))?.message_count, 3);
  });
});

test('§2.14 DPUB holds the message in the channel deferred queue, then delivers it', async () => {
  await withNsqd({}, async (d, open) => {
    const c = await open();
    await c.sub('dp', 'c');
    c.cmd('RDY 5');
    const p = await open();
    p.cmd('DPUB dp 1500', 'later');
    await p.expectResponse('OK');
    await waitFor(async () => (await channelStats(d, 'dp', 'c'))?.deferred_count === 1, 5000, 'deferred_count 1');
    const ch = await channelStats(d, 'dp', 'c');
    assert.is(ch?.depth, 0, 'deferred messages are not counted in depth');
    await c.expectNothing(300);
    const m = await c.readMessage(8000);
    assert.is(m.body.toString(), 'later');
    assert.is(m.attempts, 1);
  });
});

test('§2.14 a DPUB held in a paused topic starts its delay when fanned out, as nsqd (topic messagePump → PutMessageDeferred)', async () => {
  await withNsqd({}, async (d, open) => {
    const c = await open();
    await c.sub('dp_paused', 'c');
    c.cmd('RDY 5');
    const admin = await fetch(`${d.url}/topic/pause?topic=dp_paused`, { method: 'POST' });
    assert.is(admin.status, 200);
    const p = await open();
    p.cmd('DPUB dp_paused 600', 'later');
    await p.expectResponse('OK');
    // Longer than the delay: counted from the publish it would be due already.
    await sleep(800);
    assert.is((await fetch(`${d.url}/topic/unpause?topic=dp_paused`, { method: 'POST' })).status, 200);
    const unpaused = performance.now();
    const m = await c.readMessage(8000);
    assert.is(m.body.toString(), 'later');
    assert.ok(performance.now() - unpaused >= 550, 'the 600 ms ran from the unpause');
  });
});

test('an ephemeral channel with --mem-queue-size=0 takes what its ready consumers can take, as nsqd\'s unbuffered channel; the rest is dropped', async () => {
  await withNsqd({ memQueueSize: 0 }, async (d, open) => {
    const c = await open();
    await c.sub('e0#ephemeral', 'c#ephemeral');
    c.cmd('RDY 3');
    const p = await open();
    await p.mpub('e0#ephemeral', ['a', 'b']);
    const got = await readMessages(c, 2);
    assert.equal(got.map((m) => m.body.toString()), ['a', 'b']);
    // One slot left (2 in flight of RDY 3): of three, one is delivered and two are dropped.
    await p.mpub('e0#ephemeral', ['c', 'd', 'e']);
    const third = await c.readMessage();
    assert.is(third.body.toString(), 'c');
    for (const m of [...got, third]) c.cmd(`FIN ${m.id}`);
    await c.expectNothing(300);
    const ch = await channelStats(d, 'e0#ephemeral', 'c#ephemeral');
    assert.is(ch?.message_count, 5);
    assert.is(ch?.depth, 0);
    // Ready again: new messages flow.
    await p.pub('e0#ephemeral', 'f');
    assert.is((await c.readMessage()).body.toString(), 'f');
  });
});

test('§2.14 DPUB with an empty timeout parses as 0; DPUB at exactly --max-req-timeout is accepted', async () => {
  await withNsqd({}, async (d, open) => {
    const c = await open();
    await c.sub('dp0', 'c');
    c.cmd('RDY 5');
    const p = await open();
    p.cmd('DPUB dp0 ', 'now');
    await p.expectResponse('OK');
    const m = await c.readMessage();
    assert.is(m.body.toString(), 'now');
    p.cmd('DPUB dp0 3600000', 'much later');
    await p.expectResponse('OK');
    await waitFor(async () => (await channelStats(d, 'dp0', 'c'))?.deferred_count === 1, 5000, 'deferred_count 1');
  });
});

test('§2.1 PUB, MPUB, DPUB and NOP work in subscribed and closing states', async () => {
  await withNsqd({}, async (d, open) => {
    const c = await open();
    await c.sub('states', 'c');
    c.cmd('NOP');
    await c.pub('other', 'a');
    await c.mpub('other', ['b', 'c']);
    c.cmd('DPUB other 0', 'd');
    await c.expectResponse('OK');
    c.cmd('CLS');
    await c.expectResponse('CLOSE_WAIT');
    c.cmd('NOP');
    await c.pub('other', 'e');
    await c.mpub('other', ['f']);
    c.cmd('DPUB other 0', 'g');
    await c.expectResponse('OK');
    assert.is((await topicStats(d, 'other'))?.message_count, 7);
  });
});

test('§2.10 NOP gives no response in init state', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.cmd('NOP');
    c.cmd('NOP extra params');
    await c.expectNothing(200);
    await expectAlive(c);
  });
});

// ---------------------------------------------------------------------------------------------
// §2.5 RDY (quirk 1), §2.6 FIN, §2.7 REQ (quirk 4), §2.8 TOUCH, §2.9 CLS

test('§2.5 quirk 1: RDY is a max-in-flight window, re-opened by FIN without a new RDY', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open();
    await p.mpub('win', ['1', '2', '3', '4', '5']);
    const c = await open();
    await c.sub('win', 'c');
    c.cmd('RDY 2');
    const [m1, m2] = await readMessages(c, 2);
    assert.is(m1!.body.toString(), '1');
    assert.is(m2!.body.toString(), '2');
    await c.expectNothing(400);
    c.cmd(`FIN ${m1!.id}`);
    const m3 = await c.readMessage();
    assert.is(m3.body.toString(), '3');
    await c.expectNothing(400);
    c.cmd(`FIN ${m2!.id}`);
    c.cmd(`FIN ${m3.id}`);
    const rest = await readMessages(c, 2);
    assert.equal(rest.map((m) => m.body.toString()), ['4', '5']);
    const ch = await channelStats(d, 'win', 'c');
    assert.is(ch?.in_flight_count, 2);
    assert.is(ch?.clients[0]?.ready_count, 2);
    assert.is(ch?.clients[0]?.finish_count, 3);
  });
});

test('§2.5 `RDY` without a count means 1; `RDY ` with an empty count means 0', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open();
    await p.mpub('rdy1', ['1', '2', '3']);
    const c = await open();
    await c.sub('rdy1', 'c');
    c.cmd('RDY ');
    await c.expectNothing(400);
    assert.is((await channelStats(d, 'rdy1', 'c'))?.clients[0]?.ready_count, 0);
    c.cmd('RDY');
    const m = await c.readMessage();
    assert.is(m.body.toString(), '1');
    await c.expectNothing(400);
    assert.is((await channelStats(d, 'rdy1', 'c'))?.clients[0]?.ready_count, 1);
  });
});

test('§2.5 RDY 0 stops delivery; a new RDY resumes it', async () => {
  await withNsqd({}, async (_d, open) => {
    const p = await open();
    await p.mpub('rdy0', ['1', '2', '3', '4']);
    const c = await open();
    await c.sub('rdy0', 'c');
    c.cmd('RDY 1');
    const m1 = await c.readMessage();
    c.cmd('RDY 0');
    c.cmd(`FIN ${m1.id}`);
    await c.expectNothing(400);
    c.cmd('RDY 3');
    const rest = await readMessages(c, 3);
    assert.equal(rest.map((m) => m.body.toString()), ['2', '3', '4']);
  });
});

test('§2.5 RDY equal to --max-rdy-count is accepted', async () => {
  await withNsqd({ maxRdyCount: 10 }, async (_d, open) => {
    const p = await open();
    await p.mpub('rdymax', Array.from({ length: 12 }, (_, i) => `m${i}`));
    const c = await open();
    await c.sub('rdymax', 'c');
    c.cmd('RDY 10');
    await readMessages(c, 10);
    await c.expectNothing(400);
  });
});

test('§2.7 REQ 0 requeues at once: same id redelivered with attempts 2; requeue counts', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open();
    await p.pub('req', 'r');
    const c = await open();
    await c.sub('req', 'c');
    c.cmd('RDY 1');
    const m = await c.readMessage();
    c.cmd(`REQ ${m.id} 0`);
    const again = await c.readMessage();
    assert.is(again.id, m.id);
    assert.is(again.attempts, 2);
    assert.is(again.body.toString(), 'r');
    assert.is(again.timestamp, m.timestamp, 'timestamp kept');
    const ch = await channelStats(d, 'req', 'c');
    assert.is(ch?.requeue_count, 1);
    assert.is(ch?.clients[0]?.requeue_count, 1);
    assert.is(ch?.in_flight_count, 1);
  });
});

test('§2.7/§1.2 REQ with an empty timeout parses as 0', async () => {
  await withNsqd({}, async (_d, open) => {
    const p = await open();
    await p.pub('reqe', 'r');
    const c = await open();
    await c.sub('reqe', 'c');
    c.cmd('RDY 1');
    const m = await c.readMessage();
    c.cmd(`REQ ${m.id} `);
    const again = await c.readMessage();
    assert.is(again.id, m.id);
    assert.is(again.attempts, 2);
  });
});

test('§2.7 REQ with a timeout defers the message (deferred_count), then redelivers it', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open();
    await p.pub('reqd', 'r');
    const c = await open();
    await c.sub('reqd', 'c');
    c.cmd('RDY 1');
    const m = await c.readMessage();
    c.cmd(`REQ ${m.id} 1500`);
    await expectAlive(c);
    const ch = await channelStats(d, 'reqd', 'c');
    assert.is(ch?.deferred_count, 1);
    assert.is(ch?.in_flight_count, 0);
    const again = await c.readMessage(8000);
    assert.is(again.id, m.id);
    assert.is(again.attempts, 2);
  });
});

test('§2.7 quirk 4: REQ timeout above --max-req-timeout is clamped, not an error', async () => {
  await withNsqd({ maxReqTimeout: 1000 }, async (d, open) => {
    const p = await open();
    await p.pub('reqc', 'r');
    const c = await open();
    await c.sub('reqc', 'c');
    c.cmd('RDY 1');
    const m = await c.readMessage();
    c.cmd(`REQ ${m.id} 3600000`);
    await expectAlive(c);
    assert.is((await channelStats(d, 'reqc', 'c'))?.deferred_count, 1);
    // clamped to 1 s: it comes back (unclamped it would take an hour)
    const again = await c.readMessage(10000);
    assert.is(again.id, m.id);
    assert.is(again.attempts, 2);
  });
});

test('§2.8 TOUCH gives no response and keeps the message in flight past msg_timeout', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open();
    await p.pub('touch', 't');
    const c = await open();
    assert.is(await c.identify({ msg_timeout: 2000 }), 'OK');
    await c.sub('touch', 'c');
    c.cmd('RDY 1');
    const m = await c.readMessage();
    for (let i = 0; i < 6; i++) {
      await sleep(500);
      c.cmd(`TOUCH ${m.id}`);
    }
    await expectAlive(c); // no response and no error for the TOUCHes
    const ch = await channelStats(d, 'touch', 'c');
    assert.is(ch?.timeout_count, 0, 'never timed out while touched');
    assert.is(ch?.in_flight_count, 1);
    // untouched, it times out and is redelivered
    const again = await c.readMessage(10000);
    assert.is(again.id, m.id);
    assert.is(again.attempts, 2);
    assert.is((await channelStats(d, 'touch', 'c'))?.timeout_count, 1);
  });
});

test('§2.8 TOUCH never extends a message beyond delivery + --max-msg-timeout', async () => {
  await withNsqd({ maxMsgTimeout: 2000 }, async (d, open) => {
    const p = await open();
    await p.pub('horizon', 'h');
    const c = await open();
    assert.is(await c.identify({ msg_timeout: 1000 }), 'OK');
    await c.sub('horizon', 'c');
    c.cmd('RDY 1');
    const m = await c.readMessage();
    const deadline = Date.now() + 10000;
    // keep touching (every 300 ms, well inside msg_timeout) until the horizon forces a timeout
    while ((await channelStats(d, 'horizon', 'c'))?.timeout_count !== 1) {
      assert.ok(Date.now() < deadline, 'the message timed out despite TOUCH');
      c.cmd(`TOUCH ${m.id}`);
      await sleep(300);
    }
    // a TOUCH racing the timeout may have failed (non-fatally); then the redelivery follows
    for (;;) {
      const f = await c.readFrame(10000);
      if (f.type === 1) {
        assert.is(f.data.toString(), `E_TOUCH_FAILED TOUCH ${m.id} failed ID not in flight`);
        continue;
      }
      assert.is(f.type, 2);
      const again = decodeMessage(f.data);
      assert.is(again.id, m.id);
      assert.is(again.attempts, 2);
      break;
    }
  });
});

test('§2.9 CLS → CLOSE_WAIT; FIN/REQ/TOUCH still work; RDY is silently ignored; the socket stays open', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open();
    await p.mpub('cls', ['1', '2', '3']);
    const c = await open();
    await c.sub('cls', 'c');
    c.cmd('RDY 2');
    const [m1, m2] = await readMessages(c, 2);
    c.cmd('CLS');
    await c.expectResponse('CLOSE_WAIT');
    c.cmd(`TOUCH ${m1!.id}`);
    c.cmd(`FIN ${m1!.id}`);
    c.cmd(`REQ ${m2!.id} 0`);
    c.cmd('RDY 5');
    await c.expectNothing(500);
    await expectAlive(c);
    const ch = await channelStats(d, 'cls', 'c');
    const cl = ch?.clients[0];
    assert.is(cl?.state, 4, 'closing');
    assert.is(cl?.ready_count, 0, 'CLS forces RDY 0 and RDY after CLS is ignored');
    assert.is(cl?.finish_count, 1);
    assert.is(cl?.requeue_count, 1);
    assert.is(ch?.in_flight_count, 0);
    assert.is(ch?.depth, 2);
    assert.not.ok(c.closed, 'nsqd does not close the socket after CLS');
  });
});

test('§2.15/§11 quirk 6: a disconnected client\'s in-flight message stays in flight until msg_timeout', async () => {
  await withNsqd({ msgTimeout: 3000 }, async (d, open) => {
    const p = await open();
    await p.pub('gone', 'g');
    const c1 = await open();
    await c1.sub('gone', 'c');
    c1.cmd('RDY 1');
    const m = await c1.readMessage();
    c1.close();
    await waitFor(async () => (await channelStats(d, 'gone', 'c'))?.client_count === 0, 5000, 'client removed');
    const ch = await channelStats(d, 'gone', 'c');
    assert.is(ch?.in_flight_count, 1, 'not requeued on disconnect');
    assert.is(ch?.depth, 0);
    const c2 = await open();
    await c2.sub('gone', 'c');
    c2.cmd('RDY 1');
    const again = await c2.readMessage(10000);
    assert.is(again.id, m.id);
    assert.is(again.attempts, 2);
    assert.is((await channelStats(d, 'gone', 'c'))?.timeout_count, 1);
  });
});

// ---------------------------------------------------------------------------------------------
// §1.6 heartbeats

test('§1.6 heartbeat frames are response `_heartbeat_` (exact bytes), in init and subscribed states', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.autoNop = false;
    assert.is(await c.identify({ heartbeat_interval: 1000 }), 'OK');
    const hb = '0000000f00000000' + Buffer.from('_heartbeat_').toString('hex');
    const f1 = await c.readFrame(4000);
    assert.is(frameBytes(f1).toString('hex'), hb);
    c.cmd('NOP');
    await c.sub('hb', 'c');
    const f2 = await c.readFrame(4000);
    assert.is(frameBytes(f2).toString('hex'), hb);
    c.cmd('NOP');
  });
});

test('§1.6 a client silent for 2 × heartbeat_interval is disconnected without an error frame', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.autoNop = false;
    assert.is(await c.identify({ heartbeat_interval: 1000 }), 'OK');
    await c.expectClosed(8000); // heartbeats are allowed before the close, nothing else
  });
});

test('§1.6 a client answering each heartbeat with NOP stays connected for many intervals', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.autoNop = false;
    assert.is(await c.identify({ heartbeat_interval: 1000 }), 'OK');
    await c.sub('hbalive', 'c');
    for (let i = 0; i < 4; i++) {
      const f = await c.readFrame(4000);
      assert.is(f.type, 0);
      assert.is(f.data.toString(), '_heartbeat_');
      c.cmd('NOP');
    }
    await expectAlive(c);
  });
});

test('§1.6 heartbeat_interval -1 disables heartbeats and the read deadline', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    c.autoNop = false;
    assert.is(await c.identify({ heartbeat_interval: -1 }), 'OK');
    await c.expectNothing(2500);
    assert.not.ok(c.closed);
    await expectAlive(c);
  });
});

// ---------------------------------------------------------------------------------------------
// §2.15 output buffering, sample_rate (quirk 7)

test('§2.15 with output_buffer_timeout set and RDY above the backlog, buffered messages are flushed by the timer', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    assert.is(await c.identify({ output_buffer_timeout: 1000 }), 'OK');
    await c.sub('obt', 'c');
    c.cmd('RDY 100');
    await expectAlive(c);
    const p = await open();
    await p.mpub('obt', ['1', '2', '3']);
    const ms = await readMessages(c, 3, 8000);
    assert.equal(ms.map((m) => m.body.toString()), ['1', '2', '3']);
  });
});

test('§2.15 output_buffer_size -1 (no buffering) delivers every message', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    assert.is(await c.identify({ feature_negotiation: true, output_buffer_size: -1 }), identifyJson({ output_buffer_size: 1, output_buffer_timeout: 0 }));
    await c.sub('obs', 'c');
    c.cmd('RDY 100');
    const p = await open();
    const bodies = Array.from({ length: 50 }, (_, i) => `m${i}`);
    await p.mpub('obs', bodies);
    const ms = await readMessages(c, 50);
    assert.equal(ms.map((m) => m.body.toString()), bodies);
  });
});

test('§2.15 a 64-byte output buffer with larger messages delivers them intact', async () => {
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    assert.is(await c.identify({ output_buffer_size: 64, output_buffer_timeout: 25 }), 'OK');
    await c.sub('obs64', 'c');
    c.cmd('RDY 10');
    const p = await open();
    const bodies = Array.from({ length: 5 }, (_, i) => Buffer.alloc(200, 0x61 + i));
    await p.mpub('obs64', bodies);
    const ms = await readMessages(c, 5, 8000);
    ms.forEach((m, i) => assert.ok(m.body.equals(bodies[i]!), `body ${i}`));
  });
});

test('§2.15 quirk 7: sample_rate 10 delivers a fraction; the rest is consumed, not requeued', async () => {
  await withNsqd({}, async (d, open) => {
    const c = await open();
    assert.is(await c.identify({ sample_rate: 10 }), 'OK');
    await c.sub('sample', 'c');
    c.cmd('RDY 2500');
    await expectAlive(c);
    const p = await open();
    await p.mpub('sample', Array.from({ length: 500 }, (_, i) => `s${i}`));
    await waitFor(async () => {
      const ch = await channelStats(d, 'sample', 'c');
      return ch?.message_count === 500 && ch.depth === 0;
    }, 10000, 'the channel to drain');
    // (a timed-out read would leave a reader behind, so read exactly what /stats says is in flight)
    await sleep(300);
    const inFlight = (await channelStats(d, 'sample', 'c'))?.in_flight_count ?? -1;
    const got = await readMessages(c, inFlight);
    await c.expectNothing(500);
    assert.ok(got.length >= 5 && got.length <= 300, `delivered ${got.length} of 500 (expected about 11%)`);
    const ch = await channelStats(d, 'sample', 'c');
    assert.is(ch?.in_flight_count, got.length, 'only delivered messages are in flight');
    assert.is(ch?.depth, 0);
    assert.is(ch?.deferred_count, 0);
    assert.is(ch?.requeue_count, 0);
    assert.is(ch?.clients[0]?.sample_rate, 10);
    for (const m of got) c.cmd(`FIN ${m.id}`);
    await expectAlive(c);
    await c.expectNothing(500);
    const after = await channelStats(d, 'sample', 'c');
    assert.is(after?.in_flight_count, 0);
    assert.is(after?.depth, 0, 'sampled-out messages are gone');
  });
});

test.run();
