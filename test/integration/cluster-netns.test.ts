// The cluster across hosts: three nsqd, each in its own network namespace with its own address
// (--broadcast-address), an nsqlookupd in the root namespace, a consumer that discovers the
// producers through /lookup and connects to each host's address. Then one host's link is cut:
// the others keep serving and the consumer keeps getting their messages. Needs root and
// iproute2 (.ci/run installs it); elsewhere the test says why and skips.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { startNsqlookupd, tempDir, waitFor, type TestNsqlookupd } from '../helpers/daemons.js';
import { createTopology, netnsUnavailable, type NetnsTopology } from '../helpers/netns.js';
import { Proc, requireBuilt } from '../helpers/proc.js';
import { QueuedConn } from '../helpers/frame-queue.js';

const skip = netnsUnavailable();

interface Host {
  address: string;
  proc: Proc;
  dir: string;
}

async function lookupProducers(l: TestNsqlookupd, topic: string): Promise<{ broadcast_address: string; tcp_port: number }[]> {
  const r = await fetch(`http://${l.lookupd.opts.broadcastAddress}:${l.httpPort}/lookup?topic=${topic}`);
  if (r.status !== 200) return [];
  return ((await r.json()) as { producers: { broadcast_address: string; tcp_port: number }[] }).producers;
}

async function publish(address: string, topic: string, bodies: string[]): Promise<void> {
  const r = await fetch(`http://${address}:4151/mpub?topic=${topic}`, { method: "POST", body: bodies.join("\n"), signal: AbortSignal.timeout(5000) }).catch((e: Error) => {
    throw new Error(`POST /mpub to ${address}: ${String(e.cause ?? e)}`);
  });
  if (r.status !== 200) throw new Error(`/mpub on ${address} answered ${r.status}`);
}

test('nsqd on three hosts (network namespaces): discovery across them, and a cut host does not stop the others', async () => {
  if (skip !== null) {
    console.log(`  skipped: network namespaces unavailable here (${skip})`);
    return;
  }
  const bin = requireBuilt('nsqd');
  let topo: NetnsTopology | null = null;
  let lookupd: TestNsqlookupd | null = null;
  const hosts: Host[] = [];
  const conns: QueuedConn[] = [];
  try {
    topo = createTopology(3);
    lookupd = await startNsqlookupd({ tcpAddress: `${topo.rootAddress}:0`, httpAddress: `${topo.rootAddress}:0`, broadcastAddress: topo.rootAddress, inactiveProducerTimeout: 17_000 });
    for (const h of topo.hosts) {
      const dir = tempDir('nsq-ts-netns-');
      const proc = new Proc(bin, [
        `--tcp-address=${h.address}:4150`,
        `--http-address=${h.address}:4151`,
        `--broadcast-address=${h.address}`,
        `--lookupd-tcp-address=${topo.rootAddress}:${lookupd.tcpPort}`,
        `--data-path=${dir}`,
      ], { wrap: ['ip', 'netns', 'exec', h.ns] });
      hosts.push({ address: h.address, proc, dir });
    }
    for (const h of hosts) await h.proc.waitForOutput(/HTTP: listening on/, 20_000);

    // Every host publishes 100 messages; the lookupd lists the three by their own addresses.
    const sent: string[] = [];
    for (const [i, h] of hosts.entries()) {
      const bodies = Array.from({ length: 100 }, (_, k) => `host${i}-${k}`);
      await publish(h.address, 'spread', bodies);
      sent.push(...bodies);
    }
    await waitFor(async () => (await lookupProducers(lookupd!, 'spread')).length === 3, 10_000, 'three producers in /lookup');
    const producers = await lookupProducers(lookupd, 'spread');
    assert.equal(producers.map((p) => p.broadcast_address).sort(), hosts.map((h) => h.address).sort(), 'producers are reachable at their broadcast addresses');

    // The consumer connects to every producer it was told about, across the bridge.
    for (const p of producers) {
      const c = await QueuedConn.open(p.tcp_port, p.broadcast_address);
      await c.sub('spread', 'all');
      c.cmd('RDY 200');
      conns.push(c);
    }
    const got = new Set<string>();
    const drain = async (want: (b: string) => boolean, n: number, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      let seen = 0;
      while (seen < n && Date.now() < deadline) {
        for (const c of conns) {
          const m = await c.nextMessage(10);
          if (m === null) continue;
          const body = m.body.toString();
          if (want(body)) seen++;
          got.add(body);
          c.cmd(`FIN ${m.id}`);
        }
      }
    };
    await drain(() => true, sent.length, 15_000);
    assert.equal([...got].sort(), [...sent].sort(), 'every message from every host');

    // Cut host 2 off. Hosts 0 and 1 keep taking and delivering messages.
    const cut = topo.hosts[2]!;
    topo.setLink(cut, false);
    const later: string[] = [];
    for (const [i, h] of hosts.slice(0, 2).entries()) {
      const bodies = Array.from({ length: 50 }, (_, k) => `after-cut-host${i}-${k}`);
      await publish(h.address, 'spread', bodies);
      later.push(...bodies);
    }
    await drain((b) => b.startsWith('after-cut'), later.length, 15_000);
    for (const b of later) assert.ok(got.has(b), `message ${b} from a host still up was not delivered after the cut`);
    // The lookupd stops listing the silent host once it missed pings for --inactive-producer-timeout
    // (17 s: nsqd pings every 15 s, so hosts that are up never lapse), while the others stay.
    const up = hosts.slice(0, 2).map((h) => h.address).sort();
    await waitFor(async () => JSON.stringify((await lookupProducers(lookupd!, 'spread')).map((p) => p.broadcast_address).sort()) === JSON.stringify(up), 25_000, 'the cut host hidden from /lookup, the others listed');
    // Link back: the host still serves what it holds.
    topo.setLink(cut, true);
    const r = await fetch(`http://${cut.address}:4151/ping`, { signal: AbortSignal.timeout(5000) });
    assert.is(r.status, 200);
  } finally {
    for (const c of conns) c.close();
    for (const h of hosts) {
      h.proc.signal('SIGTERM');
      await h.proc.exited(10_000).catch(() => h.proc.kill());
      rmSync(h.dir, { recursive: true, force: true });
    }
    await lookupd?.close();
    topo?.destroy();
  }
});

test.run();
