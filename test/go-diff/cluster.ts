/**
 * A mixed cluster: our nsqd and a Go nsqd, each registered with our nsqlookupd and with a Go
 * nsqlookupd. The two nsqlookupds must then tell the same story at every step (registration,
 * channels, tombstones, an nsqd leaving), our client must consume every message from both nsqds
 * through either nsqlookupd, and our nsqadmin must show both nsqds from the Go nsqlookupd.
 *
 *   npm run compile
 *   node --import tsx test/go-diff/cluster.ts --go-nsqd=/path/to/nsqd --go-nsqlookupd=/path/to/nsqlookupd
 *
 * Not part of `npm test` (CI has no Go binaries). Exits 1 on any mismatch.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Consumer } from '../../src/client/index.js';
import { distApp, freePort } from '../helpers/proc.js';
import { argvOf, Checks, goBinaries, lookupdComparable, sleep, startDaemon, stopDaemon, waitUntil, type Daemon } from './common.js';

const go = goBinaries('cluster.ts');
const checks = new Checks();
const check = checks.check.bind(checks);


async function getJson(port: number, path: string): Promise<unknown> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  const text = await r.text();
  try {
    return { status: r.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: r.status, body: text };
  }
}

async function post(port: number, path: string, body?: string): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', ...(body !== undefined ? { body } : {}) });
  await r.text();
  return r.status;
}

/** remote_address is the nsqd's outgoing port, which differs per nsqlookupd connection. */
const normalise = (v: unknown): unknown => lookupdComparable(v, (k) => k === 'remote_address' || k === 'last_update');

async function compareLookupds(ours: Daemon, go: Daemon, path: string, what: string): Promise<void> {
  const a = JSON.stringify(normalise(await getJson(ours.httpPort, path)));
  const b = JSON.stringify(normalise(await getJson(go.httpPort, path)));
  check(a === b, `${what}: GET ${path} the same from both nsqlookupds`, `ours ${a}\n     go   ${b}`);
}

const producers = async (d: Daemon, topic: string): Promise<number> => {
  const r = (await getJson(d.httpPort, `/lookup?topic=${topic}`)) as { status: number; body: { producers?: unknown[] } };
  return r.status === 200 ? (r.body.producers?.length ?? 0) : 0;
};

const dirs: string[] = [];
const daemons: Daemon[] = [];
try {
  const lkOurs = await startDaemon('our nsqlookupd', argvOf(null, 'nsqlookupd'), ['--broadcast-address=127.0.0.1']);
  daemons.push(lkOurs);
  const lkGo = await startDaemon('Go nsqlookupd', argvOf(go.nsqlookupd, 'nsqlookupd'), ['--broadcast-address=127.0.0.1']);
  daemons.push(lkGo);
  const lookupFlags = [`--lookupd-tcp-address=127.0.0.1:${lkOurs.tcpPort}`, `--lookupd-tcp-address=127.0.0.1:${lkGo.tcpPort}`, '--broadcast-address=127.0.0.1'];
  const nsqdOf = async (name: string, path: string | null): Promise<Daemon> => {
    const dir = mkdtempSync(join(tmpdir(), 'go-cluster-'));
    dirs.push(dir);
    const d = await startDaemon(name, argvOf(path, 'nsqd'), [`--data-path=${dir}`, ...lookupFlags]);
    daemons.push(d);
    return d;
  };
  const nOurs = await nsqdOf('our nsqd', null);
  const nGo = await nsqdOf('Go nsqd', go.nsqd);

  // Registration: a topic on each nsqd, a channel on both, an ephemeral channel on ours.
  for (const n of [nOurs, nGo]) {
    for (let i = 0; i < 10; i++) await post(n.httpPort, '/pub?topic=mixed', `${n.name} ${i}`);
    await post(n.httpPort, '/channel/create?topic=mixed&channel=c');
  }
  await post(nOurs.httpPort, '/pub?topic=only_ours', 'x');
  await post(nGo.httpPort, '/pub?topic=only_go', 'x');
  await post(nOurs.httpPort, '/channel/create?topic=mixed&channel=eph%23ephemeral');
  const registered = await waitUntil(async () => (await producers(lkOurs, 'mixed')) === 2 && (await producers(lkGo, 'mixed')) === 2 && (await producers(lkGo, 'only_go')) === 1 && (await producers(lkOurs, 'only_ours')) === 1, 10_000);
  check(registered, 'both nsqds registered with both nsqlookupds');
  await sleep(300);
  for (const p of ['/topics', '/channels?topic=mixed', '/lookup?topic=mixed', '/lookup?topic=only_go', '/lookup?topic=only_ours', '/nodes']) await compareLookupds(lkOurs, lkGo, p, 'registered');

  // Tombstone the Go nsqd's mixed topic in both.
  for (const lk of [lkOurs, lkGo]) check((await post(lk.httpPort, `/topic/tombstone?topic=mixed&node=127.0.0.1:${nGo.httpPort}`)) === 200, `${lk.name}: tombstone`);
  for (const p of ['/lookup?topic=mixed', '/nodes']) await compareLookupds(lkOurs, lkGo, p, 'tombstoned');

  // Our client through each nsqlookupd, on a channel of its own, gets a message published to
  // each nsqd once it is subscribed.
  for (const lk of [lkOurs, lkGo]) {
    for (const [topic, n] of [['only_ours', nOurs], ['only_go', nGo]] as const) {
      const c = new Consumer(topic, `via_${lk === lkOurs ? 'ours' : 'go'}`, { maxInFlight: 10, lookupdPollInterval: 200 });
      const got: string[] = [];
      c.on('message', (m) => void got.push(m.body.toString()));
      await c.connectToNsqLookupd(`127.0.0.1:${lk.httpPort}`);
      const connected = await waitUntil(async () => c.stats().connections === 1, 5000);
      await post(n.httpPort, `/pub?topic=${topic}`, `to ${topic} via ${lk.name}`);
      const done = await waitUntil(async () => got.length >= 1, 5000);
      await sleep(200);
      // (The first channel of a topic also gets what the topic held before it existed.)
      check(connected && done && got.at(-1) === `to ${topic} via ${lk.name}`, `our client finds ${n.name} through ${lk.name} and consumes from it (${JSON.stringify(got)})`);
      await c.close();
    }
  }
  const mixed = new Consumer('mixed', 'c', { maxInFlight: 50 });
  const seen = new Set<string>();
  mixed.on('message', (m) => void seen.add(m.body.toString()));
  await mixed.connectToNsqds([`127.0.0.1:${nOurs.tcpPort}`, `127.0.0.1:${nGo.tcpPort}`]);
  check(await waitUntil(async () => seen.size === 20, 5000), `our client consumes all 20 messages of both nsqds (${seen.size})`);
  await mixed.close();

  // Our nsqadmin over the Go nsqlookupd sees both nsqds.
  const adminPort = await freePort();
  const admin = spawn(process.execPath, [distApp('nsqadmin'), `--http-address=127.0.0.1:${adminPort}`, `--lookupd-http-address=127.0.0.1:${lkGo.httpPort}`], { stdio: 'ignore' });
  try {
    await waitUntil(async () => {
      try {
        return (await fetch(`http://127.0.0.1:${adminPort}/ping`)).status === 200;
      } catch {
        return false;
      }
    }, 5000);
    const nodes = (await getJson(adminPort, '/api/nodes')) as { body: { nodes: { version: string; tcp_port: number }[] } };
    const ports = nodes.body.nodes.map((n) => n.tcp_port).sort();
    check(JSON.stringify(ports) === JSON.stringify([nOurs.tcpPort, nGo.tcpPort].sort()), `our nsqadmin over the Go nsqlookupd lists both nsqds (${JSON.stringify(nodes.body.nodes.map((n) => [n.tcp_port, n.version]))})`);
    // The Go nsqd's `mixed` is tombstoned in that nsqlookupd, so (as in Go's nsqadmin, which
    // asks /lookup) only ours is listed for it; `only_go` comes from the Go nsqd alone.
    const mixedTopic = (await getJson(adminPort, '/api/topics/mixed')) as { body: { nodes: { node: string }[]; message_count: number } };
    check(mixedTopic.body.nodes.length === 1 && mixedTopic.body.nodes[0]!.node === `127.0.0.1:${nOurs.httpPort}` && mixedTopic.body.message_count === 10, `our nsqadmin leaves the tombstoned Go nsqd out of topic mixed (nodes ${JSON.stringify(mixedTopic.body.nodes.map((x) => x.node))}, message_count ${mixedTopic.body.message_count})`);
    const goTopic = (await getJson(adminPort, '/api/topics/only_go')) as { body: { nodes: { node: string }[]; message_count: number } };
    check(goTopic.body.nodes.length === 1 && goTopic.body.nodes[0]!.node === `127.0.0.1:${nGo.httpPort}` && goTopic.body.message_count === 3, `our nsqadmin reads topic only_go from the Go nsqd (nodes ${JSON.stringify(goTopic.body.nodes.map((x) => x.node))}, message_count ${goTopic.body.message_count})`);
  } finally {
    admin.kill('SIGTERM');
  }

  // An nsqd leaves: both nsqlookupds drop it.
  check((await stopDaemon(nGo)) === 0, 'Go nsqd exits 0');
  check(await waitUntil(async () => (await producers(lkOurs, 'only_go')) === 0 && (await producers(lkGo, 'only_go')) === 0, 5000), 'both nsqlookupds drop the Go nsqd');
  for (const p of ['/topics', '/lookup?topic=mixed', '/lookup?topic=only_go', '/nodes']) await compareLookupds(lkOurs, lkGo, p, 'after the Go nsqd left');
  // Deleting the ephemeral channel on ours unregisters it from both.
  await post(nOurs.httpPort, '/channel/delete?topic=mixed&channel=eph%23ephemeral');
  await sleep(300);
  await compareLookupds(lkOurs, lkGo, '/channels?topic=mixed', 'after the ephemeral channel was deleted');
} finally {
  for (const d of daemons.reverse()) await stopDaemon(d);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
checks.finish();
