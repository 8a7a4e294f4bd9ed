// The cluster on loopback (spec nsqlookupd-nsqadmin-tools-client.md §1.5, nsqd.md §10): nsqd
// registers its topics and channels with every nsqlookupd, consumers find producers through any
// lookupd, lookupds never coordinate. 3 nsqd and 2 nsqlookupd, all real, on 127.0.0.1:0.
import { rmSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startNsqd, startNsqlookupd, tempDir, waitFor, type TestNsqd, type TestNsqlookupd } from '../helpers/daemons.js';
import type { NsqdInit } from '../../src/nsqd/nsqd.js';
import { Proc, requireBuilt } from '../helpers/proc.js';
import { QueuedConn } from '../helpers/frame-queue.js';
import { channelStats } from '../helpers/stats.js';

interface Producer {
  broadcast_address: string;
  hostname: string;
  remote_address: string;
  tcp_port: number;
  http_port: number;
  version: string;
}

interface LookupDoc {
  channels: string[];
  producers: Producer[];
}

const PING_MS = 200;

/** GET /lookup?topic=t (v1 shape); null on 404. */
async function lookup(l: TestNsqlookupd, topic: string): Promise<LookupDoc | null> {
  const r = await fetch(`${l.url}/lookup?topic=${encodeURIComponent(topic)}`, { headers: { Accept: 'application/vnd.nsq; version=1.0' } });
  if (r.status === 404) return null;
  if (r.status !== 200) throw new Error(`/lookup answered ${r.status} ${await r.text()}`);
  return (await r.json()) as LookupDoc;
}

/** The tcp ports of /lookup's producers, sorted. */
async function producerPorts(l: TestNsqlookupd, topic: string): Promise<number[]> {
  const doc = await lookup(l, topic);
  return (doc?.producers ?? []).map((p) => p.tcp_port).sort((a, b) => a - b);
}

function nsqdInit(lookupds: TestNsqlookupd[], extra: NsqdInit = {}): NsqdInit {
  return {
    nsqlookupdTcpAddresses: lookupds.map((l) => `127.0.0.1:${l.tcpPort}`),
    broadcastAddress: '127.0.0.1',
    lookupdPingIntervalMs: PING_MS,
    ...extra,
  };
}

async function publish(d: TestNsqd, topic: string, bodies: string[]): Promise<void> {
  const r = await fetch(`${d.url}/mpub?topic=${encodeURIComponent(topic)}`, { method: 'POST', body: bodies.join('\n') });
  if (r.status !== 200) throw new Error(`/mpub answered ${r.status} ${await r.text()}`);
}

/**
 * A consumer that does what go-nsq and nsqjs do: ask a lookupd where the topic lives, connect to
 * every producer, SUB, RDY; FIN everything; returns the bodies once `n` came (or throws).
 */
async function consumeVia(l: TestNsqlookupd, topic: string, channel: string, n: number, ms = 10_000): Promise<string[]> {
  const doc = await lookup(l, topic);
  assert.ok(doc !== null, `/lookup?topic=${topic} is 404`);
  const conns: QueuedConn[] = [];
  const got: string[] = [];
  try {
    for (const p of doc.producers) {
      const c = await QueuedConn.open(p.tcp_port, p.broadcast_address);
      await c.sub(topic, channel);
      c.cmd('RDY 100');
      conns.push(c);
    }
    const deadline = Date.now() + ms;
    while (got.length < n && Date.now() < deadline) {
      let any = false;
      for (const c of conns) {
        const m = await c.nextMessage(20);
        if (m === null) continue;
        any = true;
        got.push(m.body.toString());
        c.cmd(`FIN ${m.id}`);
      }
      if (!any && conns.length === 0) break;
    }
  } finally {
    for (const c of conns) c.close();
  }
  return got;
}

const lookupds: TestNsqlookupd[] = [];
const nsqds: TestNsqd[] = [];
test.after.each(async () => {
  for (const d of nsqds.splice(0)) await d.close().catch(() => undefined);
  for (const l of lookupds.splice(0)) await l.close().catch(() => undefined);
});

async function cluster(nNsqd: number, nLookupd: number, extra: NsqdInit = {}): Promise<{ ls: TestNsqlookupd[]; ds: TestNsqd[] }> {
  const ls: TestNsqlookupd[] = [];
  for (let i = 0; i < nLookupd; i++) {
    const l = await startNsqlookupd({ inactiveProducerTimeout: 60_000 });
    lookupds.push(l);
    ls.push(l);
  }
  const ds: TestNsqd[] = [];
  for (let i = 0; i < nNsqd; i++) {
    const d = await startNsqd(nsqdInit(ls, extra));
    nsqds.push(d);
    ds.push(d);
  }
  return { ls, ds };
}

test('every nsqd registers its topics and channels with both lookupds; /lookup, /topics, /channels and /nodes agree', async () => {
  const { ls, ds } = await cluster(3, 2);
  for (const [i, d] of ds.entries()) await publish(d, 'orders', [`hello from ${i}`]);
  // A channel on nsqd 0 only.
  const c = await QueuedConn.open(ds[0]!.tcpPort);
  await c.sub('orders', 'billing');
  const ports = ds.map((d) => d.tcpPort).sort((a, b) => a - b);
  for (const l of ls) {
    await waitFor(async () => JSON.stringify(await producerPorts(l, 'orders')) === JSON.stringify(ports), 5000, `3 producers of orders on lookupd ${l.tcpPort}`);
    await waitFor(async () => (await lookup(l, 'orders'))?.channels.includes('billing') === true, 5000, 'channel billing registered');
    const doc = (await lookup(l, 'orders'))!;
    for (const p of doc.producers) {
      assert.is(p.broadcast_address, '127.0.0.1');
      assert.is(p.version, '1.3.0');
      const d = ds.find((x) => x.tcpPort === p.tcp_port)!;
      assert.is(p.http_port, d.httpPort, 'the http_port nsqd registered');
    }
    const topics = (await (await fetch(`${l.url}/topics`)).json()) as { topics: string[] };
    assert.ok(topics.topics.includes('orders'));
    const nodes = (await (await fetch(`${l.url}/nodes`)).json()) as { producers: (Producer & { topics: string[] })[] };
    assert.is(nodes.producers.length, 3);
    for (const p of nodes.producers) assert.equal(p.topics, ['orders']);
  }
  c.close();
  // Deleting the channel and then the topic on nsqd 0 unregisters them there only.
  await fetch(`${ds[0]!.url}/channel/delete?topic=orders&channel=billing`, { method: 'POST' });
  await fetch(`${ds[0]!.url}/topic/delete?topic=orders`, { method: 'POST' });
  for (const l of ls) {
    await waitFor(async () => (await producerPorts(l, 'orders')).length === 2, 5000, 'nsqd 0 gone from /lookup');
    // The channel key stays (nsqlookupd keeps emptied keys), with no producer left for it.
    const chans = (await (await fetch(`${l.url}/channels?topic=orders`)).json()) as { channels: string[] };
    assert.ok(Array.isArray(chans.channels));
  }
});

test('a consumer that discovers producers through one lookupd gets every message of every nsqd exactly once', async () => {
  const { ls, ds } = await cluster(3, 2);
  const sent: string[] = [];
  for (const [i, d] of ds.entries()) {
    const bodies = Array.from({ length: 200 }, (_, k) => `n${i}-m${k}`);
    await publish(d, 'events', bodies);
    sent.push(...bodies);
  }
  await waitFor(async () => (await producerPorts(ls[1]!, 'events')).length === 3, 5000, '3 producers registered');
  const got = await consumeVia(ls[1]!, 'events', 'archive', sent.length);
  assert.is(got.length, sent.length, `received ${got.length} of ${sent.length}`);
  assert.equal([...got].sort(), [...sent].sort(), 'every message once, exactly as published');
});

test('a new topic asks the lookupds for its channels first, so a channel known elsewhere gets the first message', async () => {
  const { ls, ds } = await cluster(2, 1);
  // nsqd 0 has topic t with channel c (and an ephemeral one, which is not pre-created).
  const c = await QueuedConn.open(ds[0]!.tcpPort);
  await c.sub('t', 'c');
  const e = await QueuedConn.open(ds[0]!.tcpPort);
  await e.sub('t', 'e#ephemeral');
  await waitFor(async () => (await lookup(ls[0]!, 't'))?.channels.length === 2, 5000, 'channels registered');
  // The first PUB to t on nsqd 1 creates the topic there: the message must land in c.
  await publish(ds[1]!, 't', ['first']);
  await waitFor(async () => (await channelStats(ds[1]!.url, 't', 'c'))?.depth === 1, 5000, 'first message in pre-created channel c');
  assert.is(await channelStats(ds[1]!.url, 't', 'e#ephemeral'), undefined, 'ephemeral channels are not pre-created');
  c.close();
  e.close();
});

test('a restarted nsqlookupd is repopulated: nsqd reconnects on its next ping and re-registers everything', async () => {
  const { ls, ds } = await cluster(2, 1);
  await publish(ds[0]!, 'a', ['x']);
  await publish(ds[1]!, 'b', ['y']);
  const l = ls[0]!;
  await waitFor(async () => (await producerPorts(l, 'a')).length === 1 && (await producerPorts(l, 'b')).length === 1, 5000, 'registered');
  const port = l.tcpPort;
  await l.close();
  lookupds.splice(lookupds.indexOf(l), 1);
  const again = await startNsqlookupd({ tcpAddress: `127.0.0.1:${port}` });
  lookupds.push(again);
  assert.is(await lookup(again, 'a'), null, 'a fresh lookupd knows nothing');
  await waitFor(async () => (await producerPorts(again, 'a')).length === 1 && (await producerPorts(again, 'b')).length === 1, 10_000, 'topics re-registered after the restart');
});

test('PUT /config/nsqlookupd_tcp_addresses moves an nsqd to other lookupds live', async () => {
  const { ls, ds } = await cluster(1, 2);
  const [a, b] = ls as [TestNsqlookupd, TestNsqlookupd];
  const d = ds[0]!;
  await publish(d, 'moving', ['x']);
  await waitFor(async () => (await producerPorts(a, 'moving')).length === 1 && (await producerPorts(b, 'moving')).length === 1, 5000, 'on both');
  const r = await fetch(`${d.url}/config/nsqlookupd_tcp_addresses`, { method: 'PUT', body: JSON.stringify([`127.0.0.1:${b.tcpPort}`]) });
  assert.is(r.status, 200);
  await waitFor(async () => (await producerPorts(a, 'moving')).length === 0, 5000, 'gone from lookupd a (its connection closed)');
  assert.is((await producerPorts(b, 'moving')).length, 1);
  const cfg = await (await fetch(`${d.url}/config/nsqlookupd_tcp_addresses`)).json();
  assert.equal(cfg, [`127.0.0.1:${b.tcpPort}`]);
});

test('tombstoning a producer hides it from /lookup for --tombstone-lifetime while it stays in /nodes', async () => {
  const l = await startNsqlookupd({ tombstoneLifetime: 1500 });
  lookupds.push(l);
  const d = await startNsqd(nsqdInit([l]));
  nsqds.push(d);
  await publish(d, 'tomb', ['x']);
  await waitFor(async () => (await producerPorts(l, 'tomb')).length === 1, 5000, 'registered');
  const r = await fetch(`${l.url}/topic/tombstone?topic=tomb&node=127.0.0.1:${d.httpPort}`, { method: 'POST' });
  assert.is(r.status, 200, await r.text());
  assert.is((await producerPorts(l, 'tomb')).length, 0, 'hidden from /lookup');
  const nodes = (await (await fetch(`${l.url}/nodes`)).json()) as { producers: { topics: string[]; tombstones: boolean[] }[] };
  assert.equal(nodes.producers[0]!.tombstones, [true]);
  await waitFor(async () => (await producerPorts(l, 'tomb')).length === 1, 5000, 'back after the tombstone lifetime');
});

test('an nsqd that stops answering (SIGSTOP) leaves /lookup after --inactive-producer-timeout; a killed one at once', async () => {
  const bin = requireBuilt('nsqd');
  const l = await startNsqlookupd({ inactiveProducerTimeout: 1500 });
  lookupds.push(l);
  const procs: Proc[] = [];
  const dirs = [tempDir(), tempDir()];
  try {
    for (const dir of dirs) {
      const p = new Proc(bin, ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', '--broadcast-address=127.0.0.1', `--lookupd-tcp-address=127.0.0.1:${l.tcpPort}`, `--data-path=${dir}`]);
      procs.push(p);
      const http = Number((await p.waitForOutput(/HTTP: listening on 127\.0\.0\.1:(\d+)/))[1]);
      await fetch(`http://127.0.0.1:${http}/topic/create?topic=alive`, { method: 'POST' });
    }
    await waitFor(async () => (await producerPorts(l, 'alive')).length === 2, 5000, 'both registered');
    procs[0]!.signal('SIGSTOP');
    await waitFor(async () => (await producerPorts(l, 'alive')).length === 1, 8000, 'the stopped nsqd hidden after the inactivity timeout');
    procs[0]!.signal('SIGCONT');
    procs[1]!.signal('SIGKILL');
    await procs[1]!.exited();
    // The killed one's connection closed: its registrations are gone for good.
    const nodes = (await (await fetch(`${l.url}/nodes`)).json()) as { producers: { tcp_port: number }[] };
    assert.ok(nodes.producers.length <= 1, `killed nsqd still in /nodes: ${JSON.stringify(nodes)}`);
  } finally {
    for (const p of procs) {
      p.signal('SIGCONT');
      await p.kill();
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
