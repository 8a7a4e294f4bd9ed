/**
 * Worker of the micro suite: measures cases with ONE implementation. Started by suite.ts once
 * per implementation and round with --serve, it takes one JSON request per line on stdin and
 * answers each with one JSON line on stdout (progress on stderr): {"op":"open","id":ID} builds,
 * checks and warms up a case, {"op":"slice"} measures one slice of it, {"op":"close"} answers
 * the case's Measurement. The suite so interleaves the two implementations' slices of a case.
 * Without --serve it measures every case, slices back to back, and prints them all as one JSON
 * line; run by hand to look at one case:
 *
 *   node --import tsx bench/micro/worker.ts --impl=native|ts [--quick] [--filter=REGEX]
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { BUDGET_NORMAL, BUDGET_QUICK, Run, loadImpl, measure, type ImplKind, type Measurement } from './common.js';
import { allCases } from './cases.js';

const { values } = parseArgs({
  options: {
    impl: { type: 'string' },
    quick: { type: 'boolean', default: false },
    filter: { type: 'string' },
    serve: { type: 'boolean', default: false },
  },
  strict: true,
});
const kind = values.impl as ImplKind;
if (kind !== 'ts' && kind !== 'native') throw new Error('--impl must be ts or native');

const impl = loadImpl(kind);
const budget = values.quick ? BUDGET_QUICK : BUDGET_NORMAL;
const cases = allCases(values.quick!, values.filter === undefined ? null : new RegExp(values.filter));
const t0 = performance.now();

function caseOf(id: string): (typeof cases)[number] {
  const c = cases.find((x) => x.id === id);
  if (c === undefined) throw new Error(`no case ${id}`);
  return c;
}

function report(m: Measurement): Measurement {
  if (m.error !== null) process.stderr.write(`  [${kind}] ${m.id}: ERROR ${m.error.split('\n')[0]}\n`);
  return m;
}

/** A request of the suite (see the head of this file). */
type Request = { op: 'open'; id: string } | { op: 'slice' } | { op: 'close' };

let n = 0;
if (values.serve) {
  let open: Run | null = null;
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === '') continue;
    const req = JSON.parse(line) as Request;
    let answer: unknown;
    if (req.op === 'open') {
      open = await Run.open(caseOf(req.id), impl, budget);
      answer = { ok: true };
    } else if (req.op === 'slice') {
      if (open === null) throw new Error('slice without an open case');
      await open.slice();
      answer = { ok: true };
    } else {
      if (open === null) throw new Error('close without an open case');
      answer = report(await open.close());
      open = null;
      n++;
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
} else {
  const out: Measurement[] = [];
  for (const c of cases) out.push(report(await measure(c, impl, budget)));
  n = cases.length;
  process.stdout.write(JSON.stringify(out) + '\n');
}
process.stderr.write(`  [${kind}] ${n} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
