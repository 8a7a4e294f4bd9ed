// What survives a restart and what go-diskqueue v1.1.0 does with damaged directories (spec §3.9,
// §3.10, §4.7, §4.8). Clean close + reopen keeps every message (memory, disk, in flight,
// deferred) exactly once with topics, channels and paused flags; crafted directories (torn
// records, garbage lengths, stale or missing or over-claiming metadata, missing segments) are
// read the way Go nsqd reads them, built with the independent writer in test/helpers/go-diskqueue.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NsqdInit } from '../../src/nsqd/nsqd.js';
import { http, startNsqd, tempDir, waitFor, withNsqdAt, type TestNsqd } from '../helpers/daemons.js';
import {
  encodeRecord,
  fileSize,
  goLayout,
  makeMessages,
  metaName,
  readGoQueue,
  readMetaText,
  readNsqdDat,
  segmentName,
  segmentNumbers,
  writeGoMeta,
  writeNsqdDat,
  writeSegment,
  type GoMessage,
} from '../helpers/go-diskqueue.js';
import { Proc, requireBuilt } from '../helpers/proc.js';
import { getStats, mustChannel, mustTopic, takeMessages, waitChannel, waitTopic, type ChannelStatsJson, type TopicStatsJson } from '../helpers/stats.js';
import { WireConn, type WireMessage } from '../helpers/wire.js';

/** The flags the Go fixture was written with: every put goes to disk, 1000-byte segments. */
const GO_RUN: NsqdInit = { memQueueSize: 0, maxBytesPerFile: 1000 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bodyOf = (m: { body: Buffer }): string => m.body.toString();
const dirs: string[] = [];
const procs: Proc[] = [];

function newDir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

test.after(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function post(url: string, body?: string): Promise<void> {
  const r = await http('POST', url, body);
  if (r.status !== 200) throw new Error(`POST ${url} answered ${r.status} ${r.text}`);
}




/**
 * Consume a channel until every body in `must` has arrived and the channel holds nothing more
 * than the `may` bodies not delivered yet, as deferred (depth 0, nothing in flight). Every
 * message is FINed. Fails on a body outside must ∪ may or a body delivered twice.
 */
async function drain(d: TestNsqd, topic: string, channel: string, must: string[], may: string[] = [], ms = 20_000): Promise<WireMessage[]> {
  const c = await WireConn.open(d.tcpPort, { timeoutMs: 120_000 });
  const got: WireMessage[] = [];
  const allowed = new Set([...must, ...may]);
  let failure: Error | null = null;
  let stop = false;
  await c.sub(topic, channel);
  c.cmd('RDY 500');
  const reader = (async () => {
    while (!stop) {
      const m = await c.readMessage(120_000);
      const b = bodyOf(m);
      if (!allowed.has(b)) failure ??= new Error(`${topic}/${channel}: unexpected message ${JSON.stringify(b)}`);
      if (got.some((x) => bodyOf(x) === b)) failure ??= new Error(`${topic}/${channel}: ${JSON.stringify(b)} delivered twice`);
      got.push(m);
      c.cmd(`FIN ${m.id}`);
    }
  })().catch((e: Error) => {
    if (!stop) failure ??= e;
  });
  let last: ChannelStatsJson | undefined;
  try {
    await waitFor(async () => {
      if (failure !== null) return true;
      const bodies = new Set(got.map(bodyOf));
      if (!must.every((b) => bodies.has(b))) return false;
      last = await mustChannel(d.url, topic, channel);
      const mayLeft = may.filter((b) => !bodies.has(b)).length;
      return last.depth === 0 && last.in_flight_count === 0 && last.deferred_count === mayLeft;
    }, ms, `${topic}/${channel} drained`);
  } catch (e) {
    const have = new Set(got.map(bodyOf));
    throw new Error(`${(e as Error).message}; missing ${JSON.stringify(must.filter((b) => !have.has(b)))}; last stats ${JSON.stringify(last)}`);
  } finally {
    stop = true;
    c.close();
    await reader;
  }
  if (failure !== null) throw failure;
  assert.is(new Set(got.map((m) => m.id)).size, got.length, `${topic}/${channel}: ids distinct`);
  return got;
}

const take = (d: TestNsqd, topic: string, channel: string, n: number): Promise<WireMessage[]> => takeMessages(d.tcpPort, d.url, topic, channel, n);

const rBody = (n: number): string => `r-${String(n).padStart(3, '0')}`;
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// ---------------------------------------------------------------------------------------------
// 3.9 / 3.10: a clean close and a restart keep everything

/**
 * Set up topic r (channels work, idle, stopped-paused), topic keep (no channels), topic frozen
 * (paused, channel c); publish; on r/work leave 2 finished, 2 REQ'd with `deferMs`, 2 in flight;
 * DPUB 2 with `deferMs`. Returns what was finished, requeued and left in flight.
 */
async function populate(d: TestNsqd, deferMs: number): Promise<{ finished: string[]; requeued: string[]; inFlight: string[]; conn: WireConn }> {
  await post(`${d.url}/topic/create?topic=r`);
  for (const ch of ['work', 'idle', 'stopped']) await post(`${d.url}/channel/create?topic=r&channel=${ch}`);
  await post(`${d.url}/channel/pause?topic=r&channel=stopped`);
  await post(`${d.url}/topic/create?topic=frozen`);
  await post(`${d.url}/channel/create?topic=frozen&channel=c`);
  await post(`${d.url}/topic/pause?topic=frozen`);
  const p = await WireConn.open(d.tcpPort);
  try {
    await p.mpub('r', range(1, 50).map(rBody));
    p.cmd(`DPUB r ${deferMs}`, 'r-d1');
    await p.expectResponse('OK');
    p.cmd(`DPUB r ${deferMs}`, 'r-d2');
    await p.expectResponse('OK');
    await p.mpub('keep', range(1, 20).map((n) => `keep-${n}`));
    await p.mpub('frozen', range(1, 10).map((n) => `frozen-${n}`));
  } finally {
    p.close();
  }
  await waitChannel(d.url, 'r', 'idle', (s) => s.depth === 50 && s.deferred_count === 2, 'r/idle: 50 queued, 2 deferred');
  const c = await WireConn.open(d.tcpPort);
  await c.sub('r', 'work');
  c.cmd('RDY 6');
  const six: WireMessage[] = [];
  for (let i = 0; i < 6; i++) six.push(await c.readMessage(10_000));
  c.cmd('RDY 0');
  c.cmd(`FIN ${six[0]!.id}`);
  c.cmd(`FIN ${six[1]!.id}`);
  c.cmd(`REQ ${six[2]!.id} ${deferMs}`);
  c.cmd(`REQ ${six[3]!.id} ${deferMs}`);
  await waitChannel(d.url, 'r', 'work', (s) => s.in_flight_count === 2 && s.deferred_count === 4, 'r/work: 2 in flight, 4 deferred');
  await waitTopic(d.url, 'keep', (t) => t.depth === 20, 'keep depth 20');
  await waitTopic(d.url, 'frozen', (t) => t.depth === 10, 'frozen depth 10');
  return { finished: six.slice(0, 2).map(bodyOf), requeued: six.slice(2, 4).map(bodyOf), inFlight: six.slice(4).map(bodyOf), conn: c };
}

for (const [label, init] of [
  ['default --mem-queue-size (all in memory)', {}],
  ['--mem-queue-size 10 (most on disk)', { memQueueSize: 10 }],
] as [string, NsqdInit][]) {
  test(`restart with ${label}: every message comes back once, in-flight and deferred too; topics, channels and paused flags restored`, async () => {
    const dir = newDir('nsq-ts-dq-restart-');
    let state!: Awaited<ReturnType<typeof populate>>;
    await withNsqdAt(dir, init, async (d) => {
      state = await populate(d, 60_000);
      // The consumer is still connected with 2 in flight when the daemon shuts down.
    });
    state.conn.close();
    const all = range(1, 50).map(rBody);
    await withNsqdAt(dir, init, async (d) => {
      const s = await getStats(d.url);
      const topics = new Map((s.topics ?? []).map((t) => [t.topic_name, t]));
      assert.equal([...topics.keys()].sort(), ['frozen', 'keep', 'r']);
      const r = topics.get('r')!;
      assert.equal(r.channels.map((c) => [c.channel_name, c.paused]).sort(), [['idle', false], ['stopped', true], ['work', false]]);
      assert.is(r.paused, false);
      assert.is(topics.get('frozen')!.paused, true);
      assert.is(topics.get('frozen')!.depth, 10, 'frozen keeps its 10 in the topic');
      assert.is(topics.get('keep')!.depth, 20);
      const stopped = r.channels.find((c) => c.channel_name === 'stopped')!;
      assert.ok(stopped.depth >= 50 && stopped.depth + stopped.deferred_count === 52, `stopped: 50 + 2 DPUB, got depth ${stopped.depth} deferred ${stopped.deferred_count}`);

      // r/work: everything but the 2 finished; the requeued and DPUB'd ones may still be deferred.
      const deferredBodies = [...state.requeued, 'r-d1', 'r-d2'];
      const mustWork = all.filter((b) => !state.finished.includes(b) && !state.requeued.includes(b));
      const work = await drain(d, 'r', 'work', mustWork, deferredBodies);
      for (const m of work) {
        const b = bodyOf(m);
        const want = state.inFlight.includes(b) || state.requeued.includes(b) ? 2 : 1;
        assert.is(m.attempts, want, `attempts of ${b} (delivered ${want - 1} time(s) before the restart)`);
      }
      // r/idle: all 50, and the 2 DPUB'd (maybe still deferred).
      await drain(d, 'r', 'idle', all, ['r-d1', 'r-d2']);
      // keep: the 20 kept in the topic go to its first channel.
      // (Order is not kept across the restart: the memory queue is written after the disk queue, spec §3.9.)
      await drain(d, 'keep', 'reader', range(1, 20).map((n) => `keep-${n}`));
      // frozen: unpaused, its 10 reach channel c.
      await post(`${d.url}/topic/unpause?topic=frozen`);
      await drain(d, 'frozen', 'c', range(1, 10).map((n) => `frozen-${n}`));
    });
    const dat = readNsqdDat(dir).doc;
    assert.ok(dat.topics!.some((t) => t.name === 'keep' && t.channels !== null && t.channels.some((c) => c.name === 'reader')), 'keep/reader persisted');
  });
}

test('restart: deferred messages (REQ with a delay, DPUB) are delivered after the restart, each once', async () => {
  const dir = newDir('nsq-ts-dq-deferred-');
  let state!: Awaited<ReturnType<typeof populate>>;
  await withNsqdAt(dir, { memQueueSize: 10 }, async (d) => {
    state = await populate(d, 5000);
  });
  state.conn.close();
  await withNsqdAt(dir, { memQueueSize: 10 }, async (d) => {
    const all = range(1, 50).map(rBody);
    const mustWork = [...all.filter((b) => !state.finished.includes(b)), 'r-d1', 'r-d2'];
    await drain(d, 'r', 'work', mustWork, [], 30_000);
    await drain(d, 'r', 'idle', [...all, 'r-d1', 'r-d2'], [], 30_000);
    await post(`${d.url}/channel/unpause?topic=r&channel=stopped`);
    await drain(d, 'r', 'stopped', [...all, 'r-d1', 'r-d2'], [], 30_000);
  });
});

test('restart twice without consuming: the same messages, once, with positions as a go-diskqueue reader sees them', async () => {
  const dir = newDir('nsq-ts-dq-twice-');
  const bodies = range(1, 40).map(rBody);
  await withNsqdAt(dir, GO_RUN, async (d) => {
    await post(`${d.url}/topic/create?topic=twice`);
    await post(`${d.url}/channel/create?topic=twice&channel=c`);
    await post(`${d.url}/mpub?topic=twice`, bodies.join('\n'));
    await waitChannel(d.url, 'twice', 'c', (s) => s.depth === 40, 'depth 40');
  });
  const first = readGoQueue(dir, 'twice:c');
  assert.equal(first.pending.map(bodyOf), bodies);
  assert.is(first.meta.depth, 40);
  await withNsqdAt(dir, GO_RUN, async (d) => {
    await waitChannel(d.url, 'twice', 'c', (s) => s.depth === 40, 'depth 40 after the first restart');
  });
  // r-001 … r-040 are 35-byte records: 28 fit in 1000 bytes, 12 go to 000001.
  const end = goLayout(bodies.map((b) => 4 + 26 + b.length), 1000).at(-1)!.end;
  assert.equal(end, { fileNum: 1, pos: 12 * 35 });
  assert.is(readMetaText(dir, 'twice:c'), `40\n0,0\n1,${end.pos}\n`);
  await withNsqdAt(dir, GO_RUN, async (d) => {
    const got = await drain(d, 'twice', 'c', bodies);
    assert.equal(got.map(bodyOf), bodies, 'in order');
  });
});

// ---------------------------------------------------------------------------------------------
// 4.7: damaged directories, read as go-diskqueue reads them

/** A directory whose nsqd.dat lists topic t with channel c; `setup` writes the queue t:c. */
function craftedDir(setup: (dir: string) => void): string {
  const dir = newDir('nsq-ts-dq-crafted-');
  writeNsqdDat(dir, [{ name: 't', channels: [{ name: 'c' }] }]);
  setup(dir);
  return dir;
}

const Q = 't:c';
const M = makeMessages('m', 10); // bodies m001..m010: 4 + 26 + 4 = 34-byte records
const REC = 34;
const NEW = 'new-msg-1'; // 4 + 26 + 9 = 39 bytes
const NEW_REC = 39;

/**
 * Open a crafted directory, check the depth /stats reports first (`startDepth`), consume the
 * `expected` bodies in order, then publish NEW from another connection and expect it next;
 * finally the channel is empty with nothing in flight. Returns after a clean close.
 */
async function recoverAndServe(dir: string, startDepth: number | null, expected: string[]): Promise<void> {
  await withNsqdAt(dir, GO_RUN, async (d) => {
    if (startDepth !== null) assert.is((await mustChannel(d.url, 't', 'c')).depth, startDepth, 'depth /stats reports at start (from the metadata)');
    const c = await WireConn.open(d.tcpPort, { timeoutMs: 10_000 });
    try {
      await c.sub('t', 'c');
      c.cmd('RDY 100');
      const got: string[] = [];
      for (let i = 0; i < expected.length; i++) {
        const m = await c.readMessage();
        got.push(bodyOf(m));
        c.cmd(`FIN ${m.id}`);
      }
      assert.equal(got, expected, 'messages recovered from the damaged queue');
      // The daemon keeps serving: a new message goes through (and nothing else comes first).
      const p = await WireConn.open(d.tcpPort);
      try {
        await p.pub('t', NEW);
      } finally {
        p.close();
      }
      const m = await c.readMessage();
      assert.is(bodyOf(m), NEW, 'the next message delivered is the one just published');
      c.cmd(`FIN ${m.id}`);
      await waitChannel(d.url, 't', 'c', (s) => s.depth === 0 && s.in_flight_count === 0, 'channel empty, nothing in flight');
      assert.is((await http('GET', `${d.url}/ping`)).text, 'OK');
    } finally {
      c.close();
    }
  });
}

test('4.7 torn last record in a finished segment: the records before it are delivered, the file is renamed .bad, reading goes on with the next file', async () => {
  const torn = encodeRecord(M[9]!).subarray(0, 14);
  const dir = craftedDir((dir) => {
    writeSegment(dir, Q, 0, M.slice(0, 5), torn);
    writeSegment(dir, Q, 1, M.slice(5, 7));
    writeGoMeta(dir, Q, { depth: 8, readFileNum: 0, readPos: 0, writeFileNum: 1, writePos: 2 * REC });
  });
  await recoverAndServe(dir, 8, M.slice(0, 7).map(bodyOf));
  assert.ok(existsSync(join(dir, `${segmentName(Q, 0)}.bad`)), '000000.dat.bad');
  assert.not.ok(existsSync(join(dir, segmentName(Q, 0))));
  assert.is(fileSize(dir, `${segmentName(Q, 0)}.bad`), 5 * REC + 14, 'the bad file is kept whole');
  // NEW was appended to the write file 000001 after m006, m007.
  assert.is(readMetaText(dir, Q), `0\n1,${2 * REC + NEW_REC}\n1,${2 * REC + NEW_REC}\n`);
});

test('4.7 crash mid-write: a torn record at the end of the write file beyond the stale writePos; writing moves to the next file', async () => {
  const torn = encodeRecord(M[9]!).subarray(0, 20);
  const dir = craftedDir((dir) => {
    writeSegment(dir, Q, 0, M.slice(0, 5), torn);
    writeGoMeta(dir, Q, { depth: 5, readFileNum: 0, readPos: 0, writeFileNum: 0, writePos: 5 * REC });
  });
  await recoverAndServe(dir, 5, M.slice(0, 5).map(bodyOf));
  assert.ok(existsSync(join(dir, `${segmentName(Q, 0)}.bad`)), '000000.dat.bad');
  assert.equal(segmentNumbers(dir, Q), [1], 'NEW went to 000001');
  assert.is(readMetaText(dir, Q), `0\n1,${NEW_REC}\n1,${NEW_REC}\n`);
});

for (const [what, len] of [
  ['5 (below 26)', 5],
  ['-1', -1],
  ['0x7fffffff (above max-msg-size + 26)', 0x7fffffff],
] as [string, number][]) {
  test(`4.7 garbage length ${what} mid-file in a finished segment: renamed .bad, reading continues with the next file, the daemon keeps serving`, async () => {
    const garbage = Buffer.alloc(40, 0x61);
    garbage.writeInt32BE(len, 0);
    const dir = craftedDir((dir) => {
      writeSegment(dir, Q, 0, M.slice(0, 3), Buffer.concat([garbage, ...M.slice(3, 5).map(encodeRecord)]));
      writeSegment(dir, Q, 1, M.slice(5, 8));
      writeGoMeta(dir, Q, { depth: 8, readFileNum: 0, readPos: 0, writeFileNum: 1, writePos: 3 * REC });
    });
    // m004 and m005 sit behind the garbage: lost, as in go-diskqueue.
    await recoverAndServe(dir, 8, [...M.slice(0, 3), ...M.slice(5, 8)].map(bodyOf));
    assert.ok(existsSync(join(dir, `${segmentName(Q, 0)}.bad`)), '000000.dat.bad');
    assert.equal(segmentNumbers(dir, Q), [1]);
    assert.is(readMetaText(dir, Q), `0\n1,${3 * REC + NEW_REC}\n1,${3 * REC + NEW_REC}\n`);
  });
}

test('4.7 garbage length in the write file: the file is abandoned for reads and writes (.bad), new messages go to the next file', async () => {
  const dir = craftedDir((dir) => {
    writeSegment(dir, Q, 0, M.slice(0, 5));
    const p = join(dir, segmentName(Q, 0));
    const buf = readFileSync(p);
    buf.writeInt32BE(0x00ffffff, 2 * REC); // the length of the third record
    writeFileSync(p, buf);
    writeGoMeta(dir, Q, { depth: 5, readFileNum: 0, readPos: 0, writeFileNum: 0, writePos: 5 * REC });
  });
  await recoverAndServe(dir, 5, M.slice(0, 2).map(bodyOf));
  assert.ok(existsSync(join(dir, `${segmentName(Q, 0)}.bad`)), '000000.dat.bad');
  assert.equal(segmentNumbers(dir, Q), [1]);
  assert.is(readMetaText(dir, Q), `0\n1,${NEW_REC}\n1,${NEW_REC}\n`);
});

test('4.7 stale metadata (writes after the last sync): the extra records are delivered and counted (go-diskqueue keeps depth 3), new writes go to the next file number', async () => {
  const dir = craftedDir((dir) => {
    writeSegment(dir, Q, 0, M.slice(0, 5));
    // Synced after 3 writes; 2 more reached the file before the crash.
    writeGoMeta(dir, Q, { depth: 3, readFileNum: 0, readPos: 0, writeFileNum: 0, writePos: 3 * REC });
  });
  await recoverAndServe(dir, 5, M.slice(0, 5).map(bodyOf));
  // 000000 was read to its physical end and deleted; NEW is in 000001.
  assert.equal(segmentNumbers(dir, Q), [1]);
  assert.not.ok(readdirSync(dir).some((f) => f.endsWith('.bad')));
  assert.is(readMetaText(dir, Q), `0\n1,${NEW_REC}\n1,${NEW_REC}\n`);
});

test('4.7 stale metadata on a topic queue: a channel created later still gets every record in the file', async () => {
  const dir = newDir('nsq-ts-dq-stale-topic-');
  writeNsqdDat(dir, [{ name: 'st' }]);
  writeSegment(dir, 'st', 0, M.slice(0, 6));
  writeGoMeta(dir, 'st', { depth: 4, readFileNum: 0, readPos: 0, writeFileNum: 0, writePos: 4 * REC });
  await withNsqdAt(dir, GO_RUN, async (d) => {
    assert.is((await mustTopic(d.url, 'st')).depth, 6, 'depth from the metadata plus the 2 records past its write position');
    const got = await take(d, 'st', 'c', 6);
    assert.equal(got.map(bodyOf), M.slice(0, 6).map(bodyOf));
  });
});

test('4.2 missing metadata file (a crash before the first sync): its segments are delivered, not overwritten (go-diskqueue starts over at 0,0)', async () => {
  const dir = craftedDir((dir) => {
    writeSegment(dir, Q, 0, M.slice(0, 5));
  });
  await recoverAndServe(dir, 5, M.slice(0, 5).map(bodyOf));
  assert.is(readMetaText(dir, Q), `0\n1,${NEW_REC}\n1,${NEW_REC}\n`);
  assert.equal(segmentNumbers(dir, Q), [1], 'NEW went to 000001');
});

test('4.7 metadata claiming more than the file holds: the records there are delivered, then EOF makes the file .bad and writing moves on', async () => {
  const dir = craftedDir((dir) => {
    writeSegment(dir, Q, 0, M.slice(0, 5));
    writeGoMeta(dir, Q, { depth: 10, readFileNum: 0, readPos: 0, writeFileNum: 0, writePos: 10 * REC });
  });
  await recoverAndServe(dir, 10, M.slice(0, 5).map(bodyOf));
  assert.ok(existsSync(join(dir, `${segmentName(Q, 0)}.bad`)), '000000.dat.bad');
  assert.equal(segmentNumbers(dir, Q), [1], 'NEW went to 000001');
  assert.is(readMetaText(dir, Q), `0\n1,${NEW_REC}\n1,${NEW_REC}\n`);
});

test('4.7 a missing segment in the middle: skipped, reading continues with the next file', async () => {
  const dir = craftedDir((dir) => {
    writeSegment(dir, Q, 0, M.slice(0, 2));
    writeSegment(dir, Q, 2, M.slice(4, 6));
    writeGoMeta(dir, Q, { depth: 6, readFileNum: 0, readPos: 0, writeFileNum: 2, writePos: 2 * REC });
  });
  await recoverAndServe(dir, 6, [...M.slice(0, 2), ...M.slice(4, 6)].map(bodyOf));
  assert.is(readMetaText(dir, Q), `0\n2,${2 * REC + NEW_REC}\n2,${2 * REC + NEW_REC}\n`);
});

test('4.7 crash (SIGKILL) after writes past the last sync: on restart every written message is delivered once', async () => {
  const bin = requireBuilt('nsqd');
  const dir = newDir('nsq-ts-dq-crash-');
  const proc = new Proc(bin, ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dir}`, '--mem-queue-size=0', '--max-bytes-per-file=1000', '--sync-every=10', '--sync-timeout=1h']);
  procs.push(proc);
  const httpm = await proc.waitForOutput(/HTTP: listening on 127\.0\.0\.1:(\d+)/);
  const url = `http://127.0.0.1:${httpm[1]}`;
  const bodies = range(1, 15).map(rBody);
  // 10 writes: --sync-every 10 persists metadata for the topic.
  await post(`${url}/mpub?topic=crash`, bodies.slice(0, 10).join('\n'));
  await waitFor(() => readMetaText(dir, 'crash')?.startsWith('10\n') === true, 5000, 'metadata synced after 10 writes');
  // 5 more reach the segment but no sync follows (count 5 < 10, timeout an hour).
  await post(`${url}/mpub?topic=crash`, bodies.slice(10).join('\n'));
  await waitFor(() => fileSize(dir, segmentName('crash', 0)) === 15 * 35, 5000, 'all 15 records in the segment');
  proc.signal('SIGKILL');
  await proc.exited();
  assert.ok(readMetaText(dir, 'crash')!.startsWith('10\n'), `metadata still from the sync: ${JSON.stringify(readMetaText(dir, 'crash'))}`);
  // nsqd.dat lists the topic (written when it was created).
  await withNsqdAt(dir, GO_RUN, async (d) => {
    const got = await take(d, 'crash', 'c', 15);
    assert.equal(got.map(bodyOf), bodies);
    await waitTopic(d.url, 'crash', (t) => t.depth === 0, 'topic drained');
  });
});

// ---------------------------------------------------------------------------------------------
// 4.8: Empty and Delete; file numbers never reset

test('4.8 /channel/empty: segments and metadata removed, numbering continues (next write goes to 000003)', async () => {
  const dir = newDir('nsq-ts-dq-empty-ch-');
  await withNsqdAt(dir, GO_RUN, async (d) => {
    await post(`${d.url}/topic/create?topic=e`);
    await post(`${d.url}/channel/create?topic=e&channel=c`);
    await post(`${d.url}/channel/pause?topic=e&channel=c`);
    await post(`${d.url}/mpub?topic=e`, range(1, 60).map(rBody).join('\n'));
    await waitChannel(d.url, 'e', 'c', (s) => s.depth === 60, 'depth 60');
    await waitFor(() => segmentNumbers(dir, 'e:c').join() === '0,1,2', 5000, 'segments 000000-000002');
    await post(`${d.url}/channel/empty?topic=e&channel=c`);
    assert.is((await mustChannel(d.url, 'e', 'c')).depth, 0);
    assert.equal(segmentNumbers(dir, 'e:c'), [], 'segments deleted');
    assert.not.ok(existsSync(join(dir, metaName('e:c'))), 'metadata file removed on empty');
    await post(`${d.url}/channel/unpause?topic=e&channel=c`);
    await post(`${d.url}/pub?topic=e`, 'after-empty');
    const got = await take(d, 'e', 'c', 1);
    assert.equal(got.map(bodyOf), ['after-empty']);
    assert.equal(segmentNumbers(dir, 'e:c'), [3], 'file number continues after the emptied ones');
  });
  assert.is(readMetaText(dir, 'e:c'), '0\n3,41\n3,41\n');
});

test('4.8 /topic/empty: segments and metadata removed, numbering continues; emptying again skips another number', async () => {
  const dir = newDir('nsq-ts-dq-empty-t-');
  await withNsqdAt(dir, GO_RUN, async (d) => {
    await post(`${d.url}/mpub?topic=et`, range(1, 60).map(rBody).join('\n'));
    await waitTopic(d.url, 'et', (t) => t.depth === 60, 'depth 60');
    assert.equal(segmentNumbers(dir, 'et'), [0, 1, 2]);
    await post(`${d.url}/topic/empty?topic=et`);
    assert.is((await mustTopic(d.url, 'et')).depth, 0);
    assert.equal(segmentNumbers(dir, 'et'), []);
    assert.not.ok(existsSync(join(dir, metaName('et'))), 'metadata file removed on empty');
    await post(`${d.url}/pub?topic=et`, 'after-1');
    await waitTopic(d.url, 'et', (t) => t.depth === 1, 'depth 1');
    await waitFor(() => segmentNumbers(dir, 'et').join() === '3', 5000, 'next write in 000003');
    await post(`${d.url}/topic/empty?topic=et`);
    await post(`${d.url}/pub?topic=et`, 'after-2');
    await waitTopic(d.url, 'et', (t) => t.depth === 1, 'depth 1 again');
    await waitFor(() => segmentNumbers(dir, 'et').join() === '4', 5000, 'next write in 000004');
  });
  assert.is(readMetaText(dir, 'et'), '1\n4,0\n4,37\n');
  await withNsqdAt(dir, GO_RUN, async (d) => {
    const got = await take(d, 'et', 'c', 1);
    assert.equal(got.map(bodyOf), ['after-2']);
  });
});

test('4.8 /channel/delete and /topic/delete remove every file of the queue', async () => {
  const dir = newDir('nsq-ts-dq-delete-');
  await withNsqdAt(dir, GO_RUN, async (d) => {
    await post(`${d.url}/topic/create?topic=del`);
    await post(`${d.url}/channel/create?topic=del&channel=a`);
    await post(`${d.url}/channel/create?topic=del&channel=b`);
    await post(`${d.url}/mpub?topic=del`, range(1, 30).map(rBody).join('\n'));
    await waitChannel(d.url, 'del', 'a', (s) => s.depth === 30, 'a depth 30');
    await waitChannel(d.url, 'del', 'b', (s) => s.depth === 30, 'b depth 30');
    await post(`${d.url}/channel/delete?topic=del&channel=a`);
    await waitFor(() => !readdirSync(dir).some((f) => f.startsWith('del:a.')), 5000, 'del:a files gone');
    assert.ok(readdirSync(dir).some((f) => f.startsWith('del:b.diskqueue.')), 'del:b files kept');
    await post(`${d.url}/topic/delete?topic=del`);
    await waitFor(() => !readdirSync(dir).some((f) => f.startsWith('del.') || f.startsWith('del:')), 5000, `all del files gone (${readdirSync(dir).join(' ')})`);
  });
  assert.not.ok(readdirSync(dir).some((f) => f.startsWith('del.') || f.startsWith('del:')), `no del files after close: ${readdirSync(dir).join(' ')}`);
  assert.is(readNsqdDat(dir).doc.topics, null);
});

test.run();
