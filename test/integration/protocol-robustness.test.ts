// TCP protocol V2 under abuse (spec nsqd.md §1.2, §2.2, §2.3, §2.11, §2.12, §2.14): garbage,
// over-long lines, huge and negative sizes, truncated commands with half-close, a consumer that
// never reads, many concurrent connections, and a whole session written one byte at a time.
// After each abuse a fresh client must still PUB and SUB normally.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Logger } from '../../src/internal/log.js';
import { DiskQueue } from '../../src/diskqueue/diskqueue.js';
import { ClientV2 } from '../../src/nsqd/client-v2.js';
import { throwOnce } from '../helpers/fault.js';
import { http, startNsqd, waitFor, type TestNsqd } from '../helpers/daemons.js';
import {
  assertHealthy,
  channelStats,
  expectAlive,
  expectFatal,
  int32,
  lineWithSize,
  readMessages,
  topicStats,
  withNsqd,
} from '../helpers/protocol-checks.js';
import { decodeMessage, mpubBody, sized, WireConn, type Frame } from '../helpers/wire.js';

const line = (l: string): Buffer => Buffer.from(`${l}\n`, 'latin1');

/** Deterministic byte generator (xorshift32). */
function bytes(seed: number, n: number, avoid: number[] = []): Buffer {
  let x = seed >>> 0 || 1;
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; ) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const b = x & 0xff;
    if (avoid.includes(b)) continue;
    out[i++] = b;
  }
  return out;
}

/** Write raw bytes, then half-close our side; expect the fatal error text then close. */
async function halfCloseCase(d: TestNsqd, raw: Buffer, text: string): Promise<void> {
  const c = await WireConn.open(d.tcpPort);
  try {
    c.write(raw);
    c.socket.end();
    await expectFatal(c, text);
  } catch (e) {
    throw new Error(`sent ${JSON.stringify(raw.toString('latin1'))} + EOF: ${(e as Error).message}`);
  } finally {
    c.close();
  }
}

// ---------------------------------------------------------------------------------------------
// garbage

test('garbage bytes as a command line → fatal `E_INVALID invalid command <raw bytes>`', async () => {
  await withNsqd({}, async (d) => {
    const junk = bytes(7, 200, [0x0a, 0x0d, 0x20]);
    const c = await WireConn.open(d.tcpPort);
    try {
      c.write(Buffer.concat([junk, Buffer.from(' more params\n')]));
      await expectFatal(c, `E_INVALID invalid command ${junk.toString('latin1')}`);
    } finally {
      c.close();
    }
    await assertHealthy(d);
  });
});

test('a 64 KiB random blob: one error frame for its first line (or a silent close), then the daemon is fine', async () => {
  await withNsqd({}, async (d) => {
    for (const seed of [1, 2, 3]) {
      const blob = bytes(seed * 7919, 64 * 1024);
      const nl = blob.indexOf(0x0a);
      const c = await WireConn.open(d.tcpPort);
      try {
        c.write(blob);
        if (nl === -1 || nl + 1 > 16384) {
          await c.expectClosed();
        } else {
          let l = blob.subarray(0, nl);
          if (l.length > 0 && l[l.length - 1] === 0x0d) l = l.subarray(0, l.length - 1);
          const sp = l.indexOf(0x20);
          const word = sp === -1 ? l : l.subarray(0, sp);
          await expectFatal(c, `E_INVALID invalid command ${word.toString('latin1')}`);
        }
      } finally {
        c.close();
      }
    }
    // garbage from a subscribed client with a message in flight
    const p = await WireConn.open(d.tcpPort);
    const s = await WireConn.open(d.tcpPort);
    try {
      await p.pub('junk', 'x');
      await s.sub('junk', 'c');
      s.cmd('RDY 1');
      await s.readMessage();
      s.write(Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef]), line('')]));
      await expectFatal(s, `E_INVALID invalid command ${Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('latin1')}`);
    } finally {
      p.close();
      s.close();
    }
    await assertHealthy(d);
  });
});

// ---------------------------------------------------------------------------------------------
// §1.2 16 KiB line limit

test('§1.2 a line of exactly 16384 bytes (with \\n) is read; 16385 bytes closes without an error frame', async () => {
  await withNsqd({}, async (d) => {
    const ok = await WireConn.open(d.tcpPort);
    try {
      const l = Buffer.concat([Buffer.from('NOP '), Buffer.alloc(16384 - 5, 0x78), Buffer.from('\n')]);
      assert.is(l.length, 16384);
      ok.write(l);
      await expectAlive(ok);
    } finally {
      ok.close();
    }
    const bad = await WireConn.open(d.tcpPort);
    try {
      const l = Buffer.concat([Buffer.from('NOP '), Buffer.alloc(16385 - 5, 0x78), Buffer.from('\n')]);
      bad.write(l);
      await bad.expectClosed();
    } finally {
      bad.close();
    }
    await assertHealthy(d);
  });
});

test('§1.2 longer lines, with or without a newline, in one write or in pieces: closed, no error frame', async () => {
  await withNsqd({}, async (d) => {
    const variants: Buffer[][] = [
      [Buffer.alloc(20000, 0x41)],
      [Buffer.concat([Buffer.from('PUB '), Buffer.alloc(30000, 0x61), Buffer.from('\n')])],
      Array.from({ length: 20 }, () => Buffer.alloc(1024, 0x42)),
      [Buffer.concat([line('NOP'), Buffer.alloc(17000, 0x43)])],
    ];
    for (const parts of variants) {
      const c = await WireConn.open(d.tcpPort);
      try {
        for (const part of parts) c.write(part);
        await c.expectClosed();
      } finally {
        c.close();
      }
    }
    await assertHealthy(d);
  });
});

// ---------------------------------------------------------------------------------------------
// huge and negative sizes

test('a size of 2^31-1 is refused at once, without the body ever being sent', async () => {
  await withNsqd({}, async (d) => {
    const max = 2147483647;
    const cases: [Buffer, string][] = [
      [lineWithSize('PUB t', max), `E_BAD_MESSAGE PUB message too big ${max} > 1048576`],
      [lineWithSize('DPUB t 0', max), `E_BAD_MESSAGE DPUB message too big ${max} > 1048576`],
      [lineWithSize('MPUB t', max), `E_BAD_BODY MPUB body too big ${max} > 5242880`],
      [lineWithSize('IDENTIFY', max), `E_BAD_BODY IDENTIFY body too big ${max} > 5242880`],
      [lineWithSize('AUTH', max), `E_BAD_BODY AUTH body too big ${max} > 5242880`],
    ];
    for (const [raw, text] of cases) {
      const c = await WireConn.open(d.tcpPort);
      try {
        c.write(raw);
        await expectFatal(c, text);
      } finally {
        c.close();
      }
    }
    // MPUB: a sane body size but a message inside declaring 2^31-1
    const inner = Buffer.concat([int32(1), int32(max), Buffer.alloc(8)]);
    const c = await WireConn.open(d.tcpPort);
    try {
      c.write(lineWithSize('MPUB t', inner.length, inner));
      await expectFatal(c, `E_BAD_MESSAGE MPUB message too big ${max} > 1048576`);
    } finally {
      c.close();
    }
    await assertHealthy(d);
  });
});

test('negative sizes are refused with their exact texts', async () => {
  await withNsqd({}, async (d) => {
    const min = -2147483648;
    const cases: [Buffer, string][] = [
      [lineWithSize('PUB t', -1), 'E_BAD_MESSAGE PUB invalid message body size -1'],
      [lineWithSize('PUB t', min), `E_BAD_MESSAGE PUB invalid message body size ${min}`],
      [lineWithSize('DPUB t 10', -7), 'E_BAD_MESSAGE DPUB invalid message body size -7'],
      [lineWithSize('MPUB t', min), `E_BAD_BODY MPUB invalid body size ${min}`],
      [lineWithSize('MPUB t', 12, Buffer.concat([int32(min), int32(0), int32(0)])), `E_BAD_BODY MPUB invalid message count ${min}`],
      [lineWithSize('MPUB t', 12, Buffer.concat([int32(1), int32(min), int32(0)])), `E_BAD_MESSAGE MPUB invalid message(0) body size ${min}`],
      [lineWithSize('IDENTIFY', min), `E_BAD_BODY IDENTIFY invalid body size ${min}`],
      [lineWithSize('AUTH', -2), 'E_BAD_BODY AUTH invalid body size -2'],
    ];
    for (const [raw, text] of cases) {
      const c = await WireConn.open(d.tcpPort);
      try {
        c.write(raw);
        await expectFatal(c, text);
      } catch (e) {
        throw new Error(`${text}: ${(e as Error).message}`);
      } finally {
        c.close();
      }
    }
    await assertHealthy(d);
  });
});

// ---------------------------------------------------------------------------------------------
// truncated commands then half-close (the "failed to read" rows)

test('§2.11/§2.14 truncated PUB/DPUB then EOF → "failed to read" errors', async () => {
  await withNsqd({}, async (d) => {
    await halfCloseCase(d, line('PUB t'), 'E_BAD_MESSAGE PUB failed to read message body size');
    await halfCloseCase(d, Buffer.concat([line('PUB t'), Buffer.from([0, 0])]), 'E_BAD_MESSAGE PUB failed to read message body size');
    await halfCloseCase(d, Buffer.concat([line('PUB t'), int32(10), Buffer.from('abc')]), 'E_BAD_MESSAGE PUB failed to read message body');
    await halfCloseCase(d, Buffer.concat([line('DPUB t 5'), Buffer.from([0])]), 'E_BAD_MESSAGE DPUB failed to read message body size');
    await halfCloseCase(d, Buffer.concat([line('DPUB t 5'), int32(10), Buffer.from('abc')]), 'E_BAD_MESSAGE DPUB failed to read message body');
    assert.is(await topicStats(d, 't').then((t) => t?.message_count ?? 0), 0);
    await assertHealthy(d);
  });
});

test('a read deadline (2 × heartbeat) passing inside a body command is answered as nsqd\'s failed read, then the connection closes; inside a line it closes silently', async () => {
  await withNsqd({}, async (d) => {
    const cases: [Buffer, string | null][] = [
      [line('PUB t'), 'E_BAD_MESSAGE PUB failed to read message body size'],
      [Buffer.concat([line('PUB t'), int32(10), Buffer.from('abc')]), 'E_BAD_MESSAGE PUB failed to read message body'],
      [Buffer.concat([line('MPUB t'), int32(100), int32(2), int32(1), Buffer.from('a'), Buffer.from([0, 0])]), 'E_BAD_MESSAGE MPUB failed to read message(1) body size'],
      [Buffer.concat([line('IDENTIFY'), int32(40), Buffer.from('{"a"')]), 'E_BAD_BODY IDENTIFY failed to read body'],
      [Buffer.from('PUB t'), null],
    ];
    for (const [raw, text] of cases) {
      const c = await WireConn.open(d.tcpPort, { timeoutMs: 10_000 });
      c.autoNop = false; // a stalled client: nothing after the partial command
      try {
        await c.identify({ heartbeat_interval: 1000 });
        c.write(raw);
        for (;;) {
          const f = await c.readFrame().catch((e: Error) => e);
          if (f instanceof Error) {
            assert.is(text, null, `closed without ${text}: ${f.message}`);
            break;
          }
          if (f.type === 0 && f.data.toString() === '_heartbeat_') continue;
          assert.is(f.type, 1, `frame ${f.type} ${f.data.toString('latin1')}`);
          assert.is(f.data.toString('latin1'), text, `error frame ${JSON.stringify(f.data.toString('latin1'))}`);
          await c.expectClosed();
          break;
        }
      } catch (e) {
        throw new Error(`${text}: ${(e as Error).message}`);
      } finally {
        c.close();
      }
    }
    await assertHealthy(d);
  });
});

test('§2.12 truncated MPUB then EOF → "failed to read" errors at each stage', async () => {
  await withNsqd({}, async (d) => {
    const cases: [Buffer, string][] = [
      [Buffer.concat([line('MPUB t'), Buffer.from([0, 0])]), 'E_BAD_BODY MPUB failed to read body size'],
      [Buffer.concat([line('MPUB t'), int32(100), Buffer.from([0, 0])]), 'E_BAD_BODY MPUB failed to read message count'],
      [Buffer.concat([line('MPUB t'), int32(100), int32(2), int32(1), Buffer.from('a'), Buffer.from([0, 0])]),
        'E_BAD_MESSAGE MPUB failed to read message(1) body size'],
      [Buffer.concat([line('MPUB t'), int32(100), int32(2), int32(1), Buffer.from('a'), int32(5), Buffer.from('ab')]),
        'E_BAD_MESSAGE MPUB failed to read message body'],
    ];
    const failures: string[] = [];
    for (const [raw, text] of cases) await halfCloseCase(d, raw, text).catch((e: Error) => failures.push(e.message));
    assert.equal(failures, []);
    assert.is((await topicStats(d, 't'))?.message_count, 0, 'nothing of a truncated MPUB is queued');
    await assertHealthy(d);
  });
});

test('§2.2/§2.3 truncated IDENTIFY/AUTH then EOF → "failed to read" errors', async () => {
  await withNsqd({}, async (d) => {
    await halfCloseCase(d, Buffer.concat([line('IDENTIFY'), Buffer.from([0, 0])]), 'E_BAD_BODY IDENTIFY failed to read body size');
    await halfCloseCase(d, Buffer.concat([line('IDENTIFY'), int32(20), Buffer.from('{"a"')]), 'E_BAD_BODY IDENTIFY failed to read body');
    await halfCloseCase(d, Buffer.concat([line('AUTH'), Buffer.from([0, 0, 0])]), 'E_BAD_BODY AUTH failed to read body size');
    await halfCloseCase(d, Buffer.concat([line('AUTH'), int32(20), Buffer.from('sec')]), 'E_BAD_BODY AUTH failed to read body');
    await assertHealthy(d);
  });
});

test('EOF inside a command line closes silently; complete commands before a half-close are still answered', async () => {
  await withNsqd({}, async (d) => {
    const a = await WireConn.open(d.tcpPort);
    try {
      a.write('PUB t');
      a.socket.end();
      await a.expectClosed();
    } finally {
      a.close();
    }
    const b = await WireConn.open(d.tcpPort);
    try {
      b.write(Buffer.concat([line('PUB hc'), sized('x'), line('NOP'), line('PUB hc'), sized('y')]));
      b.socket.end();
      await b.expectResponse('OK');
      await b.expectResponse('OK');
      await b.expectClosed();
    } finally {
      b.close();
    }
    assert.is((await topicStats(d, 'hc'))?.message_count, 2);
    // a reset in the middle of a body
    const r = await WireConn.open(d.tcpPort);
    r.write(Buffer.concat([line('PUB t'), int32(1000), Buffer.alloc(10)]));
    r.socket.resetAndDestroy();
    // a connection that sends nothing at all
    const n = await WireConn.open(d.tcpPort, { magic: false });
    n.close();
    await assertHealthy(d);
  });
});

// ---------------------------------------------------------------------------------------------
// pipelining, a consumer that never reads, many connections

test('1000 PUBs pipelined in one write are answered with 1000 OKs in order', async () => {
  await withNsqd({}, async (d) => {
    const c = await WireConn.open(d.tcpPort);
    try {
      const parts: Buffer[] = [];
      for (let i = 0; i < 1000; i++) parts.push(line('PUB pipe'), sized(`m${i}`));
      c.write(Buffer.concat(parts));
      for (let i = 0; i < 1000; i++) await c.expectResponse('OK');
      assert.is((await topicStats(d, 'pipe'))?.message_count, 1000);
    } finally {
      c.close();
    }
    const s = await WireConn.open(d.tcpPort);
    try {
      await s.sub('pipe', 'c');
      s.cmd('RDY 1000');
      const ms = await readMessages(s, 1000);
      ms.forEach((m, i) => assert.is(m.body.toString(), `m${i}`));
    } finally {
      s.close();
    }
  });
});

test('a consumer that never reads (RDY 2500, 10,000 × 4 KiB messages) does not stall the daemon', async () => {
  await withNsqd({}, async (d) => {
    const slow = await WireConn.open(d.tcpPort);
    const p = await WireConn.open(d.tcpPort, { timeoutMs: 20000 });
    try {
      await slow.sub('flood', 'c');
      slow.cmd('RDY 2500');
      await expectAlive(slow);
      slow.socket.pause(); // stop reading: the kernel buffers fill, nsqd's writes back up
      const body = Buffer.alloc(4096, 0x66);
      for (let batch = 0; batch < 10; batch++) await p.mpub('flood', Array.from({ length: 1000 }, () => body));
      assert.is((await topicStats(d, 'flood'))?.message_count, 10000);
      // another client's PUB, HTTP /ping and /stats are answered
      const q = await WireConn.open(d.tcpPort);
      try {
        await q.pub('other', 'x');
      } finally {
        q.close();
      }
      const ping = await http('GET', `${d.url}/ping`);
      assert.is(ping.status, 200);
      assert.is(ping.text, 'OK');
      const ch = await channelStats(d, 'flood', 'c');
      assert.ok(ch !== undefined && ch.in_flight_count <= 2500, 'RDY caps what is in flight to the stuck client');
      // a second consumer on the same channel gets the rest
      const fast = await WireConn.open(d.tcpPort);
      try {
        await fast.sub('flood', 'c');
        fast.cmd('RDY 10');
        const ms = await readMessages(fast, 10);
        for (const m of ms) assert.is(m.body.length, 4096);
        await expectAlive(fast); // RDY 10 is full, so the next frame is this PUB's OK
      } finally {
        fast.close();
      }
    } finally {
      slow.close();
      p.close();
    }
    await assertHealthy(d);
  });
});

test('200 concurrent connections each publishing: every message accepted and delivered once', async () => {
  await withNsqd({}, async (d) => {
    const conns = await Promise.all(Array.from({ length: 200 }, () => WireConn.open(d.tcpPort, { timeoutMs: 15000 })));
    try {
      await Promise.all(conns.map(async (c, i) => {
        await c.pub('many', `p${i}`);
        await c.mpub('many', [`a${i}`, `b${i}`]);
      }));
    } finally {
      for (const c of conns) c.close();
    }
    assert.is((await topicStats(d, 'many'))?.message_count, 600);
    const s = await WireConn.open(d.tcpPort);
    try {
      await s.sub('many', 'c');
      s.cmd('RDY 600');
      const ms = await readMessages(s, 600);
      const got = new Set(ms.map((m) => m.body.toString()));
      assert.is(got.size, 600);
      for (let i = 0; i < 200; i++) {
        for (const pre of ['p', 'a', 'b']) assert.ok(got.has(`${pre}${i}`), `${pre}${i} delivered`);
      }
      assert.is(new Set(ms.map((m) => m.id)).size, 600, 'distinct ids');
    } finally {
      s.close();
    }
    await assertHealthy(d);
  });
});

// ---------------------------------------------------------------------------------------------
// one byte at a time

async function writeBytewise(c: WireConn, b: Buffer): Promise<void> {
  for (let i = 0; i < b.length; i++) {
    await new Promise<void>((res, rej) => c.socket.write(b.subarray(i, i + 1), (e) => (e ? rej(e) : res())));
    await new Promise((r) => setImmediate(r));
  }
}

/** A frame with the run-dependent parts (timestamp, id) checked and dropped. */
function normalize(f: Frame): string {
  if (f.type !== 2) return `${f.type} ${f.data.toString('latin1')}`;
  const m = decodeMessage(f.data);
  assert.match(m.id, /^[0-9a-f]{16}$/);
  return `2 size=${f.data.length + 4} attempts=${m.attempts} body=${JSON.stringify(m.body.toString('latin1'))}`;
}

const SESSION_EXPECTED = [
  '0 {"max_rdy_count":2500,"version":"1.3.0","max_msg_timeout":900000,"msg_timeout":30000,"tls_v1":false,"deflate":false,"deflate_level":6,"max_deflate_level":6,"snappy":false,"sample_rate":0,"auth_required":false,"output_buffer_size":16384,"output_buffer_timeout":250}',
  '0 OK', '0 OK', '0 OK', '0 OK', '0 OK',
  '2 size=33 attempts=1 body="one"',
  '2 size=33 attempts=1 body="two"',
  '2 size=48 attempts=1 body="three\\nwith newline"',
  '2 size=34 attempts=1 body="four"',
  '2 size=34 attempts=1 body="five"',
  `2 size=35 attempts=1 body=${JSON.stringify(Buffer.from([0, 10, 13, 32, 255]).toString('latin1'))}`,
  '1 E_FIN_FAILED FIN 0000000000000000 failed ID not in flight',
  '1 E_REQ_FAILED REQ 0000000000000000 failed ID not in flight',
  '1 E_TOUCH_FAILED TOUCH 0000000000000000 failed ID not in flight',
  '2 size=34 attempts=2 body="four"',
  '0 CLOSE_WAIT',
  '0 OK',
  '1 E_INVALID invalid command BOGUS',
];

async function runSession(bytewise: boolean): Promise<string[]> {
  const d = await startNsqd();
  const c = await WireConn.open(d.tcpPort, { magic: false, timeoutMs: 10000 });
  c.socket.setNoDelay(true);
  const send = (b: Buffer): Promise<void> => (bytewise ? writeBytewise(c, b) : Promise.resolve(c.write(b)));
  const frames: string[] = [];
  const read = async (n: number): Promise<Frame[]> => {
    const out: Frame[] = [];
    for (let i = 0; i < n; i++) {
      const f = await c.readFrame();
      out.push(f);
      frames.push(normalize(f));
    }
    return out;
  };
  try {
    await send(Buffer.concat([
      Buffer.from('  V2'),
      line('IDENTIFY'), sized(JSON.stringify({ client_id: 'bytewise', feature_negotiation: true, msg_timeout: 30000 })),
      line('PUB bt'), sized('one'),
      line('MPUB bt'), mpubBody(['two', 'three\nwith newline', 'four']),
      Buffer.from('DPUB bt 0\r\n'), sized('five'),
      line('NOP'),
      line('PUB bt'), sized(Buffer.from([0, 10, 13, 32, 255])),
      line('SUB bt ch'),
      line('RDY 10'),
    ]));
    const msgs = (await read(12)).slice(6).map((f) => decodeMessage(f.data));
    const id = (i: number): string => msgs[i]!.id;
    await send(Buffer.from(
      `FIN ${id(0)}\nFIN ${id(1)}\nFIN ${id(2)}\nTOUCH ${id(4)}\n` +
      'FIN 0000000000000000\nREQ 0000000000000000 0\nTOUCH 0000000000000000\nNOP\n', 'latin1'));
    await read(3);
    await send(Buffer.from(`REQ ${id(3)} 0\n`, 'latin1'));
    const [again] = await read(1);
    await send(Buffer.from(`FIN ${decodeMessage(again!.data).id}\nFIN ${id(4)}\nFIN ${id(5)}\nCLS\n`, 'latin1'));
    await read(1);
    await send(Buffer.concat([line('RDY 5'), line('PUB bt'), sized('seven')]));
    await read(1);
    await send(line('BOGUS'));
    await read(1);
    await c.expectClosed();
    const ch = await channelStats(d, 'bt', 'ch');
    assert.is(ch?.in_flight_count, 0);
    assert.is(ch?.depth, 1);
    assert.is(ch?.message_count, 7);
    assert.is(ch?.requeue_count, 1);
    await assertHealthy(d);
    return frames;
  } catch (e) {
    throw new Error(`${bytewise ? 'bytewise' : 'whole'} session after frames ${JSON.stringify(frames)}: ${(e as Error).message}`);
  } finally {
    c.close();
    await d.close();
  }
}

test('a whole session written one byte at a time yields exactly the frames of writing it at once', async () => {
  const whole = await runSession(false);
  assert.equal(whole, SESSION_EXPECTED);
  const bytewise = await runSession(true);
  assert.equal(bytewise, whole);
});


test('a bug that throws while commands run ends that connection, logged with its stack; nsqd keeps serving', async () => {
  const logs: string[] = [];
  const d = await startNsqd({ logger: new Logger({ prefix: '[nsqd] ', level: 1, write: (l) => void logs.push(l) }) });
  // The next batch of commands read from a client throws.
  const undo = throwOnce(ClientV2.prototype, 'commandRead');
  try {
    const victim = await WireConn.open(d.tcpPort);
    victim.write('NOP\n');
    await victim.expectClosed();
    assert.ok(logs.some((l) => l.includes('internal error - Error: injected fault') && l.includes('    at ')), 'logged with the stack');
    const c = await WireConn.open(d.tcpPort);
    try {
      await c.pub('after_fault', 'x');
    } finally {
      c.close();
    }
  } finally {
    undo();
    await d.close();
  }
});

test('a channel counts in message_count only what its queue stored, as nsqd\'s Channel.PutMessage, and nsqd\'s pump logs each refused message and goes on with the next', async () => {
  const lines: string[] = [];
  const logger = new Logger({ prefix: '', level: 2, write: (l) => void lines.push(l.trimEnd()) });
  const d = await startNsqd({ memQueueSize: 0, logger });
  const proto = DiskQueue.prototype as unknown as { put(this: DiskQueue, p: Uint8Array, over?: boolean): Error | null };
  const original = proto.put;
  try {
    // Channel queues (named topic:channel) refuse the messages m1 and m3, however the topic batches them.
    proto.put = function refusing(this: DiskQueue, p: Uint8Array, over?: boolean): Error | null {
      const body = Buffer.from(p.buffer, p.byteOffset + 26, p.length - 26).toString();
      if ((this as unknown as { o: { name: string } }).o.name.endsWith(':c') && (body === 'm1' || body === 'm3')) return new Error('injected write error');
      return original.call(this, p, over);
    };
    const refusals = (topic: string): number => lines.filter((l) => new RegExp(`ERROR: TOPIC\\(${topic}\\) ERROR: failed to put msg\\([0-9a-f]{16}\\) to channel\\(c\\) - injected write error$`).test(l)).length;
    const channelStats = async (topic: string): Promise<[number, number]> => {
      const s = JSON.parse((await http('GET', `${d.url}/stats?format=json&topic=${topic}`)).text) as { topics: { channels: { message_count: number; depth: number }[] }[] };
      const ch = s.topics[0]!.channels[0]!;
      return [ch.message_count, ch.depth];
    };
    for (const [topic, publish] of [
      ['t', async () => {
        for (let i = 0; i < 4; i++) assert.is((await http('POST', `${d.url}/pub?topic=t`, `m${i}`)).status, 200);
      }],
      // One MPUB: a refused message does not stop the ones after it.
      ['t2', async () => assert.is((await http('POST', `${d.url}/mpub?topic=t2`, 'm0\nm1\nm2\nm3')).status, 200)],
    ] as const) {
      assert.is((await http('POST', `${d.url}/topic/create?topic=${topic}`)).status, 200);
      assert.is((await http('POST', `${d.url}/channel/create?topic=${topic}&channel=c`)).status, 200);
      await publish();
      // The topic hands messages to its channel in its own time: wait until all four were tried.
      await waitFor(async () => (await channelStats(topic))[1] + refusals(topic) >= 4, 5000, `${topic}'s messages to reach the channel`);
      assert.equal(await channelStats(topic), [2, 2], topic);
      assert.is(refusals(topic), 2, lines.join('\n'));
    }
  } finally {
    proto.put = original;
    await d.close();
  }
});

test('SUB and PUB arriving while a channel or topic is deleted are refused ("exiting") as by nsqd; nothing re-opens the files being removed', async () => {
  const logs: string[] = [];
  // Each command is written the moment nsqd logs that the delete began, so it arrives while the
  // files are being removed (small segments make that several file operations).
  let onLine: ((l: string) => void) | null = null;
  const logger = new Logger({ prefix: '[nsqd] ', level: 1, write: (l) => { logs.push(l); onLine?.(l); } });
  const d = await startNsqd({ memQueueSize: 0, maxBytesPerFile: 4096, logger });
  try {
    const p = await WireConn.open(d.tcpPort);
    const body = Buffer.alloc(200, 0x61);
    for (let round = 0; round < 3; round++) {
      const topic = `race_${round}`;
      await http('POST', `${d.url}/topic/create?topic=${topic}`);
      await http('POST', `${d.url}/channel/create?topic=${topic}&channel=c`);
      await p.mpub(topic, Array.from({ length: 300 }, () => body));
      await waitFor(async () => (await channelStats(d, topic, 'c'))?.depth === 300, 10_000, 'the channel holds 300');
      const sub = await WireConn.open(d.tcpPort);
      const pub = await WireConn.open(d.tcpPort);
      // The HTTP API treats an object being deleted as gone: 404, never a 500 from its closed queue.
      const apiDuring: Promise<number>[] = [];
      let metaDuring = '';
      const api = (path: string): void => void apiDuring.push(http('POST', `${d.url}${path}`).then((r) => r.status));
      onLine = (l) => {
        if (l.includes('CHANNEL(c): deleting')) {
          sub.cmd(`SUB ${topic} c`);
          api(`/channel/empty?topic=${topic}&channel=c`);
        }
        if (l.includes(`TOPIC(${topic}): deleting`) && !l.includes('channel')) {
          pub.cmd(`PUB ${topic}`, 'after');
          api(`/topic/empty?topic=${topic}`);
          // Metadata written meanwhile (any change elsewhere) no longer lists it.
          d.nsqd.persistMetadata();
          metaDuring = readFileSync(join(d.dataPath, 'nsqd.dat'), 'utf8');
        }
      };
      assert.is((await http('POST', `${d.url}/channel/delete?topic=${topic}&channel=c`)).status, 200);
      assert.is((await sub.readFrame()).data.toString(), 'E_SUB_FAILED SUB failed exiting');
      assert.is(await channelStats(d, topic, 'c'), undefined, 'no channel re-created on the deleted files');
      assert.is((await http('POST', `${d.url}/topic/delete?topic=${topic}`)).status, 200);
      assert.is((await pub.readFrame()).data.toString(), 'E_PUB_FAILED PUB failed exiting');
      assert.is(await topicStats(d, topic), undefined, 'no topic re-created on the deleted files');
      assert.equal(await Promise.all(apiDuring), [404, 404]);
      assert.not.ok(metaDuring.includes(`"name":"${topic}"`), metaDuring);
      onLine = null;
      sub.close();
      pub.close();
      // Afterwards the names are free again: fresh and empty.
      const again = await WireConn.open(d.tcpPort);
      await again.sub(topic, 'c');
      assert.is((await channelStats(d, topic, 'c'))?.depth, 0);
      again.close();
    }
    p.close();
    // A delete empties then deletes each disk queue, logged once each (go-diskqueue's words).
    const dq = logs.filter((l) => l.includes('DISKQUEUE(race_0:c)')).map((l) => l.replace(/^.* INFO: /, '').trimEnd());
    assert.equal(dq, ['DISKQUEUE(race_0:c): emptying', 'DISKQUEUE(race_0:c): deleting'], logs.join(''));
    // (The refused commands are logged as client errors, as nsqd logs them.)
    assert.equal(logs.filter((l) => l.includes('ERROR') && !/ERROR: (\[[^\]]+\]|client\([^)]+\)) - E_(SUB|PUB)_FAILED/.test(l)), [], 'no disk queue errors (a file reopened while deleted)');
    await assertHealthy(d);
  } finally {
    await d.close();
  }
});


// ---------------------------------------------------------------------------------------------
// MPUBs held across reads (FrameParser SRC_PARTS: walked read by read, never copied whole)

/** Write `b` in pieces of 1..maxPiece bytes, each its own write after a turn of the loop, so nsqd reads it in many pieces. */
async function writeInPieces(c: WireConn, b: Buffer, seed: number, maxPiece: number): Promise<void> {
  let x = seed;
  for (let i = 0; i < b.length;) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    const n = 1 + ((x >>> 8) % maxPiece);
    const piece = b.subarray(i, Math.min(b.length, i + n));
    await new Promise<void>((res, rej) => c.socket.write(piece, (e) => (e ? rej(e) : res())));
    await new Promise((r) => setImmediate(r));
    i += n;
  }
}

for (const [what, opts] of [['memory queues', {}], ['disk queues (--mem-queue-size=0)', { memQueueSize: 0 }]] as const) {
test(`MPUBs that span many reads publish every message whole and in order, however the stream is cut: ${what}`, async () => {
  const d = await startNsqd(opts);
  try {
    // Messages of 16 B, 200 B, 5 KB (larger than most pieces) and of mixed sizes; each body unique.
    const batches: Buffer[][] = [
      Array.from({ length: 300 }, (_, i) => Buffer.concat([Buffer.from(`a${i}:`), bytes(i, 16)])),
      Array.from({ length: 60 }, (_, i) => Buffer.concat([Buffer.from(`b${i}:`), bytes(1000 + i, 200)])),
      Array.from({ length: 4 }, (_, i) => Buffer.concat([Buffer.from(`c${i}:`), bytes(2000 + i, 5000)])),
      Array.from({ length: 80 }, (_, i) => Buffer.concat([Buffer.from(`d${i}:`), bytes(3000 + i, 1 + ((i * 397) % 1500))])),
    ];
    const expected = batches.flat().map((b) => b.toString('latin1'));
    for (const [seed, maxPiece] of [[1, 7], [2, 700], [3, 9000]] as const) {
      const topic = `spanned_${seed}`;
      const c = await WireConn.open(d.tcpPort);
      const s = await WireConn.open(d.tcpPort);
      try {
        c.socket.setNoDelay(true);
        await writeInPieces(c, Buffer.concat(batches.flatMap((b) => [line(`MPUB ${topic}`), mpubBody(b)])), seed, maxPiece);
        for (let i = 0; i < batches.length; i++) await c.expectResponse('OK');
        await s.sub(topic, 'ch');
        s.write(`RDY ${expected.length}\n`);
        const got: string[] = [];
        while (got.length < expected.length) got.push((await s.readMessage()).body.toString('latin1'));
        assert.equal(got, expected, `pieces of up to ${maxPiece} bytes`);
      } finally {
        c.close();
        s.close();
      }
    }
    await assertHealthy(d);
  } finally {
    await d.close();
  }
});
}

test('an MPUB held across reads whose later message has a bad size fails with nsqd\'s error and publishes none of it', async () => {
  const d = await startNsqd();
  try {
    const good = Array.from({ length: 50 }, (_, i) => bytes(i, 100));
    const body = mpubBody([...good, 'x']);
    // Message 50's size field (just before its one byte) becomes 0.
    body.writeInt32BE(0, body.length - 5);
    const c = await WireConn.open(d.tcpPort);
    try {
      c.socket.setNoDelay(true);
      await writeInPieces(c, Buffer.concat([line('MPUB spanned_bad'), body]), 9, 400);
      await c.expectError('E_BAD_MESSAGE MPUB invalid message(50) body size 0');
      await c.expectClosed();
    } finally {
      c.close();
    }
    const stats = JSON.parse((await http('GET', `${d.url}/stats?format=json&topic=spanned_bad`)).text) as { topics: { message_count: number }[] };
    assert.is(stats.topics[0]?.message_count ?? 0, 0);
    await assertHealthy(d);
  } finally {
    await d.close();
  }
});

test.run();
