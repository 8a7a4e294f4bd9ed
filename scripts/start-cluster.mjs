#!/usr/bin/env node
// `npm start`: a local cluster on NSQ's default ports, data under ./data: nsqlookupd
// (4160 TCP, 4161 HTTP), then nsqd (4150, 4151) registered with it, and nsqadmin (4171) when
// it is built. Their logs are interleaved on stderr; Ctrl-C (or SIGTERM) stops them all
// gracefully, nsqd first so it persists its queues while nsqlookupd is still up.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'dist', 'apps', `${name}.js`);
const dataPath = join(process.cwd(), 'data');
mkdirSync(dataPath, { recursive: true });

const daemons = [
  { name: 'nsqlookupd', args: ['--broadcast-address=127.0.0.1'] },
  { name: 'nsqd', args: ['--lookupd-tcp-address=127.0.0.1:4160', `--data-path=${dataPath}`, '--broadcast-address=127.0.0.1'] },
  { name: 'nsqadmin', args: ['--lookupd-http-address=127.0.0.1:4161'] },
].filter((d) => existsSync(bin(d.name)));

const running = [];
let stopping = false;

function start(d) {
  // Own process group: a terminal's Ctrl-C reaches only this script, which stops the daemons one
  // by one, nsqd first (it leaves nsqlookupd while that still listens); a daemon ignores signals
  // after its first, so a second Ctrl-C here only stops waiting for them.
  const child = spawn(process.execPath, [bin(d.name), ...d.args], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  const entry = { ...d, child, exited: new Promise((r) => child.once('exit', (code, sig) => r({ code, sig }))) };
  entry.exited.then(({ code, sig }) => {
    if (!stopping) {
      process.stderr.write(`start-cluster: ${d.name} exited (${sig ?? code}); stopping the others\n`);
      void stop(1);
    }
  });
  running.push(entry);
}

async function stop(exitCode) {
  if (stopping) return;
  stopping = true;
  // nsqd first (it persists its queues and leaves nsqlookupd), then the rest.
  for (const name of ['nsqadmin', 'nsqd', 'nsqlookupd']) {
    const e = running.find((r) => r.name === name);
    if (e === undefined) continue;
    e.child.kill('SIGTERM');
    await e.exited;
  }
  process.exit(exitCode);
}

// Should this script die some other way, take the daemons down with it.
process.on('exit', () => {
  for (const e of running) if (e.child.exitCode === null && e.child.signalCode === null) e.child.kill('SIGTERM');
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (stopping) process.exit(1);
    void stop(0);
  });
}

for (const d of daemons) {
  start(d);
  // Give nsqlookupd a moment to listen so nsqd's first connect succeeds (it retries anyway).
  if (d.name === 'nsqlookupd') await new Promise((r) => setTimeout(r, 300));
}
process.stderr.write(`start-cluster: ${daemons.map((d) => d.name).join(', ')} running; data under ${dataPath}; Ctrl-C stops them\n`);
