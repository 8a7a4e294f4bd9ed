// A PUB or DPUB body that arrives over several socket reads is held as views of those reads
// (FrameParser SRC_PARTS) and copied once, into each queue it goes to. Every place a published
// body can go must get it whole: channel memory queues, the topic's own queue before a channel
// exists, the disk queues (--mem-queue-size 0), deferred messages, and a publish waiting on
// another (pipelined behind it); also when the reads come out of TLS, a DEFLATE or a snappy stream.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nsq, { type Message } from 'nsqjs';
import { startNsqd } from '../helpers/daemons.js';
import { readMessages, sleep, withNsqd } from '../helpers/protocol-checks.js';
import { withTimeout, type WireConn } from '../helpers/wire.js';

/** A body whose every byte depends on its position and on `seed`. */
function bodyOf(seed: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) b[i] = (i * 131 + seed * 7 + (i >>> 9)) & 0xff;
  return b;
}

/**
 * Send `line` and the sized `body` in separate writes, with pauses so each arrives as its own
 * read: a cut inside the size field, then pieces of the body from 1 byte to tens of KiB.
 */
async function publishInPieces(c: WireConn, line: string, body: Buffer): Promise<void> {
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  const head = Buffer.concat([Buffer.from(`${line}\n`, 'latin1'), size]);
  c.write(head.subarray(0, head.length - 2));
  await sleep(15);
  const cuts = [0, 1, 700, 701, 3000, Math.floor(body.length / 2), body.length - 5, body.length].filter((x, i, a) => x <= body.length && (i === 0 || x > a[i - 1]!));
  c.write(Buffer.concat([head.subarray(head.length - 2), body.subarray(0, cuts[1])]));
  for (let k = 1; k < cuts.length - 1; k++) {
    await sleep(15);
    c.write(body.subarray(cuts[k], cuts[k + 1]));
  }
}

const SIZES = [2048, 5000, 100_000, 600_000];

test('PUB bodies that span reads reach every channel whole, from memory and from the topic queue', async () => {
  await withNsqd({}, async (_d, open) => {
    const p = await open();
    // Before any channel exists the topic queues them itself.
    for (const [i, len] of SIZES.entries()) {
      await publishInPieces(p, 'PUB parts', bodyOf(i, len));
      await p.expectResponse('OK');
    }
    const a = await open();
    await a.sub('parts', 'a');
    a.cmd('RDY 100');
    const backlog = await readMessages(a, SIZES.length);
    for (const [i, len] of SIZES.entries()) assert.ok(backlog[i]!.body.equals(bodyOf(i, len)), `topic queue: message ${i} of ${len} bytes`);
    for (const m of backlog) a.cmd(`FIN ${m.id}`);
    const b = await open();
    await b.sub('parts', 'b');
    b.cmd('RDY 100');
    for (const [i, len] of SIZES.entries()) {
      await publishInPieces(p, 'PUB parts', bodyOf(10 + i, len));
      await p.expectResponse('OK');
    }
    for (const c of [a, b]) {
      const got = await readMessages(c, SIZES.length);
      for (const [i, len] of SIZES.entries()) assert.ok(got[i]!.body.equals(bodyOf(10 + i, len)), `channel memory queue: message ${i} of ${len} bytes`);
    }
  });
});

test('PUB and DPUB bodies that span reads are stored whole on disk (--mem-queue-size 0) and deferred', async () => {
  await withNsqd({ memQueueSize: 0 }, async (_d, open) => {
    const c = await open();
    await c.sub('parts_disk', 'c');
    const p = await open();
    for (const [i, len] of SIZES.entries()) {
      await publishInPieces(p, 'PUB parts_disk', bodyOf(20 + i, len));
      await p.expectResponse('OK');
    }
    await publishInPieces(p, 'DPUB parts_disk 50', bodyOf(30, 70_000));
    await p.expectResponse('OK');
    c.cmd('RDY 100');
    const got = await readMessages(c, SIZES.length + 1);
    const bodies = got.map((m) => m.body);
    for (const [i, len] of SIZES.entries()) assert.ok(bodies[i]!.equals(bodyOf(20 + i, len)), `message ${i} of ${len} bytes from disk`);
    assert.ok(bodies[SIZES.length]!.equals(bodyOf(30, 70_000)), 'the deferred one');
  });
  await withNsqd({}, async (_d, open) => {
    const c = await open();
    await c.sub('parts_defer', 'c');
    c.cmd('RDY 10');
    const p = await open();
    await publishInPieces(p, 'DPUB parts_defer 30', bodyOf(40, 300_000));
    await p.expectResponse('OK');
    const [m] = await readMessages(c, 1);
    assert.ok(m!.body.equals(bodyOf(40, 300_000)), 'deferred in memory');
  });
});

test('a PUB held in parts behind another publish in the same reads is answered in order and stored whole (memory, and disk where publishes wait)', async () => {
  for (const opts of [{}, { memQueueSize: 0 }]) {
    await withNsqd(opts, async (_d, open) => {
      const c = await open();
      await c.sub('parts_pipe', 'c');
      const p = await open();
      // A small PUB, then a large one whose body arrives over later reads, then another small one.
      const big = bodyOf(50, 200_000);
      const small = (s: string): Buffer => {
        const b = Buffer.alloc(4);
        b.writeInt32BE(s.length, 0);
        return Buffer.concat([Buffer.from('PUB parts_pipe\n'), b, Buffer.from(s)]);
      };
      p.write(small('first'));
      await publishInPieces(p, 'PUB parts_pipe', big);
      p.write(small('last'));
      for (let i = 0; i < 3; i++) await p.expectResponse('OK');
      c.cmd('RDY 10');
      const got = await readMessages(c, 3);
      const where = 'memQueueSize' in opts ? 'disk' : 'memory';
      assert.is(got[0]!.body.toString(), 'first', where);
      assert.ok(got[1]!.body.equals(big), `${where}: the large body`);
      assert.is(got[2]!.body.toString(), 'last', where);
    });
  }
});

test('nsqjs PUBs of 100-600 KB through TLS, DEFLATE and snappy: the decoded reads are held and stored whole', async () => {
  const certs = fileURLToPath(new URL('../fixtures/certs/', import.meta.url));
  const ca = readFileSync(join(certs, 'ca.pem'));
  const d = await startNsqd({ tlsCert: join(certs, 'server.pem'), tlsKey: join(certs, 'server.key') });
  try {
    for (const [name, opts] of [
      ['plain', {}],
      ['deflate', { deflate: true, deflateLevel: 1 }],
      ['snappy', { snappy: true }],
      ['tls', { tls: true, ca }],
      ['tls_deflate', { tls: true, ca, deflate: true }],
    ] as [string, Record<string, unknown>][]) {
      const topic = `parts_${name}`;
      // Pseudo-random bytes, so DEFLATE cannot shrink them into one read.
      const bodies = [100_000, 250_000, 600_000].map((len, i) => {
        const b = Buffer.allocUnsafe(len);
        let x = (i + 1) * 2654435761;
        for (let k = 0; k < len; k++) {
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          b[k] = x >>> 24;
        }
        return b;
      });
      const w = new nsq.Writer('127.0.0.1', d.tcpPort, opts);
      await withTimeout(new Promise<void>((res, rej) => {
        w.once('ready', () => res());
        w.once('error', rej);
        w.connect();
      }), 5000, `${name}: writer ready`);
      for (const b of bodies) await new Promise<void>((res, rej) => w.publish(topic, b, (err) => (err ? rej(err) : res())));
      const r = new nsq.Reader(topic, 'ch', { nsqdTCPAddresses: [`127.0.0.1:${d.tcpPort}`], maxInFlight: 10, ...opts });
      const got: Buffer[] = [];
      try {
        await withTimeout(new Promise<void>((res, rej) => {
          r.on('error', rej);
          r.on('message', (m: Message) => {
            got.push(m.body);
            m.finish();
            if (got.length === bodies.length) res();
          });
          r.connect();
        }), 20000, `${name}: ${bodies.length} messages`);
      } finally {
        r.close();
        w.close();
      }
      for (const [i, b] of bodies.entries()) assert.ok(got.some((g) => g.equals(b)), `${name}: message ${i} of ${b.length} bytes arrived whole`);
    }
  } finally {
    await d.close();
  }
});

test.run();
