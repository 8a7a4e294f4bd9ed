// Crash tests against the real binary (dist/apps/nsqd.js as a child process, so SIGKILL is a
// real kill): nothing a publisher was told OK about may be lost.
//  - --durable-publish: OK means fsynced, and a message stays on disk until it is FINished, so a
//    SIGKILL at any moment loses nothing acknowledged (duplicates are allowed, loss is not).
//  - default mode: a SIGTERM writes memory, in-flight and deferred messages to disk (spec §3.9),
//    and the sidecar index keeps deferred due times across the restart.
// Facts: spec nsqd.md §3.9-3.11 and §4; nsq-ts's --durable-publish flag (src/nsqd/options.ts).
// DURABILITY_SEED=<n> repeats a run's choices (the kill moments still depend on timing);
// DURABILITY_TRIALS=<n> changes the number of crash trials.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, waitFor } from '../helpers/daemons.js';
import { CrashConsumer, DEFAULT_CONSUMER_MIX, DEFAULT_MIX, missingSeqs, prng, Publisher, PublishLedger, seqBody, seqOf, type ConsumerMix, type PublisherMix } from '../helpers/load.js';
import { Proc, requireBuilt } from '../helpers/proc.js';
import { topicStats } from '../helpers/stats.js';
import { QueuedConn } from '../helpers/frame-queue.js';
import { WireConn, type WireMessage } from '../helpers/wire.js';

let BIN = '';
const procs: Proc[] = [];
const dirs: string[] = [];
const SEED = Number(process.env.DURABILITY_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TRIALS = Number(process.env.DURABILITY_TRIALS ?? 6);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.before(() => {
  console.log(`  durability.test.ts: seed ${SEED} (DURABILITY_SEED=${SEED} to repeat), NSQ_NATIVE=${process.env.NSQ_NATIVE ?? 'auto'}`);
  try {
    BIN = requireBuilt('nsqd');
  } catch (err) {
    console.error(`\n  durability.test.ts: ${(err as Error).message}\n`);
    process.exitCode = 1;
    throw err;
  }
});

let testStarted = 0;
test.before.each(() => {
  testStarted = Date.now();
});
test.after.each(() => {
  if (process.env.TEST_VERBOSE) console.log(`  (${((Date.now() - testStarted) / 1000).toFixed(1)} s)`);
});

test.after(async () => {
  for (const p of procs) await p.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A temp dir removed after the file's tests (unless `keep` is later called on it). */
function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

/** Keep a directory for a post-mortem (a reproducer of a loss). */
function keep(d: string): void {
  const i = dirs.indexOf(d);
  if (i >= 0) dirs.splice(i, 1);
}

interface Running {
  proc: Proc;
  tcpPort: number;
  url: string;
}

const LISTEN = (what: string): RegExp => new RegExp(`INFO: ${what}: listening on 127\\.0\\.0\\.1:(\\d+)$`, 'm');

/** Start the binary on ephemeral loopback ports and read its ports from the log. */
async function startBin(dataPath: string, extra: readonly string[]): Promise<Running> {
  const proc = new Proc(BIN, ['--tcp-address=127.0.0.1:0', '--http-address=127.0.0.1:0', `--data-path=${dataPath}`, ...extra]);
  procs.push(proc);
  const tcp = await proc.waitForOutput(LISTEN('TCP'), 20_000);
  const http = await proc.waitForOutput(LISTEN('HTTP'), 20_000);
  return { proc, tcpPort: Number(tcp[1]), url: `http://127.0.0.1:${Number(http[1])}` };
}

/**
 * Whether the topic and all its channels hold nothing: depth, in flight and deferred all 0.
 * `stuck`: nothing in flight or deferred, but a depth below 0 (a counter gone wrong), so waiting
 * longer cannot help.
 */
async function topicIdle(url: string, topic: string): Promise<{ idle: boolean; stuck: boolean; detail: string }> {
  const t = await topicStats(url, topic);
  if (t === undefined) return { idle: true, stuck: false, detail: 'topic not in /stats' };
  let idle = t.depth === 0;
  let settled = t.depth <= 0;
  let negative = t.depth < 0;
  let detail = `topic depth ${t.depth}`;
  for (const c of t.channels) {
    idle &&= c.depth === 0 && c.in_flight_count === 0 && c.deferred_count === 0;
    settled &&= c.depth <= 0 && c.in_flight_count === 0 && c.deferred_count === 0;
    negative ||= c.depth < 0;
    detail += `; ${c.channel_name}: depth ${c.depth} in_flight ${c.in_flight_count} deferred ${c.deferred_count}`;
  }
  return { idle, stuck: !idle && settled && negative, detail };
}

/** Wait until no message came for `quietMs` and /stats shows the topic empty; false after capMs. */
async function drain(r: Running, topic: string, consumer: CrashConsumer, quietMs = 700, capMs = 15_000): Promise<{ ok: boolean; stuck?: boolean; detail: string }> {
  const deadline = Date.now() + capMs;
  let last = { idle: false, stuck: false, detail: '' };
  while (Date.now() < deadline) {
    await sleep(150);
    if (Date.now() - consumer.lastMessageAt < quietMs) continue;
    last = await topicIdle(r.url, topic);
    if (last.idle) return { ok: true, detail: last.detail };
    if (last.stuck && Date.now() - consumer.lastMessageAt > 2 * quietMs) return { ok: false, stuck: true, detail: `${last.detail} (negative depth)` };
  }
  return { ok: false, detail: last.detail };
}

/** The consumer's behaviour while publishers run: some REQs, some messages left to time out. */
const LOAD_MIX: ConsumerMix = DEFAULT_CONSUMER_MIX;
/**
 * While draining after a restart: no message is left to time out (each one would hold one of
 * the 50 RDY slots for the whole 1 s msg_timeout, throttling the drain to ~1000 msg/s).
 */
const DRAIN_MIX: ConsumerMix = { ...DEFAULT_CONSUMER_MIX, req0: 0.03, reqDelay: 0.03, ignore: 0 };

/**
 * The crash loop shared by the durable (SIGKILL) and default (SIGTERM) runs. One data path and
 * one consumer for all trials; each trial publishes from `publishers` connections while the
 * consumer FINs/REQs/ignores, stops nsqd with `signal` at a random moment, restarts it on the
 * same data path, and drains until /stats shows nothing left. After every trial the
 * acknowledged messages not finished yet are counted; a trial that lost some keeps the data path
 * as it was right after the stop (printed, with the seed) as a reproducer. Fails at the end if
 * anything acknowledged was never finished.
 */
async function crashLoop(opts: { label: string; args: string[]; signal: 'SIGKILL' | 'SIGTERM'; trials: number; publishers: number; runMinMs: number; runMaxMs: number; seed: number; mix?: PublisherMix }): Promise<void> {
  const rng = prng(opts.seed);
  const topic = 'crash';
  const channel = 'c';
  const dataPath = dir(`nsq-ts-${opts.label}-`);
  const snapshots = dir(`nsq-ts-${opts.label}-snap-`);
  const ledger = new PublishLedger();
  const consumer = new CrashConsumer(ledger, prng(opts.seed ^ 0x5bd1e995), LOAD_MIX);
  const losses: string[] = [];
  let missing: number[] = [];
  let r = await startBin(dataPath, opts.args);
  let sub = await consumer.attach(r.tcpPort, topic, channel, { msgTimeoutMs: 1000, rdy: 50 });
  try {
    for (let trial = 0; trial < opts.trials; trial++) {
      const ackedBefore = ledger.acked.size;
      const sentBefore = ledger.sent.size;
      const deliveredBefore = consumer.deliveries;
      const dupsBefore = consumer.duplicates;
      consumer.mix = LOAD_MIX;
      const pubs: Publisher[] = [];
      for (let i = 0; i < opts.publishers; i++) pubs.push(new Publisher(r.tcpPort, topic, ledger, prng(opts.seed + 1000 * trial + i), opts.mix ?? DEFAULT_MIX));
      const stopAfterMs = opts.runMinMs + Math.floor(rng() * (opts.runMaxMs - opts.runMinMs));
      await sleep(stopAfterMs);
      r.proc.signal(opts.signal);
      const st = await r.proc.exited(30_000);
      if (opts.signal === 'SIGTERM') {
        assert.equal(st, { code: 0, signal: null }, `trial ${trial}: nsqd should exit 0 after SIGTERM; stderr tail:\n${r.proc.stderr.slice(-2000)}`);
      }
      for (const p of pubs) p.abort();
      await Promise.all(pubs.map((p) => p.done));
      await sub.closed;
      // The data path as the stop left it: the reproducer if something turns out lost.
      const snap = join(snapshots, `trial-${trial}`);
      mkdirSync(snap, { recursive: true });
      cpSync(dataPath, snap, { recursive: true });
      const acked = ledger.acked.size - ackedBefore;
      const unanswered = ledger.sent.size - sentBefore - acked;
      r = await startBin(dataPath, opts.args);
      consumer.mix = DRAIN_MIX;
      sub = await consumer.attach(r.tcpPort, topic, channel, { msgTimeoutMs: 1000, rdy: 50 });
      const drained = await drain(r, topic, consumer);
      const before = new Set(missing);
      missing = missingSeqs(ledger, consumer);
      const fresh = missing.filter((s) => !before.has(s));
      console.log(
        `  ${opts.label} trial ${trial}: ${opts.signal} after ${stopAfterMs} ms; acknowledged ${acked} (total ${ledger.acked.size}), ` +
          `unanswered ${unanswered}, delivered ${consumer.deliveries - deliveredBefore} frames, duplicates ${consumer.duplicates - dupsBefore}, ` +
          `lost ${fresh.length}${drained.ok ? '' : ` (not drained: ${drained.detail})`}`,
      );
      if (fresh.length > 0 || !drained.ok) keep(snapshots);
      if (fresh.length > 0) {
        const dpub = fresh.filter((s) => ledger.deferred.has(s)).length;
        losses.push(
          `trial ${trial}: ${fresh.length} acknowledged messages never finished (seqs ${fresh.slice(0, 15).join(', ')}${fresh.length > 15 ? ', ...' : ''}; ${dpub} DPUB); ` +
            `data path right after the ${opts.signal}: ${snap}; /stats after the drain: ${drained.detail}`,
        );
      }
      if (drained.stuck) {
        losses.push(`trial ${trial}: /stats shows a negative depth after the drain (${drained.detail})`);
      } else if (!drained.ok) {
        losses.push(`trial ${trial}: queues never drained after the restart (${drained.detail}); stopping the loop`);
        break;
      }
    }
  } finally {
    consumer.detach();
    await r.proc.kill();
  }
  console.log(
    `  ${opts.label} total over ${opts.trials} trials (seed ${opts.seed}): sent ${ledger.sent.size}, acknowledged ${ledger.acked.size}, ` +
      `delivered ${consumer.deliveries} frames, finished ${consumer.uniqueFinished} distinct, duplicates ${consumer.duplicates}, ` +
      `REQ ${consumer.reqs}, left to time out ${consumer.ignored}, E_FIN_FAILED ${consumer.finFailed}, E_REQ_FAILED ${consumer.reqFailed}, ` +
      `lost ${missing.length}`,
  );
  assert.equal(consumer.corrupt, [], 'bodies delivered damaged');
  assert.equal(consumer.phantoms, [], 'sequence numbers delivered that were never published');
  assert.equal(consumer.otherErrors, [], 'consumer got unexpected error frames');
  // A publish racing a graceful shutdown may be refused with `exiting` (spec §2.11); nothing else.
  const unexpected = ledger.errors.filter((e) => !(opts.signal === 'SIGTERM' && /^E_[MD]?PUB_FAILED [MD]?PUB failed exiting$/.test(e)));
  assert.equal(unexpected, [], 'publishers got error frames');
  assert.ok(ledger.acked.size > 0, 'nothing was acknowledged: the load never ran');
  if (losses.length > 0) {
    assert.unreachable(`${opts.label} (seed ${opts.seed}, NSQ_NATIVE=${process.env.NSQ_NATIVE ?? 'auto'}): ${missing.length} of ${ledger.acked.size} acknowledged messages lost; snapshots under ${snapshots}\n  ${losses.join('\n  ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// a. --durable-publish under SIGKILL

test(`--durable-publish: ${TRIALS} SIGKILL trials with 8 publishers (PUB/MPUB/DPUB) and a FIN/REQ/timeout consumer lose no acknowledged message`, async () => {
  await crashLoop({
    label: 'durable',
    args: ['--durable-publish', '--max-bytes-per-file=65536'],
    signal: 'SIGKILL',
    trials: TRIALS,
    publishers: 8,
    runMinMs: 500,
    runMaxMs: 1800,
    seed: SEED,
  });
});

// ---------------------------------------------------------------------------------------------
// b. default mode under SIGTERM

test('default mode: 3 SIGTERM trials with 8 publishers and a FIN/REQ/timeout consumer lose no acknowledged message (§3.9)', async () => {
  await crashLoop({
    label: 'sigterm',
    args: ['--max-bytes-per-file=65536'],
    signal: 'SIGTERM',
    trials: 3,
    publishers: 8,
    runMinMs: 500,
    runMaxMs: 1500,
    seed: SEED + 7,
    // Without fsyncs publishing is ~10x faster; smaller pipelines keep the drains short.
    mix: { ...DEFAULT_MIX, window: 2, maxBatch: 8 },
  });
});

/**
 * Read messages until every `want` body arrived (FINning each), or `ms` passed, or nothing came
 * for a while and /stats shows the topic idle; returns when each arrived (Date.now()).
 */
async function collect(r: Running, c: QueuedConn, topic: string, want: readonly string[], ms: number): Promise<Map<string, { at: number; m: WireMessage }>> {
  const got = new Map<string, { at: number; m: WireMessage }>();
  const deadline = Date.now() + ms;
  while (want.some((w) => !got.has(w)) && Date.now() < deadline) {
    const m = await c.nextMessage(500);
    if (m === null) {
      if (c.closed) break;
      if ((await topicIdle(r.url, topic)).idle) break;
      continue;
    }
    const body = m.body.toString();
    if (!got.has(body)) got.set(body, { at: Date.now(), m });
    c.cmd(`FIN ${m.id}`);
  }
  return got;
}

for (const withChannel of [true, false]) {
  test(`default mode: a DPUB 3000 ms message survives SIGTERM and is delivered after its delay, not at once (${withChannel ? 'channel exists: channel deferred queue' : 'no channel yet: topic'})`, async () => {
    const dataPath = dir('nsq-ts-dpub-term-');
    let r = await startBin(dataPath, []);
    try {
      if (withChannel) {
        const res = await fetch(`${r.url}/topic/create?topic=dq`, { method: 'POST' });
        assert.is(res.status, 200);
        const res2 = await fetch(`${r.url}/channel/create?topic=dq&channel=c`, { method: 'POST' });
        assert.is(res2.status, 200);
      }
      const p = await WireConn.open(r.tcpPort);
      const sentAt = Date.now();
      p.cmd('DPUB dq 3000', 'deferred-3000');
      await p.expectResponse('OK');
      p.cmd('PUB dq', 'plain');
      await p.expectResponse('OK');
      p.close();
      r.proc.signal('SIGTERM');
      assert.equal(await r.proc.exited(), { code: 0, signal: null }, `exit after SIGTERM; stderr:\n${r.proc.stderr}`);
      r = await startBin(dataPath, []);
      const c = await QueuedConn.open(r.tcpPort);
      await c.sub('dq', 'c');
      c.cmd('RDY 10');
      const subscribedAt = Date.now();
      const got = await collect(r, c, 'dq', ['plain', 'deferred-3000'], 20_000);
      c.close();
      const plain = got.get('plain');
      const d = got.get('deferred-3000');
      assert.ok(plain !== undefined, 'the plain message published before SIGTERM was not delivered after the restart');
      assert.ok(d !== undefined, `the DPUB 3000 ms message was not delivered within 20 s of the restart (restart ${subscribedAt - sentAt} ms after the DPUB); /stats: ${(await topicIdle(r.url, 'dq')).detail}`);
      const after = d.at - sentAt;
      console.log(`  DPUB 3000 (${withChannel ? 'channel' : 'topic'}): restarted and subscribed ${subscribedAt - sentAt} ms after the DPUB, delivered ${after} ms after it`);
      // The due time is absolute (DPUB time + 3000 ms): arriving sooner means the deferral was lost.
      assert.ok(after >= 2900, `the DPUB 3000 ms message arrived ${after} ms after it was published (subscribed at ${subscribedAt - sentAt} ms): its deferral did not survive the restart`);
    } finally {
      await r.proc.kill();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// c. --durable-publish: in flight, REQ 0, REQ with delay and DPUB all come back after SIGKILL

test('--durable-publish: a message in flight, one REQ 0, one REQ 1500 ms, a DPUB 1500 ms and a queued one are all delivered after SIGKILL and restart', async () => {
  const dataPath = dir('nsq-ts-durable-states-');
  const args = ['--durable-publish', '--max-bytes-per-file=65536'];
  let r = await startBin(dataPath, args);
  try {
    const c = await WireConn.open(r.tcpPort, { timeoutMs: 10_000 });
    assert.is(await c.identify({ msg_timeout: 60_000 }), 'OK');
    await c.sub('states', 'c');
    c.cmd('RDY 3');
    const p = await WireConn.open(r.tcpPort);
    for (const b of ['in-flight', 'req-0', 'req-delay']) await p.pub('states', b);
    const first = new Map<string, WireMessage>();
    for (let i = 0; i < 3; i++) {
      const m = await c.readMessage();
      first.set(m.body.toString(), m);
    }
    assert.equal([...first.keys()].sort(), ['in-flight', 'req-0', 'req-delay']);
    c.cmd('RDY 0');
    c.cmd(`REQ ${first.get('req-0')!.id} 0`);
    const reqDelaySentAt = Date.now();
    c.cmd(`REQ ${first.get('req-delay')!.id} 1500`);
    const dpubSentAt = Date.now();
    p.cmd('DPUB states 1500', 'dpub');
    await p.expectResponse('OK');
    await p.pub('states', 'queued');
    // Both REQs processed (they have no answer): requeue_count 2, one left in flight.
    await waitFor(async () => {
      const t = await topicStats(r.url, 'states');
      const ch = t?.channels.find((x) => x.channel_name === 'c');
      return ch !== undefined && ch.requeue_count === 2 && ch.in_flight_count === 1;
    }, 10_000, 'requeue_count 2 and in_flight_count 1');
    // A REQ has no answer, so nothing tells a client when its delay is stored: the due time goes
    // to the channel's sidecar index a few ms after the REQ. Kill only once it is written (a
    // SIGKILL keeps what reached the kernel); killed before, the message comes back at once.
    const entry = Buffer.concat([Buffer.from('D'), Buffer.from(first.get('req-delay')!.id, 'latin1')]);
    await waitFor(() => {
      try {
        return readFileSync(join(dataPath, 'states:c.diskqueue.deferred.dat')).includes(entry);
      } catch {
        return false;
      }
    }, 10_000, "the REQ's due time in the sidecar index");
    r.proc.signal('SIGKILL');
    await r.proc.exited();
    c.close();
    p.close();
    const atKill = `${readdirSync(dataPath).sort().join(', ')}; meta ${readMeta(dataPath, 'states:c')?.join('|') ?? 'none'}`;
    r = await startBin(dataPath, args);
    const c2 = await QueuedConn.open(r.tcpPort);
    await c2.sub('states', 'c');
    c2.cmd('RDY 10');
    const want = ['in-flight', 'req-0', 'req-delay', 'dpub', 'queued'];
    const got = await collect(r, c2, 'states', want, 20_000);
    const missing = want.filter((w) => !got.has(w));
    assert.equal(missing, [], `not delivered after the SIGKILL and restart: ${missing.join(', ')}; data path at the kill: ${atKill}; restart log:\n${r.proc.stderr.slice(-2000)}`);
    const reqAfter = got.get('req-delay')!.at - reqDelaySentAt;
    const dpubAfter = got.get('dpub')!.at - dpubSentAt;
    console.log(`  durable states: REQ 1500 delivered ${reqAfter} ms after the REQ, DPUB 1500 delivered ${dpubAfter} ms after the DPUB; attempts after restart: ${want.map((w) => `${w}=${got.get(w)!.m.attempts}`).join(' ')}`);
    // Their due times are absolute and kept across the kill by the sidecar index.
    assert.ok(reqAfter >= 1400, `REQ 1500 ms message came back ${reqAfter} ms after the REQ: its delay was lost`);
    assert.ok(dpubAfter >= 1400, `DPUB 1500 ms message came back ${dpubAfter} ms after the DPUB: its delay was lost`);
    await waitFor(async () => (await topicIdle(r.url, 'states')).idle, 10_000, 'the topic to drain');
    c2.close();
  } finally {
    await r.proc.kill();
  }
});

/** Subscribe to topic/c and FIN everything until every `want` body came, or the topic is idle and quiet. */
async function consumeAll(r: Running, topic: string, want: readonly string[], capMs = 15_000): Promise<string[]> {
  const c = await QueuedConn.open(r.tcpPort);
  await c.sub(topic, 'c');
  c.cmd('RDY 100');
  const got: string[] = [];
  const deadline = Date.now() + capMs;
  try {
    while (Date.now() < deadline && want.some((w) => !got.includes(w))) {
      const m = await c.nextMessage(500);
      if (m === null) {
        if (c.closed) break;
        if ((await topicIdle(r.url, topic)).idle) break;
        continue;
      }
      got.push(m.body.toString());
      c.cmd(`FIN ${m.id}`);
    }
  } finally {
    c.close();
  }
  return got;
}

/** The lines of a queue's metadata file, or null when it does not exist. */
function readMeta(dataPath: string, queue: string): string[] | null {
  try {
    return readFileSync(join(dataPath, `${queue}.diskqueue.meta.dat`), 'utf8').split('\n');
  } catch {
    return null;
  }
}

for (const where of ['channel', 'topic'] as const) {
  test(`--durable-publish: messages acknowledged before the first metadata sync survive SIGKILL (${where} disk queue)`, async () => {
    const dataPath = dir('nsq-ts-durable-nometa-');
    const args = ['--durable-publish'];
    let r = await startBin(dataPath, args);
    try {
      const sub = where === 'channel' ? await WireConn.open(r.tcpPort) : null;
      if (sub !== null) await sub.sub('nometa', 'c');
      const p = await WireConn.open(r.tcpPort);
      const bodies = ['m1', 'm2', 'm3'];
      for (const b of bodies) await p.pub('nometa', b);
      r.proc.signal('SIGKILL');
      await r.proc.exited();
      p.close();
      sub?.close();
      const files = readdirSync(dataPath).sort().join(', ');
      r = await startBin(dataPath, args);
      const got = await consumeAll(r, 'nometa', bodies);
      const lost = bodies.filter((b) => !got.includes(b));
      assert.equal(lost, [], `acknowledged (fsynced) but not delivered after SIGKILL + restart: ${lost.join(', ')}; files after the kill: ${files}; restart log:\n${r.proc.stderr}`);
    } finally {
      await r.proc.kill();
    }
  });
}

test('--durable-publish: after SIGKILL, the queue behind an unfinished message is read to its end (metadata depth counts only unfinished messages)', async () => {
  const dataPath = dir('nsq-ts-durable-depth-');
  const args = ['--durable-publish', '--sync-timeout=100ms'];
  let r = await startBin(dataPath, args);
  try {
    const c = await WireConn.open(r.tcpPort);
    assert.is(await c.identify({ msg_timeout: 60_000 }), 'OK');
    await c.sub('depth', 'c');
    c.cmd('RDY 10');
    const p = await WireConn.open(r.tcpPort);
    for (let i = 1; i <= 10; i++) await p.pub('depth', `m${i}`);
    const first: WireMessage[] = [];
    for (let i = 0; i < 10; i++) first.push(await c.readMessage());
    c.cmd('RDY 0');
    // m1 stays in flight (its record pins the persisted read position); m2..m10 are finished.
    for (const m of first) if (m.body.toString() !== 'm1') c.cmd(`FIN ${m.id}`);
    for (let i = 11; i <= 20; i++) await p.pub('depth', `m${i}`);
    // Wait until the metadata is synced past all 20 records (no timing assumption: read it back).
    const seg = join(dataPath, 'depth:c.diskqueue.000000.dat');
    await waitFor(() => {
      const m = readMeta(dataPath, 'depth:c');
      return m !== null && m[2] === `0,${statSync(seg).size}` && m[0] === '11';
    }, 10_000, 'depth:c metadata synced (depth 11, writePos = segment size)');
    const meta = readMeta(dataPath, 'depth:c')!.join('|');
    r.proc.signal('SIGKILL');
    await r.proc.exited();
    c.close();
    p.close();
    r = await startBin(dataPath, args);
    const want = ['m1', ...Array.from({ length: 10 }, (_, i) => `m${i + 11}`)];
    const got = await consumeAll(r, 'depth', want);
    const lost = want.filter((w) => !got.includes(w));
    assert.equal(lost, [], `acknowledged but not delivered after SIGKILL + restart: ${lost.join(', ')} (metadata at the kill: ${meta}; delivered: ${got.join(',')})`);
  } finally {
    await r.proc.kill();
  }
});

for (const durable of [true, false]) {
  test(`${durable ? '--durable-publish' : 'default mode, --mem-queue-size=0 (Go parity, spec §4.6-4.7)'}: SIGKILL after several segment rolls; the restart neither overwrites nor skips stored segments`, async () => {
    const dataPath = dir('nsq-ts-rolls-');
    const args = [durable ? '--durable-publish' : '--mem-queue-size=0', '--max-bytes-per-file=1024'];
    let r = await startBin(dataPath, args);
    try {
      const sub = await WireConn.open(r.tcpPort);
      await sub.sub('rolls', 'c');
      const p = await WireConn.open(r.tcpPort);
      const body = (i: number) => `m${i}:${'x'.repeat(200)}`;
      for (let i = 1; i <= 3; i++) await p.pub('rolls', body(i));
      // A metadata file exists (go-diskqueue writes one at every roll and on the sync timer)...
      await waitFor(() => readMeta(dataPath, 'rolls:c') !== null, 10_000, 'rolls:c metadata');
      // ...and then several more segments are filled before the kill.
      for (let i = 4; i <= 30; i++) await p.pub('rolls', body(i));
      r.proc.signal('SIGKILL');
      await r.proc.exited();
      p.close();
      sub.close();
      const atKill = `${readdirSync(dataPath).sort().join(', ')}; meta ${readMeta(dataPath, 'rolls:c')?.join('|')}`;
      r = await startBin(dataPath, args);
      const p2 = await WireConn.open(r.tcpPort);
      for (let i = 31; i <= 35; i++) await p2.pub('rolls', body(i));
      p2.close();
      const want = Array.from({ length: 35 }, (_, i) => body(i + 1));
      const got = await consumeAll(r, 'rolls', want);
      const lost = want.filter((w) => !got.includes(w)).map((w) => w.split(':')[0]);
      assert.equal(lost, [], `acknowledged but not delivered: ${lost.join(', ')}; data path at the kill: ${atKill}; restart log:\n${r.proc.stderr.split('\n').filter((l) => /WARN|ERROR/.test(l)).join('\n')}`);
    } finally {
      await r.proc.kill();
    }
  });
}

test('seqBody/seqOf round-trip (load helper sanity)', () => {
  for (const s of [0, 1, 25, 26, 999, 123456]) assert.is(seqOf(seqBody(s)), s);
  const b = seqBody(42);
  b[b.length - 1] = 0x30;
  assert.is(seqOf(b), -1);
});

test.run();
