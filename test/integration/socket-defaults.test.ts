// The socket settings Go's net package gives NSQ's daemons without being asked, read back from
// the kernel with ss:
// - every listener of the real binaries (nsqd TCP, HTTP and HTTPS, nsqd over a unix socket,
//   nsqlookupd TCP and HTTP, nsqadmin HTTP) asks for net.core.somaxconn as its accept backlog,
//   not Node's 511 (a listener's backlog is its Send-Q in `ss -l`). A burst of connections
//   larger than the backlog has SYNs dropped and retried seconds later, so after an nsqd
//   restart a fleet of consumers would reconnect slower than it does against Go's nsqd;
// - every TCP connection they accept, nsqd's connection to nsqlookupd and the client library's
//   connections have TCP keep-alive on after 15 s idle (`timer:(keepalive,...)` in `ss -o`),
//   so a peer that vanished without a word is found dead.
import { connect, type Socket } from 'node:net';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { goListenerBacklog } from '../../src/internal/listen.js';
import { tempDir, waitFor } from '../helpers/daemons.js';
import { listeningLine } from '../helpers/log-lines.js';
import { Proc, repoRoot, requireBuilt } from '../helpers/proc.js';
import { Producer } from '../../src/client/index.js';

const procs: Proc[] = [];
const dirs: string[] = [];

test.after(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function somaxconnText(): string | null {
  try {
    return readFileSync('/proc/sys/net/core/somaxconn', 'latin1');
  } catch {
    return null;
  }
}

/** The backlog the kernel holds for listening sockets whose `ss` line mentions `local` (`ss -l`'s Send-Q), or null without ss. */
function listenBacklog(kind: '-t' | '-x', local: string): number | null {
  let out: string;
  try {
    out = execFileSync('ss', ['-lnH', kind], { encoding: 'utf8' });
  } catch {
    return null;
  }
  const line = out.split('\n').find((l) => l.split(/\s+/).includes(local));
  if (line === undefined) throw new Error(`no listener at ${local} in:\n${out}`);
  // State Recv-Q Send-Q Local ... (-x prints a Netid column first).
  const f = line.trim().split(/\s+/);
  return Number(f[kind === '-x' && f[0] === 'u_str' ? 3 : 2]);
}

async function start(app: string, args: readonly string[], lines: readonly ('TCP' | 'HTTP' | 'HTTPS')[], prefix: string): Promise<number[]> {
  const proc = new Proc(requireBuilt(app), args);
  procs.push(proc);
  const ports: number[] = [];
  for (const what of lines) ports.push(Number((await proc.waitForOutput(listeningLine(what, prefix)))[1]));
  return ports;
}

const expected = goListenerBacklog(somaxconnText());

/** `ss -tno` lines of established TCP connections (Recv-Q Send-Q Local Peer [timer]), or null without ss. */
function established(): string[][] | null {
  try {
    return execFileSync('ss', ['-tnoH', 'state', 'established'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.trim().split(/\s+/));
  } catch {
    return null;
  }
}

/** The keep-alive timer of the connection whose local and peer addresses match, in seconds; -1 when it has none. */
function keepAliveSeconds(lines: string[][], local: (a: string) => boolean, peer: (a: string) => boolean): number {
  const f = lines.find((x) => local(x[2]!) && peer(x[3]!));
  if (f === undefined) throw new Error('connection not found in ss output');
  const m = /timer:\(keepalive,(?:(\d+)min)?(?:([\d.]+)sec)?(?:(\d+)ms)?,/.exec(f.slice(4).join(' '));
  if (m === null) return -1;
  return Number(m[1] ?? 0) * 60 + Number(m[2] ?? 0) + Number(m[3] ?? 0) / 1000;
}

async function open(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  s.on('error', () => {});
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  return s;
}

let cluster: { nsqd: number[]; lookupd: number[]; admin: number[] } | null = null;

test('every listener asks for Go\'s backlog (net.core.somaxconn), not Node\'s 511', async () => {
  const certs = join(repoRoot, 'test/fixtures/certs');
  const nsqd = await start(
    'nsqd',
    [
      '--tcp-address=127.0.0.1:0',
      '--http-address=127.0.0.1:0',
      '--https-address=127.0.0.1:0',
      `--tls-cert=${join(certs, 'server.pem')}`,
      `--tls-key=${join(certs, 'server.key')}`,
      `--data-path=${(() => {
        const d = tempDir('nsq-ts-backlog-');
        dirs.push(d);
        return d;
      })()}`,
    ],
    ['TCP', 'HTTP', 'HTTPS'],
    '[nsqd] ',
  );
  const lookupd = await start('nsqlookupd', ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'], ['TCP', 'HTTP'], '[nsqlookupd] ');
  const admin = await start('nsqadmin', ['--http-address=127.0.0.1:0', `--nsqd-http-address=127.0.0.1:${nsqd[1]}`], ['HTTP'], '[nsqadmin] ');
  cluster = { nsqd, lookupd, admin };
  const ports = [...nsqd, ...lookupd, ...admin];
  const first = listenBacklog('-t', `127.0.0.1:${ports[0]}`);
  if (first === null) {
    console.log('  (ss is not installed: listener backlogs not checked)');
    return;
  }
  for (const port of ports) assert.is(listenBacklog('-t', `127.0.0.1:${port}`), expected, `backlog of the listener on port ${port}`);
});

test('accepted connections have TCP keep-alive after 15 s idle, as Go\'s net.Listen sets', async () => {
  assert.ok(cluster !== null, 'the daemons started');
  const ports = [...cluster.nsqd, ...cluster.lookupd, ...cluster.admin];
  const socks = await Promise.all(ports.map((p) => open(p)));
  try {
    if (established() === null) return;
    // Our connect completes when the kernel has the connection queued; the daemon sets the
    // option once it has accepted it, a moment later.
    const timers = (lines: string[][]): number[] =>
      ports.map((port, i) => keepAliveSeconds(lines, (a) => a === `127.0.0.1:${port}`, (a) => a === `127.0.0.1:${socks[i]!.localPort}`));
    await waitFor(() => timers(established()!).every((t) => t > 0), 5000, 'every accepted connection has a keep-alive timer').catch(() => undefined);
    const lines = established()!;
    const secs = timers(lines);
    for (let i = 0; i < ports.length; i++) {
      assert.ok(secs[i]! > 0 && secs[i]! <= 15, `keep-alive timer of the connection accepted on port ${ports[i]}: ${secs[i]} s`);
      // Our own end (a plain net.connect) has none: the check tells the two apart.
      assert.is(keepAliveSeconds(lines, (a) => a === `127.0.0.1:${socks[i]!.localPort}`, (a) => a === `127.0.0.1:${ports[i]}`), -1);
    }
  } finally {
    for (const s of socks) s.destroy();
  }
});

test('nsqd\'s connection to nsqlookupd and the client library\'s connections have TCP keep-alive, as Go\'s net.Dial sets', async () => {
  const lookupd = await start('nsqlookupd', ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0'], ['TCP', 'HTTP'], '[nsqlookupd] ');
  const dir = tempDir('nsq-ts-keepalive-');
  dirs.push(dir);
  const proc = new Proc(requireBuilt('nsqd'), ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--lookupd-tcp-address=127.0.0.1:${lookupd[0]}`, `--data-path=${dir}`]);
  procs.push(proc);
  const tcp = Number((await proc.waitForOutput(listeningLine('TCP', '[nsqd] ')))[1]);
  await proc.waitForOutput(/LOOKUPD\(127\.0\.0\.1:\d+\): peer info/);
  const producer = new Producer(`127.0.0.1:${tcp}`);
  try {
    await producer.publish('keepalive', 'x');
    if (established() === null) return;
    const timers = (lines: string[][]): [number, number] => [
      keepAliveSeconds(lines, () => true, (a) => a === `127.0.0.1:${lookupd[0]}`),
      keepAliveSeconds(lines, () => true, (a) => a === `127.0.0.1:${tcp}`),
    ];
    // ss may list a connection before its keep-alive timer shows (seen under load in CI).
    await waitFor(() => timers(established()!).every((t) => t > 0), 5000, 'both connections have a keep-alive timer').catch(() => undefined);
    const [toLookupd, toNsqd] = timers(established()!);
    assert.ok(toLookupd > 0 && toLookupd <= 15, `nsqd -> nsqlookupd keep-alive timer: ${toLookupd} s`);
    assert.ok(toNsqd > 0 && toNsqd <= 15, `client -> nsqd keep-alive timer: ${toNsqd} s`);
  } finally {
    await producer.close();
  }
});

test('an nsqd HTTP listener on a unix socket asks for the same backlog', async () => {
  const dir = tempDir('nsq-ts-backlog-unix-');
  dirs.push(dir);
  const sock = join(dir, 'http.sock');
  const proc = new Proc(requireBuilt('nsqd'), ['--tcp-address=127.0.0.1:0', `--http-address=${sock}`, `--data-path=${dir}`]);
  procs.push(proc);
  await proc.waitForOutput(/INFO: HTTP: listening on .*http\.sock$/m);
  const got = listenBacklog('-x', sock);
  if (got === null) return;
  assert.is(got, expected);
});

test('goListenerBacklog reads somaxconn as Go\'s maxListenerBacklog does', () => {
  assert.is(goListenerBacklog('4096\n'), 4096);
  assert.is(goListenerBacklog('  200 extra\n'), 200);
  assert.is(goListenerBacklog('65535'), 65535);
  assert.is(goListenerBacklog('1000000\n'), 1000000);
  // No file, no digits, zero, or past net.dtoi's 0xFFFFFF guard: syscall.SOMAXCONN (128).
  assert.is(goListenerBacklog(null), 128);
  assert.is(goListenerBacklog(''), 128);
  assert.is(goListenerBacklog('abc\n'), 128);
  assert.is(goListenerBacklog('0\n'), 128);
  assert.is(goListenerBacklog(`${0xffffff}\n`), 128);
  assert.is(goListenerBacklog('99999999999999999999\n'), 128);
  assert.is(goListenerBacklog(`${0xfffffe}\n`), 0xfffffe);
});

test.run();
