/**
 * Micro benchmarks, native addon vs TypeScript twin for every hot-path interface, at message
 * sizes 16 B, 200 B, 4 KiB and 64 KiB (tinybench; see the case files for what each measures).
 *
 *   npm run bench:micro -- [--runs=3] [--quick] [--filter=REGEX]
 *
 * Prints the table and the native thresholds; `npm run bench` runs this and the macro bench and
 * writes the combined table to bench/results/.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { killAllChildren, parsePositiveInt } from '../macro/common.js';
import { lossesText, machineInfo, microCells, runMicroSuite, textTable, thresholdText } from './suite.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    filter: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  const src = readFileSync(new URL(import.meta.url), 'utf8');
  process.stdout.write((/^\/\*\*([\s\S]*?)\*\//.exec(src)?.[1] ?? '').replace(/^ \* ?/gm, '').trim() + '\n');
  process.exit(0);
}
process.on('SIGINT', () => {
  killAllChildren();
  process.exit(130);
});

const opts = { runs: parsePositiveInt('runs', values.runs, 3), quick: values.quick!, ...(values.filter === undefined ? {} : { filter: values.filter }) };
const s = await runMicroSuite(opts);
const out = [
  `nsq-ts micro bench: ${machineInfo().line}`,
  `${s.config.runs} round(s) per implementation, median shown${s.config.quick ? ', --quick' : ''}; ${s.seconds.toFixed(0)} s`,
  '',
  textTable(['benchmark', 'size', 'TS ops/s', 'native ops/s', 'native/TS', 'notes'], microCells(s.rows)),
  '',
  thresholdText(s),
  '',
  lossesText(s),
];
if (s.errors.length > 0) out.push('', 'ERRORS:', ...s.errors.map((e) => `  ${e}`));
process.stdout.write(out.join('\n') + '\n');
process.exitCode = s.errors.length > 0 ? 1 : 0;
