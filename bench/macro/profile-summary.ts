/**
 * Summarise a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function and per file,
 * top first. Sample i is charged the gap to the next sample (timeDeltas[i + 1]), as DevTools does.
 * An optional window (CLOCK_MONOTONIC µs, the clock of the profile's own timestamps on Linux)
 * keeps only the samples taken inside one bench phase, leaving out start-up and shutdown.
 *
 *   node --import tsx bench/macro/profile-summary.ts <file.cpuprofile> [--top=30] [--from=µs --to=µs]
 * run.ts calls summariseProfile() itself after a `--cpu-prof` run, once per phase.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './common.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One row of the summary. */
export interface ProfileRow {
  name: string;
  selfMs: number;
  percent: number;
}

/** Self time per function and per file of one profile. */
export interface ProfileSummary {
  file: string;
  /** What the window covers (e.g. `publish`), or `whole run`. */
  label: string;
  /** Samples counted. */
  samples: number;
  totalMs: number;
  /** Total minus (idle): what the thread actually spent working. */
  busyMs: number;
  functions: ProfileRow[];
  files: ProfileRow[];
}

function shortUrl(url: string): string {
  if (url === '') return '';
  if (url.startsWith('file://')) {
    const p = fileURLToPath(url);
    const rel = relative(REPO_ROOT, p);
    return rel.startsWith('..') ? p : rel;
  }
  return url;
}

/** A slice of the profile's timeline, CLOCK_MONOTONIC µs. */
export interface ProfileWindow {
  label: string;
  fromUs: number;
  toUs: number;
}

/** Read and aggregate a .cpuprofile file, optionally only the samples inside `window`. */
export function summariseProfile(file: string, window?: ProfileWindow): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of prof.nodes) byId.set(n.id, n);
  const selfUs = new Map<number, number>();
  const { samples, timeDeltas } = prof;
  let t = prof.startTime;
  let counted = 0;
  for (let i = 0; i < samples.length; i++) {
    t += timeDeltas[i] ?? 0;
    if (window !== undefined && (t < window.fromUs || t > window.toUs)) continue;
    counted++;
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1]! : 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
  }
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)!.callFrame;
    total += us;
    if (cf.functionName === '(idle)') idle += us;
    const url = shortUrl(cf.url);
    const key = url === '' ? cf.functionName || '(anonymous)' : `${cf.functionName || '(anonymous)'}  ${url}:${cf.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const fileKey = url === '' ? cf.functionName : url.startsWith('node:') ? 'node: internals' : url;
    files.set(fileKey, (files.get(fileKey) ?? 0) + us);
  }
  const rows = (m: Map<string, number>): ProfileRow[] =>
    [...m]
      .map(([name, us]) => ({ name, selfMs: us / 1000, percent: total > 0 ? (100 * us) / total : 0 }))
      .sort((a, b) => b.selfMs - a.selfMs);
  return { file, label: window?.label ?? 'whole run', samples: counted, totalMs: total / 1000, busyMs: (total - idle) / 1000, functions: rows(fn), files: rows(files) };
}

/** Text rendering of a summary with the top `top` functions and files. */
export function formatProfileSummary(s: ProfileSummary, top = 25): string {
  const line = (r: ProfileRow): string => `${r.selfMs.toFixed(1).padStart(10)} ms ${r.percent.toFixed(1).padStart(5)}%  ${r.name}`;
  return [
    `profile ${s.file} (${s.label})`,
    `${s.samples} samples over ${s.totalMs.toFixed(0)} ms, busy (not idle) ${s.busyMs.toFixed(0)} ms`,
    `top ${top} functions by self time:`,
    ...s.functions.slice(0, top).map(line),
    `self time by file:`,
    ...s.files.slice(0, 15).map(line),
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '30' }, from: { type: 'string' }, to: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length === 0) {
    process.stderr.write('usage: profile-summary.ts <file.cpuprofile> [--top=30]\n');
    process.exit(2);
  }
  const window =
    values.from === undefined && values.to === undefined
      ? undefined
      : { label: 'window', fromUs: Number(values.from ?? -Infinity), toUs: Number(values.to ?? Infinity) };
  for (const f of positionals) process.stdout.write(formatProfileSummary(summariseProfile(f, window), Number(values.top)) + '\n');
}
