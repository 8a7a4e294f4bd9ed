// Conformance suite for the FrameEncoder: gathering stored frames from several sources into one
// output buffer, and refusing (with -1, never a crash) anything out of range.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { idState, type FrameEncoder } from '../../src/native/backend.js';
import { rng } from './frame-parser.suite.js';

/** The suite for one encoder. */
export function frameEncoderSuite(name: string, enc: FrameEncoder): void {
  const t = suite(`FrameEncoder (${name})`);

  t('gathers frames of 16 B, 200 B, 4 KiB and 64 KiB from several sources in order', () => {
    const r = rng(11);
    const sources = [0, 1, 2].map((k) => Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * (k + 3)) & 0xff)));
    for (const size of [16, 200, 4096, 65_536]) {
      for (const count of [1, 3, 4, 17, 100]) {
        const index = new Int32Array(count);
        const offsets = new Int32Array(count);
        const lengths = new Int32Array(count);
        const expect: Buffer[] = [];
        for (let i = 0; i < count; i++) {
          index[i] = Math.floor(r() * 3);
          offsets[i] = Math.floor(r() * (300_000 - size));
          lengths[i] = size;
          expect.push(sources[index[i]!]!.subarray(offsets[i], offsets[i]! + size));
        }
        const out = Buffer.alloc(10 + size * count);
        const end = enc.gather(out, 10, sources, index, offsets, lengths, count);
        assert.is(end, 10 + size * count);
        assert.ok(out.subarray(10).equals(Buffer.concat(expect)), `size ${size} count ${count}`);
      }
    }
  });

  t('out-of-range frames and a full output are -1, not a crash', () => {
    const src = [Buffer.alloc(100, 7)];
    const out = Buffer.alloc(50);
    const one = (i: number, o: number, l: number, at = 0): number =>
      enc.gather(out, at, src, Int32Array.of(i, 0, 0, 0), Int32Array.of(o, 0, 0, 0), Int32Array.of(l, 1, 1, 1), 4);
    assert.is(one(1, 0, 1), -1, 'bad source index');
    assert.is(one(-1, 0, 1), -1, 'negative source index');
    assert.is(one(0, 90, 20), -1, 'past the source');
    assert.is(one(0, -1, 5), -1, 'negative offset');
    assert.is(one(0, 0, 60), -1, 'output too small');
    assert.is(one(0, 0, 10, 51), -1, 'offset past the output');
    assert.is(enc.gather(out, 0, src, new Int32Array(1), new Int32Array(1), new Int32Array(1), 5), -1, 'count beyond the arrays');
    assert.is(one(0, 0, 10), 13);
  });

  t('writeHeaders: timestamp, attempts 0 and NSQ ids (((ns >> 20) - twepoch) << 22 | node << 12 | sequence), in order', () => {
    for (const count of [1, 3, 7, 8, 9, 100]) {
      const nowMs = 1700000000123.4567;
      const ids = idState(5);
      const out = Buffer.alloc(26 * count + 3, 0xee);
      assert.is(enc.writeHeaders(out, count, nowMs, ids), count);
      const ns = BigInt(Math.round(nowMs * 1e6));
      for (let i = 0; i < count; i++) {
        const h = out.subarray(26 * i, 26 * i + 26);
        assert.is(h.readBigInt64BE(0), ns, `timestamp of header ${i}`);
        assert.is(h.readUInt16BE(8), 0, 'attempts');
        assert.is(h.toString('latin1', 10), nsqId(ns, 5, i), `id of header ${i} of ${count}`);
      }
      assert.is(out[26 * count], 0xee, 'nothing written past the headers');
      assert.equal([...ids], [Number(ns >> 20n), count - 1, 5 << 12], 'generator state after');
      // The next batch in the same tick continues the sequence.
      assert.is(enc.writeHeaders(out, 1, nowMs, ids), 1);
      assert.is(out.toString('latin1', 10, 26), nsqId(ns, 5, count));
    }
  });

  t('writeHeaders: a tick whose 4096 sequences are used moves on to the next tick; a clock behind the last tick keeps to it', () => {
    const nowMs = 1700000000000;
    const ns = BigInt(Math.round(nowMs * 1e6));
    const tick = Number(ns >> 20n);
    const ids = Float64Array.of(tick, 4094, 1023 << 12);
    const out = Buffer.alloc(26 * 4);
    assert.is(enc.writeHeaders(out, 4, nowMs, ids), 4);
    const got = [0, 1, 2, 3].map((i) => out.toString('latin1', 26 * i + 10, 26 * i + 26));
    assert.equal(got, [nsqId(ns, 1023, 4095), nsqId(ns + (1n << 20n), 1023, 0), nsqId(ns + (1n << 20n), 1023, 1), nsqId(ns + (1n << 20n), 1023, 2)]);
    assert.equal([...ids], [tick + 1, 2, 1023 << 12]);
    const behind = Float64Array.of(tick + 10, 7, 0);
    assert.is(enc.writeHeaders(out, 1, nowMs, behind), 1);
    assert.is(out.toString('latin1', 10, 26), nsqId(ns + (10n << 20n), 0, 8), 'a clock that went back reuses the last tick');
  });

  t('writeHeaders refuses (-1, nothing written, state kept) a short output, bad counts, clocks and states', () => {
    const out = Buffer.alloc(52, 0xee);
    const ok = idState(1);
    const cases: [number, number, Float64Array, string][] = [
      [3, 1.7e12, ok, 'output too short'],
      [-1, 1.7e12, ok, 'negative count'],
      [1.5, 1.7e12, ok, 'fractional count'],
      [1, -1, ok, 'negative clock'],
      [1, Number.NaN, ok, 'NaN clock'],
      [1, 9223372036855, ok, 'clock past int64 ns'],
      [1, 1.7e12, Float64Array.of(-1, 4096, 0), 'sequence 4096'],
      [1, 1.7e12, Float64Array.of(0.5, 0, 0), 'fractional tick'],
      [1, 1.7e12, Float64Array.of(-1, 0, 1), 'node bits in the sequence field'],
      [1, 1.7e12, Float64Array.of(-1, 0), 'short state'],
    ];
    for (const [count, nowMs, state, what] of cases) {
      const before = [...state];
      assert.is(enc.writeHeaders(out, count, nowMs, state), -1, what);
      assert.equal([...state], before, `${what}: state kept`);
      assert.ok(out.every((b) => b === 0xee), `${what}: nothing written`);
    }
    assert.is(enc.writeHeaders(out, 0, 1.7e12, ok), 0, 'zero headers');
  });

  t.run();
}

/** NSQ's id for (unix ns, node, sequence) as its 16 hex chars, computed in BigInt as nsqd does. */
function nsqId(ns: bigint, node: number, sequence: number): string {
  const id = (((ns >> 20n) - 1288834974288n) << 22n) | (BigInt(node) << 12n) | BigInt(sequence);
  return id.toString(16).padStart(16, '0');
}
