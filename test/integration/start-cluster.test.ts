// `npm start` (scripts/start-cluster.mjs): nsqlookupd and nsqd on NSQ's default ports with data
// under ./data, nsqd registered with nsqlookupd; a terminal's Ctrl-C (SIGINT to the whole
// foreground process group) stops them cleanly, nsqd persisting its queues.
// Uses the fixed default ports 4150/4151/4160/4161: skipped with a message when one is taken.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir, waitFor } from '../helpers/daemons.js';
import { requireBuilt } from '../helpers/proc.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
  });
}

test('npm start: lookupd + nsqd (+ nsqadmin) on the default ports, data under ./data; Ctrl-C stops them cleanly and the message is on disk', async () => {
  requireBuilt('nsqd');
  requireBuilt('nsqlookupd');
  requireBuilt('nsqadmin');
  for (const p of [4150, 4151, 4160, 4161, 4171]) {
    if (!(await portFree(p))) {
      console.log(`  start-cluster.test.ts: port ${p} is in use, skipping`);
      return;
    }
  }
  const cwd = tempDir('nsq-ts-start-');
  // detached: its own process group, so the SIGINT below reaches the script and the daemons
  // together, as a terminal's Ctrl-C does.
  const child = spawn(process.execPath, [join(root, 'scripts/start-cluster.mjs')], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    await waitFor(() => log.includes('Ctrl-C stops them'), 15_000, 'start-cluster to report the daemons running');
    await waitFor(async () => (await fetch('http://127.0.0.1:4151/ping').catch(() => null))?.status === 200, 15_000, 'nsqd /ping');
    const pub = await fetch('http://127.0.0.1:4151/pub?topic=quickstart', { method: 'POST', body: 'hello' });
    assert.is(pub.status, 200);
    await waitFor(async () => {
      const r = await fetch('http://127.0.0.1:4161/lookup?topic=quickstart').catch(() => null);
      if (r === null || r.status !== 200) return false;
      const doc = (await r.json()) as { producers: { tcp_port: number }[] };
      return doc.producers.some((p) => p.tcp_port === 4150);
    }, 15_000, 'nsqlookupd to list nsqd for the topic');

    // nsqadmin on 4171, pointed at the local nsqlookupd.
    await waitFor(async () => (await fetch('http://127.0.0.1:4171/ping').catch(() => null))?.status === 200, 15_000, 'nsqadmin /ping');
    const nodes = (await (await fetch('http://127.0.0.1:4171/api/nodes')).json()) as { nodes: { tcp_port: number; topics: { topic: string }[] }[] | null; message: string };
    assert.is(nodes.message, '');
    assert.ok(nodes.nodes?.some((n) => n.tcp_port === 4150 && n.topics.some((t) => t.topic === 'quickstart')), 'nsqadmin lists the nsqd with its topic');

    process.kill(-child.pid!, 'SIGINT');
    assert.is(await exited, 0, log);
    assert.ok(log.includes('NSQ: bye'), 'nsqd closed normally');
    assert.not.ok(log.includes('exiting now'), 'no forced exit');
    const data = join(cwd, 'data');
    const dat = JSON.parse(readFileSync(join(data, 'nsqd.dat'), 'utf8')) as { topics: { name: string }[] };
    assert.equal(dat.topics.map((t) => t.name), ['quickstart']);
    assert.ok(existsSync(join(data, 'quickstart.diskqueue.meta.dat')));
    const meta = readFileSync(join(data, 'quickstart.diskqueue.meta.dat'), 'utf8').split('\n');
    assert.is(meta[0], '1', 'depth 1 in the persisted queue');
  } finally {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
    rmSync(cwd, { recursive: true, force: true });
  }
});

test.run();
