/**
 * Worker of the micro suite: measures every case with ONE implementation and prints the
 * measurements as one JSON line on stdout (progress on stderr). Started by suite.ts, once per
 * implementation and round; run by hand to look at one case:
 *
 *   node --import tsx bench/micro/worker.ts --impl=native|ts [--quick] [--filter=REGEX]
 */
import { parseArgs } from 'node:util';
import { BUDGET_NORMAL, BUDGET_QUICK, loadImpl, measure, type ImplKind, type Measurement } from './common.js';
import { allCases } from './cases.js';

const { values } = parseArgs({
  options: {
    impl: { type: 'string' },
    quick: { type: 'boolean', default: false },
    filter: { type: 'string' },
  },
  strict: true,
});
const kind = values.impl as ImplKind;
if (kind !== 'ts' && kind !== 'native') throw new Error('--impl must be ts or native');

const impl = loadImpl(kind);
const budget = values.quick ? BUDGET_QUICK : BUDGET_NORMAL;
const cases = allCases(values.quick!, values.filter === undefined ? null : new RegExp(values.filter));
const out: Measurement[] = [];
const t0 = performance.now();
for (const c of cases) {
  const m = await measure(c, impl, budget);
  out.push(m);
  if (m.error !== null) process.stderr.write(`  [${kind}] ${c.id}: ERROR ${m.error.split('\n')[0]}\n`);
}
process.stderr.write(`  [${kind}] ${cases.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
process.stdout.write(JSON.stringify(out) + '\n');
