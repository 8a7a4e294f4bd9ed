/**
 * Disk benchmarks for the disk queue issue, run against the built nsqd (dist/apps/nsqd.js) on
 * loopback with a fresh --data-path each time; load comes from bench/macro/writer.ts in its own
 * process. Usage:
 *   node --import tsx bench/disk/run.ts [--runfor=5s] [--runs=3] [--only=all-disk,durable,memory]
 * Scenarios:
 *   all-disk  --mem-queue-size=0: 4 connections MPUB 200 x 200-byte messages (bench_writer), to a
 *             topic without channels, then to one with a channel (both queues on disk)
 *   durable   --durable-publish: 1, 16 and 64 connections each publishing one 200-byte message
 *             and waiting for its OK, then 64 connections keeping 8 such publishes in flight (as a
 *             pipelining client does); acknowledged msgs/s and fdatasyncs/s (from nsqd's
 *             shutdown DISK line)
 *   memory    resident memory of 1,000,000 queued 200-byte messages (--mem-queue-size=1100000),
 *             as (RSS after - RSS before) / 1e6
 * Prints a table (median of --runs) and writes bench/results/disk-<time>.{txt,json}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childExecArgv, median, parseDurationMs, rssBytes } from '../macro/common.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({
  options: { runfor: { type: 'string', default: '5s' }, runs: { type: 'string', default: '3' }, only: { type: 'string', default: 'all-disk,durable,memory' } },
});
const runforMs = parseDurationMs(values.runfor!);
const runs = Number(values.runs);
const only = new Set(values.only!.split(','));

interface Nsqd {
  child: ChildProcess;
  port: number;
  http: number;
  log: string[];
  dir: string;
}

async function startNsqd(args: string[]): Promise<Nsqd> {
  const dir = mkdtempSync(join(tmpdir(), 'nsq-disk-bench-'));
  const child = spawn(process.execPath, [join(root, 'dist/apps/nsqd.js'), '--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dir}`, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: process.env,
  });
  const log: string[] = [];
  let tcp = 0;
  let http = 0;
  await new Promise<void>((resolve, reject) => {
    let buf = '';
    child.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        log.push(line);
        const t = /TCP: listening on .*:(\d+)$/.exec(line);
        if (t) tcp = Number(t[1]);
        const h = /HTTP: listening on .*:(\d+)$/.exec(line);
        if (h) http = Number(h[1]);
        if (tcp > 0 && http > 0) resolve();
      }
    });
    child.once('exit', (c) => reject(new Error(`nsqd exited ${c}: ${log.join('\n')}`)));
  });
  return { child, port: tcp, http, log, dir };
}

async function stopNsqd(n: Nsqd): Promise<{ batches: number; syncs: number }> {
  const exited = new Promise<void>((r) => n.child.once('exit', () => r()));
  n.child.kill('SIGTERM');
  await exited;
  rmSync(n.dir, { recursive: true, force: true });
  const line = n.log.find((l) => l.includes('DISK:')) ?? '';
  const m = /DISK: (\d+) write batches, (\d+) fdatasyncs/.exec(line);
  return { batches: Number(m?.[1] ?? 0), syncs: Number(m?.[2] ?? 0) };
}

async function writer(port: number, conns: number, batch: number, ms: number, window = 1): Promise<{ msgs: number; seconds: number }> {
  const child = spawn(process.execPath, [...childExecArgv(), join(root, 'bench/macro/writer.ts'), `--nsqd-tcp-address=127.0.0.1:${port}`, `--conns=${conns}`, `--batch-size=${batch}`, '--size=200', `--runfor=${ms}ms`, `--window=${window}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`writer exited ${code}`);
  const r = JSON.parse(out.trim().split('\n').pop()!) as { msgs: number; seconds: number };
  return r;
}

interface Row {
  scenario: string;
  value: number;
  unit: string;
  extra: string;
}
const rows: Row[] = [];

async function post(url: string): Promise<void> {
  const r = await fetch(url, { method: 'POST' });
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${await r.text()}`);
}

async function allDisk(): Promise<void> {
  // Without a channel the topic only writes; with one, every message also goes from the topic's
  // disk queue to the channel's (read, copied, written, and the topic's read acked once written).
  for (const withChannel of [false, true]) {
    const rates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const n = await startNsqd(['--mem-queue-size=0']);
      if (withChannel) {
        await post(`http://127.0.0.1:${n.http}/topic/create?topic=sub_bench`);
        await post(`http://127.0.0.1:${n.http}/channel/create?topic=sub_bench&channel=ch`);
      }
      const r = await writer(n.port, 4, 200, runforMs);
      await stopNsqd(n);
      rates.push(r.msgs / r.seconds);
    }
    const scenario = withChannel ? 'all-disk publish, one channel (topic disk queue -> channel disk queue)' : 'all-disk publish (--mem-queue-size=0, 4 conns, MPUB 200)';
    rows.push({ scenario, value: median(rates), unit: 'msgs/s', extra: rates.map((x) => Math.round(x)).join(' ') });
  }
}

async function durable(): Promise<void> {
  const cases = [
    { conns: 1, window: 1 },
    { conns: 16, window: 1 },
    { conns: 64, window: 1 },
    { conns: 64, window: 8 },
  ];
  for (const { conns, window } of cases) {
    const rates: number[] = [];
    const syncRates: number[] = [];
    for (let i = 0; i < runs; i++) {
      const n = await startNsqd(['--durable-publish']);
      const r = await writer(n.port, conns, 1, runforMs, window);
      const io = await stopNsqd(n);
      rates.push(r.msgs / r.seconds);
      syncRates.push(io.syncs / r.seconds);
    }
    const how = window === 1 ? '1 msg per OK' : `${window} 1-msg publishes in flight each`;
    rows.push({ scenario: `durable publish, ${conns} publisher${conns > 1 ? 's' : ''} (${how})`, value: median(rates), unit: 'acked msgs/s', extra: `${Math.round(median(syncRates))} fdatasyncs/s; runs ${rates.map((x) => Math.round(x)).join(' ')}` });
  }
}

async function memory(): Promise<void> {
  const perMsg: number[] = [];
  for (let i = 0; i < runs; i++) {
    const n = await startNsqd(['--mem-queue-size=1100000']);
    await new Promise((r) => setTimeout(r, 500));
    const before = rssBytes(n.child.pid!) ?? 0;
    // 1,000,000 messages: 5000 MPUBs of 200 through one connection.
    let sent = 0;
    while (sent < 1_000_000) {
      const r = await writer(n.port, 1, 200, 200);
      sent += r.msgs;
    }
    await new Promise((r) => setTimeout(r, 1000));
    const after = rssBytes(n.child.pid!) ?? 0;
    perMsg.push((after - before) / sent);
    await stopNsqd(n);
  }
  rows.push({ scenario: 'resident memory per queued 200-byte message (1M queued)', value: median(perMsg), unit: 'bytes/msg', extra: perMsg.map((x) => x.toFixed(0)).join(' ') });
}

if (only.has('all-disk')) await allDisk();
if (only.has('durable')) await durable();
if (only.has('memory')) await memory();

const head = `nsq-ts disk bench ${new Date().toISOString()}\nmachine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, Node ${process.version}, NSQ_NATIVE=${process.env.NSQ_NATIVE ?? '(auto)'}\nruns ${runs}, runfor ${values.runfor}; medians\n`;
const table = rows.map((r) => `${r.scenario.padEnd(62)} ${Math.round(r.value).toLocaleString('en-US').padStart(10)} ${r.unit.padEnd(13)} ${r.extra}`).join('\n');
process.stdout.write(`${head}\n${table}\n`);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(join(root, `bench/results/disk-${stamp}.txt`), `${head}\n${table}\n`);
writeFileSync(join(root, `bench/results/disk-${stamp}.json`), JSON.stringify({ rows, runs, runfor: values.runfor }, null, 2));
