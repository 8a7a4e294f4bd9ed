/**
 * Our command-line tools against a Go nsqd found through a Go nsqlookupd: to_nsq publishes,
 * nsq_tail, nsq_to_file, nsq_to_http and nsq_to_nsq consume (nsq_to_nsq into our nsqd), and
 * nsq_stat reads the Go daemons' stats. Each must do its whole job, message for message.
 *
 *   npm run compile
 *   node --import tsx test/go-diff/tools.ts --go-nsqd=/path/to/nsqd --go-nsqlookupd=/path/to/nsqlookupd
 *
 * Not part of `npm test` (CI has no Go binaries). Exits 1 on any failed check.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distApp, Proc } from '../helpers/proc.js';
import { argvOf, Checks, goBinaries, startDaemon, stopDaemon, waitUntil, type Daemon } from './common.js';

const go = goBinaries('tools.ts');
const checks = new Checks();
const check = checks.check.bind(checks);



async function post(d: Daemon, path: string, body?: string): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${d.httpPort}${path}`, { method: 'POST', ...(body !== undefined ? { body } : {}) });
  if (r.status !== 200) throw new Error(`${d.name} ${path}: ${r.status} ${await r.text()}`);
}

interface TopicView { depth: number; message_count: number; channels: { channel_name: string; depth: number; in_flight_count: number; message_count: number }[] }
async function topic(d: Daemon, name: string): Promise<TopicView | undefined> {
  const r = await fetch(`http://127.0.0.1:${d.httpPort}/stats?format=json&topic=${encodeURIComponent(name)}`);
  const doc = (await r.json()) as { topics: (TopicView & { topic_name: string })[] | null };
  return doc.topics?.find((t) => t.topic_name === name);
}

/** Runs one of our tools (dist/apps/<name>.js); `stdin` is fed from a file so the tool sees EOF. */
function tool(name: string, args: string[], stdin?: string): Proc {
  if (stdin === undefined) return new Proc(distApp(name), args);
  const file = join(work, `${name}.stdin`);
  writeFileSync(file, stdin);
  return new Proc(distApp(name), args, { wrap: ['sh', '-c', 'exec "$@" < "$0"', file] });
}

const work = mkdtempSync(join(tmpdir(), 'go-tools-'));
const daemons: Daemon[] = [];
const procs: Proc[] = [];
try {
  const lk = await startDaemon('Go nsqlookupd', argvOf(go.nsqlookupd, 'nsqlookupd'), ['--broadcast-address=127.0.0.1']);
  daemons.push(lk);
  const goNsqd = await startDaemon('Go nsqd', argvOf(go.nsqd, 'nsqd'), [`--data-path=${mkdtempSync(join(work, 'go-'))}`, `--lookupd-tcp-address=127.0.0.1:${lk.tcpPort}`, '--broadcast-address=127.0.0.1']);
  daemons.push(goNsqd);
  const ours = await startDaemon('our nsqd', argvOf(null, 'nsqd'), [`--data-path=${mkdtempSync(join(work, 'ours-'))}`]);
  daemons.push(ours);
  const lookupd = `--lookupd-http-address=127.0.0.1:${lk.httpPort}`;

  // to_nsq: stdin lines to the Go nsqd.
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i} ${'x'.repeat(i * 10)}`);
  const toNsq = tool('to_nsq', ['--topic=tools', `--nsqd-tcp-address=127.0.0.1:${goNsqd.tcpPort}`], `${lines.join('\n')}\n`);
  procs.push(toNsq);
  const st = await toNsq.exited(15_000);
  const t0 = await topic(goNsqd, 'tools');
  check(st.code === 0 && t0?.message_count === 20, `to_nsq publishes 20 lines to the Go nsqd (exit ${st.code}, message_count ${t0?.message_count})`, toNsq.stderr);
  // Channels for each consumer, so each gets all 20 (the topic's first channel would take them otherwise).
  await waitUntil(async () => (await (await fetch(`http://127.0.0.1:${lk.httpPort}/lookup?topic=tools`)).text()).includes(`"tcp_port":${goNsqd.tcpPort}`), 5000);

  // nsq_tail through the Go nsqlookupd, -n 20.
  const tail = tool('nsq_tail', ['--topic=tools', lookupd, '-n', '20']);
  procs.push(tail);
  const tailSt = await tail.exited(20_000);
  check(tailSt.code === 0 && tail.stdout === `${lines.join('\n')}\n`, `nsq_tail -n 20 through the Go nsqlookupd prints the 20 lines in order and exits 0 (exit ${tailSt.code})`, tail.stdout.slice(0, 300) + tail.stderr.slice(0, 500));

  // nsq_to_file through the Go nsqlookupd.
  await post(goNsqd, '/channel/create?topic=tools&channel=nsq_to_file');
  await post(goNsqd, '/channel/create?topic=tools&channel=nsq_to_http');
  await post(goNsqd, '/channel/create?topic=tools&channel=nsq_to_nsq');
  for (let i = 0; i < 10; i++) await post(goNsqd, '/pub?topic=tools', `second ${i}`);
  const outDir = mkdtempSync(join(work, 'files-'));
  const toFile = tool('nsq_to_file', ['--topic=tools', lookupd, `--output-dir=${outDir}`]);
  procs.push(toFile);
  const drained = async (ch: string): Promise<boolean> => {
    const c = (await topic(goNsqd, 'tools'))?.channels.find((x) => x.channel_name === ch);
    return c !== undefined && c.depth === 0 && c.in_flight_count === 0 && c.message_count >= 10;
  };
  // nsq_to_file finishes messages only once they are synced to the file, so some stay in flight
  // until it syncs or stops.
  check(await waitUntil(async () => (await topic(goNsqd, 'tools'))?.channels.find((x) => x.channel_name === 'nsq_to_file')?.depth === 0, 15_000), 'nsq_to_file takes every message of its channel on the Go nsqd');
  toFile.signal('SIGTERM');
  const fileSt = await toFile.exited(15_000);
  check(await drained('nsq_to_file'), 'nsq_to_file finished them all by the time it exited');
  const written = readdirSync(outDir).map((f) => readFileSync(join(outDir, f), 'utf8')).join('');
  check(fileSt.code === 0 && written === Array.from({ length: 10 }, (_, i) => `second ${i}\n`).join(''), `nsq_to_file wrote the 10 messages to ${readdirSync(outDir).join(', ')} and exited 0 on SIGTERM (exit ${fileSt.code})`, written.slice(0, 300) + toFile.stderr.slice(0, 500));

  // nsq_to_http: POSTs each message to a local server.
  const got: string[] = [];
  const srv = createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      got.push(b);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const toHttp = tool('nsq_to_http', ['--topic=tools', lookupd, `--post=http://127.0.0.1:${(srv.address() as AddressInfo).port}/in`]);
  procs.push(toHttp);
  check(await waitUntil(() => got.length >= 10, 15_000) && (await waitUntil(() => drained('nsq_to_http'), 5000)), `nsq_to_http posted ${got.length} messages from the Go nsqd`);
  check(JSON.stringify([...got].sort()) === JSON.stringify(Array.from({ length: 10 }, (_, i) => `second ${i}`).sort()), 'nsq_to_http posted exactly the 10 bodies', JSON.stringify(got));
  toHttp.signal('SIGTERM');
  check((await toHttp.exited(15_000)).code === 0, 'nsq_to_http exits 0 on SIGTERM', toHttp.stderr.slice(0, 500));
  srv.close();

  // nsq_to_nsq: from the Go nsqd to ours.
  const toNsqd = tool('nsq_to_nsq', ['--topic=tools', lookupd, `--destination-nsqd-tcp-address=127.0.0.1:${ours.tcpPort}`, '--destination-topic=copied']);
  procs.push(toNsqd);
  check(await waitUntil(async () => (await topic(ours, 'copied'))?.message_count === 10, 15_000) && (await waitUntil(() => drained('nsq_to_nsq'), 5000)), `nsq_to_nsq copied the Go nsqd's 10 messages to ours (${(await topic(ours, 'copied'))?.message_count})`);
  toNsqd.signal('SIGTERM');
  check((await toNsqd.exited(15_000)).code === 0, 'nsq_to_nsq exits 0 on SIGTERM', toNsqd.stderr.slice(0, 500));

  // nsq_stat: two rounds of the Go daemons' stats.
  const stat = tool('nsq_stat', ['--topic=tools', '--channel=nsq_to_file', lookupd, '--count=2', '--interval=1s']);
  procs.push(stat);
  const statSt = await stat.exited(15_000);
  // A data row: ingress, egress | total, mem, disk, inflt, def | req, t-o, msgs, clients.
  const rows = stat.stdout.split('\n').filter((l) => /^\s*\d+\s+\d+ \|(\s+\d+){5} \|\s+\d+\s+\d+\s+10\s+0$/.test(l));
  check(statSt.code === 0 && rows.length === 2, `nsq_stat prints two rows of the Go nsqd's channel (10 messages, no clients) and exits 0 (exit ${statSt.code}, ${rows.length} rows)`, stat.stdout.slice(0, 600) + stat.stderr.slice(0, 300));
} finally {
  for (const p of procs) await p.kill();
  for (const d of daemons.reverse()) await stopDaemon(d);
  rmSync(work, { recursive: true, force: true });
}
checks.finish();
