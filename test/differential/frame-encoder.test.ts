// Differential: FrameEncoder.gather of the raw C++ addon (at every frame count, not only the
// wrapper's large batches) vs the TypeScript twin, on random sources (plain, Buffer, views with
// a byteOffset), indexes, offsets and lengths, some out of range, and outputs with and without
// room: the same return value, and the same output bytes when it succeeds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rawAddon } from './asan-addon.js';
import { KINDS, runKind, scaled } from './generators.js';

const addon = rawAddon();
const t = suite('differential: FrameEncoder.gather (native vs typescript)');

if (addon !== null) {
  t('30,000 random gathers', () => {
    const failure = runKind(addon, KINDS.gather, scaled(30_000));
    if (failure !== null) assert.unreachable(failure);
  });
} else {
  t('native addon not built: nothing to compare', () => {});
}

t.run();
