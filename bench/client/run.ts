/**
 * Client benchmark: our Consumer and Producer against nsqjs's Reader and Writer, on loopback,
 * against our nsqd running in its own process (so the client under test has this process's core).
 *
 * Run from the repository root, after `npm run compile`:
 *
 *   node --import tsx bench/client/run.ts [--consume=200000] [--publish=100000] [--size=200]
 *        [--max-in-flight=2500] [--window=1000] [--runs=3] [--phases=consume,publish]
 *        [--out=bench/results]
 *
 * Phases, each run once per client per run (the order alternates between runs):
 *   consume  --consume messages of --size bytes are MPUBlished first (not timed), then one
 *            consumer (max_in_flight --max-in-flight) receives and FINs them all; the clock
 *            runs from connect until the last message is handled.
 *   publish  one producer publishes --publish single PUBs with at most --window unanswered.
 * Prints msgs/s per client and phase (median over --runs), the ratio ours/nsqjs and the client
 * process's CPU time per message; writes bench/results/client-<timestamp>.json and .txt.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import nsq from 'nsqjs';
import { Consumer, Producer } from '../../src/client/index.js';
import { REPO_ROOT, median, parsePositiveInt, spawnTracked, waitExit } from '../macro/common.js';

const { values } = parseArgs({
  options: {
    consume: { type: 'string' },
    publish: { type: 'string' },
    size: { type: 'string' },
    'max-in-flight': { type: 'string' },
    window: { type: 'string' },
    runs: { type: 'string' },
    phases: { type: 'string', default: 'consume,publish' },
    out: { type: 'string', default: 'bench/results' },
  },
  strict: true,
});

const cfg = {
  consume: parsePositiveInt('consume', values.consume, 200_000),
  publish: parsePositiveInt('publish', values.publish, 100_000),
  size: parsePositiveInt('size', values.size, 200),
  maxInFlight: parsePositiveInt('max-in-flight', values['max-in-flight'], 2500),
  window: parsePositiveInt('window', values.window, 1000),
  runs: parsePositiveInt('runs', values.runs, 3),
  phases: values.phases!.split(','),
};

type Client = 'nsq-ts' | 'nsqjs';
type Phase = 'consume' | 'publish';

interface Sample {
  client: Client;
  phase: Phase;
  run: number;
  msgs: number;
  seconds: number;
  rate: number;
  cpuUsPerMsg: number;
}

const body = Buffer.alloc(cfg.size, 0x61);
const quiet = { logLevel: 'none' } as const;

async function startNsqd(dataPath: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawnTracked(process.execPath, [join(REPO_ROOT, 'dist/apps/nsqd.js'), '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dataPath}`, '--mem-queue-size=100000000'], {
    cwd: REPO_ROOT,
    env: process.env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('nsqd did not start within 20 s')), 20_000);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const m = /TCP: listening on .*:(\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`nsqd exited (${code}) before listening`)));
  });
  return {
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await waitExit(child, 30_000);
    },
  };
}

async function prepublish(addr: string, topic: string, n: number): Promise<void> {
  const p = new Producer(addr, quiet);
  const batch = Array.from({ length: 500 }, () => body);
  const pending: Promise<void>[] = [];
  for (let sent = 0; sent < n; sent += batch.length) {
    pending.push(p.mpublish(topic, batch.slice(0, Math.min(batch.length, n - sent))));
    if (pending.length >= 20) await pending.shift();
  }
  await Promise.all(pending);
  await p.close();
}

/** Time `fn` (which resolves when `msgs` messages are done) and the CPU this process spent. */
async function measure(client: Client, phase: Phase, run: number, msgs: number, fn: () => Promise<void>): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { client, phase, run, msgs, seconds, rate: msgs / seconds, cpuUsPerMsg: (cpu.user + cpu.system) / msgs };
}

async function consumeOurs(addr: string, topic: string, n: number): Promise<void> {
  const c = new Consumer(topic, 'ch', { ...quiet, maxInFlight: cfg.maxInFlight });
  let got = 0;
  const done = new Promise<void>((resolve) => {
    c.on('message', () => {
      if (++got === n) resolve();
    });
  });
  await c.connectToNsqd(addr);
  await done;
  await c.close();
}

async function consumeNsqjs(addr: string, topic: string, n: number): Promise<void> {
  const r = new nsq.Reader(topic, 'ch', { nsqdTCPAddresses: [addr], maxInFlight: cfg.maxInFlight });
  let got = 0;
  await new Promise<void>((resolve, reject) => {
    r.on('message', (m) => {
      m.finish();
      if (++got === n) resolve();
    });
    r.on('error', reject);
    r.connect();
  });
  await new Promise<void>((resolve) => {
    r.once('nsqd_closed', () => resolve());
    r.close();
    setTimeout(resolve, 2000).unref();
  });
}

/** Publish n messages keeping at most `window` unanswered. */
async function windowed(n: number, publishOne: () => Promise<void>): Promise<void> {
  let started = 0;
  await new Promise<void>((resolve, reject) => {
    let done = 0;
    const next = (): void => {
      while (started < n && started - done < cfg.window) {
        started++;
        publishOne().then(() => {
          if (++done === n) resolve();
          else next();
        }, reject);
      }
    };
    next();
  });
}

async function publishOurs(addr: string, topic: string, n: number): Promise<void> {
  const p = new Producer(addr, quiet);
  await p.connect();
  await windowed(n, () => p.publish(topic, body));
  await p.close();
}

async function publishNsqjs(addr: string, topic: string, n: number): Promise<void> {
  const [host, port] = addr.split(':') as [string, string];
  const w = new nsq.Writer(host, Number(port));
  await new Promise<void>((resolve, reject) => {
    w.once('ready', () => resolve());
    w.once('error', reject);
    w.connect();
  });
  await windowed(n, () => new Promise<void>((resolve, reject) => w.publish(topic, body, (err) => (err ? reject(err) : resolve()))));
  w.close();
}

async function main(): Promise<void> {
  const dataPath = mkdtempSync(join(tmpdir(), 'nsq-ts-client-bench-'));
  const nsqd = await startNsqd(dataPath);
  const addr = `127.0.0.1:${nsqd.port}`;
  const samples: Sample[] = [];
  try {
    for (let run = 0; run < cfg.runs; run++) {
      const order: Client[] = run % 2 === 0 ? ['nsq-ts', 'nsqjs'] : ['nsqjs', 'nsq-ts'];
      for (const client of cfg.phases.includes('consume') ? order : []) {
        const topic = `bench_consume_${client.replace('-', '')}_${run}`;
        await prepublish(addr, topic, cfg.consume);
        const fn = client === 'nsq-ts' ? consumeOurs : consumeNsqjs;
        const s = await measure(client, 'consume', run, cfg.consume, () => fn(addr, topic, cfg.consume));
        samples.push(s);
        process.stderr.write(`run ${run + 1} consume ${client}: ${Math.round(s.rate)} msgs/s\n`);
      }
      for (const client of cfg.phases.includes('publish') ? order : []) {
        const topic = `bench_publish_${client.replace('-', '')}_${run}`;
        const fn = client === 'nsq-ts' ? publishOurs : publishNsqjs;
        const s = await measure(client, 'publish', run, cfg.publish, () => fn(addr, topic, cfg.publish));
        samples.push(s);
        process.stderr.write(`run ${run + 1} publish ${client}: ${Math.round(s.rate)} msgs/s\n`);
      }
    }
  } finally {
    await nsqd.stop();
    rmSync(dataPath, { recursive: true, force: true });
  }
  report(samples);
}

function report(samples: Sample[]): void {
  const lines: string[] = [];
  lines.push(`client bench: ${cpus()[0]?.model ?? 'cpu'} ×${cpus().length}, Node ${process.version}, NSQ_NATIVE=${process.env.NSQ_NATIVE ?? 'auto'}`);
  lines.push(`consume ${cfg.consume} × ${cfg.size} B (max_in_flight ${cfg.maxInFlight}), publish ${cfg.publish} × ${cfg.size} B (window ${cfg.window}), median of ${cfg.runs} runs`);
  lines.push('');
  lines.push('phase     client   msgs/s (median)   runs                         CPU µs/msg   ratio');
  const summary: Record<string, { median: number; runs: number[]; cpuUsPerMsg: number }> = {};
  for (const phase of (['consume', 'publish'] as const).filter((p) => cfg.phases.includes(p))) {
    const med: Record<string, number> = {};
    for (const client of ['nsq-ts', 'nsqjs'] as const) {
      const xs = samples.filter((s) => s.phase === phase && s.client === client);
      const rates = xs.map((s) => s.rate);
      med[client] = median(rates);
      const cpu = median(xs.map((s) => s.cpuUsPerMsg));
      summary[`${phase}/${client}`] = { median: med[client]!, runs: rates, cpuUsPerMsg: cpu };
      const ratio = client === 'nsq-ts' ? '' : `${(med['nsq-ts']! / med[client]!).toFixed(2)}×`;
      lines.push(`${phase.padEnd(9)} ${client.padEnd(8)} ${Math.round(med[client]!).toString().padStart(15)}   ${rates.map((r) => Math.round(r)).join(', ').padEnd(28)} ${cpu.toFixed(2).padStart(10)}   ${ratio}`);
    }
  }
  const text = lines.join('\n') + '\n';
  process.stdout.write(text);
  mkdirSync(values.out!, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(join(values.out!, `client-${stamp}.txt`), text);
  writeFileSync(join(values.out!, `client-${stamp}.json`), JSON.stringify({ config: cfg, node: process.version, samples, summary }, null, 2) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`client bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
