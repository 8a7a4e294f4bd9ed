// Differential: FrameEncoder.gather of the raw C++ addon (at every frame count, not only the
// wrapper's large batches) vs the TypeScript twin, on random sources (plain, Buffer, views with
// a byteOffset), indexes, offsets and lengths, some out of range, and outputs with and without
// room: the same return value, and the same output bytes when it succeeds.
import { KINDS, assertAgree, differentialSuite, scaled } from './generators.js';

differentialSuite('differential: FrameEncoder.gather (native vs typescript)', (t, addon) => {
  t('30,000 random gathers', () => assertAgree(addon, KINDS.gather, scaled(30_000)));
});
