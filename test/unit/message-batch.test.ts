// PublishScratch.splitParts: the messages of an MPUB body held as ranges of socket reads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PublishScratch, joinPayload, type MessageBatch } from '../../src/nsqd/message-batch.js';
import { BodyParts } from '../../src/protocol/body-parts.js';
import { prng } from '../helpers/prng.js';
import { mpubBody } from '../helpers/wire.js';

/** Body i of a batch, read through joinPayload (header then body). */
function bodiesOf(b: MessageBatch): string[] {
  const headers = Buffer.alloc(26 * b.count, 7);
  return Array.from({ length: b.count }, (_, i) => joinPayload(headers, i, b).subarray(26).toString('latin1'));
}

/** `body` as ranges of pieces cut at `cuts` (each piece its own buffer, with bytes around it). */
function partsOf(body: Buffer, cuts: number[]): BodyParts {
  const parts = new BodyParts();
  let prev = 0;
  for (const c of [...cuts, body.length].sort((a, b) => a - b)) {
    if (c <= prev) continue;
    const buf = Buffer.concat([Buffer.from('xx'), body.subarray(prev, c), Buffer.from('y')]);
    parts.add(buf, 2, 2 + c - prev);
    prev = c;
  }
  return parts;
}

test('splitParts yields the messages of any cut of an MPUB body, reads kept as segments and straddlers stitched', () => {
  const r = prng(5);
  const scratch = new PublishScratch();
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(r() * 60);
    const msgs = Array.from({ length: n }, (_, i) => Buffer.from(Array.from({ length: 1 + Math.floor(r() * (round % 3 === 0 ? 5 : 300)) }, (_, k) => (i * 31 + k + round) & 0xff)));
    const body = mpubBody(msgs).subarray(4);
    const cuts = Array.from({ length: Math.floor(r() * 12) }, () => 1 + Math.floor(r() * (body.length - 1)));
    const parts = partsOf(body, cuts);
    const b = scratch.splitParts(parts, 1 << 20);
    assert.ok(b !== null, `round ${round}`);
    assert.is(b.count, n);
    assert.equal(bodiesOf(b), msgs.map((m) => m.toString('latin1')), `round ${round}, cuts ${cuts}`);
    // One segment per range at most, plus one per stitched message; ends ascend to the count.
    assert.ok(b.segCount >= 1 && b.segCount <= parts.count + n);
    for (let k = 1; k < b.segCount; k++) assert.ok(b.segEnds[k]! > b.segEnds[k - 1]!);
    assert.is(b.segEnds[b.segCount - 1], n);
    scratch.release();
    assert.is(b.segCount, 0, 'release() lets go of the reads');
  }
});

test('splitParts keeps messages wholly inside a read in that read (not copied)', () => {
  const msgs = Array.from({ length: 10 }, (_, i) => Buffer.alloc(100, i));
  const body = mpubBody(msgs).subarray(4);
  // Cut inside message 5's body: messages 0-4 in the first read, 6-9 in the second, 5 stitched.
  const parts = partsOf(body, [4 + 5 * 104 + 50]);
  const b = new PublishScratch().splitParts(parts, 1 << 20);
  assert.ok(b !== null);
  assert.is(b.segCount, 3);
  assert.equal([b.segEnds[0], b.segEnds[1], b.segEnds[2]], [5, 6, 10]);
  assert.is(b.segBufs[0], parts.bufs[0]);
  assert.is(b.segBufs[2], parts.bufs[1]);
  assert.ok(b.segBufs[1] !== parts.bufs[0] && b.segBufs[1] !== parts.bufs[1], 'the straddler is joined elsewhere');
});

test('splitParts refuses parts that do not hold the count of messages they declare', () => {
  const body = mpubBody(['abc', 'de']).subarray(4);
  const scratch = new PublishScratch();
  assert.is(scratch.splitParts(partsOf(body.subarray(0, body.length - 1), [3]), 1 << 20), null, 'a message cut short');
  const zero = Buffer.from(body);
  zero.writeInt32BE(0, 4);
  assert.is(scratch.splitParts(partsOf(zero, []), 1 << 20), null, 'a zero size');
  assert.is(scratch.splitParts(new BodyParts(), 1 << 20), null, 'no bytes');
});

test.run();
