// Differential: the per-batch publish work of the raw C++ addon (at every batch size, not only
// the wrapper's large batches) vs the TypeScript twins, on random input: FrameScanner.splitMpub
// (MPUB bodies well formed and not: counts that disagree, sizes of 0, negative or past the limit,
// messages past the range, short arrays, ranges outside the buffer) and FrameEncoder.writeHeaders
// (clocks today, odd and invalid, generator states fresh, near a tick's last sequence or invalid,
// counts that fit the output or not): the same return value, arrays, bytes and generator state.
import { KINDS, assertAgree, differentialSuite, scaled } from './generators.js';

differentialSuite('differential: splitMpub and writeHeaders (native vs typescript)', (t, addon) => {
  t('30,000 random MPUB bodies split', () => assertAgree(addon, KINDS.splitMpub, scaled(30_000)));
  t('30,000 random header batches', () => assertAgree(addon, KINDS.headers, scaled(30_000)));
});
