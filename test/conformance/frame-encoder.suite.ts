// Conformance suite for the FrameEncoder: gathering stored frames from several sources into one
// output buffer, and refusing (with -1, never a crash) anything out of range.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { FrameEncoder } from '../../src/native/backend.js';
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

  t.run();
}
