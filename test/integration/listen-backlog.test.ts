// Every listener of the real binaries (nsqd TCP, HTTP and HTTPS, nsqd over a unix socket,
// nsqlookupd TCP and HTTP, nsqadmin HTTP) asks the kernel for the accept backlog Go's net.Listen
// asks for: net.core.somaxconn, not Node's default of 511. The kernel reports a listener's
// backlog as its Send-Q (`ss -l`). A burst of connections larger than the backlog has SYNs
// dropped and retried seconds later, so after an nsqd restart a fleet of consumers would
// reconnect slower than it does against Go's nsqd.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { goListenerBacklog } from '../../src/internal/listen.js';
import { tempDir } from '../helpers/daemons.js';
import { listeningLine } from '../helpers/log-lines.js';
import { Proc, repoRoot, requireBuilt } from '../helpers/proc.js';

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
  const ports = [...nsqd, ...lookupd, ...admin];
  const first = listenBacklog('-t', `127.0.0.1:${ports[0]}`);
  if (first === null) {
    console.log('  (ss is not installed: listener backlogs not checked)');
    return;
  }
  for (const port of ports) assert.is(listenBacklog('-t', `127.0.0.1:${port}`), expected, `backlog of the listener on port ${port}`);
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
