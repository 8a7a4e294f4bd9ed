/** Every micro-benchmark case, in table order. */
import type { MicroCase } from './common.js';
import { frameEncoderCases, publishCases } from './frame-encoder.js';
import { frameParserCases } from './frame-parser.js';
import { recordCases } from './record-codec.js';
import { segmentWriterCases } from './segment-writer.js';

/** All cases; `quick` trims the threshold sweeps. `filter` keeps ids matching it. */
export function allCases(quick: boolean, filter: RegExp | null = null): MicroCase[] {
  const cases = [...frameParserCases(quick), ...frameEncoderCases(quick), ...publishCases(quick), ...recordCases(quick), ...segmentWriterCases()];
  return filter === null ? cases : cases.filter((c) => filter.test(c.id));
}
