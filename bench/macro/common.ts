/**
 * Shared pieces of the macro benchmark: Go-style durations, the wire constants the load
 * generators need, child-process helpers and /proc readers. Deliberately independent of src/:
 * the bench is a black-box client of any nsqd that speaks the V2 protocol (ours or Go's).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** `  V2`, the magic a V2 client sends first. */
export const MAGIC_V2 = Buffer.from('  V2', 'latin1');
/** Frame type of a response frame. */
export const FRAME_RESPONSE = 0;
/** Frame type of an error frame. */
export const FRAME_ERROR = 1;
/** Frame type of a message frame. */
export const FRAME_MESSAGE = 2;
/** The 10-byte `OK` response frame: [size=6][type=0]`OK`. */
export const OK_FRAME = Buffer.from([0, 0, 0, 6, 0, 0, 0, 0, 0x4f, 0x4b]);
/** `NOP\n`, the answer to a heartbeat. */
export const NOP = Buffer.from('NOP\n', 'latin1');
/** Message header inside a message frame: 8-byte timestamp, 2-byte attempts, 16-byte id. */
export const MESSAGE_HEADER = 26;

/** `IDENTIFY\n[size][json]` with no feature negotiation, so nsqd answers a plain `OK`. */
export function identifyCommand(role: 'writer' | 'reader'): Buffer {
  const json = Buffer.from(JSON.stringify({ client_id: role, hostname: role, user_agent: `bench_${role}/nsq-ts` }), 'utf8');
  const head = Buffer.from('IDENTIFY\n', 'latin1');
  const out = Buffer.allocUnsafe(head.length + 4 + json.length);
  head.copy(out, 0);
  out.writeUInt32BE(json.length, head.length);
  json.copy(out, head.length + 4);
  return out;
}

/** Parse a Go duration (`10s`, `500ms`, `1m30s`, `2.5s`) or a bare number of seconds into ms. */
export function parseDurationMs(s: string): number {
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== s.length || s.length === 0) throw new Error(`invalid duration ${JSON.stringify(s)}`);
  return total;
}

/** Parse a positive integer flag value or throw with the flag's name. */
export function parsePositiveInt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Split `host:port`. */
export function parseAddress(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  if (i < 0) throw new Error(`address ${JSON.stringify(addr)} has no port`);
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(addr.slice(i + 1)) };
}

/** Folder holding this file (bench/macro). */
export const MACRO_DIR = dirname(fileURLToPath(import.meta.url));
/** Repository root. */
export const REPO_ROOT = join(MACRO_DIR, '..', '..');
/** Extension of the bench's own files as they are run now (`.ts` under tsx, `.js` if compiled). */
export const SELF_EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/**
 * Node flags to start a sibling bench script with: the parent's own loader flags (so
 * `--import tsx` carries over), without profiling or inspector flags meant for the parent.
 */
export function childExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (/^--(cpu-prof|heap-prof|inspect|prof)/.test(a)) continue;
    out.push(a);
  }
  if (SELF_EXT === '.ts' && !out.some((a) => a.includes('tsx'))) out.unshift('--import', 'tsx');
  return out;
}

/** Every child process the bench started, so one failure can end them all. */
export const children = new Set<ChildProcess>();

/** Spawn a child and remember it until it exits. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions): ChildProcess {
  const child = spawn(cmd, args, opts);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGKILL every child still running (used on failure paths only). */
export function killAllChildren(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

/** Wait for a child to exit, SIGKILL it after `ms`; resolves with its exit code or signal. */
export function waitExit(child: ChildProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode, killed: false });
  }
  return new Promise((resolve) => {
    let killed = false;
    const t = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, ms);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, killed });
    });
  });
}

/** VmHWM (peak resident set) of a live process in bytes, or null when unreadable. */
export function peakRssBytes(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** VmRSS (current resident set) of a live process in bytes, or null when unreadable. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on). */
const USER_HZ = 100;

/** CPU seconds (user + system) a live process has used so far, or null when unreadable. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
  } catch {
    return null;
  }
}

/** Result line a load generator prints on stdout as JSON. */
export interface LoadResult {
  /** `writer` or `reader`. */
  role: 'writer' | 'reader';
  /** Messages published (writer) or received (reader). */
  msgs: number;
  /** Wall seconds from releasing all connections to all finishing. */
  seconds: number;
  /** CPU seconds the load generator itself used during the measured interval. */
  clientCpuSeconds: number;
  /** Error frames received (reader: logged and counted, as bench_reader does). */
  errorFrames: number;
  /** First few error frame texts. */
  errors: string[];
  /** Heartbeats answered with NOP. */
  heartbeats: number;
  /** Why the run stopped (reader: `expect` reached or `runfor` elapsed). */
  stoppedBy: string;
  /** CLOCK_MONOTONIC µs (the clock of V8's .cpuprofile timestamps) when the clock started. */
  startMonoUs: number;
  /** CLOCK_MONOTONIC µs when the run stopped. */
  endMonoUs: number;
  /** Rate in msgs/s over each successive ~TIMELINE_MS slice of the run (stalls show as dips). */
  timeline: number[];
}

/** Width of one timeline slice, ms. */
export const TIMELINE_MS = 500;

/**
 * Sample a running total every TIMELINE_MS; each slice's rate uses the time that really passed
 * (a late timer does not inflate it). Call stop() at the end of the run.
 */
export function startTimeline(read: () => number): { slices: number[]; stop: () => void } {
  const slices: number[] = [];
  let last = read();
  let lastAt = performance.now();
  const sample = (): void => {
    const now = read();
    const at = performance.now();
    if (at - lastAt >= 1) slices.push(Math.round(((now - last) * 1000) / (at - lastAt)));
    last = now;
    lastAt = at;
  };
  const t = setInterval(sample, TIMELINE_MS);
  return {
    slices,
    stop: () => {
      clearInterval(t);
      if (performance.now() - lastAt >= TIMELINE_MS / 5) sample();
    },
  };
}

/** CLOCK_MONOTONIC now in µs; comparable across processes and with .cpuprofile timestamps. */
export function monoUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Median of a list of numbers (mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
