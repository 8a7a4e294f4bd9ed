// A data directory moves between Go nsqd 1.3.0 and ours in both directions (spec §3.9-3.11, §4):
// we open the directory recorded from Go nsqd (test/fixtures/go-1.3.0/go-nsqd-1.3.0-datadir) and
// deliver exactly what Go left in it, and the directory we leave after the same run is the one Go
// left, file for file, checked with an independent go-diskqueue reader (test/helpers/go-diskqueue.ts).
// Also: segment rolling at --max-bytes-per-file and the metadata sync of --sync-every 1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NsqdInit } from '../../src/nsqd/nsqd.js';
import { http, startNsqd, tempDir, waitFor, withNsqdAt, type TestNsqd } from '../helpers/daemons.js';
import {
  fileSize,
  goLayout,
  normalizeNsqdDat,
  parseSegment,
  readGoQueue,
  readMetaText,
  readNsqdDat,
  readSegment,
  segmentName,
  segmentNumbers,
  type GoRecord,
} from '../helpers/go-diskqueue.js';
import { getStats, mustChannel, mustTopic, takeMessages, waitChannel, waitTopic, type ChannelStatsJson, type TopicStatsJson } from '../helpers/stats.js';
import { WireConn, type WireMessage } from '../helpers/wire.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/go-1.3.0/go-nsqd-1.3.0-datadir/', import.meta.url));
/** The options Go nsqd 1.3.0 ran with when it wrote the fixture. */
const GO_RUN: NsqdInit = { memQueueSize: 0, maxBytesPerFile: 1000 };
const enc = encodeURIComponent;
const orderBody = (n: number): string => `order-${String(n).padStart(3, '0')}`;
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A private copy of the Go fixture (the daemon writes into its data directory). */
function copyFixture(): string {
  const dir = tempDir('nsq-ts-dq-interop-');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

/** The records Go stored for a queue, in read order (segments ascending). */
function fixtureRecords(name: string): GoRecord[] {
  return segmentNumbers(FIXTURE, name).flatMap((n) => readSegment(FIXTURE, name, n));
}

/** Run `fn` on an nsqd over `dataPath`; the daemon is closed (cleanly) afterwards. */

async function post(url: string, body?: string): Promise<void> {
  const r = await http('POST', url, body);
  if (r.status !== 200) throw new Error(`POST ${url} answered ${r.status} ${r.text}`);
}



const consume = (d: TestNsqd, topic: string, channel: string, n: number): Promise<WireMessage[]> => takeMessages(d.tcpPort, d.url, topic, channel, n);

/** Each delivered message is the stored record: same id, timestamp and body; attempts + 1. */
function assertDeliveredAsStored(got: WireMessage[], stored: GoRecord[], what: string): void {
  assert.is(got.length, stored.length, `${what}: message count`);
  for (let i = 0; i < stored.length; i++) {
    const m = got[i]!;
    const r = stored[i]!;
    assert.is(m.body.toString(), r.body.toString(), `${what}: body #${i}`);
    assert.is(m.id, r.id, `${what}: id of ${r.body.toString()}`);
    assert.ok(/^[0-9a-f]{16}$/.test(m.id), `${what}: id ${m.id} is 16 hex chars`);
    assert.is(m.timestamp, r.timestamp, `${what}: timestamp of ${r.body.toString()}`);
    assert.is(m.attempts, r.attempts + 1, `${what}: attempts of ${r.body.toString()}`);
  }
}

/** Wait until the metadata file of `name` reads `want`; the error shows what it last read. */
async function waitMeta(dir: string, name: string, want: string): Promise<void> {
  let last: string | null = null;
  try {
    await waitFor(() => (last = readMetaText(dir, name)) === want, 5000, `${name} metadata ${JSON.stringify(want)}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}; it reads ${JSON.stringify(last)}`);
  }
}

function sameBytes(dir: string, file: string): boolean {
  return readFileSync(join(dir, file)).equals(readFileSync(join(FIXTURE, file)));
}

// ---------------------------------------------------------------------------------------------
// Reading Go's directory

test('Go 1.3.0 directory: /stats depths audit 5, orders 0, billing 35, shipping 60; paused flags from nsqd.dat', async () => {
  for (const init of [GO_RUN, {}]) {
    const dir = copyFixture();
    try {
      await withNsqdAt(dir, init, async (d) => {
        const s = await getStats(d.url);
        const topics = new Map((s.topics ?? []).map((t) => [t.topic_name, t]));
        assert.equal([...topics.keys()].sort(), ['audit', 'orders', 'paused_topic'], `topics (${JSON.stringify(init)})`);
        const audit = topics.get('audit')!;
        assert.is(audit.depth, 5);
        assert.is(audit.backend_depth, 5);
        assert.is(audit.paused, false);
        assert.equal(audit.channels, []);
        const orders = topics.get('orders')!;
        assert.is(orders.depth, 0);
        assert.is(orders.paused, false);
        assert.equal(orders.channels.map((c) => c.channel_name).sort(), ['billing', 'shipping']);
        const billing = orders.channels.find((c) => c.channel_name === 'billing')!;
        const shipping = orders.channels.find((c) => c.channel_name === 'shipping')!;
        assert.is(billing.depth, 35);
        assert.is(billing.backend_depth, 35);
        assert.is(billing.paused, false);
        assert.is(shipping.depth, 60);
        assert.is(shipping.backend_depth, 60);
        assert.is(shipping.paused, true);
        const pausedTopic = topics.get('paused_topic')!;
        assert.is(pausedTopic.depth, 0);
        assert.is(pausedTopic.paused, true);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('Go 1.3.0 directory: billing delivers order-026 … order-060 in order as stored; segment 000001 deleted; metadata as Go writes it', async () => {
  const dir = copyFixture();
  try {
    const stored = fixtureRecords('orders:billing');
    assert.equal(stored.map((r) => r.body.toString()), range(26, 60).map(orderBody), 'fixture sanity');
    await withNsqdAt(dir, GO_RUN, async (d) => {
      const got = await consume(d, 'orders', 'billing', 35);
      assertDeliveredAsStored(got, stored, 'billing');
      const ch = await waitChannel(d.url, 'orders', 'billing', (c) => c.depth === 0, 'billing drained');
      assert.is(ch.backend_depth, 0);
      // The reader passed segment 000001: go-diskqueue deletes it (spec §4.5); 000002 is the write file.
      await waitFor(() => !existsSync(join(dir, segmentName('orders:billing', 1))), 5000, 'segment 000001 deleted');
      assert.ok(existsSync(join(dir, segmentName('orders:billing', 2))), 'write file 000002 kept');
    });
    assert.is(readMetaText(dir, 'orders:billing'), '0\n2,390\n2,390\n', 'billing metadata after a clean close');
    assert.equal(segmentNumbers(dir, 'orders:billing'), [2]);
    // Untouched queues are left byte for byte as Go wrote them.
    for (const f of [
      'orders:shipping.diskqueue.meta.dat',
      'orders:shipping.diskqueue.000000.dat',
      'orders:shipping.diskqueue.000001.dat',
      'orders:shipping.diskqueue.000002.dat',
      'orders.diskqueue.meta.dat',
      'orders.diskqueue.000002.dat',
      'audit.diskqueue.meta.dat',
      'audit.diskqueue.000000.dat',
      'paused_topic.diskqueue.meta.dat',
      'orders:billing.diskqueue.000002.dat',
    ]) {
      assert.ok(sameBytes(dir, f), `${f} unchanged`);
    }
    assert.equal(normalizeNsqdDat(readNsqdDat(dir).doc), normalizeNsqdDat(readNsqdDat(FIXTURE).doc), 'nsqd.dat content');
    assert.not.ok(readdirSync(dir).some((f) => f.endsWith('.bad') || f.endsWith('.tmp')), `no .bad/.tmp files: ${readdirSync(dir).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Go 1.3.0 directory: shipping, unpaused over HTTP, delivers order-001 … order-060 as stored; finished segments deleted', async () => {
  const dir = copyFixture();
  try {
    const stored = fixtureRecords('orders:shipping');
    assert.is(stored.length, 60, 'fixture sanity');
    await withNsqdAt(dir, GO_RUN, async (d) => {
      await post(`${d.url}/channel/unpause?topic=orders&channel=shipping`);
      const got = await consume(d, 'orders', 'shipping', 60);
      assert.equal(got.map((m) => m.body.toString()), range(1, 60).map(orderBody));
      assertDeliveredAsStored(got, stored, 'shipping');
      await waitChannel(d.url, 'orders', 'shipping', (c) => c.depth === 0 && !c.paused, 'shipping drained');
      await waitFor(() => segmentNumbers(dir, 'orders:shipping').join() === '2', 5000, 'segments 000000 and 000001 deleted');
    });
    assert.is(readMetaText(dir, 'orders:shipping'), '0\n2,390\n2,390\n');
    const dat = normalizeNsqdDat(readNsqdDat(dir).doc);
    assert.equal(dat.topics!.find((t) => t.name === 'orders')!.channels, [
      { name: 'billing', paused: false },
      { name: 'shipping', paused: false },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Go 1.3.0 directory with default --max-bytes-per-file: Go\'s 1000-byte segments are still read to their end', async () => {
  const dir = copyFixture();
  try {
    await withNsqdAt(dir, {}, async (d) => {
      await post(`${d.url}/channel/unpause?topic=orders&channel=shipping`);
      const got = await consume(d, 'orders', 'shipping', 60);
      assertDeliveredAsStored(got, fixtureRecords('orders:shipping'), 'shipping (defaults)');
      const billing = await consume(d, 'orders', 'billing', 35);
      assertDeliveredAsStored(billing, fixtureRecords('orders:billing'), 'billing (defaults)');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Go 1.3.0 directory: a new channel on audit receives audit-1 … audit-5 as stored in the topic queue', async () => {
  const dir = copyFixture();
  try {
    const stored = fixtureRecords('audit');
    assert.equal(stored.map((r) => r.body.toString()), ['audit-1', 'audit-2', 'audit-3', 'audit-4', 'audit-5'], 'fixture sanity');
    await withNsqdAt(dir, GO_RUN, async (d) => {
      const got = await consume(d, 'audit', 'reader', 5);
      assertDeliveredAsStored(got, stored, 'audit');
      await waitTopic(d.url, 'audit', (t) => t.depth === 0, 'audit topic drained');
    });
    // The topic reader is at its writer: 0 left, positions at the end of 000000 (185 bytes).
    assert.is(readMetaText(dir, 'audit'), '0\n0,185\n0,185\n');
    assert.equal(segmentNumbers(dir, 'audit'), [0]);
    const dat = normalizeNsqdDat(readNsqdDat(dir).doc);
    assert.equal(dat.topics!.find((t) => t.name === 'audit')!.channels, [{ name: 'reader', paused: false }]);
    // With --mem-queue-size 0 the channel's copies went through its own disk queue.
    const chMeta = readMetaText(dir, 'audit:reader');
    assert.is(chMeta, '0\n0,185\n0,185\n', 'audit:reader metadata');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Go 1.3.0 directory: 20 more orders are appended after Go\'s records and roll at 25 per file; a restart delivers Go\'s and ours in order', async () => {
  const dir = copyFixture();
  try {
    await withNsqdAt(dir, GO_RUN, async (d) => {
      const c = await WireConn.open(d.tcpPort);
      try {
        await c.mpub('orders', range(61, 80).map(orderBody));
      } finally {
        c.close();
      }
      await waitChannel(d.url, 'orders', 'billing', (s) => s.depth === 55, 'billing depth 55');
      await waitChannel(d.url, 'orders', 'shipping', (s) => s.depth === 80, 'shipping depth 80');
      await waitTopic(d.url, 'orders', (t) => t.depth === 0, 'orders fanned out');
    });
    // Go's file 000002 held 10 records (390 bytes): 15 more fill it to 975, the last 5 start 000003.
    assert.is(readMetaText(dir, 'orders:billing'), '55\n1,0\n3,195\n', 'billing metadata');
    assert.is(readMetaText(dir, 'orders:shipping'), '80\n0,0\n3,195\n', 'shipping metadata');
    for (const q of ['orders:billing', 'orders:shipping']) {
      assert.is(fileSize(dir, segmentName(q, 2)), 975, `${q} 000002 size`);
      assert.is(fileSize(dir, segmentName(q, 3)), 195, `${q} 000003 size`);
      // Go's bytes are kept as they were; ours follow.
      const goBytes = readFileSync(join(FIXTURE, segmentName(q, 2)));
      assert.ok(readFileSync(join(dir, segmentName(q, 2))).subarray(0, goBytes.length).equals(goBytes), `${q} 000002 starts with Go's 390 bytes`);
      const state = readGoQueue(dir, q);
      assert.is(state.meta.depth, state.pending.length, `${q} depth = records owed`);
      assert.equal(state.pending.slice(-20).map((r) => r.body.toString()), range(61, 80).map(orderBody));
    }
    await withNsqdAt(dir, GO_RUN, async (d) => {
      const got = await consume(d, 'orders', 'billing', 55);
      assert.equal(got.map((m) => m.body.toString()), range(26, 80).map(orderBody));
      assert.is(new Set(got.map((m) => m.id)).size, 55, 'distinct ids');
      assert.ok(got.every((m) => m.attempts === 1));
    });
    assert.is(readMetaText(dir, 'orders:billing'), '0\n3,195\n3,195\n');
    assert.equal(segmentNumbers(dir, 'orders:billing'), [3]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Our directory is what Go reads

/** Our directory after the run that produced the fixture, made once and shared by the tests below. */
interface OurRun {
  dir: string;
  /** Publish window, ns since the epoch. */
  t0: bigint;
  t1: bigint;
}
let ourRun: Promise<OurRun> | null = null;

/**
 * Repeat what was done to Go nsqd 1.3.0 (test/fixtures/go-1.3.0/README.md) on our nsqd with the
 * same flags, then shut it down cleanly: topic orders with channels billing and shipping
 * (shipping paused), 60 orders by /mpub, the first 25 finished on billing; topic audit without
 * channels and 5 messages; topic paused_topic, paused and empty.
 */
function runFixtureScenario(): Promise<OurRun> {
  ourRun ??= (async () => {
    const dir = tempDir('nsq-ts-dq-ours-');
    let t0 = 0n;
    let t1 = 0n;
    await withNsqdAt(dir, GO_RUN, async (d) => {
      await post(`${d.url}/topic/create?topic=orders`);
      await post(`${d.url}/channel/create?topic=orders&channel=billing`);
      await post(`${d.url}/channel/create?topic=orders&channel=shipping`);
      await post(`${d.url}/channel/pause?topic=orders&channel=shipping`);
      await post(`${d.url}/topic/create?topic=paused_topic`);
      await post(`${d.url}/topic/pause?topic=paused_topic`);
      t0 = BigInt(Date.now()) * 1_000_000n;
      await post(`${d.url}/mpub?topic=orders`, range(1, 60).map(orderBody).join('\n'));
      for (let i = 1; i <= 5; i++) await post(`${d.url}/pub?topic=audit`, `audit-${i}`);
      t1 = BigInt(Date.now()) * 1_000_000n;
      await waitChannel(d.url, 'orders', 'billing', (c) => c.depth === 60, 'billing depth 60');
      await waitChannel(d.url, 'orders', 'shipping', (c) => c.depth === 60, 'shipping depth 60');
      await waitTopic(d.url, 'orders', (t) => t.depth === 0, 'orders fanned out');
      // A consumer finishes the first 25 on billing, then stops.
      const c = await WireConn.open(d.tcpPort);
      try {
        await c.sub('orders', 'billing');
        c.cmd('RDY 25');
        const got: WireMessage[] = [];
        for (let i = 0; i < 25; i++) got.push(await c.readMessage(10_000));
        c.cmd('RDY 0');
        for (const m of got) c.cmd(`FIN ${m.id}`);
        if (got.map((m) => m.body.toString()).join() !== range(1, 25).map(orderBody).join()) throw new Error(`billing delivered ${got.map((m) => m.body.toString()).join()}`);
        await waitChannel(d.url, 'orders', 'billing', (s) => s.in_flight_count === 0 && s.depth === 35, 'billing: 25 finished, 35 left');
      } finally {
        c.close();
      }
    });
    return { dir, t0, t1 };
  })();
  return ourRun;
}

/** Queues whose files the fixture holds, apart from the topic orders (see the --mem-queue-size 0 test). */
const CHANNEL_AND_PARKED_QUEUES = ['orders:billing', 'orders:shipping', 'audit', 'paused_topic'];
const isQueueFile = (q: string) => (f: string): boolean => f.startsWith(`${q}.diskqueue.`);

test('our directory after the fixture\'s run: channel and parked queues have Go\'s files, metadata byte for byte, Go\'s record layout', async () => {
  const { dir } = await runFixtureScenario();
  for (const q of CHANNEL_AND_PARKED_QUEUES) {
    assert.equal(readdirSync(dir).filter(isQueueFile(q)).sort(), readdirSync(FIXTURE).filter(isQueueFile(q)).sort(), `${q} file names`);
    // Metadata text byte for byte (%d\n%d,%d\n%d,%d\n).
    assert.is(readMetaText(dir, q), readMetaText(FIXTURE, q), `${q} metadata`);
    // Segments: same sizes, same record boundaries, lengths, attempts and bodies; only the
    // timestamp and id bytes (set at publish time) differ.
    for (const n of segmentNumbers(FIXTURE, q)) {
      const f = segmentName(q, n);
      const ours = readFileSync(join(dir, f));
      const go = readFileSync(join(FIXTURE, f));
      assert.is(ours.length, go.length, `${f} size`);
      const a = parseSegment(ours, n);
      const b = parseSegment(go, n);
      assert.equal(a.map((r) => [r.pos, r.size, r.attempts, r.body.toString()]), b.map((r) => [r.pos, r.size, r.attempts, r.body.toString()]), `${f} records`);
    }
  }
  // Rolling by go-diskqueue's rule: 25 × 39-byte records per 1000-byte file.
  const shipping = readGoQueue(dir, 'orders:shipping').pending;
  const layout = goLayout(shipping.map((r) => r.size), 1000);
  assert.equal(shipping.map((r) => [r.fileNum, r.pos]), layout.map((l) => [l.fileNum, l.pos]));
  assert.not.ok(readdirSync(dir).some((f) => f.endsWith('.bad') || f.endsWith('.tmp')), `no .bad/.tmp files: ${readdirSync(dir).join(' ')}`);
});

test('our directory after the fixture\'s run: with --mem-queue-size 0 the topic\'s messages went through its disk queue, as Go\'s orders.diskqueue.* show (spec §3.1)', async () => {
  const { dir } = await runFixtureScenario();
  assert.is(readMetaText(dir, 'orders'), readMetaText(FIXTURE, 'orders'), 'orders metadata (Go: 0\\n2,390\\n2,390\\n)');
  assert.equal(readdirSync(dir).filter(isQueueFile('orders')).sort(), readdirSync(FIXTURE).filter(isQueueFile('orders')).sort(), 'orders file names');
  assert.equal(readdirSync(dir).sort(), readdirSync(FIXTURE).sort(), 'every file name');
});

test('our directory after the fixture\'s run: nsqd.dat is compact JSON with Go\'s keys, topics, channels and paused flags (spec §3.10)', async () => {
  const { dir } = await runFixtureScenario();
  const { text, doc } = readNsqdDat(dir);
  assert.is(JSON.stringify(doc), text, 'nsqd.dat is compact JSON');
  assert.equal(Object.keys(doc), ['topics', 'version']);
  assert.is(doc.version, '1.3.0');
  for (const t of doc.topics!) {
    assert.equal(Object.keys(t), ['name', 'paused', 'channels']);
    for (const ch of t.channels ?? []) assert.equal(Object.keys(ch), ['name', 'paused']);
  }
  assert.equal(normalizeNsqdDat(doc), normalizeNsqdDat(readNsqdDat(FIXTURE).doc));
});

test('our directory after the fixture\'s run: an independent go-diskqueue reader finds every owed message once, past the read position, depth = count, ids/timestamps/attempts decode', async () => {
  const { dir, t0, t1 } = await runFixtureScenario();
  const expectOwed: Record<string, string[]> = {
    'orders:billing': range(26, 60).map(orderBody),
    'orders:shipping': range(1, 60).map(orderBody),
    audit: ['audit-1', 'audit-2', 'audit-3', 'audit-4', 'audit-5'],
    orders: [],
    paused_topic: [],
  };
  const idOf = new Map<string, { id: string; ts: bigint }>();
  for (const [q, bodies] of Object.entries(expectOwed)) {
    const st = readGoQueue(dir, q);
    assert.equal(st.pending.map((r) => r.body.toString()), bodies, `${q} owed messages`);
    assert.is(st.meta.depth, st.pending.length, `${q} depth`);
    for (const r of st.pending) {
      assert.ok(r.fileNum > st.meta.readFileNum || (r.fileNum === st.meta.readFileNum && r.pos >= st.meta.readPos), `${q}: ${r.body} at/after the read position`);
      assert.ok(/^[0-9a-f]{16}$/.test(r.id), `${q}: id ${r.id}`);
      assert.is(r.attempts, 0, `${q}: attempts of ${r.body}`);
      assert.ok(r.timestamp >= t0 - 1_000_000_000n && r.timestamp <= t1 + 1_000_000_000n, `${q}: timestamp ${r.timestamp} of ${r.body} in [${t0}, ${t1}]`);
      const key = r.body.toString();
      const prev = idOf.get(key);
      // Fan-out copies share the id and timestamp (spec §3.1).
      if (prev !== undefined) assert.equal({ id: r.id, ts: r.timestamp }, prev, `${key}: same id/timestamp on every channel`);
      else idOf.set(key, { id: r.id, ts: r.timestamp });
    }
    assert.is(new Set(st.pending.map((r) => r.id)).size, st.pending.length, `${q}: ids unique`);
  }
  // Ids grow in publish order (one generator per topic, spec §1.5).
  const ids = range(1, 60).map((n) => BigInt(`0x${idOf.get(orderBody(n))!.id}`));
  for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, `id of ${orderBody(i + 1)} > id of ${orderBody(i)}`);
  // And Go's directory, read with the same reader, owes the same messages.
  for (const [q, bodies] of Object.entries(expectOwed)) {
    assert.equal(readGoQueue(FIXTURE, q).pending.map((r) => r.body.toString()), bodies, `fixture ${q}`);
  }
});

test('our directory after the fixture\'s run: reopened, it delivers what Go\'s would (billing 026-060, shipping 001-060, audit 1-5)', async () => {
  const { dir } = await runFixtureScenario();
  const copy = tempDir('nsq-ts-dq-ours-reopen-');
  try {
    cpSync(dir, copy, { recursive: true });
    const owed = readGoQueue(copy, 'orders:billing').pending;
    await withNsqdAt(copy, GO_RUN, async (d) => {
      const billing = await consume(d, 'orders', 'billing', 35);
      assertDeliveredAsStored(billing, owed, 'billing');
      await post(`${d.url}/channel/unpause?topic=orders&channel=shipping`);
      const shipping = await consume(d, 'orders', 'shipping', 60);
      assert.equal(shipping.map((m) => m.body.toString()), range(1, 60).map(orderBody));
      const audit = await consume(d, 'audit', 'reader', 5);
      assert.equal(audit.map((m) => m.body.toString()), ['audit-1', 'audit-2', 'audit-3', 'audit-4', 'audit-5']);
    });
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test('Go 1.3.0 directory: with --mem-queue-size 0 new publishes go through the topic\'s disk queue after Go\'s records (orders ends at 3,195)', async () => {
  const dir = copyFixture();
  try {
    await withNsqdAt(dir, GO_RUN, async (d) => {
      const c = await WireConn.open(d.tcpPort);
      try {
        await c.mpub('orders', range(61, 80).map(orderBody));
      } finally {
        c.close();
      }
      await waitChannel(d.url, 'orders', 'shipping', (s) => s.depth === 80, 'shipping depth 80');
      await waitTopic(d.url, 'orders', (t) => t.depth === 0, 'orders fanned out');
    });
    // Go nsqd would have written them at 2,390.. of orders.diskqueue (rolling into 000003) and read them back.
    assert.is(readMetaText(dir, 'orders'), '0\n3,195\n3,195\n', 'orders metadata');
    assert.equal(segmentNumbers(dir, 'orders'), [3], 'orders segment 000002 passed and deleted, 000003 written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Rolling and sync knobs

test('rolling: 60 × 39-byte records with --max-bytes-per-file 1000 make segments of 975, 975 and 390 bytes', async () => {
  const dir = tempDir('nsq-ts-dq-roll-');
  try {
    await withNsqdAt(dir, GO_RUN, async (d) => {
      const c = await WireConn.open(d.tcpPort);
      try {
        await c.mpub('rolls', range(1, 60).map(orderBody));
      } finally {
        c.close();
      }
      await waitTopic(d.url, 'rolls', (t) => t.depth === 60, 'depth 60');
    });
    assert.equal(segmentNumbers(dir, 'rolls'), [0, 1, 2]);
    assert.equal([0, 1, 2].map((n) => fileSize(dir, segmentName('rolls', n))), [975, 975, 390]);
    assert.is(readMetaText(dir, 'rolls'), '60\n0,0\n2,390\n');
    const st = readGoQueue(dir, 'rolls');
    assert.equal(st.pending.map((r) => r.body.toString()), range(1, 60).map(orderBody));
    assert.ok(st.pending.every((r) => r.size === 39));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rolling: a record larger than --max-bytes-per-file goes alone into its own file, and is read back', async () => {
  const dir = tempDir('nsq-ts-dq-big-');
  try {
    const big = 'B'.repeat(1500);
    const bodies = ['small-01', big, 'small-02', big, big, 'small-03'];
    await withNsqdAt(dir, GO_RUN, async (d) => {
      const c = await WireConn.open(d.tcpPort);
      try {
        for (const b of bodies) await c.pub('bigs', b);
      } finally {
        c.close();
      }
      await waitTopic(d.url, 'bigs', (t) => t.depth === bodies.length, `depth ${bodies.length}`);
    });
    const sizes = bodies.map((b) => 4 + 26 + b.length);
    const layout = goLayout(sizes, 1000);
    // small alone (the big one does not fit after it), each big alone, last small alone.
    assert.equal(layout.map((l) => l.fileNum), [0, 1, 2, 3, 4, 5]);
    const st = readGoQueue(dir, 'bigs');
    assert.equal(st.pending.map((r) => [r.fileNum, r.pos, r.size]), layout.map((l, i) => [l.fileNum, l.pos, sizes[i]]));
    assert.equal(segmentNumbers(dir, 'bigs'), [0, 1, 2, 3, 4, 5]);
    assert.equal([0, 1, 2, 3, 4, 5].map((n) => fileSize(dir, segmentName('bigs', n))), sizes);
    assert.is(readMetaText(dir, 'bigs'), `6\n0,0\n5,${sizes[5]}\n`);
    // Reading walks files bigger than --max-bytes-per-file (their end is their size).
    await withNsqdAt(dir, GO_RUN, async (d) => {
      const got = await consume(d, 'bigs', 'reader', bodies.length);
      assert.equal(got.map((m) => m.body.toString()), bodies);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rolling: a big record first in an empty file stays in that file (no roll at writePos 0)', async () => {
  const dir = tempDir('nsq-ts-dq-big0-');
  try {
    await withNsqdAt(dir, GO_RUN, async (d) => {
      const c = await WireConn.open(d.tcpPort);
      try {
        await c.pub('bigfirst', 'C'.repeat(2000));
        await c.pub('bigfirst', 'tiny-msg1');
      } finally {
        c.close();
      }
      await waitTopic(d.url, 'bigfirst', (t) => t.depth === 2, 'depth 2');
    });
    assert.equal(segmentNumbers(dir, 'bigfirst'), [0, 1]);
    assert.is(fileSize(dir, segmentName('bigfirst', 0)), 2030);
    assert.is(fileSize(dir, segmentName('bigfirst', 1)), 39);
    assert.is(readMetaText(dir, 'bigfirst'), '2\n0,0\n1,39\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--sync-every 1: after each publish the metadata file on disk covers that message (depth and writePos)', async () => {
  const dir = tempDir('nsq-ts-dq-sync-');
  try {
    // A sync timeout of an hour: only --sync-every can be what writes the metadata here.
    await withNsqdAt(dir, { ...GO_RUN, syncEvery: 1, syncTimeout: 3_600_000 }, async (d) => {
      const c = await WireConn.open(d.tcpPort);
      try {
        for (let i = 1; i <= 5; i++) {
          await c.pub('synced', orderBody(i));
          await waitTopic(d.url, 'synced', (t) => t.depth === i, `depth ${i}`);
          await waitMeta(dir, 'synced', `${i}\n0,0\n0,${39 * i}\n`);
          assert.is(readGoQueue(dir, 'synced').pending.length, i, 'the records the metadata covers are on disk');
        }
      } finally {
        c.close();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--sync-every 1: reads are synced too; the topic and channel metadata show the reader at the writer', async () => {
  const dir = tempDir('nsq-ts-dq-syncr-');
  try {
    await withNsqdAt(dir, { ...GO_RUN, syncEvery: 1, syncTimeout: 3_600_000 }, async (d) => {
      const c = await WireConn.open(d.tcpPort);
      try {
        await c.mpub('synced', range(1, 5).map(orderBody));
      } finally {
        c.close();
      }
      await waitTopic(d.url, 'synced', (t) => t.depth === 5, 'depth 5');
      // A channel takes the 5 (through its own queue) and a consumer reads them.
      const got = await consume(d, 'synced', 'reader', 5);
      assert.equal(got.map((m) => m.body.toString()), range(1, 5).map(orderBody));
      await waitTopic(d.url, 'synced', (t) => t.depth === 0, 'topic drained');
      await waitMeta(dir, 'synced', '0\n0,195\n0,195\n');
      await waitMeta(dir, 'synced:reader', '0\n0,195\n0,195\n');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.after(() => {
  void ourRun?.then((r) => rmSync(r.dir, { recursive: true, force: true }));
});

test.run();
