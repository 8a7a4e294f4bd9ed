/**
 * The micro suite: per round, starts one worker.ts per implementation and has them measure each
 * case in slices taken in turn (ABBA, about 10 ms each), so that a shared machine's
 * slow spells fall on both sides of a pair; takes the median of the rounds, and as the ratio
 * the median of every pair's native/TS ratio over all rounds;
 * checks that both implementations produced the same output, finds the batch size from which
 * the addon beats its TypeScript twin, and formats the table.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NATIVE_GATHER_MIN_FRAMES, NATIVE_HEADERS_MIN_MESSAGES, NATIVE_PUSH_MIN_RECORDS, NATIVE_SCAN_MIN_WORK, NATIVE_SPLIT_MIN_MESSAGES, SCAN_LINE_WORK } from '../../src/native/addon.js';
import { REPO_ROOT, childExecArgv, median, spawnTracked, waitExit } from '../macro/common.js';
import { allCases } from './cases.js';
import { BUDGET_NORMAL, BUDGET_QUICK, sizeLabel, type ImplKind, type Measurement, type MicroCase } from './common.js';

const MICRO_DIR = dirname(fileURLToPath(import.meta.url));
const SELF_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** How to run the suite. */
export interface MicroOptions {
  /** Rounds per implementation; each figure is the median over them. */
  runs: number;
  /** Shorter measurements and a coarser threshold sweep. */
  quick: boolean;
  /** Only cases whose id matches this regular expression. */
  filter?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

/** One row of the table: one metric of one case. */
export interface MicroRow {
  id: string;
  group: string;
  name: string;
  size: number | null;
  unit: string;
  /** Median units/s over the rounds, or null when every round failed. */
  ts: number | null;
  native: number | null;
  /** native / ts. */
  ratio: number | null;
  tsRuns: number[];
  nativeRuns: number[];
  /** Largest relative margin of error of a single round's mean, percent. */
  rme: number;
  /** Problems worth a reader's eye: mismatching outputs, errors, rounds far apart. */
  notes: string[];
  sweep?: { kind: string; n: number };
}

/** Where the addon starts to beat TypeScript for one batched call and message size. */
export interface Threshold {
  kind: string;
  size: number;
  /** Smallest measured batch size from which native wins at it and every larger one (dips to NOISE_FLOOR allowed); null if never. */
  winsFrom: number | null;
  /** Native / TS at every measured batch size. */
  ratios: { n: number; ratio: number | null }[];
}

/** What runMicroSuite returns. */
export interface MicroSummary {
  rows: MicroRow[];
  thresholds: Threshold[];
  /** The wrapper's current constants (src/native/addon.ts). */
  current: { gatherMinFrames: number; pushMinRecords: number; scanMinWork: number; scanLineWork: number; splitMinMessages: number; headersMinMessages: number };
  /** Recommended constants: the largest per-size threshold (native never loses above it). */
  recommended: { gatherMinFrames: number | null; pushMinRecords: number | null; scanPubs: number | null; scanMpubMessages: number | null; splitMinMessages: number | null; headersMinMessages: number | null };
  errors: string[];
  seconds: number;
  config: { runs: number; quick: boolean; filter: string | null };
}

/** Longest one case may take in a worker before the suite gives up on it. */
const CASE_TIMEOUT_MS = 5 * 60_000;

/** A worker in --serve mode: each request() sends one JSON request line and resolves with the answer line. */
class ServedWorker {
  private readonly child: ChildProcess;
  private readonly answers: string[] = [];
  private waiting: { resolve: (line: string) => void; reject: (err: Error) => void } | null = null;
  private readonly tail: string[] = [];
  private exited = false;

  constructor(
    private readonly kind: ImplKind,
    opts: MicroOptions,
    log: (s: string) => void,
  ) {
    const script = join(MICRO_DIR, `worker${SELF_EXT}`);
    const args = [...childExecArgv(), script, `--impl=${kind}`, '--serve'];
    if (opts.quick) args.push('--quick');
    if (opts.filter !== undefined) args.push(`--filter=${opts.filter}`);
    this.child = spawnTracked(process.execPath, args, { cwd: REPO_ROOT, env: process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const w = this.waiting;
      this.waiting = null;
      if (w !== null) w.resolve(line);
      else this.answers.push(line);
    });
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      this.tail.push(line);
      if (this.tail.length > 20) this.tail.shift();
      log(line);
    });
    this.child.once('exit', (code, signal) => {
      this.exited = true;
      const w = this.waiting;
      this.waiting = null;
      w?.reject(new Error(`micro worker (${kind}) exited (${code ?? signal}) before answering:\n${this.tail.join('\n')}`));
    });
    // A worker that died has closed its stdin; the write error is reported by the exit above.
    this.child.stdin!.on('error', () => {});
  }

  /** Send one request line (see worker.ts) and wait for its answer line. */
  async request(req: object): Promise<string> {
    if (this.exited) throw new Error(`micro worker (${this.kind}) is not running:\n${this.tail.join('\n')}`);
    this.child.stdin!.write(JSON.stringify(req) + '\n');
    const queued = this.answers.shift();
    if (queued !== undefined) return queued;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`micro worker (${this.kind}) took over ${CASE_TIMEOUT_MS / 60_000} minutes on ${JSON.stringify(req)}; killed`));
      }, CASE_TIMEOUT_MS);
      this.waiting = {
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  async close(): Promise<void> {
    this.child.stdin!.end();
    const r = await waitExit(this.child, 60_000);
    if (r.killed) throw new Error(`micro worker (${this.kind}) did not exit; killed`);
    if (r.code !== 0) throw new Error(`micro worker (${this.kind}) failed (exit ${r.code ?? r.signal}):\n${this.tail.join('\n')}`);
  }
}

/** The batch-size sweeps, in report order. */
const SWEEP_KINDS = ['scanPub', 'scanMpub', 'splitMpub', 'gather', 'headers', 'pushRecords', 'scanRecords'] as const;

/** Above the threshold, a single batch size measured down to this ratio counts as noise, not a loss. */
export const NOISE_FLOOR = 0.9;

/**
 * The wins-from batch size of one sweep (see Threshold.winsFrom): the smallest N where native is
 * faster and stays faster at every larger N measured, dips to NOISE_FLOOR allowed, with the
 * largest N a win; null when there is none.
 */
function winsFrom(ratios: { n: number; ratio: number | null }[]): number | null {
  let from: number | null = null;
  for (let i = ratios.length - 1; i >= 0; i--) {
    const r = ratios[i]!.ratio;
    if (r === null || r < NOISE_FLOOR || (i === ratios.length - 1 && r <= 1)) break;
    if (r > 1) from = ratios[i]!.n;
  }
  return from;
}

/** Run the micro suite: 2 x runs worker processes, then medians, checks and thresholds. */
export async function runMicroSuite(opts: MicroOptions): Promise<MicroSummary> {
  const log = opts.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const t0 = performance.now();
  const cases: MicroCase[] = allCases(opts.quick, opts.filter === undefined ? null : new RegExp(opts.filter));
  const rounds: Record<ImplKind, Measurement[][]> = { ts: [], native: [] };
  const budget = opts.quick ? BUDGET_QUICK : BUDGET_NORMAL;
  for (let r = 0; r < opts.runs; r++) {
    log(`micro round ${r + 1}/${opts.runs}: ${cases.length} cases, TypeScript twins and native addon in turn`);
    const workers: Record<ImplKind, ServedWorker> = { ts: new ServedWorker('ts', opts, log), native: new ServedWorker('native', opts, log) };
    const got: Record<ImplKind, Measurement[]> = { ts: [], native: [] };
    try {
      for (let i = 0; i < cases.length; i++) {
        const first: ImplKind = (r + i) % 2 === 0 ? 'ts' : 'native';
        const order: ImplKind[] = first === 'ts' ? ['ts', 'native'] : ['native', 'ts'];
        for (const kind of order) await workers[kind].request({ op: 'open', id: cases[i]!.id });
        // The slices of the two in turn, the order flipping every slice (ABBA: n ts ts n n ts ...).
        for (let k = 0; k < budget.slices; k++) {
          for (const kind of k % 2 === 0 ? [...order].reverse() : order) await workers[kind].request({ op: 'slice' });
        }
        for (const kind of order) got[kind].push(JSON.parse(await workers[kind].request({ op: 'close' })) as Measurement);
      }
    } catch (err) {
      for (const w of Object.values(workers)) await w.close().catch(() => {});
      throw err;
    }
    await Promise.all([workers.ts.close(), workers.native.close()]);
    rounds.ts.push(got.ts);
    rounds.native.push(got.native);
  }

  const errors: string[] = [];
  const rows: MicroRow[] = [];
  for (const c of cases) {
    /** Measurement of this case in round r. */
    const inRound = (kind: ImplKind, r: number): Measurement | undefined => rounds[kind][r]!.find((m) => m.id === c.id);
    const got = (kind: ImplKind): Measurement[] => rounds[kind].map((_, r) => inRound(kind, r)).filter((m): m is Measurement => m !== undefined);
    const ts = got('ts');
    const nat = got('native');
    const notes: string[] = [];
    for (const m of [...ts, ...nat]) {
      if (m.error === null || notes.includes(`${m.impl} error`)) continue;
      notes.push(`${m.impl} error`);
      errors.push(`${c.id} [${m.impl}]: ${m.error.split('\n')[0]!}`);
    }
    const checks = new Set([...ts, ...nat].map((m) => m.check).filter((x): x is string => x !== null));
    if (checks.size > 1) {
      notes.push('OUTPUT MISMATCH');
      errors.push(`${c.id}: implementations disagree: ${[...checks].join(' | ')}`);
    }
    const rme = Math.max(0, ...[...ts, ...nat].map((m) => (Number.isFinite(m.rme) ? m.rme : 0)));
    for (const metric of c.metrics) {
      const vals = (ms: Measurement[]): number[] => ms.map((m) => m.perSec[metric.key]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
      const tsRuns = vals(ts);
      const nativeRuns = vals(nat);
      const tsMed = tsRuns.length > 0 ? median(tsRuns) : null;
      const natMed = nativeRuns.length > 0 ? median(nativeRuns) : null;
      const rowNotes = [...notes];
      // The ratio of each pair of slices (the two implementations' slices taken one after the
      // other), over every round; per round, the median of its pairs for the spread note.
      const paired: number[] = [];
      const roundRatios: number[] = [];
      for (let r = 0; r < opts.runs; r++) {
        const a = inRound('native', r);
        const b = inRound('ts', r);
        if (a === undefined || b === undefined || a.error !== null || b.error !== null) continue;
        // Units per op may differ between the two (e.g. syncs per append): scale by them.
        const units = a.perSec[metric.key]! / a.opsPerSec / (b.perSec[metric.key]! / b.opsPerSec);
        const pairs: number[] = [];
        for (let k = 0; k < Math.min(a.sliceMs.length, b.sliceMs.length); k++) pairs.push((b.sliceMs[k]! / a.sliceMs[k]!) * units);
        const ok = pairs.filter((x) => Number.isFinite(x) && x > 0);
        paired.push(...ok);
        if (ok.length > 0) roundRatios.push(median(ok));
      }
      for (const [label, xs] of [['ratio', roundRatios], ['TS', tsRuns], ['native', nativeRuns]] as const) {
        if (xs.length < 2) continue;
        const spread = (Math.max(...xs) - Math.min(...xs)) / median(xs);
        if (spread > 0.25) rowNotes.push(`${label} rounds ±${Math.round((spread * 100) / 2)}%`);
      }
      const row: MicroRow = {
        id: c.id,
        group: c.group,
        name: c.name,
        size: c.size,
        unit: metric.unit,
        ts: tsMed,
        native: natMed,
        ratio: paired.length > 0 ? median(paired) : null,
        tsRuns,
        nativeRuns,
        rme,
        notes: rowNotes,
      };
      if (c.sweep !== undefined) row.sweep = c.sweep;
      rows.push(row);
    }
  }

  const thresholds: Threshold[] = [];
  for (const kind of SWEEP_KINDS) {
    const sizes = [...new Set(rows.filter((r) => r.sweep?.kind === kind).map((r) => r.size!))];
    for (const size of sizes) {
      const ratios = rows
        .filter((r) => r.sweep?.kind === kind && r.size === size)
        .sort((a, b) => a.sweep!.n - b.sweep!.n)
        .map((r) => ({ n: r.sweep!.n, ratio: r.ratio }));
      thresholds.push({ kind, size, winsFrom: winsFrom(ratios), ratios });
    }
  }
  const recommend = (kind: string): number | null => {
    const ts = thresholds.filter((t) => t.kind === kind);
    if (ts.length === 0 || ts.some((t) => t.winsFrom === null)) return null;
    return Math.max(...ts.map((t) => t.winsFrom!));
  };

  return {
    rows,
    thresholds,
    current: { gatherMinFrames: NATIVE_GATHER_MIN_FRAMES, pushMinRecords: NATIVE_PUSH_MIN_RECORDS, scanMinWork: NATIVE_SCAN_MIN_WORK, scanLineWork: SCAN_LINE_WORK, splitMinMessages: NATIVE_SPLIT_MIN_MESSAGES, headersMinMessages: NATIVE_HEADERS_MIN_MESSAGES },
    recommended: { gatherMinFrames: recommend('gather'), pushMinRecords: recommend('pushRecords'), scanPubs: recommend('scanPub'), scanMpubMessages: recommend('scanMpub'), splitMinMessages: recommend('splitMpub'), headersMinMessages: recommend('headers') },
    errors,
    seconds: (performance.now() - t0) / 1000,
    config: { runs: opts.runs, quick: opts.quick, filter: opts.filter ?? null },
  };
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** `74.3 M`, `845 k`, `512`. */
export function formatRate(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return '-';
  const units: [number, string][] = [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [div, u] of units) {
    if (x >= div) {
      const v = x / div;
      return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${u}`;
    }
  }
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

/** `2.58x`. */
export function formatRatio(x: number | null): string {
  return x === null || !Number.isFinite(x) ? '-' : `${x.toFixed(2)}x`;
}

/** A plain-text table; the first column is left-aligned, the rest right-aligned except the last. */
export function textTable(head: string[], rows: string[][], leftCols = [0, head.length - 1]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]): string =>
    cells
      .map((c, i) => (leftCols.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}

/** The benchmark column of a micro row. */
export function rowLabel(r: MicroRow): string {
  return `${r.group} ${r.name} [${r.unit}]`;
}

/** The micro rows as table cells: benchmark, size, TS ops/s, native ops/s, native/TS, notes. */
export function microCells(rows: MicroRow[]): string[][] {
  return rows.map((r) => [rowLabel(r), sizeLabel(r.size), formatRate(r.ts), formatRate(r.native), formatRatio(r.ratio), r.notes.join('; ')]);
}

/** The threshold findings as text. */
export function thresholdText(s: MicroSummary): string {
  const lines: string[] = [];
  const name: Record<string, string> = {
    scanPub: 'FrameScanner.scan, N PUBs per call (raw addon vs TS)',
    scanMpub: 'FrameScanner.scan, one MPUB of N messages per call (raw addon vs TS)',
    gather: 'FrameEncoder.gather (raw addon vs TS)',
    splitMpub: 'FrameScanner.splitMpub, one MPUB body of N messages (raw addon vs TS)',
    headers: 'FrameEncoder.writeHeaders, N message headers (raw addon vs TS)',
    pushRecords: 'RecordCodec.pushRecords (raw addon vs TS)',
    scanRecords: 'RecordCodec.scanRecords (raw addon vs TS; the wrapper always uses the TS twin, since native never wins)',
  };
  for (const kind of SWEEP_KINDS) {
    const ts = s.thresholds.filter((t) => t.kind === kind);
    if (ts.length === 0) continue;
    lines.push(`${name[kind]}:`);
    for (const t of ts) {
      const verdict = t.winsFrom === null ? 'native NEVER wins at every larger batch measured; route this to TypeScript' : `native wins from N=${t.winsFrom}`;
      const curve = t.ratios.map((p) => `${p.n}:${p.ratio === null ? '-' : p.ratio.toFixed(2)}`).join(' ');
      lines.push(`  ${sizeLabel(t.size).padStart(6)}  ${verdict.padEnd(40)}  native/TS by N: ${curve}`);
    }
  }
  const rec = (x: number | null): string => (x === null ? 'none (native does not win at every size; see above)' : String(x));
  lines.push(
    `("wins from N" = native faster at N and at every larger N measured; single dips to ${NOISE_FLOOR.toFixed(2)}x above it are read as noise)`,
    `current wrapper thresholds: NATIVE_GATHER_MIN_FRAMES=${s.current.gatherMinFrames}, NATIVE_PUSH_MIN_RECORDS=${s.current.pushMinRecords}, NATIVE_SPLIT_MIN_MESSAGES=${s.current.splitMinMessages}, NATIVE_HEADERS_MIN_MESSAGES=${s.current.headersMinMessages}`,
    `measured (largest per-size wins-from): gather ${rec(s.recommended.gatherMinFrames)}, pushRecords ${rec(s.recommended.pushMinRecords)}, splitMpub ${rec(s.recommended.splitMinMessages)}, writeHeaders ${rec(s.recommended.headersMinMessages)}`,
    `scanner routing: a call goes native when its expected work reaches NATIVE_SCAN_MIN_WORK=${s.current.scanMinWork} MPUB messages, a command line counting SCAN_LINE_WORK=${s.current.scanLineWork}` +
      ` (so from ${Math.ceil(s.current.scanMinWork / s.current.scanLineWork)} PUBs or ${s.current.scanMinWork} MPUB messages); measured wins-from: ${rec(s.recommended.scanPubs)} PUBs, ${rec(s.recommended.scanMpubMessages)} MPUB messages`,
  );
  return lines.join('\n');
}

/** Rows outside the threshold sweeps where native is clearly slower than TypeScript. */
export function lossesText(s: MicroSummary): string {
  const losses = s.rows.filter((r) => r.sweep === undefined && r.ratio !== null && r.ratio < 0.95);
  if (losses.length === 0) return 'native is not slower than TypeScript in any non-sweep case';
  return ['native slower than TypeScript (below 0.95x), outside the threshold sweeps:', ...losses.map((r) => `  ${rowLabel(r)} ${sizeLabel(r.size)}: ${formatRatio(r.ratio)}`)].join('\n');
}

/** CPU model (from /proc/cpuinfo), cores, Node version, platform. */
export function machineInfo(): { cpu: string; cores: number; node: string; platform: string; line: string } {
  let cpu = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'latin1'));
    if (m) cpu = m[1]!.trim();
  } catch {
    // Not Linux: keep os.cpus()'s model.
  }
  const cores = availableParallelism();
  const platform = `${process.platform}/${process.arch}`;
  return { cpu, cores, node: process.version, platform, line: `${cpu}, ${cores} cores, Node ${process.version}, ${platform}` };
}
