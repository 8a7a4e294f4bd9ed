/**
 * Macro benchmark: NSQ's bench_writer/bench_reader against our nsqd, next to the bare-socket
 * ceilings one Node thread can reach, all on loopback.
 *
 * Run from the repository root, after `npm run compile`:
 *
 *   node --import tsx bench/macro/run.ts [--runfor=10s] [--size=200] [--batch-size=200]
 *        [--writers=4] [--readers=4] [--rdy=2500] [--runs=1]
 *        [--phases=publish,drain,sink,source] [--cpu-prof] [--nsqd=dist/apps/nsqd.js]
 *        [--nsqd-arg=--flag=value ...] [--mem-queue-size=100000000] [--out=bench/results]
 *        [--stall-timeout=5s] [--keep-backlog] [--pub [--window=N] [--burst]]
 *
 * NSQ_NATIVE (auto|1|0) is passed through to nsqd. `--nsqd=/path/to/nsqd` (not ending in .js)
 * runs that executable instead, e.g. Go's nsqd, with the same flags.
 *
 * Phases, each with the load generator in its own process so the server keeps a core to itself:
 *   publish  writer.ts (--writers connections of MPUB/OK ping-pong) -> nsqd, for --runfor
 *   drain    reader.ts (--readers connections, RDY --rdy, FIN all) <- nsqd, until every published
 *            message is received or --runfor passes
 *   pubsub   on a fresh nsqd, the readers subscribe first, then the writers publish for --runfor
 *            while the readers consume (steady state: the backlog stays small, so memory does
 *            not grow); reported over the time from the first publish to the last message
 *            received, with the publish rate and the backlog left when publishing stopped
 *   sink     the same writer -> ceiling-sink.ts (parse the frame, skip the body, reply OK)
 *   source   the same reader <- ceiling-source.ts (pre-encoded frames, refilled as FINs arrive)
 * --pub makes the writers send one PUB per message instead of MPUBs of --batch-size, with
 * --window PUBs outstanding per connection; --burst writes each window as one buffer (writer.ts).
 * Prints a table (median over --runs) and writes bench/results/macro-<timestamp>.json and .txt.
 * With --cpu-prof, nsqd runs under `node --cpu-prof` and the top self-time functions of the
 * samples taken during publish and during drain (not start-up or shutdown) are printed and saved
 * too (profile-summary.ts). Before nsqd is stopped the topic is deleted, because nsqd writes its
 * in-memory backlog to disk on exit; --keep-backlog skips that and so times that flush.
 * Exits non-zero when a phase fails (error frame, refused or dropped connection, a stalled
 * drain, a timeout); every child process and socket is closed either way.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import {
  MACRO_DIR,
  REPO_ROOT,
  SELF_EXT,
  TIMELINE_MS,
  childExecArgv,
  cpuSeconds,
  killAllChildren,
  median,
  parseDurationMs,
  parsePositiveInt,
  peakRssBytes,
  rssBytes,
  spawnTracked,
  waitExit,
  type LoadResult,
} from './common.js';
import { formatProfileSummary, summariseProfile, type ProfileSummary } from './profile-summary.js';

const { values } = parseArgs({
  options: {
    runfor: { type: 'string', default: '10s' },
    size: { type: 'string' },
    'batch-size': { type: 'string' },
    writers: { type: 'string' },
    readers: { type: 'string' },
    rdy: { type: 'string' },
    runs: { type: 'string' },
    phases: { type: 'string', default: 'publish,drain,sink,source' },
    'cpu-prof': { type: 'boolean', default: false },
    nsqd: { type: 'string', default: 'dist/apps/nsqd.js' },
    'nsqd-arg': { type: 'string', multiple: true, default: [] },
    'mem-queue-size': { type: 'string', default: '100000000' },
    'stall-timeout': { type: 'string', default: '5s' },
    'keep-backlog': { type: 'boolean', default: false },
    pub: { type: 'boolean', default: false },
    window: { type: 'string' },
    burst: { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results' },
  },
  strict: true,
});

const PHASES = ['publish', 'drain', 'pubsub', 'sink', 'source'] as const;
type Phase = (typeof PHASES)[number];

const cfg = {
  runforMs: parseDurationMs(values.runfor!),
  runfor: values.runfor!,
  size: parsePositiveInt('size', values.size, 200),
  batchSize: values.pub! ? 1 : parsePositiveInt('batch-size', values['batch-size'], 200),
  pub: values.pub!,
  window: parsePositiveInt('window', values.window, 1),
  burst: values.burst!,
  writers: parsePositiveInt('writers', values.writers, 4),
  readers: parsePositiveInt('readers', values.readers, 4),
  rdy: parsePositiveInt('rdy', values.rdy, 2500),
  runs: parsePositiveInt('runs', values.runs, 1),
  phases: values.phases!.split(',').map((p) => p.trim()).filter((p) => p !== '') as Phase[],
  cpuProf: values['cpu-prof']!,
  nsqd: values.nsqd!,
  nsqdArgs: values['nsqd-arg']!,
  memQueueSize: values['mem-queue-size']!,
  stallTimeout: values['stall-timeout']!,
  keepBacklog: values['keep-backlog']!,
  out: isAbsolute(values.out!) ? values.out! : join(REPO_ROOT, values.out!),
};
for (const p of cfg.phases) if (!PHASES.includes(p)) throw new Error(`--phases: unknown phase ${p} (know ${PHASES.join(', ')})`);
if (cfg.phases.includes('drain') && !cfg.phases.includes('publish')) throw new Error('--phases: drain needs publish (it drains the backlog publish leaves)');

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
/** nsqd data folders still in use, removed on every exit path. */
const dataPaths = new Set<string>();

// ---------------------------------------------------------------------------------------------
// Servers

/** A server child process we wait on: nsqd or a ceiling. */
interface Server {
  name: string;
  child: ChildProcess;
  pid: number;
  tcpPort: number;
  httpPort: number | null;
  /** Last lines of its stderr, for error messages. */
  tail: string[];
  /** Lines that look like errors or warnings. */
  problems: string[];
  /** Lines that describe the build (nsqd's version / hot-path backend). */
  info: string[];
}

const PROBLEM_RE = /\b(ERROR|WARN|WARNING|FATAL|panic|Error|EMFILE|ENOBUFS)\b/;

function startServer(name: string, cmd: string, args: string[], wantHttp: boolean): Promise<Server> {
  const child = spawnTracked(cmd, args, { cwd: REPO_ROOT, env: process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  const srv: Server = { name, child, pid: child.pid ?? -1, tcpPort: 0, httpPort: null, tail: [], problems: [], info: [] };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not report its listening ports within 20s:\n${srv.tail.join('\n')}`));
    }, 20_000);
    const check = (): void => {
      if (srv.tcpPort > 0 && (!wantHttp || srv.httpPort !== null)) {
        clearTimeout(timer);
        resolve(srv);
      }
    };
    createInterface({ input: child.stderr! }).on('line', (line) => {
      srv.tail.push(line);
      if (srv.tail.length > 100) srv.tail.shift();
      if (PROBLEM_RE.test(line) && srv.problems.length < 50) srv.problems.push(line);
      if (/nsqd v|hot paths|native/i.test(line) && srv.info.length < 5) srv.info.push(line.replace(/^.*?(INFO: )/, ''));
      const tcp = /TCP: listening on (?:\[?[^\]\s]*\]?):(\d+)/.exec(line);
      if (tcp) srv.tcpPort = Number(tcp[1]);
      const http = /HTTP: listening on (?:\[?[^\]\s]*\]?):(\d+)/.exec(line);
      if (http) srv.httpPort = Number(http[1]);
      check();
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${name} failed to start: ${err.message}`));
    });
    child.once('exit', (code, signal) => {
      if (srv.tcpPort === 0) {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${code ?? signal}) before listening:\n${srv.tail.join('\n')}`));
      }
    });
  });
}

/** SIGTERM a server and wait for it (SIGKILL after 60s); returns how it ended. */
async function stopServer(srv: Server): Promise<string> {
  if (srv.child.exitCode !== null || srv.child.signalCode !== null) {
    return `had already exited (${srv.child.exitCode ?? srv.child.signalCode})`;
  }
  srv.child.kill('SIGTERM');
  const r = await waitExit(srv.child, 60_000);
  if (r.killed) return 'did not exit within 60s of SIGTERM; killed';
  return r.code === 0 ? 'exit 0' : `exit ${r.code ?? r.signal}`;
}

function startNsqd(dataPath: string, profDir: string | null): Promise<Server> {
  const flags = [
    '--tcp-address=127.0.0.1:0',
    '--http-address=127.0.0.1:0',
    `--data-path=${dataPath}`,
    `--mem-queue-size=${cfg.memQueueSize}`,
    ...cfg.nsqdArgs,
  ];
  if (!cfg.nsqd.endsWith('.js')) return startServer('nsqd', cfg.nsqd, flags, true);
  const node = profDir === null ? [] : ['--cpu-prof', `--cpu-prof-dir=${profDir}`];
  return startServer('nsqd', process.execPath, [...node, cfg.nsqd, ...flags], true);
}

function startCeiling(kind: 'sink' | 'source'): Promise<Server> {
  const script = join(MACRO_DIR, `ceiling-${kind}${SELF_EXT}`);
  return startServer(`ceiling-${kind}`, process.execPath, [...childExecArgv(), script, '--tcp-address=127.0.0.1:0', `--size=${cfg.size}`], false);
}

// ---------------------------------------------------------------------------------------------
// Load generators

/** A running load generator: its process and the result it prints when done. */
interface LoadProcess {
  child: ChildProcess;
  result: Promise<LoadResult>;
}

/**
 * Start writer.ts or reader.ts against `port`. `runforMs` overrides --runfor (the pubsub reader
 * runs until told how many to expect); `onLine` sees its stderr lines; `stdin` keeps a pipe open.
 */
function spawnLoad(role: 'writer' | 'reader', port: number, extra: string[], opt: { runforMs?: number; stdin?: boolean; onLine?: (line: string) => void } = {}): LoadProcess {
  const script = join(MACRO_DIR, `${role}${SELF_EXT}`);
  const runforMs = opt.runforMs ?? cfg.runforMs;
  const common = [`--nsqd-tcp-address=127.0.0.1:${port}`, `--runfor=${runforMs}ms`, `--size=${cfg.size}`];
  const args =
    role === 'writer'
      ? [...common, `--conns=${cfg.writers}`, `--batch-size=${cfg.batchSize}`, `--window=${cfg.window}`, ...(cfg.pub ? ['--pub'] : []), ...(cfg.burst ? ['--burst'] : [])]
      : [...common, `--conns=${cfg.readers}`, `--rdy=${cfg.rdy}`, `--stall-timeout=${cfg.stallTimeout}`];
  const child = spawnTracked(process.execPath, [...childExecArgv(), script, ...args, ...extra], {
    cwd: REPO_ROOT,
    env: process.env,
    stdio: [opt.stdin === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  const stderr: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  createInterface({ input: child.stderr! }).on('line', (line) => {
    stderr.push(line);
    process.stderr.write(`  ${line}\n`);
    opt.onLine?.(line);
  });
  const result = (async (): Promise<LoadResult> => {
    const r = await waitExit(child, runforMs + 60_000);
    if (r.killed) throw new Error(`${role} did not finish within runfor + 60s; killed`);
    if (r.code !== 0) throw new Error(`${role} failed (exit ${r.code ?? r.signal}):\n${stderr.slice(-10).join('\n')}`);
    const last = stdout.trim().split('\n').pop() ?? '';
    try {
      return JSON.parse(last) as LoadResult;
    } catch {
      throw new Error(`${role} printed no result line; stdout: ${JSON.stringify(stdout.slice(-500))}`);
    }
  })();
  return { child, result };
}

function runLoad(role: 'writer' | 'reader', port: number, extra: string[]): Promise<LoadResult> {
  return spawnLoad(role, port, extra).result;
}

// ---------------------------------------------------------------------------------------------
// One run

/** Figures of one phase. */
interface PhaseResult {
  msgs: number;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
  /** Server CPU seconds over wall seconds of the phase, in percent of one core. */
  serverCpuPercent: number | null;
  /** Load generator CPU seconds over wall seconds, in percent of one core. */
  clientCpuPercent: number;
  stoppedBy: string;
  errorFrames: number;
  errors: string[];
  heartbeats: number;
  /** msgs/s over each TIMELINE_MS slice. */
  timeline: number[];
  /** When the load generator's clock ran, CLOCK_MONOTONIC µs (to cut the CPU profile). */
  startMonoUs: number;
  endMonoUs: number;
}

interface RunResult {
  phases: Partial<Record<Phase, PhaseResult>>;
  /** publish / sink and drain / source. */
  ratios: { publish?: number; drain?: number };
  nsqd: {
    info: string[];
    rssAfterPublishBytes: number | null;
    peakRssBytes: number | null;
    statsAfterPublish: unknown;
    statsAfterDrain: unknown;
    checks: string[];
    problems: string[];
    exit: string;
    /** Seconds from SIGTERM to exit. */
    shutdownSeconds: number | null;
    profile: string | null;
  } | null;
  ceilingPeakRssBytes: { sink?: number | null; source?: number | null };
  pubsub: PubsubInfo | null;
}

/** What the pubsub phase saw besides its end-to-end figures. */
interface PubsubInfo {
  info: string[];
  /** Writer's msgs/s while the readers consumed. */
  publishMsgsPerSec: number | null;
  /** Channel depth + in flight right after the writers stopped. */
  backlogAtPublishEnd: number | null;
  checks: string[];
  problems: string[];
  exit: string;
  /** nsqd's .cpuprofile with --cpu-prof. */
  profile: string | null;
}

function phaseResult(load: LoadResult, serverCpu: number | null): PhaseResult {
  return {
    msgs: load.msgs,
    seconds: load.seconds,
    msgsPerSec: load.msgs / load.seconds,
    mbPerSec: (load.msgs * cfg.size) / load.seconds / 1024 / 1024,
    serverCpuPercent: serverCpu === null ? null : (100 * serverCpu) / load.seconds,
    clientCpuPercent: (100 * load.clientCpuSeconds) / load.seconds,
    stoppedBy: load.stoppedBy,
    errorFrames: load.errorFrames,
    errors: load.errors,
    heartbeats: load.heartbeats,
    timeline: load.timeline,
    startMonoUs: load.startMonoUs,
    endMonoUs: load.endMonoUs,
  };
}

/** Run `body` with the server's CPU seconds measured around it. */
async function withCpu<T>(srv: Server, body: () => Promise<T>): Promise<[T, number | null]> {
  const before = cpuSeconds(srv.pid);
  const out = await body();
  const after = cpuSeconds(srv.pid);
  return [out, before === null || after === null ? null : after - before];
}

async function stats(srv: Server): Promise<any> {
  const res = await fetch(`http://127.0.0.1:${srv.httpPort}/stats?format=json&topic=sub_bench`, { signal: AbortSignal.timeout(15_000) });
  if (!res.ok) throw new Error(`GET /stats: HTTP ${res.status}`);
  const doc = (await res.json()) as any;
  return doc.data ?? doc; // nsqd < 1.0 wrapped V1 responses in {status_code, data}
}

function findTopic(doc: any): any {
  return (doc?.topics ?? []).find((t: any) => t.topic_name === 'sub_bench');
}

function newRunResult(): RunResult {
  return { phases: {}, ratios: {}, nsqd: null, ceilingPeakRssBytes: {}, pubsub: null };
}

/** An nsqd on a data folder of its own, for one phase. */
interface FreshNsqd {
  srv: Server;
  dataPath: string;
  profDir: string | null;
  /** Files in profDir before it started (its .cpuprofile is the one that is new at exit). */
  profilesBefore: Set<string>;
}

async function startFreshNsqd(profDir: string | null): Promise<FreshNsqd> {
  const dataPath = mkdtempSync(join(tmpdir(), 'nsq-ts-macro-'));
  dataPaths.add(dataPath);
  const profilesBefore = new Set(profDir === null ? [] : readdirSync(profDir));
  return { srv: await startNsqd(dataPath, profDir), dataPath, profDir, profilesBefore };
}

/** SIGTERM it, remove its data folder; how it ended, how long that took, and its profile. */
async function stopFreshNsqd(f: FreshNsqd): Promise<{ exit: string; seconds: number; profile: string | null }> {
  const t0 = performance.now();
  const exit = await stopServer(f.srv);
  const seconds = (performance.now() - t0) / 1000;
  rmSync(f.dataPath, { recursive: true, force: true });
  dataPaths.delete(f.dataPath);
  let profile: string | null = null;
  if (f.profDir !== null) {
    const added = readdirSync(f.profDir).filter((name) => name.endsWith('.cpuprofile') && !f.profilesBefore.has(name)).sort();
    if (added.length > 0) profile = join(f.profDir, added[added.length - 1]!);
  }
  return { exit, seconds, profile };
}

/** One pass over the selected phases, filling `result` as it goes (so a failure keeps what ran). */
async function runOnce(runIndex: number, profDir: string | null, result: RunResult): Promise<void> {
  const ph = cfg.phases;

  if (ph.includes('publish')) {
    const fresh = await startFreshNsqd(profDir);
    const srv = fresh.srv;
    const n: NonNullable<RunResult['nsqd']> = {
      info: srv.info,
      rssAfterPublishBytes: null,
      peakRssBytes: null,
      statsAfterPublish: null,
      statsAfterDrain: null,
      checks: [],
      problems: srv.problems,
      exit: '',
      shutdownSeconds: null,
      profile: null,
    };
    result.nsqd = n;
    try {
      process.stderr.write(`[run ${runIndex}] publish: ${cfg.writers} writers -> nsqd (pid ${srv.pid}) :${srv.tcpPort}, ${cfg.runfor}\n`);
      const [pub, pubCpu] = await withCpu(srv, () => runLoad('writer', srv.tcpPort, []));
      result.phases.publish = phaseResult(pub, pubCpu);
      n.rssAfterPublishBytes = rssBytes(srv.pid);
      try {
        const doc = await stats(srv);
        const t = findTopic(doc);
        n.statsAfterPublish = t === undefined ? null : { depth: t.depth, backend_depth: t.backend_depth, message_count: t.message_count, message_bytes: t.message_bytes };
        if (t === undefined) n.checks.push('after publish: topic sub_bench missing from /stats');
        else if (t.message_count !== pub.msgs) n.checks.push(`after publish: /stats message_count ${t.message_count} != published ${pub.msgs}`);
      } catch (err) {
        n.checks.push(`after publish: /stats failed: ${(err as Error).message}`);
      }

      if (ph.includes('drain')) {
        process.stderr.write(`[run ${runIndex}] drain: ${cfg.readers} readers <- nsqd, RDY ${cfg.rdy}, expect ${pub.msgs}\n`);
        const [drain, drainCpu] = await withCpu(srv, () => runLoad('reader', srv.tcpPort, [`--expect=${pub.msgs}`]));
        result.phases.drain = phaseResult(drain, drainCpu);
        if (drain.stoppedBy === 'stall') {
          throw new Error(`drain stalled: received ${drain.msgs} of ${pub.msgs}, then nothing for ${cfg.stallTimeout}`);
        }
        if (drain.errorFrames > 0) n.checks.push(`drain: ${drain.errorFrames} error frames, e.g. ${drain.errors.join(' | ')}`);
        try {
          // Give nsqd a moment to process the last FINs the reader flushed before closing.
          await new Promise((r) => setTimeout(r, 200));
          const doc = await stats(srv);
          const t = findTopic(doc);
          const c = (t?.channels ?? []).find((x: any) => x.channel_name === 'ch');
          n.statsAfterDrain =
            c === undefined
              ? null
              : {
                  topic_depth: t.depth,
                  depth: c.depth,
                  backend_depth: c.backend_depth,
                  in_flight_count: c.in_flight_count,
                  deferred_count: c.deferred_count,
                  message_count: c.message_count,
                  requeue_count: c.requeue_count,
                  timeout_count: c.timeout_count,
                  client_count: c.client_count,
                };
          if (c === undefined) n.checks.push('after drain: channel ch missing from /stats');
          else {
            const left = pub.msgs - drain.msgs;
            if (drain.stoppedBy === 'expect' && c.depth + c.in_flight_count !== 0) {
              n.checks.push(`after drain: all ${pub.msgs} received but channel depth ${c.depth} + in-flight ${c.in_flight_count} != 0`);
            }
            if (c.requeue_count > 0 || c.timeout_count > 0) n.checks.push(`after drain: requeue_count ${c.requeue_count}, timeout_count ${c.timeout_count}`);
            if (drain.stoppedBy === 'runfor') n.checks.push(`drain: runfor elapsed with ${left} of ${pub.msgs} messages not yet received`);
          }
        } catch (err) {
          n.checks.push(`after drain: /stats failed: ${(err as Error).message}`);
        }
      }
    } finally {
      n.peakRssBytes = peakRssBytes(srv.pid);
      if (!cfg.keepBacklog) {
        // nsqd writes its in-memory backlog to disk on exit (as Go nsqd does): gigabytes after a
        // long publish. Delete the topic first so shutdown measures nothing of the sort.
        try {
          const res = await fetch(`http://127.0.0.1:${srv.httpPort}/topic/delete?topic=sub_bench`, { method: 'POST', signal: AbortSignal.timeout(30_000) });
          if (!res.ok) n.checks.push(`POST /topic/delete: HTTP ${res.status}`);
        } catch (err) {
          n.checks.push(`POST /topic/delete failed: ${(err as Error).message}`);
        }
      }
      const end = await stopFreshNsqd(fresh);
      n.exit = end.exit;
      n.shutdownSeconds = end.seconds;
      n.profile = end.profile;
    }
    if (n.exit !== 'exit 0') n.checks.push(`nsqd ${n.exit} on SIGTERM`);
  }

  if (ph.includes('pubsub')) await runPubsub(runIndex, profDir, result);

  for (const kind of ['sink', 'source'] as const) {
    if (!ph.includes(kind)) continue;
    const srv = await startCeiling(kind);
    try {
      process.stderr.write(`[run ${runIndex}] ceiling ${kind} (pid ${srv.pid}) :${srv.tcpPort}, ${cfg.runfor}\n`);
      const [load, cpu] = await withCpu(srv, () => runLoad(kind === 'sink' ? 'writer' : 'reader', srv.tcpPort, []));
      result.phases[kind] = phaseResult(load, cpu);
    } finally {
      result.ceilingPeakRssBytes[kind] = peakRssBytes(srv.pid);
      const exit = await stopServer(srv);
      if (exit !== 'exit 0') process.stderr.write(`ceiling-${kind} ${exit}\n`);
    }
  }

  const p = result.phases;
  if (p.publish && p.sink) result.ratios.publish = p.publish.msgsPerSec / p.sink.msgsPerSec;
  if (p.drain && p.source) result.ratios.drain = p.drain.msgsPerSec / p.source.msgsPerSec;
}

/**
 * The pubsub phase: readers subscribed first, then writers for --runfor while they consume. The
 * readers learn the published count when the writers are done and stop when they have it all.
 */
async function runPubsub(runIndex: number, profDir: string | null, result: RunResult): Promise<void> {
  const fresh = await startFreshNsqd(profDir);
  const srv = fresh.srv;
  const info: PubsubInfo = { info: srv.info, publishMsgsPerSec: null, backlogAtPublishEnd: null, checks: [], problems: srv.problems, exit: '', profile: null };
  result.pubsub = info;
  try {
    process.stderr.write(`[run ${runIndex}] pubsub: ${cfg.readers} readers subscribe, then ${cfg.writers} writers -> nsqd (pid ${srv.pid}) :${srv.tcpPort} for ${cfg.runfor}\n`);
    let subscribed!: () => void;
    const ready = new Promise<void>((r) => (subscribed = r));
    const reader = spawnLoad('reader', srv.tcpPort, ['--expect-stdin'], {
      runforMs: 3 * cfg.runforMs + 60_000,
      stdin: true,
      onLine: (line) => {
        if (line.includes('[bench_reader] subscribed')) subscribed();
      },
    });
    const early = reader.result.then((r) => {
      throw new Error(`pubsub: reader stopped (${r.stoppedBy}) before the writers started`);
    });
    await Promise.race([ready, early]);
    early.catch(() => undefined);
    const cpuBefore = cpuSeconds(srv.pid);
    const pub = await runLoad('writer', srv.tcpPort, []);
    info.publishMsgsPerSec = pub.msgs / pub.seconds;
    try {
      const c = (findTopic(await stats(srv))?.channels ?? []).find((x: any) => x.channel_name === 'ch');
      if (c !== undefined) info.backlogAtPublishEnd = c.depth + c.in_flight_count;
    } catch (err) {
      info.checks.push(`after publish: /stats failed: ${(err as Error).message}`);
    }
    reader.child.stdin!.end(`${pub.msgs}\n`);
    const sub = await reader.result;
    const cpuAfter = cpuSeconds(srv.pid);
    if (sub.stoppedBy !== 'expect') throw new Error(`pubsub: reader stopped by ${sub.stoppedBy} with ${sub.msgs} of ${pub.msgs} messages received`);
    if (sub.errorFrames > 0) info.checks.push(`pubsub: ${sub.errorFrames} error frames, e.g. ${sub.errors.join(' | ')}`);
    const load: LoadResult = {
      ...sub,
      msgs: pub.msgs,
      seconds: (sub.endMonoUs - pub.startMonoUs) / 1e6,
      clientCpuSeconds: pub.clientCpuSeconds + sub.clientCpuSeconds,
      startMonoUs: pub.startMonoUs,
    };
    result.phases.pubsub = phaseResult(load, cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore);
  } finally {
    const end = await stopFreshNsqd(fresh);
    info.exit = end.exit;
    info.profile = end.profile;
  }
  if (info.exit !== 'exit 0') info.checks.push(`nsqd ${info.exit} on SIGTERM`);
}

// ---------------------------------------------------------------------------------------------
// Report

const ROWS: { phase: Phase; label: string; ratio: 'publish' | 'drain' | 'one' | 'none' }[] = [
  { phase: 'publish', label: 'publish  writer -> nsqd', ratio: 'publish' },
  { phase: 'drain', label: 'drain    nsqd -> reader', ratio: 'drain' },
  { phase: 'pubsub', label: 'pubsub   writer -> nsqd -> reader', ratio: 'none' },
  { phase: 'sink', label: 'ceiling  writer -> sink', ratio: 'one' },
  { phase: 'source', label: 'ceiling  source -> reader', ratio: 'one' },
];

type Summary = Partial<Record<Phase, { msgs: number; seconds: number; msgsPerSec: number; mbPerSec: number; ratio: number | null; serverCpuPercent: number | null; clientCpuPercent: number }>>;

function summarise(runs: RunResult[]): Summary {
  const out: Summary = {};
  const med = (xs: (number | null | undefined)[]): number | null => {
    const v = xs.filter((x): x is number => typeof x === 'number');
    return v.length === 0 ? null : median(v);
  };
  for (const row of ROWS) {
    const rs = runs.map((r) => r.phases[row.phase]).filter((x): x is PhaseResult => x !== undefined);
    if (rs.length === 0) continue;
    out[row.phase] = {
      msgs: median(rs.map((r) => r.msgs)),
      seconds: median(rs.map((r) => r.seconds)),
      msgsPerSec: median(rs.map((r) => r.msgsPerSec)),
      mbPerSec: median(rs.map((r) => r.mbPerSec)),
      ratio: row.ratio === 'one' ? 1 : row.ratio === 'none' ? null : med(runs.map((r) => r.ratios[row.ratio as 'publish' | 'drain'])),
      serverCpuPercent: med(rs.map((r) => r.serverCpuPercent)),
      clientCpuPercent: median(rs.map((r) => r.clientCpuPercent)),
    };
  }
  return out;
}

const mib = (b: number | null | undefined): string => (typeof b === 'number' ? `${(b / 1024 / 1024).toFixed(1)} MiB` : 'n/a');

function table(s: Summary): string {
  const head = ['phase', 'msgs', 'seconds', 'msgs/s', 'MB/s', 'vs ceiling', 'server CPU', 'client CPU'];
  const rows: string[][] = [];
  for (const row of ROWS) {
    const r = s[row.phase];
    if (r === undefined) continue;
    rows.push([
      row.label,
      String(Math.round(r.msgs)),
      r.seconds.toFixed(3),
      Math.round(r.msgsPerSec).toLocaleString('en-US'),
      r.mbPerSec.toFixed(2),
      r.ratio === null ? '-' : r.ratio.toFixed(2),
      r.serverCpuPercent === null ? '-' : `${r.serverCpuPercent.toFixed(0)}%`,
      `${r.clientCpuPercent.toFixed(0)}%`,
    ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

let failed = false;
const onSignal = (): void => {
  killAllChildren();
  for (const d of dataPaths) rmSync(d, { recursive: true, force: true });
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const runs: RunResult[] = [];
let profiles: ProfileSummary[] = [];
let failure: string | null = null;
try {
  mkdirSync(cfg.out, { recursive: true });
  const profDir = cfg.cpuProf ? join(cfg.out, `prof-${stamp}`) : null;
  if (profDir !== null) mkdirSync(profDir, { recursive: true });
  for (let i = 1; i <= cfg.runs; i++) {
    const r = newRunResult();
    runs.push(r);
    await runOnce(i, profDir, r);
  }
  if (profDir !== null) {
    for (const r of runs) {
      const file = r.nsqd?.profile;
      if (typeof file !== 'string') continue;
      for (const phase of ['publish', 'drain'] as const) {
        const p = r.phases[phase];
        if (p !== undefined) profiles.push(summariseProfile(file, { label: phase, fromUs: p.startMonoUs, toUs: p.endMonoUs }));
      }
    }
    for (const r of runs) {
      const file = r.pubsub?.profile;
      const p = r.phases.pubsub;
      if (typeof file === 'string' && p !== undefined) profiles.push(summariseProfile(file, { label: 'pubsub', fromUs: p.startMonoUs, toUs: p.endMonoUs }));
    }
  }
} catch (err) {
  failed = true;
  failure = (err as Error).message;
  killAllChildren();
} finally {
  for (const d of dataPaths) rmSync(d, { recursive: true, force: true });
}

const summary = summarise(runs);
const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${process.platform}/${process.arch}`;
const nsqdInfo = runs.find((r) => r.nsqd !== null)?.nsqd?.info ?? runs.find((r) => r.pubsub !== null)?.pubsub?.info ?? [];
const lines: string[] = [
  `nsq-ts macro bench ${stamp}`,
  `machine: ${machine}`,
  `nsqd: ${cfg.nsqd} ${nsqdInfo.join('; ')}; NSQ_NATIVE=${process.env.NSQ_NATIVE ?? '(unset)'}; --mem-queue-size=${cfg.memQueueSize} ${cfg.nsqdArgs.join(' ')}`,
  `settings: runfor ${cfg.runfor}, size ${cfg.size}, ${cfg.pub ? 'PUB' : `batch-size ${cfg.batchSize}`}, window ${cfg.window}${cfg.burst ? ' (burst)' : ''}, writers ${cfg.writers}, readers ${cfg.readers}, rdy ${cfg.rdy}, runs ${runs.length}/${cfg.runs}${cfg.runs > 1 ? ' (median of each figure)' : ''}`,
  `MB/s = msgs x size / s / 2^20 (as bench_writer/bench_reader); CPU = % of one core over the phase`,
  '',
  table(summary),
  '',
];
const nsqdRuns = runs.map((r) => r.nsqd).filter((n): n is NonNullable<RunResult['nsqd']> => n !== null);
if (nsqdRuns.length > 0) {
  lines.push(
    `nsqd peak RSS (VmHWM): ${mib(median(nsqdRuns.map((n) => n.peakRssBytes ?? NaN)))}; RSS after publish: ${mib(median(nsqdRuns.map((n) => n.rssAfterPublishBytes ?? NaN)))}; ` +
      `shutdown (SIGTERM to exit${cfg.keepBacklog ? ', backlog kept' : ', after deleting the topic'}): ${median(nsqdRuns.map((n) => n.shutdownSeconds ?? NaN)).toFixed(2)} s`,
  );
}
const sinkRss = runs.map((r) => r.ceilingPeakRssBytes.sink).filter((x): x is number => typeof x === 'number');
const sourceRss = runs.map((r) => r.ceilingPeakRssBytes.source).filter((x): x is number => typeof x === 'number');
if (sinkRss.length + sourceRss.length > 0) lines.push(`ceiling peak RSS: sink ${mib(sinkRss.length ? median(sinkRss) : null)}, source ${mib(sourceRss.length ? median(sourceRss) : null)}`);
runs.forEach((r, i) => {
  const n = r.nsqd;
  if (n === null) return;
  if (n.statsAfterPublish !== null) lines.push(`run ${i + 1} /stats after publish: ${JSON.stringify(n.statsAfterPublish)}`);
  if (n.statsAfterDrain !== null) lines.push(`run ${i + 1} /stats after drain:   ${JSON.stringify(n.statsAfterDrain)}`);
  for (const c of n.checks) lines.push(`run ${i + 1} check: ${c}`);
  for (const p of n.problems.slice(0, 10)) lines.push(`run ${i + 1} nsqd log: ${p}`);
  if (n.problems.length > 10) lines.push(`run ${i + 1} nsqd log: ... ${n.problems.length - 10} more`);
});
runs.forEach((r, i) => {
  const p = r.pubsub;
  if (p === null) return;
  const rate = p.publishMsgsPerSec === null ? '?' : Math.round(p.publishMsgsPerSec).toLocaleString('en-US');
  lines.push(`run ${i + 1} pubsub: writers published ${rate} msgs/s while the readers consumed; backlog (depth + in flight) when they stopped: ${p.backlogAtPublishEnd ?? '?'}`);
  for (const c of p.checks) lines.push(`run ${i + 1} pubsub check: ${c}`);
  for (const l of p.problems.slice(0, 10)) lines.push(`run ${i + 1} pubsub nsqd log: ${l}`);
});
runs.forEach((r, i) => {
  for (const row of ROWS) {
    const ph = r.phases[row.phase];
    if (ph !== undefined && ph.timeline.length > 0) {
      lines.push(`run ${i + 1} ${row.phase.padEnd(7)} k msgs/s per ${TIMELINE_MS} ms: ${ph.timeline.map((x) => Math.round(x / 1000)).join(' ')}`);
    }
  }
});
for (const p of profiles) lines.push('', formatProfileSummary({ ...p, file: relative(REPO_ROOT, p.file) }, 30));
if (failure !== null) lines.push('', `FAILED: ${failure}`);
const text = lines.join('\n') + '\n';
process.stdout.write('\n' + text);

try {
  mkdirSync(cfg.out, { recursive: true });
  const base = join(cfg.out, `macro-${stamp}`);
  writeFileSync(`${base}.txt`, text);
  writeFileSync(
    `${base}.json`,
    JSON.stringify({ stamp, machine, nsqdInfo, nativeEnv: process.env.NSQ_NATIVE ?? null, config: cfg, summary, runs, profiles: profiles.map((p) => ({ ...p, functions: p.functions.slice(0, 50), files: p.files.slice(0, 30) })), failure }, null, 2) + '\n',
  );
  process.stderr.write(`wrote ${relative(REPO_ROOT, base)}.json and .txt\n`);
} catch (err) {
  process.stderr.write(`could not write results: ${(err as Error).message}\n`);
  failed = true;
}
process.exitCode = failed ? 1 : 0;
