// Differential: the per-batch publish work of the raw C++ addon (at every batch size, not only
// the wrapper's large batches) vs the TypeScript twins, on random input: FrameScanner.splitMpub
// (MPUB bodies well formed and not: counts that disagree, sizes of 0, negative or past the limit,
// messages past the range, short arrays, ranges outside the buffer) and FrameEncoder.writeHeaders
// (clocks today, odd and invalid, generator states fresh, near a tick's last sequence or invalid,
// counts that fit the output or not): the same return value, arrays, bytes and generator state.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rawAddon } from './asan-addon.js';
import { KINDS, runKind, scaled } from './generators.js';

const addon = rawAddon();
const t = suite('differential: splitMpub and writeHeaders (native vs typescript)');

if (addon !== null) {
  t('30,000 random MPUB bodies split', () => {
    const failure = runKind(addon, KINDS.splitMpub, scaled(30_000));
    if (failure !== null) assert.unreachable(failure);
  });

  t('30,000 random header batches', () => {
    const failure = runKind(addon, KINDS.headers, scaled(30_000));
    if (failure !== null) assert.unreachable(failure);
  });
} else {
  t('native addon not built: nothing to compare', () => {});
}

t.run();
