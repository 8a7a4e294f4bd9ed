// Differential: the FrameParser over the raw C++ scanner vs over the TypeScript scanner, fed the
// same random (and mutated) command streams cut into random chunks (one byte at a time, fixed
// sizes, random cuts incl. empty chunks) with random record capacities: the same commands (code,
// status, size, line and body bytes) and the same pending state after every chunk; and the same
// commands as the whole stream fed in one chunk.
import { KINDS, assertAgree, differentialSuite, scaled } from './generators.js';

differentialSuite('differential: FrameParser over each scanner, random chunk splits', (t, addon) => {
  t('10,000 random streams in random chunks', () => assertAgree(addon, KINDS.parser, scaled(10_000)));
});
