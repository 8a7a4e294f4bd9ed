// Differential: RecordCodec.pushRecords, pushMessages and scanRecords of the raw C++ addon vs the TypeScript
// twin: random payload lists, destination room and positions (some out of range), and chunks of
// records scanned from random positions, some with corrupt sizes: the same return values, the
// same destination bytes and the same output arrays, slot for slot.
import { KINDS, assertAgree, differentialSuite, scaled } from './generators.js';

differentialSuite('differential: RecordCodec (native vs typescript)', (t, addon) => {
  t('25,000 random pushRecords', () => assertAgree(addon, KINDS.push, scaled(25_000)));
  t('20,000 random pushMessages (header + body per record), some headers too short', () => assertAgree(addon, KINDS.pushMessages, scaled(20_000)));
  t('25,000 random scanRecords, some over corrupt chunks', () => assertAgree(addon, KINDS.scanRecords, scaled(25_000)));
});
