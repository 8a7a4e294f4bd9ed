// Differential: the FrameParser over the raw C++ scanner vs over the TypeScript scanner, fed the
// same random (and mutated) command streams cut into random chunks (one byte at a time, fixed
// sizes, random cuts incl. empty chunks) with random record capacities: the same commands (code,
// status, size, line and body bytes) and the same pending state after every chunk; and the same
// commands as the whole stream fed in one chunk.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rawAddon } from './asan-addon.js';
import { KINDS, runKind, scaled } from './generators.js';

const addon = rawAddon();
const t = suite('differential: FrameParser over each scanner, random chunk splits');

if (addon !== null) {
  t('10,000 random streams in random chunks', () => {
    const failure = runKind(addon, KINDS.parser, scaled(10_000));
    if (failure !== null) assert.unreachable(failure);
  });
} else {
  t('native addon not built: nothing to compare', () => {});
}

t.run();
