// Differential fuzzer: the generators of test/differential/ for millions of cases — FrameScanner
// scans and MPUB splits, FrameParser chunk splits, gathers, message headers, pushRecords,
// pushMessages, scanRecords and IoExecutor batches —
// each run through the raw C++ addon and the TypeScript twin, demanding identical results.
//
//   npm run fuzz -- [--cases N] [--seconds S] [--seed S] [--known] [--replay KIND:SEED]
//
// --cases N    N scan cases and N/4 of each other synchronous kind, N/1000 IoExecutor cases
//              (default 2,000,000: 2,000,000 scans + 500,000 each of parser, gather, push,
//              pushMessages, scanRecords, splitMpub, headers + 2,000 io)
// --seconds S  stop after S seconds (whichever of --cases and --seconds comes first)
// --seed S     base seed (default: random, printed); case i of a kind has seed caseSeed(S, kind, i)
// --known      also generate the inputs of the known (now fixed) differences (see
//              test/differential/known-differences.test.ts); the default; --no-known leaves them out
// --replay K:S run the single case of kind K built from case seed S and print the comparison
//
// Exits 1 on the first difference, printing the case seed, how to replay it and a hex dump of
// the input. The cases run in a child process: if the addon crashes it (a segfault, or a
// sanitizer abort under `npm run test:asan`), the supervisor replays the last stretch with a
// trace to name the case that crashed it. NSQ_TEST_ADDON=path fuzzes that .node file.
import { fork } from 'node:child_process';
import { writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addonOrigin, rawAddon, type RawAddon } from '../differential/asan-addon.js';
import { KINDS, KIND_IDS, caseSeed, hexDump, type DiffCase } from '../differential/generators.js';
import { IoScratch, describeIoCase, genIoCase, rawIo } from '../differential/io.js';

type SyncKind = keyof typeof KINDS;
type Kind = SyncKind | 'io';

/** The synchronous kinds, in the registry's order. */
const SYNC_KINDS = Object.keys(KINDS) as SyncKind[];
/** The rotation of synchronous kinds (scan 4, each other 1: the default case ratio). */
const ROTATION: readonly SyncKind[] = ['scan', 'scan', 'scan', ...SYNC_KINDS];
/** One IoExecutor case every IO_EVERY steps. */
const IO_EVERY = 1000;
const ALL_KINDS: readonly Kind[] = [...SYNC_KINDS, 'io'];
const PROGRESS_STEPS = 2000;

interface Options {
  cases: number;
  seconds: number;
  seed: number;
  known: boolean;
  replay: string | null;
  child: boolean;
  /** Child: first step to run (the schedule before it is skipped, not executed). */
  from: number;
  /** Child: last step + 1 to run (-1: no limit). */
  until: number;
  /** Child: print each case before running it (to find the one that crashes). */
  trace: boolean;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { cases: 2_000_000, seconds: Infinity, seed: (Math.random() * 2 ** 32) >>> 0, known: true, replay: null, child: false, from: 0, until: -1, trace: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag.replace(/^--?/, '')) {
      case 'cases': o.cases = Number(value()); break;
      case 'seconds': o.seconds = Number(value()); break;
      case 'seed': o.seed = Number(value()) >>> 0; break;
      case 'known': o.known = true; break;
      case 'no-known': o.known = false; break;
      case 'replay': o.replay = value(); break;
      case 'child': o.child = true; break;
      case 'from': o.from = Number(value()); break;
      case 'until': o.until = Number(value()); break;
      case 'trace': o.trace = true; break;
      case 'help':
      case 'h':
        process.stdout.write(readUsage());
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${a} (see --help)`);
    }
  }
  if (!(o.cases > 0) || !(o.seconds > 0)) throw new Error('--cases and --seconds must be positive');
  return o;
}

function readUsage(): string {
  return 'npm run fuzz -- [--cases N] [--seconds S] [--seed S] [--known] [--replay KIND:SEED]\n';
}

/** `v` for every kind. */
function perKind(v: number): Record<Kind, number> {
  return Object.fromEntries(ALL_KINDS.map((k) => [k, v])) as Record<Kind, number>;
}

/** Per-kind case caps for --cases N. */
function caps(n: number): Record<Kind, number> {
  const quarter = Math.max(1, Math.floor(n / 4));
  const cap = perKind(quarter);
  cap.scan = n;
  cap.io = Math.max(1, Math.floor(n / 1000));
  return cap;
}

/** The deterministic schedule: which kind (and which case of it) step g runs, given the caps. */
class Schedule {
  readonly counts: Record<Kind, number> = perKind(0);
  step = 0;
  constructor(private readonly cap: Record<Kind, number>) {}

  get finished(): boolean {
    return ALL_KINDS.every((k) => this.counts[k] >= this.cap[k]);
  }

  /** Advance one step: the kind and case index to run, or null when this step's kind is capped. */
  next(): [Kind, number] | null {
    const g = this.step++;
    const kind: Kind = g % IO_EVERY === IO_EVERY - 1 ? 'io' : ROTATION[g % ROTATION.length]!;
    if (this.counts[kind] >= this.cap[kind]) return null;
    return [kind, this.counts[kind]++];
  }
}

function total(counts: Record<Kind, number>): number {
  return ALL_KINDS.reduce((a, k) => a + counts[k], 0);
}

function countsLine(counts: Record<Kind, number>): string {
  return ALL_KINDS.map((k) => `${k} ${counts[k].toLocaleString('en-US')}`).join(', ');
}

/** The full report of a differing case, with a hex dump of the whole input (long ones also saved to a file). */
function failureReport(c: DiffCase, difference: string, seed: number, index: number, known: boolean): string {
  const lines = [
    `DIFFERENCE in ${c.kind} case ${index} of --seed ${seed} (case seed ${c.seed})`,
    difference,
    c.describe(),
    `replay: npm run fuzz -- --replay ${c.kind}:${c.seed}${known ? ' --known' : ''}`,
  ];
  if (c.input.length > 65536) {
    const file = join(tmpdir(), `nsq-fuzz-${c.kind}-${c.seed}.bin`);
    writeFileSync(file, c.input);
    lines.push(`input (${c.input.length} bytes) saved to ${file}; first 64 KiB:`);
  } else {
    lines.push(`input (${c.input.length} bytes):`);
  }
  lines.push(hexDump(c.input, 65536));
  return lines.join('\n');
}

function ioFailureReport(seed: number, caseSeedValue: number, index: number, difference: string, known: boolean): string {
  const c = genIoCase(caseSeedValue, known);
  return [
    `DIFFERENCE in io case ${index} of --seed ${seed} (case seed ${caseSeedValue})`,
    difference,
    describeIoCase(c),
    `replay: npm run fuzz -- --replay io:${caseSeedValue}${known ? ' --known' : ''}`,
    ...c.batches.map((b, i) => `batch ${i} data (${b.data.length} bytes):\n${hexDump(b.data, 1024)}`),
  ].join('\n');
}

/** Run one case; null when both sides agree. */
async function runCase(addon: RawAddon, scratch: IoScratch, kind: Kind, seed: number, known: boolean): Promise<{ diff: string | null; c: DiffCase | null }> {
  if (kind === 'io') return { diff: await scratch.diff(rawIo(addon), genIoCase(seed, known)), c: null };
  const k = KINDS[kind];
  const c = k.gen(seed, known);
  try {
    return { diff: k.diff(addon, c), c };
  } catch (err) {
    return { diff: `threw: ${(err as Error).stack ?? String(err)}`, c };
  }
}

function send(msg: unknown): Promise<void> {
  return new Promise((resolve) => {
    if (process.send === undefined) resolve();
    else process.send(msg, () => resolve());
  });
}

/** The child: run the schedule from opts.from, reporting progress to the supervisor. */
async function child(opts: Options): Promise<void> {
  const addon = rawAddon();
  if (addon === null) throw new Error('the native addon is not built: nothing to fuzz (npm run build:native)');
  const scratch = new IoScratch();
  const schedule = new Schedule(caps(opts.cases));
  const deadline = Date.now() + opts.seconds * 1000;
  while (schedule.step < opts.from && !schedule.finished) schedule.next();
  try {
    for (;;) {
      if (schedule.finished || (opts.until >= 0 && schedule.step >= opts.until)) break;
      const g = schedule.step;
      const next = schedule.next();
      if (next !== null) {
        const [kind, index] = next;
        const s = caseSeed(opts.seed, KIND_IDS[kind]!, index);
        if (opts.trace) writeSync(1, `@${g} ${kind} ${index} ${s}\n`); // synchronous: must survive a crash
        const { diff, c } = await runCase(addon, scratch, kind, s, opts.known);
        if (diff !== null) {
          const text = c === null ? ioFailureReport(opts.seed, s, index, diff, opts.known) : failureReport(c, diff, opts.seed, index, opts.known);
          await send({ type: 'diff', report: text, step: g, counts: schedule.counts });
          process.exitCode = 1;
          return;
        }
      }
      if (schedule.step % PROGRESS_STEPS === 0) {
        await send({ type: 'progress', step: schedule.step, counts: schedule.counts }); // also lets the IPC write go out
        if (Date.now() >= deadline) break;
      }
    }
    await send({ type: 'done', step: schedule.step, counts: schedule.counts });
  } finally {
    scratch.close();
    process.disconnect?.();
  }
}

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  last: { type: string; step: number; counts: Record<Kind, number>; report?: string } | null;
  stdout: string;
}

function spawnChild(args: string[], onMessage: (m: ChildResult['last']) => void, captureStdout: boolean): Promise<ChildResult> {
  return new Promise((resolve) => {
    const self = fileURLToPath(import.meta.url);
    const cp = fork(self, ['--child', ...args], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', captureStdout ? 'pipe' : 'inherit', 'inherit', 'ipc'],
    });
    let last: ChildResult['last'] = null;
    let stdout = '';
    cp.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.length > 1 << 20) stdout = stdout.slice(-(1 << 19));
    });
    cp.on('message', (m) => {
      last = m as ChildResult['last'];
      onMessage(last);
    });
    cp.on('exit', (code, signal) => resolve({ code, signal, last, stdout }));
  });
}

/** The supervisor: run the child, print progress, and name the case if the child dies. */
async function supervise(opts: Options): Promise<number> {
  const started = Date.now();
  const addon = rawAddon();
  if (addon === null) {
    process.stderr.write('fuzz: the native addon is not built here (npm run build:native): nothing to compare\n');
    return 2;
  }
  const cap = caps(opts.cases);
  process.stdout.write(
    `fuzz: seed ${opts.seed}, addon ${addonOrigin}, up to ${countsLine(cap)} cases${Number.isFinite(opts.seconds) ? `, at most ${opts.seconds} s` : ''}${opts.known ? ', known-difference inputs included' : ''}\n`,
  );
  let lastPrint = Date.now();
  const common = ['--seed', String(opts.seed), '--cases', String(opts.cases), ...(opts.known ? ['--known'] : [])];
  const secondsArgs = Number.isFinite(opts.seconds) ? ['--seconds', String(opts.seconds)] : [];
  const r = await spawnChild([...common, ...secondsArgs], (m) => {
    if (m === null || m.type !== 'progress') return;
    if (Date.now() - lastPrint >= 5000) {
      lastPrint = Date.now();
      const secs = (Date.now() - started) / 1000;
      process.stdout.write(`  ${secs.toFixed(0)} s: ${total(m.counts).toLocaleString('en-US')} cases (${countsLine(m.counts)}), ${Math.round(total(m.counts) / secs).toLocaleString('en-US')}/s\n`);
    }
  }, false);
  const secs = (Date.now() - started) / 1000;
  const last = r.last;
  if (last?.type === 'diff') {
    process.stdout.write(`\n${last.report}\n\nfuzz: FAILED after ${total(last.counts).toLocaleString('en-US')} cases in ${secs.toFixed(1)} s (seed ${opts.seed})\n`);
    return 1;
  }
  if (last?.type === 'done' && r.code === 0) {
    process.stdout.write(`fuzz: ${total(last.counts).toLocaleString('en-US')} cases, no difference (${countsLine(last.counts)}) in ${secs.toFixed(1)} s, seed ${opts.seed}\n`);
    return 0;
  }
  // The child died without a verdict: replay from its last progress report with a trace.
  const from = last?.step ?? 0;
  process.stdout.write(`\nfuzz: the child died (exit code ${r.code}, signal ${r.signal}) after step ${from}; replaying from there with a trace to find the case...\n`);
  const replay = await spawnChild([...common, '--from', String(from), '--until', String(from + 4 * PROGRESS_STEPS), '--trace'], () => {}, true);
  const traced = replay.stdout.trim().split('\n').filter((l) => l.startsWith('@'));
  const culprit = traced[traced.length - 1];
  if (replay.code === 0 || culprit === undefined) {
    process.stdout.write(`fuzz: the replay did not crash (exit code ${replay.code}); the crash is not reproducible from the seed alone (seed ${opts.seed}, step ${from})\n`);
    return 1;
  }
  const [, kind, index, s] = culprit.split(' ') as [string, Kind, string, string];
  const seedValue = Number(s);
  let text: string;
  if (kind === 'io') text = ioFailureReport(opts.seed, seedValue, Number(index), `the process died (exit code ${replay.code}, signal ${replay.signal})`, opts.known);
  else text = failureReport(KINDS[kind].gen(seedValue, opts.known), `the process died running it (exit code ${replay.code}, signal ${replay.signal}); the sanitizer or crash output is above`, opts.seed, Number(index), opts.known);
  process.stdout.write(`\n${text}\n\nfuzz: FAILED (crash) at step ${culprit.split(' ')[0]!.slice(1)} (seed ${opts.seed})\n`);
  return 1;
}

/** --replay KIND:SEED: one case, in this process. */
async function replayOne(opts: Options): Promise<number> {
  const [kind, s] = opts.replay!.split(':') as [Kind, string];
  const seed = Number(s) >>> 0;
  if (!ALL_KINDS.includes(kind)) throw new Error(`--replay: unknown kind ${kind} (one of ${ALL_KINDS.join(', ')})`);
  const addon = rawAddon();
  if (addon === null) throw new Error('the native addon is not built');
  const scratch = new IoScratch();
  try {
    const { diff, c } = await runCase(addon, scratch, kind, seed, opts.known);
    if (c !== null) process.stdout.write(`${c.describe()}\ninput (${c.input.length} bytes):\n${hexDump(c.input, 65536)}\n`);
    else process.stdout.write(`${describeIoCase(genIoCase(seed, opts.known))}\n`);
    process.stdout.write(diff === null ? `${kind}:${seed}: native and typescript agree\n` : `${kind}:${seed}: DIFFERENCE\n${diff}\n`);
    return diff === null ? 0 : 1;
  } finally {
    scratch.close();
  }
}

const opts = parseOptions(process.argv.slice(2));
if (opts.child) {
  await child(opts);
} else if (opts.replay !== null) {
  process.exitCode = await replayOne(opts);
} else {
  process.exitCode = await supervise(opts);
}
