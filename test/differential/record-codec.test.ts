// Differential: RecordCodec.pushRecords, pushMessages and scanRecords of the raw C++ addon vs the TypeScript
// twin: random payload lists, destination room and positions (some out of range), and chunks of
// records scanned from random positions, some with corrupt sizes: the same return values, the
// same destination bytes and the same output arrays, slot for slot.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { rawAddon } from './asan-addon.js';
import { KINDS, runKind, scaled } from './generators.js';

const addon = rawAddon();
const t = suite('differential: RecordCodec (native vs typescript)');

if (addon !== null) {
  t('25,000 random pushRecords', () => {
    const failure = runKind(addon, KINDS.push, scaled(25_000));
    if (failure !== null) assert.unreachable(failure);
  });

  t('20,000 random pushMessages (header + body per record), some headers too short', () => {
    const failure = runKind(addon, KINDS.pushMessages, scaled(20_000));
    if (failure !== null) assert.unreachable(failure);
  });

  t('25,000 random scanRecords, some over corrupt chunks', () => {
    const failure = runKind(addon, KINDS.scanRecords, scaled(25_000));
    if (failure !== null) assert.unreachable(failure);
  });
} else {
  t('native addon not built: nothing to compare', () => {});
}

t.run();
