/**
 * Shared pieces of the micro benchmarks: the two backends, the message sizes, the case shape
 * and the measuring loop (tinybench over a calibrated inner loop, so that timer and harness
 * overhead stay far below the operation being measured even when it takes 30 ns).
 *
 * A case is measured in a worker process that loads exactly one implementation (worker.ts), so
 * call sites inside FrameParser, RecordRing and the TypeScript twins see one receiver, as they
 * do in a running nsqd, and neither implementation's JIT state leaks into the other's numbers.
 */
import { Bench } from 'tinybench';
import { median } from '../macro/common.js';
import { loadAddon, nativeBackend } from '../../src/native/addon.js';
import type { Backend } from '../../src/native/backend.js';
import { fallbackBackend } from '../../src/native/fallback/index.js';

/** Which implementation a worker measures. */
export type ImplKind = 'ts' | 'native';

/** Message body sizes every interface is measured at, in bytes. */
export const SIZES = [16, 200, 4096, 65536] as const;

/** Bytes of a V2 message before its body: 8 timestamp, 2 attempts, 16 id. */
export const MESSAGE_HEADER = 26;
/** Bytes of a frame header: int32 size, int32 frame type. */
export const FRAME_HEADER = 8;
/** A message frame (and a RecordRing record) of a `size`-byte message body. */
export const frameLength = (size: number): number => FRAME_HEADER + MESSAGE_HEADER + size;
/** nsqd's --max-msg-size and --max-body-size defaults (the scanner's limits). */
export const LIMITS = { maxMsgSize: 1024 * 1024, maxBodySize: 5 * 1024 * 1024 };

/** `16 B`, `200 B`, `4 KiB`, `64 KiB`. */
export function sizeLabel(bytes: number | null): string {
  if (bytes === null) return '-';
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** The raw addon (its functions without the wrapper's small-batch routing). */
export type Addon = ReturnType<typeof loadAddon>;

/** What a case can build its subject from. */
export interface Impl {
  kind: ImplKind;
  /** The backend as nsqd uses it (nativeBackend(addon) or fallbackBackend). */
  backend: Backend;
  /** The raw addon, in the native worker only. */
  addon: Addon | null;
}

/** Load one implementation; the native one throws when the addon cannot be loaded. */
export function loadImpl(kind: ImplKind): Impl {
  if (kind === 'ts') return { kind, backend: fallbackBackend, addon: null };
  const addon = loadAddon();
  return { kind, backend: nativeBackend(addon), addon };
}

/** The thing one implementation of a case measures. */
export interface Subject {
  /** One logical operation: a sync function, or one returning a promise when `async`. */
  op: () => unknown;
  async?: boolean;
  /** Units per op for each of the case's metrics (read after the measurement; may use counters). */
  units: () => Record<string, number>;
  /** Runs the op outside the timing and returns a value both implementations must agree on. */
  check?: () => string | Promise<string>;
  /** Release files and descriptors. */
  dispose?: () => void | Promise<void>;
}

/** One metric of a case, one row of the table. */
export interface Metric {
  key: string;
  /** `cmds/s`, `msgs/s`, `frames/s`, `records/s`, `appends/s`, `fsyncs/s`, `batches/s`. */
  unit: string;
}

/** One benchmark, built once per implementation. */
export interface MicroCase {
  /** Stable id, e.g. `gather/200/16`. */
  id: string;
  /** Interface and method, e.g. `FrameEncoder.gather`. */
  group: string;
  /** Scenario within the group, e.g. `N=16`. */
  name: string;
  /** Message body size in bytes, or null when the case has none (FIN lines). */
  size: number | null;
  metrics: Metric[];
  /** Set on the batch-size sweeps used to find the native thresholds. */
  sweep?: { kind: 'gather' | 'pushRecords' | 'scanRecords' | 'scanPub' | 'scanMpub' | 'splitMpub' | 'headers'; n: number };
  make(impl: Impl): Subject | Promise<Subject>;
}

/** Timing budget of one measurement. */
export interface Budget {
  /** Measured time per task, ms, split into `slices` slices. */
  timeMs: number;
  /** Warm-up time per task, ms. */
  warmupMs: number;
  /** Target duration of one sample (the calibrated inner loop), ms. */
  sampleMs: number;
  /**
   * Slices the measured time is cut into. The suite measures the two implementations' slices of a
   * case in turn, a few ms apart, so a shared machine's slow spells (they last from ms to
   * seconds here) fall on both sides of a pair and cancel in its ratio.
   */
  slices: number;
}

export const BUDGET_NORMAL: Budget = { timeMs: 80, warmupMs: 25, sampleMs: 0.1, slices: 8 };
export const BUDGET_QUICK: Budget = { timeMs: 30, warmupMs: 10, sampleMs: 0.05, slices: 6 };

/** Result of one case in one worker. */
export interface Measurement {
  id: string;
  impl: ImplKind;
  /** Ops per second (ops = the subject's op), from the median of the slices' median samples. */
  opsPerSec: number;
  /** Ops per second from the mean sample (includes interruptions and GC pauses). */
  meanOpsPerSec: number;
  /** Per-metric units per second. */
  perSec: Record<string, number>;
  /** Largest relative margin of error of a slice's sample mean, percent. */
  rme: number;
  samples: number;
  /** Ops per sample (calibrated inner loop). */
  reps: number;
  /** Median sample time of each slice, ms per op, in order (the suite pairs them across implementations). */
  sliceMs: number[];
  check: string | null;
  error: string | null;
}

/** One slice's figures. */
interface Slice {
  /** Median sample, ms per op. */
  p50: number;
  /** Mean sample, ms per op. */
  mean: number;
  rme: number;
  samples: number;
}

/**
 * A fresh function per case (new Function gets its own feedback vector), so the loop's call of
 * `op` stays monomorphic instead of seeing every case's closure.
 */
function syncLoop(op: () => unknown, reps: number): () => void {
  return new Function('op', 'reps', 'return function loop() { for (let i = 0; i < reps; i++) op(); };')(op, reps) as () => void;
}

function asyncLoop(op: () => unknown, reps: number): () => Promise<void> {
  return new Function('op', 'reps', 'return async function loop() { for (let i = 0; i < reps; i++) await op(); };')(op, reps) as () => Promise<void>;
}

/** Time per op in ms, from running it for about `forMs`. */
async function calibrate(s: Subject, forMs: number): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  let now = t0;
  while (now - t0 < forMs || n < 2) {
    if (s.async) await s.op();
    else s.op();
    n++;
    now = performance.now();
  }
  return (now - t0) / n;
}

/** A case being measured by one implementation: built, checked, calibrated and warmed up. */
export class Run {
  private subject: Subject | null = null;
  private loop: (() => unknown) | null = null;
  private reps = 0;
  private check: string | null = null;
  private error: string | null = null;
  private readonly slices: Slice[] = [];

  private constructor(
    private readonly c: MicroCase,
    private readonly impl: Impl,
    private readonly budget: Budget,
  ) {}

  /** Build the case's subject and warm it up; an error is kept for the measurement. */
  static async open(c: MicroCase, impl: Impl, budget: Budget): Promise<Run> {
    const run = new Run(c, impl, budget);
    try {
      const s = await c.make(impl);
      run.subject = s;
      run.check = s.check === undefined ? null : await s.check();
      const perOpMs = await calibrate(s, Math.min(5, budget.warmupMs));
      run.reps = Math.max(1, Math.min(1_000_000, Math.round(budget.sampleMs / perOpMs)));
      run.loop = s.async ? asyncLoop(s.op, run.reps) : syncLoop(s.op, run.reps);
      await run.bench(budget.warmupMs, true);
    } catch (err) {
      run.fail(err);
    }
    return run;
  }

  get failed(): boolean {
    return this.error !== null;
  }

  /** Measure one slice of the budget (nothing once the run failed). */
  async slice(): Promise<void> {
    if (this.error !== null) return;
    try {
      const r = await this.bench(this.budget.timeMs / this.budget.slices, false);
      this.slices.push(r);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Release the subject and report. */
  async close(): Promise<Measurement> {
    try {
      await this.subject?.dispose?.();
    } catch (err) {
      this.fail(err);
    }
    const base = { id: this.c.id, impl: this.impl.kind };
    if (this.error !== null || this.slices.length === 0) {
      return { ...base, opsPerSec: NaN, meanOpsPerSec: NaN, perSec: {}, rme: NaN, samples: 0, reps: 0, sliceMs: [], check: null, error: this.error ?? 'no slice measured' };
    }
    const sliceMs = this.slices.map((x) => x.p50);
    const opsPerSec = 1000 / median(sliceMs);
    const meanMs = this.slices.reduce((a, x) => a + x.mean * x.samples, 0) / this.slices.reduce((a, x) => a + x.samples, 0);
    const units = this.subject!.units();
    const perSec: Record<string, number> = {};
    for (const m of this.c.metrics) perSec[m.key] = opsPerSec * (units[m.key] ?? NaN);
    return {
      ...base,
      opsPerSec,
      meanOpsPerSec: 1000 / meanMs,
      perSec,
      rme: Math.max(...this.slices.map((x) => x.rme)),
      samples: this.slices.reduce((a, x) => a + x.samples, 0),
      reps: this.reps,
      sliceMs,
      check: this.check,
      error: null,
    };
  }

  private fail(err: unknown): void {
    this.error ??= (err as Error).stack ?? String(err);
  }

  /** tinybench over the calibrated loop for about `ms`; figures per op. */
  private async bench(ms: number, warmup: boolean): Promise<Slice> {
    const bench = new Bench({ time: ms, warmupTime: 0, iterations: warmup ? 2 : 5, warmupIterations: 0, throws: true });
    bench.add(this.c.id, this.loop!);
    if (this.subject!.async) await bench.run();
    else bench.runSync();
    const r = bench.tasks[0]!.result;
    if (r === undefined) throw new Error('tinybench produced no result');
    if (r.error !== undefined) throw r.error;
    // The median sample, not the mean: on a shared machine a sample that the scheduler
    // interrupted costs milliseconds and would dominate a mean. (It also leaves out the odd
    // young-generation GC pause, which only the TypeScript side incurs; the mean keeps it.)
    return { p50: (r.latency.p50 ?? r.latency.mean) / this.reps, mean: r.latency.mean / this.reps, rme: r.latency.rme, samples: r.latency.samples?.length ?? 0 };
  }
}

/** Measure one case with one implementation, its slices back to back (the worker's batch mode). */
export async function measure(c: MicroCase, impl: Impl, budget: Budget): Promise<Measurement> {
  const run = await Run.open(c, impl, budget);
  for (let i = 0; i < budget.slices && !run.failed; i++) await run.slice();
  return run.close();
}

/** A cheap order-dependent hash of bytes, for the implementations' agreement checks. */
export function hashBytes(b: Uint8Array, start = 0, end = b.length): string {
  return (fnv(0x811c9dc5, b, start, end) >>> 0).toString(16);
}

/** FNV-1a over b[start, end), continuing from `h`. */
export function fnv(h: number, b: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return h;
}

/** Bytes filled with a repeating non-trivial pattern (so copies are checked for real). */
export function patterned(len: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(len);
  let x = seed * 2654435761;
  for (let i = 0; i < len; i++) {
    x = (Math.imul(x, 1103515245) + 12345) | 0;
    b[i] = (x >>> 16) & 0xff;
  }
  return b;
}
