// Conformance suite for the memory queue of message records: FIFO order, the count bound,
// records held by reference until released, chunk reuse never corrupting a held record,
// oversized records, clear() and transferTo(). Mounted per implementation.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RECORD_HEADER, RecordRing, type Chunk } from '../../src/native/record-ring.js';
import { BodyParts } from '../../src/protocol/body-parts.js';
import { rng } from './frame-parser.suite.js';

/** What a ring implementation must provide (the TypeScript RecordRing's shape). */
export type RingFactory = (maxCount: number) => RecordRing;

function payload(i: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = (i * 31 + k) & 0xff;
  b.writeUInt32BE(i >>> 0, 0);
  return b;
}

function read(ring: RecordRing): { chunk: Chunk; body: Buffer } | null {
  const chunk = ring.shift();
  if (chunk === null) return null;
  const off = ring.offset;
  const len = ring.length;
  assert.is(chunk.buf.readUInt32BE(off), len + 4, 'frame size field');
  assert.is(chunk.buf.readUInt32BE(off + 4), 2, 'frame type field');
  return { chunk, body: chunk.buf.subarray(off + RECORD_HEADER, off + RECORD_HEADER + len) };
}

/** The suite for one implementation. */
export function ringBufferSuite(name: string, make: RingFactory): void {
  const t = suite(`RecordRing (${name})`);

  t('FIFO order, counts and byte totals across many chunks', () => {
    const ring = make(1_000_000);
    const sizes = [26, 27, 200, 4096, 70_000];
    let bytes = 0;
    for (let i = 0; i < 5000; i++) {
      const p = payload(i, sizes[i % sizes.length]!);
      assert.ok(ring.push(p, 0, p.length));
      bytes += p.length;
    }
    assert.is(ring.count, 5000);
    assert.is(ring.bytes, bytes);
    for (let i = 0; i < 5000; i++) {
      const r = read(ring)!;
      assert.ok(r.body.equals(payload(i, sizes[i % sizes.length]!)), `record ${i}`);
      ring.release(r.chunk);
    }
    assert.is(ring.count, 0);
    assert.is(ring.bytes, 0);
    assert.is(ring.shift(), null);
  });

  t('a ring growing through many full-size chunks, some prepared ahead off-thread (native), keeps every record intact', async () => {
    const ring = make(1_000_000);
    const len = 4000;
    let pushed = 0;
    // ~24 MiB in rounds, yielding between them so chunks prepared ahead arrive and are used.
    for (let round = 0; round < 24; round++) {
      for (let k = 0; k < 256; k++, pushed++) {
        const p = payload(pushed, len);
        assert.ok(ring.push(p, 0, p.length));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    for (let i = 0; i < pushed; i++) {
      const r = read(ring)!;
      assert.ok(r.body.equals(payload(i, len)), `record ${i}`);
      ring.release(r.chunk);
    }
    assert.is(ring.shift(), null);
  });

  t('bounded by maxCount unless forced', () => {
    const ring = make(3);
    const p = payload(1, 40);
    assert.ok(ring.push(p, 0, 40) && ring.push(p, 0, 40) && ring.push(p, 0, 40));
    assert.is(ring.push(p, 0, 40), false);
    assert.ok(ring.push(p, 0, 40, true));
    assert.is(ring.count, 4);
    assert.is(make(0).push(p, 0, 40), false);
  });

  t('a record held across heavy reuse keeps its bytes', () => {
    const ring = make(1_000_000);
    const r = rng(3);
    const held: { chunk: Chunk; body: Buffer; expect: Buffer }[] = [];
    let next = 0;
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(r() * 400);
      for (let k = 0; k < n; k++) {
        const p = payload(next++, 26 + Math.floor(r() * 3000));
        ring.push(p, 0, p.length);
      }
      let got;
      while ((got = read(ring)) !== null) {
        const expect = Buffer.from(got.body);
        if (r() < 0.05) held.push({ ...got, expect });
        else ring.release(got.chunk);
      }
      // Release some held ones; the rest must still be intact after all this churn.
      while (held.length > 20) {
        const h = held.shift()!;
        assert.ok(h.body.equals(h.expect), 'held record changed before release');
        ring.release(h.chunk);
      }
    }
    for (const h of held) assert.ok(h.body.equals(h.expect), 'held record changed');
  });

  t('push copies from an offset of a larger buffer', () => {
    const ring = make(10);
    const big = Buffer.concat([Buffer.from('xxxx'), payload(7, 100), Buffer.from('yyyy')]);
    ring.push(big, 4, 100);
    ring.push(big, 4, 20);
    assert.ok(read(ring)!.body.equals(payload(7, 100)));
    assert.ok(read(ring)!.body.equals(payload(7, 100).subarray(0, 20)));
  });

  t('clear() drops queued records; popped ones stay valid until released', () => {
    const ring = make(100);
    for (let i = 0; i < 10; i++) ring.push(payload(i, 50), 0, 50);
    const first = read(ring)!;
    const copy = Buffer.from(first.body);
    ring.clear();
    assert.is(ring.count, 0);
    assert.is(ring.shift(), null);
    for (let i = 0; i < 1000; i++) ring.push(payload(1000 + i, 50), 0, 50);
    assert.ok(first.body.equals(copy));
    ring.release(first.chunk);
  });

  t('transferTo moves the whole backlog without copying and leaves the source empty', () => {
    const a = make(1_000_000);
    const b = make(1_000_000);
    for (let i = 0; i < 20_000; i++) a.push(payload(i, 200), 0, 200);
    const first = read(a)!;
    a.release(first.chunk);
    assert.is(a.transferTo(b), 19_999);
    assert.is(a.count, 0);
    assert.is(b.count, 19_999);
    assert.is(b.bytes, 19_999 * 200);
    a.push(payload(-1, 30), 0, 30);
    for (let i = 1; i < 20_000; i++) {
      const r = read(b)!;
      assert.ok(r.body.equals(payload(i, 200)), `record ${i}`);
      b.release(r.chunk);
    }
    assert.ok(read(a)!.body.equals(payload(-1, 30)));
    b.push(payload(5, 10), 0, 10);
    a.push(payload(6, 10), 0, 10);
    assert.is(b.transferTo(a), 0, 'no transfer into a non-empty ring');
    assert.is(b.count, 1);
  });

  t('pushBatch and shiftBatch move many records per call, across chunks and up to the bound', () => {
    const ring = make(50_000);
    const sizes = [26, 200, 4096, 65_536];
    const bodies = Array.from({ length: 3000 }, (_, i) => payload(i, sizes[i % 4]!));
    const src = Buffer.concat(bodies);
    const starts = new Int32Array(bodies.length);
    const lens = new Int32Array(bodies.length);
    let pos = 0;
    bodies.forEach((b, i) => {
      starts[i] = pos;
      lens[i] = b.length;
      pos += b.length;
    });
    assert.is(ring.pushBatch(src, starts, lens, 0, 1000), 1000);
    assert.is(ring.pushBatch(src, starts, lens, 1000, 2000), 2000);
    assert.is(ring.count, 3000);
    const offs = new Int32Array(64);
    const ls = new Int32Array(64);
    let seen = 0;
    while (ring.count > 0) {
      const chunk = ring.shiftBatch(64, offs, ls)!;
      assert.ok(ring.batchCount >= 1 && ring.batchCount <= 64);
      for (let k = 0; k < ring.batchCount; k++) {
        const body = chunk.buf.subarray(offs[k]! + RECORD_HEADER, offs[k]! + RECORD_HEADER + ls[k]!);
        assert.ok(body.equals(bodies[seen]!), `record ${seen}`);
        seen++;
      }
      ring.release(chunk);
    }
    assert.is(seen, 3000);
    const small = make(10);
    assert.is(small.pushBatch(src, starts, lens, 0, 25), 10, 'only as many as the bound allows');
    assert.is(small.pushBatch(src, starts, lens, 0, 25, true), 25, 'forced');
  });

  t('pushMessageParts stores a header and a body given in parts as pushMessages stores them joined, up to the bound', () => {
    const ring = make(3);
    const twin = make(3);
    const headers = payload(7, 26);
    const lens = [1, 26, 3000, 70_000];
    for (const len of lens) {
      const body = Buffer.from(Array.from({ length: len }, (_, k) => (k * 7 + len) & 0xff));
      // Cut the body into uneven parts (an empty one included), as a FrameParser may hold it.
      const cuts = [0, Math.floor(len / 3), Math.floor(len / 3), len - 1, len].filter((c) => c <= len);
      const parts = new BodyParts();
      cuts.slice(1).forEach((c, k) => {
        if (c > cuts[k]!) parts.add(body, cuts[k]!, c);
      });
      const r = make(3);
      assert.ok(r.pushMessageParts(headers, parts), `len ${len}`);
      const t2 = make(3);
      assert.is(t2.pushMessages(headers, body, Int32Array.of(0), Int32Array.of(len), 0, 1), 1);
      assert.is(r.count, 1);
      assert.is(r.bytes, t2.bytes, 'byte totals');
      const a = read(r)!;
      const b = read(t2)!;
      assert.ok(a.body.equals(b.body), `record of len ${len}`);
      assert.ok(a.body.subarray(26).equals(body));
    }
    const two = new BodyParts();
    two.add(payload(1, 10), 0, 10);
    two.add(payload(2, 8), 3, 8);
    for (let i = 0; i < 3; i++) assert.ok(ring.pushMessageParts(headers, two));
    assert.not.ok(ring.pushMessageParts(headers, two), 'full at maxCount');
    assert.is(ring.count, 3);
    for (let i = 0; i < 3; i++) assert.ok(read(ring)!.body.subarray(26).equals(Buffer.concat([payload(1, 10), payload(2, 8).subarray(3)])));
    two.clear();
    assert.is(two.length, 0);
    assert.ok(twin.pushMessageParts(headers, two), 'an empty body');
    assert.is(read(twin)!.body.length, 26);
  });

  t.run();
}
