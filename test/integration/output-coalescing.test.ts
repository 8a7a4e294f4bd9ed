// nsqd's write path to consumers: one pump's message frames for a client leave in one coalesced
// socket write, through output buffers that nsqd's clients share and reuse once the socket is
// done with them. A buffer reused too early would show as another client's bytes in a message.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { assertHealthy, withNsqd } from '../helpers/protocol-checks.js';
import type { WireConn } from '../helpers/wire.js';

const SIZE = 4096;

/** Message i: its index, then bytes from a generator seeded by it (xorshift32). */
function body(i: number, size = SIZE): Buffer {
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32BE(i, 0);
  let x = (i * 2654435761 + 1) >>> 0 || 1;
  for (let k = 4; k < size; k++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[k] = x & 0xff;
  }
  return b;
}

/** Read `n` messages, FIN each, and check that each is one of ours, intact, seen once. */
async function drain(c: WireConn, n: number, who: string, size = SIZE): Promise<void> {
  const seen = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    const m = await c.readMessage(20000);
    const i = m.body.length === size ? m.body.readUInt32BE(0) : -1;
    assert.ok(i >= 0 && i < n, `${who}: message ${k} has index ${i} (length ${m.body.length})`);
    assert.ok(m.body.equals(body(i, size)), `${who}: message ${i} arrived with other bytes`);
    assert.is(seen[i], 0, `${who}: message ${i} arrived twice`);
    seen[i] = 1;
    c.cmd(`FIN ${m.id}`);
  }
}

/**
 * On a fresh nsqd, channels 'slow' and 'fast' of `topic`, each with a reader at RDY 2500; the slow
 * reader does not read while `run(publisher, fast)` publishes and drains the fast one, so nsqd's
 * writes to it wait in Node with their buffers. Then the slow reader must get all `n` intact.
 */
async function slowReaderBacksUp(topic: string, n: number, size: number, run: (p: WireConn, fast: WireConn) => Promise<void>): Promise<void> {
  await withNsqd({}, async (d, open) => {
    const p = await open({ timeoutMs: 20000 });
    const slow = await open({ timeoutMs: 20000 });
    const fast = await open({ timeoutMs: 20000 });
    await slow.sub(topic, 'slow');
    await fast.sub(topic, 'fast');
    slow.socket.pause();
    slow.cmd('RDY 2500');
    fast.cmd('RDY 2500');
    await run(p, fast);
    slow.socket.resume();
    await drain(slow, n, 'slow', size);
    await assertHealthy(d);
  });
}

test('a consumer whose writes back up gets every message intact while another channel drains the same messages through the shared buffers', async () => {
  const n = 6000;
  // 2500 × 4 KiB in flight to a reader that does not read: more than the kernel buffers hold.
  await slowReaderBacksUp('intact', n, SIZE, async (p, fast) => {
    for (let i = 0; i < n; i += 500) await p.mpub('intact', Array.from({ length: 500 }, (_, k) => body(i + k)));
    await drain(fast, n, 'fast');
  });
});

test('messages published one at a time, each written from a pooled buffer of the default output_buffer_size, reach a consumer whose writes back up intact while another drains them', async () => {
  const n = 3000;
  // One PUB per round trip: each delivery is one frame of exactly output_buffer_size (16 KiB:
  // 34 bytes of frame and message header, then the body), written at the end of its turn from
  // a 16 KiB buffer of the shared pool. 2500 in flight (40 MB) to the reader that does not read
  // is more than the kernel buffers hold: its writes wait in Node with their buffers while the
  // other reader's writes take buffers from the pool.
  const size = 16 * 1024 - 34;
  await slowReaderBacksUp('single', n, size, async (p, fast) => {
    const reading = drain(fast, n, 'fast', size);
    for (let i = 0; i < n; i++) await p.pub('single', body(i, size));
    await reading;
  });
});

test('a consumer with output buffering off (-1) and one with a 64-byte buffer get every message of a burst, in order', async () => {
  const n = 3000;
  await withNsqd({}, async (d, open) => {
    const p = await open({ timeoutMs: 20000 });
    const conns: WireConn[] = [];
    for (const [channel, size] of [
      ['off', -1],
      ['tiny', 64],
      ['default', 0],
    ] as const) {
      const c = await open({ timeoutMs: 20000 });
      await c.identify({ output_buffer_size: size });
      await c.sub('burst', channel);
      c.cmd('RDY 2500');
      conns.push(c);
    }
    for (let i = 0; i < n; i += 1000) await p.mpub('burst', Array.from({ length: 1000 }, (_, k) => body(i + k)));
    for (const c of conns) {
      for (let i = 0; i < n; i++) {
        const m = await c.readMessage(20000);
        assert.ok(m.body.equals(body(i)), `message ${i} out of order or altered`);
        c.cmd(`FIN ${m.id}`);
      }
    }
    await assertHealthy(d);
  });
});

test('output_buffer_timeout is a ticker, as in nsqd: a lone message after a quiet spell goes out at once (a tick is waiting), not a whole period later', async () => {
  await withNsqd({}, async (d, open) => {
    const p = await open();
    const c = await open({ timeoutMs: 20000 });
    // A 2 s ticker from IDENTIFY; RDY above 1, so a delivered message does not fill the window.
    await c.identify({ output_buffer_timeout: 2000 });
    await c.sub('lone', 'ch');
    c.cmd('RDY 10');
    // Quiet for more than a period: nsqd's ticker channel now holds a tick.
    await new Promise((r) => setTimeout(r, 2300));
    await p.pub('lone', Buffer.from('now'));
    // Waiting for the next tick would take until ~4 s after IDENTIFY, 1.7 s after this publish.
    const m = await c.readMessage(1500);
    assert.is(m.body.toString(), 'now');
    c.cmd(`FIN ${m.id}`);
    await assertHealthy(d);
  });
});

test.run();
