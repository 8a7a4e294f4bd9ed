// Full disks and full queues: publishes are refused with nsqd's errors (TCP E_PUB_FAILED /
// E_MPUB_FAILED, fatal; HTTP 503 EXITING, spec §2.11-2.12 and §5.4-5.5), /ping reports the
// failure (500 `NOK - <err>`) until the next successful write, publishing recovers once space is
// freed, and nothing that was accepted is dropped.
//  a. nsq-ts's --max-bytes-per-queue (a limit per topic or channel disk queue).
//  b. a real ENOSPC: a 2 MiB tmpfs mounted for the test (needs root and mount rights; without
//     them the tests print why they skip and pass).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NsqdInit } from '../../src/nsqd/nsqd.js';
import { http, startNsqd, tempDir, waitFor, type TestNsqd } from '../helpers/daemons.js';
import { channelStats, topicStats } from '../helpers/stats.js';
import { QueuedConn } from '../helpers/frame-queue.js';
import { decodeMessage, mpubBody, WireConn, type WireMessage } from '../helpers/wire.js';

const enc = encodeURIComponent;

/** Messages by body: which were accepted, which refused (and could still appear, see below). */
class Book {
  /** Bodies whose publish was answered OK (TCP) or 200 (HTTP). */
  readonly accepted = new Set<string>();
  /** Bodies of refused publishes. A refused MPUB may have stored the messages before the failing one. */
  readonly refused = new Set<string>();
  private n = 0;
  body(tag: string, size = 100): string {
    const head = `${tag}-${this.n++}|`;
    return head + 'x'.repeat(Math.max(0, size - head.length));
  }
}

/** Read and FIN until `n` messages came, or nothing came for a while and /stats is idle, or capMs passed. */
async function consume(d: TestNsqd, c: QueuedConn, topic: string, n: number, delivered: string[], capMs = 20_000): Promise<void> {
  let got = 0;
  const deadline = Date.now() + capMs;
  while (got < n && Date.now() < deadline) {
    const f = await c.next(500);
    if (f === null) {
      if (c.closed) return;
      const t = await topicStats(d.url, topic);
      const idle = t === undefined || (t.depth === 0 && t.channels.every((ch) => ch.depth === 0 && ch.in_flight_count === 0 && ch.deferred_count === 0));
      if (idle) return;
      continue;
    }
    if (f.type !== 2) {
      // E_FIN_FAILED after a duplicate delivery (same id twice) is possible; anything else is not.
      const text = f.data.toString();
      if (!text.startsWith('E_FIN_FAILED')) throw new Error(`consumer got ${text}`);
      continue;
    }
    const m = decodeMessage(f.data);
    delivered.push(m.body.toString());
    c.cmd(`FIN ${m.id}`);
    got++;
  }
}

/** Each accepted body exactly once: returns [lost, duplicated]. */
function audit(book: Book, delivered: string[]): { lost: string[]; dups: string[]; refusedDelivered: number } {
  const count = new Map<string, number>();
  for (const b of delivered) count.set(b, (count.get(b) ?? 0) + 1);
  const lost = [...book.accepted].filter((b) => !count.has(b));
  const dups = [...count].filter(([b, k]) => k > 1 && book.accepted.has(b)).map(([b]) => b);
  const refusedDelivered = [...count.keys()].filter((b) => book.refused.has(b)).length;
  return { lost, dups, refusedDelivered };
}

const short = (bodies: string[]) => bodies.slice(0, 8).map((b) => b.split('|')[0]).join(', ') + (bodies.length > 8 ? ', ...' : '');

/** PUB one body per command until the first refusal (or `cap` acceptances); returns the error text or null. */
async function pubUntilRefused(d: TestNsqd, topic: string, book: Book, tag: string, size: number, cap: number): Promise<string | null> {
  const p = await WireConn.open(d.tcpPort);
  try {
    for (let i = 0; i < cap; i++) {
      const body = book.body(tag, size);
      p.cmd(`PUB ${topic}`, body);
      const f = await p.readFrame();
      if (f.type === 0 && f.data.toString() === 'OK') {
        book.accepted.add(body);
        continue;
      }
      book.refused.add(body);
      assert.is(f.type, 1, `PUB answered frame type ${f.type} ${f.data.toString()}`);
      // E_PUB_FAILED is fatal: nsqd closes the connection after it.
      await p.expectClosed();
      return f.data.toString();
    }
    return null;
  } finally {
    p.close();
  }
}

/** A refused MPUB: E_MPUB_FAILED and the connection closed. Returns the error text. */
async function mpubRefused(d: TestNsqd, topic: string, bodies: string[], book: Book): Promise<string> {
  const p = await WireConn.open(d.tcpPort);
  try {
    p.write(Buffer.concat([Buffer.from(`MPUB ${topic}\n`), mpubBody(bodies)]));
    const f = await p.readFrame();
    if (f.type === 0) {
      for (const b of bodies) book.accepted.add(b);
      return `OK (accepted)`;
    }
    for (const b of bodies) book.refused.add(b);
    await p.expectClosed();
    return f.data.toString();
  } finally {
    p.close();
  }
}

async function ping(d: TestNsqd): Promise<{ status: number; text: string }> {
  const r = await http('GET', `${d.url}/ping`);
  return { status: r.status, text: r.text };
}

/** HTTP /pub and /mpub while full: 503 {"message":"EXITING"} (spec §5.4: any put failure). */
async function httpRefused(d: TestNsqd, topic: string, book: Book, size: number, mpubCount: number): Promise<void> {
  const one = book.body('http-pub', size);
  const r1 = await http('POST', `${d.url}/pub?topic=${enc(topic)}`, one);
  if (r1.status === 200) book.accepted.add(one);
  else book.refused.add(one);
  assert.is(r1.status, 503, `/pub while full answered ${r1.status} ${r1.text}`);
  assert.is(r1.text, '{"message":"EXITING"}');
  const many = Array.from({ length: mpubCount }, () => book.body('http-mpub', size));
  const r2 = await http('POST', `${d.url}/mpub?topic=${enc(topic)}`, many.join('\n'));
  if (r2.status === 200) for (const b of many) book.accepted.add(b);
  else for (const b of many) book.refused.add(b);
  assert.is(r2.status, 503, `/mpub while full answered ${r2.status} ${r2.text}`);
  assert.is(r2.text, '{"message":"EXITING"}');
}

/** Publish `n` bodies over TCP (PUB, then one MPUB) and HTTP, expecting every one accepted. */
async function publishOk(d: TestNsqd, topic: string, book: Book, tag: string, size: number): Promise<void> {
  // Freed channel space reaches the topic asynchronously (its backlog moves on, then its own
  // segments are deleted): the first PUB may still be refused for a moment, not for 5 s.
  const deadline = Date.now() + 5000;
  for (;;) {
    const probe = await WireConn.open(d.tcpPort);
    const b = book.body(tag, size);
    probe.cmd(`PUB ${topic}`, b);
    const f = await probe.readFrame();
    probe.close();
    if (f.type === 0 && f.data.toString() === 'OK') {
      book.accepted.add(b);
      break;
    }
    book.refused.add(b);
    assert.ok(Date.now() < deadline, `PUB 5 s after space was freed still answered ${f.data.toString()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const p = await WireConn.open(d.tcpPort);
  try {
    for (let i = 0; i < 3; i++) {
      const b = book.body(tag, size);
      p.cmd(`PUB ${topic}`, b);
      const f = await p.readFrame();
      assert.ok(f.type === 0 && f.data.toString() === 'OK', `PUB after space was freed answered ${f.data.toString()}`);
      book.accepted.add(b);
    }
    const batch = [book.body(tag, size), book.body(tag, size)];
    p.write(Buffer.concat([Buffer.from(`MPUB ${topic}\n`), mpubBody(batch)]));
    const f = await p.readFrame();
    assert.ok(f.type === 0 && f.data.toString() === 'OK', `MPUB after space was freed answered ${f.data.toString()}`);
    for (const b of batch) book.accepted.add(b);
  } finally {
    p.close();
  }
  const one = book.body(tag, size);
  const r = await http('POST', `${d.url}/pub?topic=${enc(topic)}`, one);
  assert.is(r.status, 200, `/pub after space was freed answered ${r.status} ${r.text}`);
  book.accepted.add(one);
}

/**
 * Wait until the topic's and its channels' depths stop changing (two reads 200 ms apart agree),
 * so no pump is still moving messages (and writing) in the background. Health is the result of
 * the last backend write (spec §3.1), so /ping is only meaningful once writes have stopped.
 */
async function settle(d: TestNsqd, topic: string): Promise<void> {
  let last = '';
  await waitFor(async () => {
    const t = await topicStats(d.url, topic);
    const now = JSON.stringify([t?.depth, t?.channels.map((c) => [c.depth, c.in_flight_count, c.deferred_count])]);
    const same = now === last;
    last = now;
    if (!same) await new Promise((r) => setTimeout(r, 200));
    return same;
  }, 10_000, 'queue depths to settle');
}

/**
 * The first PUB after room was made: freeing space travels (channel segment deleted, then the
 * topic pump moves its backlog on and frees the topic's segments), so retry a refused PUB on a
 * new connection until one is accepted, for at most `ms`. Returns the refusals seen.
 */
async function firstPubAccepted(d: TestNsqd, topic: string, book: Book, size: number, ms = 10_000): Promise<string[]> {
  const refusals: string[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const p = await WireConn.open(d.tcpPort);
    const b = book.body('first-after', size);
    p.cmd(`PUB ${topic}`, b);
    const f = await p.readFrame();
    p.close();
    if (f.type === 0 && f.data.toString() === 'OK') {
      book.accepted.add(b);
      return refusals;
    }
    book.refused.add(b);
    refusals.push(f.data.toString());
    if (Date.now() > deadline) assert.unreachable(`publishing never worked again after room was made (${refusals.length} refusals in ${ms} ms, last: ${refusals[refusals.length - 1]})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// a. --max-bytes-per-queue

const LIMIT = 20_000;

for (const durable of [false, true]) {
  for (const subscribedFirst of [false, true]) {
    const mode = durable ? '--durable-publish' : 'default mode';
    const where = subscribedFirst ? 'channel queue fills (consumer subscribed, RDY 0)' : 'topic queue fills (no channel yet)';
    test(`--max-bytes-per-queue=${LIMIT}, ${mode}, ${where}: refused when full, /ping NOK, recovers after a partial drain, every accepted message delivered exactly once`, async () => {
      // Segments are freed only when the reader moves past them (go-diskqueue), so a drain frees
      // space in steps of --max-bytes-per-file: small segments make a partial drain free some.
      const init: NsqdInit = { memQueueSize: 0, maxBytesPerQueue: LIMIT, maxBytesPerFile: 4096, durablePublish: durable };
      const d = await startNsqd(init);
      const topic = 'limited';
      const book = new Book();
      const delivered: string[] = [];
      let c: QueuedConn | null = null;
      try {
        if (subscribedFirst) {
          c = await QueuedConn.open(d.tcpPort);
          await c.sub(topic, 'c');
        }
        const err = await pubUntilRefused(d, topic, book, 'pub', 100, 1000);
        const health = await ping(d);
        if (err === null) {
          // Never refused: see whether what was accepted past the limit is still there.
          c ??= await QueuedConn.open(d.tcpPort);
          if (!subscribedFirst) await c.sub(topic, 'c');
          c.cmd('RDY 100');
          await consume(d, c, topic, Infinity, delivered);
          const a = audit(book, delivered);
          assert.unreachable(
            `${book.accepted.size} PUBs of 100-byte bodies (~${book.accepted.size * 134} bytes) were all answered OK with --max-bytes-per-queue=${LIMIT}; ` +
              `/ping said ${health.status} ${JSON.stringify(health.text)}; only ${delivered.length} were delivered: ${a.lost.length} acknowledged messages silently dropped (${short(a.lost)})`,
          );
        }
        assert.match(err!, /^E_PUB_FAILED PUB failed \S/, `refusal text: ${err}`);
        await settle(d, topic);
        const mErr = await mpubRefused(d, topic, [book.body('mpub'), book.body('mpub'), book.body('mpub')], book);
        assert.match(mErr, /^E_MPUB_FAILED MPUB failed \S/, `MPUB while full: ${mErr}`);
        const full = await ping(d);
        console.log(`  ${mode}, ${where}: ${book.accepted.size} accepted, then ${JSON.stringify(err)}, ${JSON.stringify(mErr)}; /ping ${full.status} ${JSON.stringify(full.text)}`);
        assert.is(full.status, 500, `/ping while full answered ${full.status} ${full.text}`);
        assert.match(full.text, /^NOK - \S/);
        await httpRefused(d, topic, book, 100, 3);
        assert.is((await ping(d)).status, 500, '/ping stays NOK while nothing was written');

        // Drain some: 60 messages (~8 KB, two segments of 4 KB) read and finished.
        if (c === null) {
          c = await QueuedConn.open(d.tcpPort);
          await c.sub(topic, 'c');
        }
        // RDY 60 and no FIN until all 60 are in flight, then RDY 0 before the FINs: exactly 60.
        c.cmd('RDY 60');
        const held: WireMessage[] = [];
        for (let i = 0; i < 60; i++) {
          const m = await c.nextMessage(5000);
          assert.ok(m !== null, `only ${i} of 60 stored messages were delivered within 5 s`);
          held.push(m);
        }
        c.cmd('RDY 0');
        for (const m of held) {
          delivered.push(m.body.toString());
          c.cmd(`FIN ${m.id}`);
        }
        await waitFor(async () => (await channelStats(d.url, topic, 'c'))?.in_flight_count === 0, 5000, 'the 60 FINs processed');

        // Publishing works again, and the next successful write makes /ping OK.
        const retried = await firstPubAccepted(d, topic, book, 100);
        if (retried.length > 0) console.log(`  ${mode}, ${where}: ${retried.length} PUBs refused before room reached the topic (${retried[0]})`);
        await publishOk(d, topic, book, 'after', 100);
        const healed = await ping(d);
        assert.equal(healed, { status: 200, text: 'OK' }, '/ping after a successful write');

        // Everything accepted is delivered exactly once.
        c.cmd('RDY 100');
        await consume(d, c, topic, Infinity, delivered);
        const a = audit(book, delivered);
        console.log(`  ${mode}, ${where}: accepted ${book.accepted.size}, delivered ${delivered.length}, refused-but-delivered ${a.refusedDelivered}, lost ${a.lost.length}, duplicated ${a.dups.length}`);
        assert.equal(a.lost.length, 0, `accepted but never delivered: ${a.lost.length} (${short(a.lost)})`);
        assert.equal(a.dups.length, 0, `accepted and delivered more than once: ${short(a.dups)}`);
      } finally {
        c?.close();
        await d.close();
      }
    });
  }
}

for (const durable of [false, true]) {
  test(`--max-bytes-per-queue=${LIMIT} with the default --max-bytes-per-file, ${durable ? '--durable-publish' : 'default mode'}: once a consumer drained the queue completely, publishing works again and is delivered`, async () => {
    const d = await startNsqd({ memQueueSize: 0, maxBytesPerQueue: LIMIT, durablePublish: durable });
    const topic = 'drained';
    const book = new Book();
    const delivered: string[] = [];
    const c = await QueuedConn.open(d.tcpPort);
    try {
      const err = await pubUntilRefused(d, topic, book, 'pub', 100, 1000);
      assert.ok(err !== null, 'publishes to a topic without channels were never refused');
      await c.sub(topic, 'c');
      c.cmd('RDY 100');
      await consume(d, c, topic, Infinity, delivered);
      assert.is(delivered.length, book.accepted.size, 'the full backlog is delivered');
      await waitFor(async () => (await channelStats(d.url, topic, 'c'))?.in_flight_count === 0, 5000, 'FINs processed');
      const t = await topicStats(d.url, topic);
      const depths = `topic depth ${t?.depth}, channel depth ${t?.channels[0]?.depth}`;
      // The queues hold nothing now: a new message must be accepted (and delivered).
      const p = await WireConn.open(d.tcpPort);
      const body = book.body('after');
      p.cmd(`PUB ${topic}`, body);
      const f = await p.readFrame();
      p.close();
      const health = await ping(d);
      assert.ok(f.type === 0 && f.data.toString() === 'OK', `PUB into drained queues (${depths}) answered ${JSON.stringify(f.data.toString())}; /ping ${health.text}`);
      book.accepted.add(body);
      const after: string[] = [];
      await consume(d, c, topic, 1, after);
      assert.equal(after, [body], `the message accepted after the drain was not delivered (/ping: ${health.text})`);
      assert.equal(health, { status: 200, text: 'OK' }, '/ping after a successful write');
    } finally {
      c.close();
      await d.close();
    }
  });
}

for (const durable of [false, true]) {
  test(`--max-bytes-per-queue=${LIMIT}, ${durable ? '--durable-publish' : 'default mode'}: a topic backlog fanned out to a channel whose queue is nearly full loses nothing (it waits until the channel has room)`, async () => {
    const d = await startNsqd({ memQueueSize: 0, maxBytesPerQueue: LIMIT, maxBytesPerFile: 4096, durablePublish: durable });
    const topic = 'backlog';
    const book = new Book();
    const delivered: string[] = [];
    const c = await QueuedConn.open(d.tcpPort);
    try {
      await c.sub(topic, 'c');
      // 100 messages straight into the channel queue (~13 KB of its 20 KB)...
      const p = await WireConn.open(d.tcpPort);
      for (let i = 0; i < 100; i++) {
        const b = book.body('direct');
        await p.pub(topic, b);
        book.accepted.add(b);
      }
      p.close();
      // ...then, with the topic paused, its own queue filled until refused (~20 KB).
      assert.is((await http('POST', `${d.url}/topic/pause?topic=${topic}`)).status, 200);
      const err = await pubUntilRefused(d, topic, book, 'backlog', 100, 1000);
      assert.match(err ?? 'never refused', /^E_PUB_FAILED PUB failed \S/);
      assert.is((await http('POST', `${d.url}/topic/unpause?topic=${topic}`)).status, 200);
      // The channel cannot take the whole backlog now: let the topic pump do what it can before
      // any consumer makes room (until the topic depth is 0 or stops changing).
      let last = -1;
      await waitFor(async () => {
        const depth = (await topicStats(d.url, topic))?.depth ?? 0;
        const settled = depth === 0 || depth === last;
        last = depth;
        if (!settled) await new Promise((r) => setTimeout(r, 200));
        return settled;
      }, 10_000, 'the topic pump to settle');
      const mid = await topicStats(d.url, topic);
      console.log(`  backlog ${durable ? 'durable' : 'default'}: after unpause, topic depth ${mid?.depth}, channel depth ${mid?.channels[0]?.depth} (accepted ${book.accepted.size})`);
      c.cmd('RDY 100');
      await consume(d, c, topic, Infinity, delivered);
      const a = audit(book, delivered);
      const t = await topicStats(d.url, topic);
      console.log(`  backlog ${durable ? 'durable' : 'default'}: accepted ${book.accepted.size}, delivered ${delivered.length}, lost ${a.lost.length}, duplicated ${a.dups.length}; topic depth ${t?.depth}, channel depth ${t?.channels[0]?.depth}`);
      assert.equal(a.lost.length, 0, `accepted but never delivered: ${a.lost.length} of ${book.accepted.size} (${short(a.lost)}); /stats now: topic depth ${t?.depth}, channel depth ${t?.channels[0]?.depth}; /ping ${(await ping(d)).text}`);
      assert.equal(a.dups.length, 0, `accepted and delivered more than once: ${short(a.dups)}`);
    } finally {
      c.close();
      await d.close();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// b. ENOSPC on a real (tmpfs) file system

let mountSkip: string | null = null;

test.before(() => {
  const probe = tempDir('nsq-ts-tmpfs-probe-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe], { stdio: 'pipe' });
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    mountSkip = (e.stderr?.toString().trim() || e.message).split('\n')[0]!;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
});

/** Mount a 2 MiB tmpfs, run fn, unmount (also on failure). */
async function withTmpfs(fn: (mnt: string) => Promise<void>): Promise<void> {
  const mnt = tempDir('nsq-ts-enospc-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'pipe' });
  try {
    await fn(mnt);
  } finally {
    try {
      execFileSync('umount', [mnt], { stdio: 'pipe' });
    } catch {
      execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
    }
    rmSync(mnt, { recursive: true, force: true });
  }
}

for (const durable of [false, true]) {
  for (const subscribedFirst of [false, true]) {
    const mode = durable ? '--durable-publish' : 'default mode';
    const where = subscribedFirst ? 'channel queue (consumer subscribed, RDY 0)' : 'topic queue (no channel yet)';
    test(`ENOSPC (2 MiB tmpfs), ${mode}, ${where}: E_PUB_FAILED/E_MPUB_FAILED/503, /ping NOK, recovery after freeing space, nothing accepted lost across a restart`, async () => {
      if (mountSkip !== null) {
        console.log(`  skipped: cannot mount tmpfs here (${mountSkip})`);
        return;
      }
      await withTmpfs(async (mnt) => {
        // 1 MiB of the 2 MiB is taken by a file we can delete later to free space.
        const filler = join(mnt, 'filler');
        writeFileSync(filler, Buffer.alloc(1024 * 1024, 1));
        const dataPath = join(mnt, 'data');
        mkdirSync(dataPath);
        const init: NsqdInit = { dataPath, memQueueSize: 0, maxBytesPerFile: 65536, durablePublish: durable };
        const topic = 'enospc';
        const book = new Book();
        let d = await startNsqd(init);
        let c: QueuedConn | null = null;
        try {
          if (subscribedFirst) {
            c = await QueuedConn.open(d.tcpPort);
            await c.sub(topic, 'c');
          }
          const err = await pubUntilRefused(d, topic, book, 'pub', 1000, 5000);
          assert.ok(err !== null, `5000 PUBs of 1000 bytes all accepted on a 2 MiB file system`);
          assert.match(err!, /^E_PUB_FAILED PUB failed \S/, `refusal text: ${err}`);
          await settle(d, topic);
          // Larger than anything a truncated partial write could have left free (tmpfs pages).
          const mErr = await mpubRefused(d, topic, Array.from({ length: 10 }, () => book.body('mpub', 1000)), book);
          assert.match(mErr, /^E_MPUB_FAILED MPUB failed \S/, `MPUB on a full disk: ${mErr}`);
          const health = await ping(d);
          console.log(`  ENOSPC ${mode}, ${where}: ${book.accepted.size} accepted, then ${JSON.stringify(err)}, ${JSON.stringify(mErr)}; /ping ${health.status} ${JSON.stringify(health.text)}`);
          assert.is(health.status, 500, `/ping on a full disk (after a refused MPUB) answered ${health.status} ${health.text}`);
          assert.match(health.text, /^NOK - .*(ENOSPC|write failed)/);
          await httpRefused(d, topic, book, 8000, 10);
          assert.match((await ping(d)).text, /^NOK - /);

          // Free space: publishing works again and /ping recovers with the next write.
          unlinkSync(filler);
          await publishOk(d, topic, book, 'after', 1000);
          assert.equal(await ping(d), { status: 200, text: 'OK' }, '/ping after a successful write');

          // Restart on the same data path (clean shutdown), then everything accepted is there once.
          c?.close();
          c = null;
          await d.close();
          d = await startNsqd(init);
          c = await QueuedConn.open(d.tcpPort);
          await c.sub(topic, 'c');
          c.cmd('RDY 100');
          const delivered: string[] = [];
          await consume(d, c, topic, Infinity, delivered);
          const a = audit(book, delivered);
          console.log(`  ENOSPC ${mode}, ${where}: accepted ${book.accepted.size}, delivered ${delivered.length} after the restart, refused-but-delivered ${a.refusedDelivered}, lost ${a.lost.length}, duplicated ${a.dups.length}`);
          // At least once: a write that failed after being queued may come back as a duplicate.
          assert.equal(a.lost.length, 0, `accepted but never delivered: ${a.lost.length} (${short(a.lost)})`);
        } finally {
          c?.close();
          await d.close();
        }
      });
    });
  }
}

test.run();
