/**
 * The whole benchmark: the micro suite (every hot-path interface, native addon vs TypeScript
 * twin, bench/micro/) and then the loopback macro bench (bench/macro/run.ts, publish + drain + pubsub
 * with MPUBs, then pubsub again with one PUB per message: --pub --window=200 --burst)
 * with NSQ_NATIVE=1 and NSQ_NATIVE=0 in turn, round by round, reported as ONE table with native/TS
 * ratios, the native thresholds and the performance targets. Run from the repository root after
 * `npm run compile` (the macro bench starts dist/apps/nsqd.js) and `npm run build:native`:
 *
 *   npm run bench -- [--runs=3] [--quick] [--micro-only | --macro-only] [--runfor=5s]
 *                    [--filter=REGEX] [--build] [--out=bench/results]
 *
 *   --runs N      micro rounds and macro rounds, each backend once a round (medians; default 3, 1 with --quick)
 *   --quick       shorter micro measurements, coarser threshold sweep, macro --runfor=2s
 *   --runfor D    macro publish duration (Go duration, default 5s)
 *   --filter RE   only micro cases whose id matches (e.g. '^parse', 'gather/200/')
 *   --build       run `npm run compile` before the macro bench (otherwise a stale dist/ is only reported)
 *
 * Writes bench/results/bench-<timestamp>.txt and .json; exits non-zero when a benchmark failed
 * or the two implementations disagreed on a micro case's output.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { REPO_ROOT, childExecArgv, killAllChildren, median, parseDurationMs, parsePositiveInt, spawnTracked, waitExit } from './macro/common.js';
import { sizeLabel } from './micro/common.js';
import { formatRate, formatRatio, lossesText, machineInfo, microCells, runMicroSuite, textTable, thresholdText, type MicroSummary } from './micro/suite.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'micro-only': { type: 'boolean', default: false },
    'macro-only': { type: 'boolean', default: false },
    runfor: { type: 'string' },
    filter: { type: 'string' },
    build: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  const src = readFileSync(new URL(import.meta.url), 'utf8');
  process.stdout.write((/^\/\*\*([\s\S]*?)\*\//.exec(src)?.[1] ?? '').replace(/^ \* ?/gm, '').trim() + '\n');
  process.exit(0);
}
if (values['micro-only'] && values['macro-only']) throw new Error('--micro-only and --macro-only exclude each other');
const quick = values.quick!;
const runs = parsePositiveInt('runs', values.runs, quick ? 1 : 3);
const runfor = values.runfor ?? (quick ? '2s' : '5s');
parseDurationMs(runfor);
const outDir = isAbsolute(values.out!) ? values.out! : join(REPO_ROOT, values.out!);
const doMicro = !values['macro-only'];
const doMacro = !values['micro-only'];

/** Publish target (end to end, native over TS) and frame-parsing target (native over its twin). */
const TARGET_PUBLISH = 1.3;
const TARGET_PARSE = 3;

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const machine = machineInfo();
const log = (s: string): void => void process.stderr.write(s + '\n');

process.on('SIGINT', () => {
  killAllChildren();
  process.exit(130);
});

// ---------------------------------------------------------------------------------------------
// Macro

type MacroPhase = 'publish' | 'drain' | 'pubsub' | 'pubsubPub';

/** One macro phase's median figures. */
interface PhaseFigures {
  msgsPerSec: number;
  serverCpuPercent: number | null;
}

/** What one macro invocation (one backend) reported, from its JSON. */
interface MacroOutcome {
  backend: 'native' | 'ts';
  env: string;
  /** nsqd's own description of its hot paths, from its start-up log. */
  nsqdInfo: string[];
  publish: PhaseFigures | null;
  drain: PhaseFigures | null;
  pubsub: PhaseFigures | null;
  /** The pubsub phase again with writers sending one PUB per message. */
  pubsubPub: PhaseFigures | null;
  files: string[];
  failure: string | null;
  runs: number;
}

/** Newest .ts under src/ later than the newest .js under dist/: dist may be stale. */
function staleDist(): string | null {
  const newest = (dir: string, ext: string): { t: number; f: string } => {
    let best = { t: 0, f: '' };
    if (!existsSync(dir)) return best;
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (!e.isFile() || !e.name.endsWith(ext)) continue;
      const f = join(e.parentPath, e.name);
      const t = statSync(f).mtimeMs;
      if (t > best.t) best = { t, f };
    }
    return best;
  };
  const src = newest(join(REPO_ROOT, 'src'), '.ts');
  const dist = newest(join(REPO_ROOT, 'dist'), '.js');
  if (dist.t === 0) return 'dist/ is missing: run `npm run compile` (or pass --build)';
  return src.t > dist.t ? `${relative(REPO_ROOT, src.f)} is newer than dist/ (pass --build to rebuild first)` : null;
}

/** The writers' extra flags of the PUB variant of the pubsub phase. */
const PUB_VARIANT = ['--pub', '--window=200', '--burst'];

/** One round of the macro bench for one backend (--runs=1; `npm run bench` alternates the backends round by round). */
async function runMacro(native: boolean): Promise<MacroOutcome> {
  const o = await runMacroOnce(native, ['--phases=publish,drain,pubsub']);
  if (o.failure !== null) return o;
  const p = await runMacroOnce(native, ['--phases=pubsub', ...PUB_VARIANT]);
  o.pubsubPub = p.pubsub;
  o.failure = p.failure;
  o.files.push(...p.files);
  return o;
}

async function runMacroOnce(native: boolean, extra: string[]): Promise<MacroOutcome> {
  const env = native ? '1' : '0';
  const script = join(REPO_ROOT, 'bench', 'macro', `run${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`);
  const args = [...childExecArgv(), script, ...extra, `--runfor=${runfor}`, '--runs=1', `--out=${relative(REPO_ROOT, outDir) || '.'}`];
  log(`macro: NSQ_NATIVE=${env} ${relative(REPO_ROOT, script)} ${args.slice(args.indexOf(script) + 1).join(' ')}`);
  const child = spawnTracked(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, NSQ_NATIVE: env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let file: string | null = null;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    const m = /^wrote (.+)\.json and \.txt$/.exec(line);
    if (m) file = join(REPO_ROOT, `${m[1]}.json`);
    log(`  [macro NSQ_NATIVE=${env}] ${line}`);
  });
  const r = await waitExit(child, 3 * parseDurationMs(runfor) + 180_000);
  const outcome: MacroOutcome = { backend: native ? 'native' : 'ts', env, nsqdInfo: [], publish: null, drain: null, pubsub: null, pubsubPub: null, files: file === null ? [] : [file], failure: null, runs: 0 };
  if (file === null) {
    outcome.failure = r.killed ? 'macro bench timed out; killed' : `macro bench exited ${r.code ?? r.signal} without writing results`;
    return outcome;
  }
  const doc = JSON.parse(readFileSync(file, 'utf8')) as {
    nsqdInfo: string[];
    summary: Record<string, PhaseFigures | undefined>;
    runs: unknown[];
    failure: string | null;
  };
  outcome.nsqdInfo = doc.nsqdInfo;
  outcome.runs = doc.runs.length;
  const pick = (p: string): PhaseFigures | null => {
    const s = doc.summary[p];
    return s === undefined ? null : { msgsPerSec: s.msgsPerSec, serverCpuPercent: s.serverCpuPercent };
  };
  outcome.publish = pick('publish');
  outcome.drain = pick('drain');
  outcome.pubsub = pick('pubsub');
  outcome.failure = doc.failure ?? (r.code === 0 ? null : `macro bench exited ${r.code ?? r.signal}`);
  return outcome;
}

// ---------------------------------------------------------------------------------------------
// Main

const loadAtStart = loadavg()[0]!;
const header = `nsq-ts bench ${stamp}\nmachine: ${machine.line}; load average ${loadAtStart.toFixed(2)}\n`;
process.stderr.write(header);
const t0 = performance.now();
let micro: MicroSummary | null = null;
const macro: MacroOutcome[] = [];
/** The macro rounds, each with both backends run one after the other. */
const macroRounds: Record<'native' | 'ts', MacroOutcome>[] = [];
const problems: string[] = [];
let distWarning: string | null = null;

if (doMicro) {
  try {
    micro = await runMicroSuite({ runs, quick, ...(values.filter === undefined ? {} : { filter: values.filter }), log });
    problems.push(...micro.errors);
  } catch (err) {
    killAllChildren();
    problems.push(`micro suite: ${(err as Error).message}`);
  }
}
if (doMacro) {
  if (values.build) {
    log('npm run compile');
    const b = spawnSync('npm', ['run', 'compile'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (b.status !== 0) throw new Error('npm run compile failed');
  }
  distWarning = staleDist();
  if (distWarning !== null) log(`WARNING: ${distWarning}`);
  // Round by round, the backends one after the other (ABBA), so a slow spell of the machine
  // falls on both sides of a round's pair; the ratio is the median of the rounds' ratios.
  // A failed macro run ends the rounds (a micro suite problem does not).
  let macroFailed = false;
  for (let r = 0; r < runs && !macroFailed; r++) {
    const round: Partial<Record<'native' | 'ts', MacroOutcome>> = {};
    for (const native of r % 2 === 0 ? [true, false] : [false, true]) {
      log(`macro round ${r + 1}/${runs}: ${native ? 'native' : 'TS'}`);
      const o = await runMacro(native);
      round[o.backend] = o;
      if (o.failure !== null) {
        macroFailed = true;
        problems.push(`macro NSQ_NATIVE=${o.env}: ${o.failure}`);
      }
    }
    if (round.native !== undefined && round.ts !== undefined) macroRounds.push({ native: round.native, ts: round.ts });
  }
  for (const backend of ['native', 'ts'] as const) {
    const os = macroRounds.map((r) => r[backend]);
    if (os.length > 0) macro.push(combineRounds(os));
  }
}

/** One backend's rounds as one outcome: each phase's median msgs/s and median nsqd CPU. */
function combineRounds(os: MacroOutcome[]): MacroOutcome {
  const phase = (p: MacroPhase): PhaseFigures | null => {
    const xs = os.map((o) => o[p]).filter((x): x is PhaseFigures => x !== null);
    if (xs.length === 0) return null;
    const cpus = xs.map((x) => x.serverCpuPercent).filter((c): c is number => c !== null);
    return { msgsPerSec: median(xs.map((x) => x.msgsPerSec)), serverCpuPercent: cpus.length === 0 ? null : median(cpus) };
  };
  return {
    ...os[0]!,
    publish: phase('publish'),
    drain: phase('drain'),
    pubsub: phase('pubsub'),
    pubsubPub: phase('pubsubPub'),
    files: os.flatMap((o) => o.files),
    failure: os.find((o) => o.failure !== null)?.failure ?? null,
    runs: os.reduce((a, o) => a + o.runs, 0),
  };
}

/** The median over the rounds of native's figure over TS's, or null when no round has both. */
function pairedRatio(figure: (o: MacroOutcome) => number | null): number | null {
  const xs: number[] = [];
  for (const r of macroRounds) {
    const a = figure(r.ts);
    const b = figure(r.native);
    if (a !== null && b !== null && a > 0 && Number.isFinite(b / a)) xs.push(b / a);
  }
  return xs.length === 0 ? null : median(xs);
}

// ---------------------------------------------------------------------------------------------
// Report

const rows: string[][] = micro === null ? [] : microCells(micro.rows);
const nat = macro.find((m) => m.backend === 'native');
const ts = macro.find((m) => m.backend === 'ts');
/** Each phase's short name and what it moves, for its two rows. */
const MACRO_NAMES: Record<MacroPhase, [string, string]> = {
  publish: ['publish', 'writer -> nsqd'],
  drain: ['drain', 'nsqd -> reader'],
  pubsub: ['pubsub', 'writer -> nsqd -> reader'],
  pubsubPub: ['pubsub PUB', 'one PUB a message'],
};
const macroRatios: Record<MacroPhase, number | null> = { publish: null, drain: null, pubsub: null, pubsubPub: null };
const macroPerCpuRatios: Record<MacroPhase, number | null> = { publish: null, drain: null, pubsub: null, pubsubPub: null };
for (const phase of ['publish', 'drain', 'pubsub', 'pubsubPub'] as const) {
  if (macro.length === 0) break;
  const a = ts?.[phase] ?? null;
  const b = nat?.[phase] ?? null;
  const ratio = pairedRatio((o) => o[phase]?.msgsPerSec ?? null);
  macroRatios[phase] = ratio;
  const cpu = (x: typeof a): string => (x?.serverCpuPercent == null ? '?' : `${x.serverCpuPercent.toFixed(0)}%`);
  const [name, what] = MACRO_NAMES[phase];
  rows.push([`macro ${name} ${what} [msgs/s]`, '200 B', formatRate(a?.msgsPerSec ?? null), formatRate(b?.msgsPerSec ?? null), formatRatio(ratio), `nsqd CPU TS ${cpu(a)}, native ${cpu(b)}`]);
  // Messages per CPU-second of nsqd: what nsqd's own work costs, whether or not it got a whole
  // core (on a shared machine it often does not).
  const perCpu = (x: typeof a): number | null => (x === null || x.serverCpuPercent == null || x.serverCpuPercent <= 0 ? null : x.msgsPerSec / (x.serverCpuPercent / 100));
  const pa = perCpu(a);
  const pb = perCpu(b);
  macroPerCpuRatios[phase] = pairedRatio((o) => perCpu(o[phase]));
  rows.push([`macro ${name} per nsqd CPU-second [msgs/CPU-s]`, '200 B', formatRate(pa), formatRate(pb), formatRatio(macroPerCpuRatios[phase]), '']);
}
const table = textTable(['benchmark', 'size', 'TS ops/s', 'native ops/s', 'native/TS', 'notes'], rows);

const lines: string[] = [
  `nsq-ts bench ${stamp}`,
  `machine: ${machine.line}; 1-min load average ${loadAtStart.toFixed(2)} at start, ${loadavg()[0]!.toFixed(2)} at end (other work on the machine shows up as noise)`,
  `settings: runs ${runs}${quick ? ', --quick' : ''}${values.filter === undefined ? '' : `, --filter=${values.filter}`}; micro = median of ${runs} round(s), one worker process per implementation, each case measured in slices taken in turn (tinybench), native/TS = median of the paired slices' ratios; ` +
    (doMacro
      ? `macro = ${runs} round(s) of bench/macro/run.ts --phases=publish,drain,pubsub --runfor=${runfor} --runs=1 per backend, the backends in turn (ABBA), figures the median of the rounds, native/TS the median of the rounds' ratios; 200-byte messages, MPUB batches of 200, 4 writers / 4 readers; ` +
        `then --phases=pubsub ${PUB_VARIANT.join(' ')} (one PUB per message, 200 written at a time per writer)`
      : 'macro skipped'),
  'ops/s = the unit in brackets per second. The gather/pushRecords/scanRecords and FrameScanner.scan sweeps call the addon directly (no routing); FrameParser and RecordRing use nativeBackend() as nsqd does (routed by the thresholds below).',
  '',
  table,
  '',
];
if (micro !== null) lines.push(thresholdText(micro), '', lossesText(micro), '');

// Targets.
const targets: string[] = [];
if (micro !== null) {
  const parse = micro.rows.filter((r) => r.group === 'FrameParser' && r.ratio !== null);
  if (parse.length > 0) {
    const geo = Math.exp(parse.reduce((s, r) => s + Math.log(r.ratio!), 0) / parse.length);
    const met = parse.filter((r) => r.ratio! >= TARGET_PARSE);
    const missed = parse.filter((r) => r.ratio! < TARGET_PARSE).map((r) => `${r.name} ${r.size === null ? '' : sizeLabel(r.size)} ${formatRatio(r.ratio)}`.replace(/\s+/g, ' '));
    targets.push(
      `frame parsing, native >= ${TARGET_PARSE}x its twin: ${met.length === parse.length ? 'MET' : met.length === 0 ? 'NOT MET' : 'PARTLY MET'} ` +
        `(${met.length}/${parse.length} scenarios; geometric mean ${formatRatio(geo)})${missed.length > 0 ? `; below target: ${missed.join(', ')}` : ''}`,
    );
  }
}
if (macroRatios.publish !== null) {
  const perCpu = macroPerCpuRatios.publish === null ? '' : `; per nsqd CPU-second ${formatRatio(macroPerCpuRatios.publish)}`;
  targets.push(`end-to-end publish, native >= ${TARGET_PUBLISH}x the TS backend: ${macroRatios.publish >= TARGET_PUBLISH ? 'MET' : 'NOT MET'} (msgs/s ${formatRatio(macroRatios.publish)}${perCpu})`);
}
if (targets.length > 0) lines.push('targets:', ...targets.map((t) => `  ${t}`), '');
for (const m of macro) lines.push(`macro NSQ_NATIVE=${m.env}: ${m.runs} run(s); nsqd: ${m.nsqdInfo.join('; ') || '?'}; results ${m.files.length === 0 ? '-' : m.files.map((f) => relative(REPO_ROOT, f)).join(', ')}`);
if (distWarning !== null) lines.push(`WARNING: ${distWarning}`);
if (problems.length > 0) lines.push('', 'PROBLEMS:', ...problems.map((p) => `  ${p}`));
lines.push(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const text = lines.join('\n') + '\n';
process.stdout.write('\n' + text);

mkdirSync(outDir, { recursive: true });
const base = join(outDir, `bench-${stamp}`);
writeFileSync(`${base}.txt`, text);
writeFileSync(
  `${base}.json`,
  JSON.stringify(
    {
      stamp,
      machine,
      settings: { runs, quick, runfor: doMacro ? runfor : null, filter: values.filter ?? null, micro: doMicro, macro: doMacro },
      micro,
      macro,
      macroRatios,
      macroPerCpuRatios,
      targets: { parse: TARGET_PARSE, publish: TARGET_PUBLISH, text: targets },
      distWarning,
      problems,
    },
    null,
    2,
  ) + '\n',
);
log(`wrote ${relative(REPO_ROOT, base)}.txt and .json`);
process.exitCode = problems.length > 0 ? 1 : 0;
