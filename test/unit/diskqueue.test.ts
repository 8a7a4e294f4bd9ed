// DiskQueue on its own (spec §4, go-diskqueue v1.1.0): segment names, record layout and rolling,
// the metadata text, reading (including Go's own files), Empty/Delete, and recovery from stale,
// missing or over-claiming metadata and corrupt segments. The on-disk side is checked with the
// independent reader in test/helpers/go-diskqueue.ts. Runs on the I/O backend NSQ_NATIVE selects.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, fdatasyncSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiskQueue, type DiskQueueOptions } from '../../src/diskqueue/diskqueue.js';
import { Logger, nullLogger } from '../../src/internal/log.js';
import { backend } from '../../src/native/index.js';
import type { IoExecutor } from '../../src/native/backend.js';
import { tempDir, waitFor } from '../helpers/daemons.js';
import {
  encodeRecord,
  fileSize,
  goLayout,
  makeMessages,
  metaName,
  readGoQueue,
  readMetaText,
  readSegment,
  segmentName,
  segmentNumbers,
  writeGoMeta,
  writeSegment,
  type GoMessage,
} from '../helpers/go-diskqueue.js';
import { withTimeout } from '../helpers/wire.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/go-1.3.0/go-nsqd-1.3.0-datadir/', import.meta.url));
const MAX_MSG = 1024 * 1024 + 26;
const dirs: string[] = [];
const queues: DiskQueue[] = [];

function newDir(): string {
  const d = tempDir('nsq-ts-dq-unit-');
  dirs.push(d);
  return d;
}

test.after.each(async () => {
  for (const q of queues.splice(0)) await q.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A DiskQueue as nsqd builds it (spec §4.1), on the backend NSQ_NATIVE selects. */
function openQueue(dir: string, name: string, over: Partial<DiskQueueOptions> = {}): DiskQueue {
  const q = new DiskQueue({
    name,
    dataPath: dir,
    maxBytesPerFile: 1000,
    minMsgSize: 26,
    maxMsgSize: MAX_MSG,
    syncEvery: 2500,
    syncTimeoutMs: 2000,
    io: backend.io,
    logger: nullLogger,
    durable: false,
    maxBytes: 0,
    ...over,
  });
  queues.push(q);
  return q;
}

async function closeQueue(q: DiskQueue): Promise<void> {
  await q.close();
  queues.splice(queues.indexOf(q), 1);
}

/** The payload of a message: the 26-byte header and the body (a record without its length). */
const payloadOf = (m: GoMessage): Buffer => encodeRecord(m).subarray(4);

async function putAll(q: DiskQueue, msgs: GoMessage[]): Promise<void> {
  for (const m of msgs) {
    const err = q.put(payloadOf(m));
    if (err !== null) throw err;
  }
  const f = q.flushed();
  if (f !== null) {
    const err = await f;
    if (err !== null) throw err;
  }
}

/**
 * The next payload: read(), and when it has nothing, wait for onReadable (the queue promises to
 * call it when read() may return data after returning null).
 */
async function next(q: DiskQueue, what = 'a payload'): Promise<Buffer> {
  for (;;) {
    const p = q.read();
    if (p !== null) return Buffer.from(p);
    await withTimeout(new Promise<void>((res) => {
      q.onReadable = () => {
        q.onReadable = null;
        res();
      };
    }), 5000, `onReadable (waiting for ${what}; depth ${q.depth()})`);
  }
}

async function readBodies(q: DiskQueue, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await next(q, `payload #${i + 1} of ${n}`)).subarray(26).toString());
  return out;
}

const bodies = (ms: GoMessage[]): string[] => ms.map((m) => m.body.toString());
const orders = (from: number, to: number): GoMessage[] => makeMessages('order-', to - from + 1, from); // 9-byte bodies, 39-byte records
const M = makeMessages('m', 10); // 34-byte records
const REC = 34;

// ---------------------------------------------------------------------------------------------
// Writing: names, layout, rolling, metadata

test('60 × 39-byte records with maxBytesPerFile 1000: segments 000000-000002 of 975/975/390 bytes, metadata 60\\n0,0\\n2,390\\n', async () => {
  const dir = newDir();
  const q = openQueue(dir, 'orders');
  const msgs = orders(1, 60);
  await putAll(q, msgs);
  assert.is(q.depth(), 60);
  await closeQueue(q);
  assert.equal(readdirSync(dir).sort(), ['orders.diskqueue.000000.dat', 'orders.diskqueue.000001.dat', 'orders.diskqueue.000002.dat', 'orders.diskqueue.meta.dat']);
  assert.equal([0, 1, 2].map((n) => fileSize(dir, segmentName('orders', n))), [975, 975, 390]);
  assert.is(readMetaText(dir, 'orders'), '60\n0,0\n2,390\n');
  const st = readGoQueue(dir, 'orders');
  assert.equal(st.pending.map((r) => r.payload), msgs.map(payloadOf), 'records byte for byte');
  assert.equal(st.pending.map((r) => [r.fileNum, r.pos]), goLayout(msgs.map(() => 39), 1000).map((l) => [l.fileNum, l.pos]));
});

test('a payload larger than maxBytesPerFile goes alone into its own file; at writePos 0 it stays in the current file', async () => {
  const dir = newDir();
  const q = openQueue(dir, 'big');
  const big = (n: number): GoMessage => ({ timestamp: 1n, attempts: 0, id: `000000000000000${n}`, body: Buffer.alloc(1500, 0x42) });
  const msgs = [big(1), M[0]!, big(2), big(3), M[1]!];
  await putAll(q, msgs);
  await closeQueue(q);
  const sizes = msgs.map((m) => 4 + 26 + m.body.length);
  assert.equal(goLayout(sizes, 1000).map((l) => l.fileNum), [0, 1, 2, 3, 4]);
  assert.equal(segmentNumbers(dir, 'big'), [0, 1, 2, 3, 4]);
  assert.equal([0, 1, 2, 3, 4].map((n) => fileSize(dir, segmentName('big', n))), sizes);
  assert.is(readMetaText(dir, 'big'), `5\n0,0\n4,${REC}\n`);
});

test('write size limits: payloads under 26 or over maxMsgSize are refused with go-diskqueue\'s message; nothing is written', async () => {
  const dir = newDir();
  const q = openQueue(dir, 'limits', { maxMsgSize: 100 });
  const small = q.put(Buffer.alloc(25));
  assert.instance(small, Error);
  assert.is(small!.message, 'invalid message write size (25) minMsgSize=26 maxMsgSize=100');
  const large = q.put(Buffer.alloc(101));
  assert.instance(large, Error);
  assert.is(large!.message, 'invalid message write size (101) minMsgSize=26 maxMsgSize=100');
  assert.is(q.put(Buffer.alloc(26)), null, 'exactly 26 is fine');
  assert.is(q.put(Buffer.alloc(100)), null, 'exactly maxMsgSize is fine');
  await q.flushed();
  assert.is(q.depth(), 2);
  await closeQueue(q);
  assert.is(fileSize(dir, segmentName('limits', 0)), 30 + 104);
  assert.is(readMetaText(dir, 'limits'), '2\n0,0\n0,134\n');
});

test('--sync-every 1: once a put is flushed, the metadata on disk covers it (depth and writePos)', async () => {
  const dir = newDir();
  const q = openQueue(dir, 'synced', { syncEvery: 1, syncTimeoutMs: 3_600_000 });
  for (let i = 1; i <= 3; i++) {
    await putAll(q, [M[i - 1]!]);
    let last: string | null = null;
    try {
      await waitFor(() => (last = readMetaText(dir, 'synced')) === `${i}\n0,0\n0,${REC * i}\n`, 5000, `metadata after put ${i}`);
    } catch (e) {
      throw new Error(`${(e as Error).message}: it reads ${JSON.stringify(last)}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Reading

test('reading back: payloads byte for byte in order; a finished segment is deleted once read past; close persists 0\\n2,390\\n2,390\\n', async () => {
  const dir = newDir();
  const msgs = orders(1, 60);
  const w = openQueue(dir, 'rb');
  await putAll(w, msgs);
  await closeQueue(w);
  const q = openQueue(dir, 'rb');
  assert.is(q.depth(), 60);
  for (let i = 0; i < 60; i++) {
    const p = await next(q);
    assert.ok(p.equals(payloadOf(msgs[i]!)), `payload ${i + 1}`);
    if (i === 24) await waitFor(() => !existsSync(join(dir, segmentName('rb', 0))), 5000, '000000 deleted after its last record was read');
  }
  assert.is(q.depth(), 0);
  await waitFor(() => !existsSync(join(dir, segmentName('rb', 1))), 5000, '000001 deleted');
  await closeQueue(q);
  assert.is(readMetaText(dir, 'rb'), '0\n2,390\n2,390\n');
  assert.equal(segmentNumbers(dir, 'rb'), [2], 'the write file stays');
});

test('ackReads without durable (a topic\'s queue): a read segment stays on disk and the persisted read position stays behind until the reads are acked', async () => {
  const dir = newDir();
  const msgs = orders(1, 30);
  const w = openQueue(dir, 'ak');
  await putAll(w, msgs);
  await closeQueue(w);
  const q = openQueue(dir, 'ak', { ackReads: true });
  const tokens: number[] = [];
  for (let i = 0; i < 27; i++) {
    const p = await next(q);
    assert.ok(p.equals(payloadOf(msgs[i]!)), `payload ${i + 1}`);
    tokens.push(q.lastToken);
  }
  assert.ok(tokens.every((t) => t >= 0), 'every read has a token');
  assert.is(q.depth(), 3);
  assert.equal(q.metadata(), { depth: 30, readFileNum: 0, readPos: 0, writeFileNum: 1, writePos: 195 });
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(existsSync(join(dir, segmentName('ak', 0))), '000000 kept while its reads are unacked');
  // Acks out of order: the position moves only over a prefix of acked reads.
  for (let i = 1; i < 25; i++) q.ack(tokens[i]!);
  assert.equal(q.metadata(), { depth: 6, readFileNum: 0, readPos: 0, writeFileNum: 1, writePos: 195 });
  q.ack(tokens[0]!);
  assert.equal(q.metadata(), { depth: 5, readFileNum: 1, readPos: 0, writeFileNum: 1, writePos: 195 });
  await waitFor(() => !existsSync(join(dir, segmentName('ak', 0))), 5000, '000000 deleted once all its reads are acked');
  q.ack(tokens[25]!);
  await closeQueue(q);
  assert.is(readMetaText(dir, 'ak'), '4\n1,39\n1,195\n', 'an unacked read (#27) is persisted as unread');
});

test('partial read then close: metadata records the read position and the depth left (like Go\'s billing: 35\\n1,0\\n2,390\\n)', async () => {
  const dir = newDir();
  const w = openQueue(dir, 'orders:billing');
  await putAll(w, orders(1, 60));
  await closeQueue(w);
  const q = openQueue(dir, 'orders:billing');
  assert.equal(await readBodies(q, 25), bodies(orders(1, 25)));
  await closeQueue(q);
  assert.is(readMetaText(dir, 'orders:billing'), readMetaText(FIXTURE, 'orders:billing'));
  assert.equal(segmentNumbers(dir, 'orders:billing'), segmentNumbers(FIXTURE, 'orders:billing'));
});

test('Go\'s own queue files: orders:shipping yields Go\'s 60 payloads byte for byte; orders:billing starts at Go\'s read position', async () => {
  const dir = newDir();
  cpSync(FIXTURE, dir, { recursive: true });
  const goShipping = [0, 1, 2].flatMap((n) => readSegment(FIXTURE, 'orders:shipping', n));
  const q = openQueue(dir, 'orders:shipping');
  assert.is(q.depth(), 60);
  for (const r of goShipping) assert.ok((await next(q)).equals(r.payload), `payload of ${r.body}`);
  assert.is(q.depth(), 0);
  const b = openQueue(dir, 'orders:billing');
  assert.is(b.depth(), 35);
  assert.equal(await readBodies(b, 35), Array.from({ length: 35 }, (_, i) => `order-${String(26 + i).padStart(3, '0')}`));
});

test('appending to Go\'s files: writing resumes at Go\'s writePos (2,390) without touching its bytes, and rolls at 975', async () => {
  const dir = newDir();
  cpSync(FIXTURE, dir, { recursive: true });
  const q = openQueue(dir, 'orders:shipping');
  await putAll(q, orders(61, 80));
  assert.is(q.depth(), 80);
  await closeQueue(q);
  assert.is(readMetaText(dir, 'orders:shipping'), '80\n0,0\n3,195\n');
  const go = readFileSync(join(FIXTURE, segmentName('orders:shipping', 2)));
  assert.ok(readFileSync(join(dir, segmentName('orders:shipping', 2))).subarray(0, 390).equals(go));
  assert.is(fileSize(dir, segmentName('orders:shipping', 2)), 975);
  assert.equal(readGoQueue(dir, 'orders:shipping').pending.map((r) => r.body.toString()).slice(55), bodies(orders(56, 80)));
});

test('close() right after the reader moved to a new file: the metadata left on disk is the final state, and stays so', async () => {
  // go-diskqueue's Close stops the loop, then syncs: no earlier sync can land after it. Repeat a
  // few times, since an earlier sync still being written when close() runs is what goes wrong.
  for (let k = 0; k < 10; k++) {
    const dir = newDir();
    const w = openQueue(dir, 'race');
    await putAll(w, orders(1, 30));
    await closeQueue(w);
    const q = openQueue(dir, 'race');
    assert.equal(await readBodies(q, 26), bodies(orders(1, 26)));
    await closeQueue(q);
    const atClose = readMetaText(dir, 'race');
    await new Promise((r) => setTimeout(r, 50));
    const later = readMetaText(dir, 'race');
    assert.equal({ atClose, later, tmp: readdirSync(dir).filter((f) => f.endsWith('.tmp')) }, { atClose: '4\n1,39\n1,195\n', later: '4\n1,39\n1,195\n', tmp: [] }, `iteration ${k}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Empty / Delete

test('empty(): every segment and the metadata file are deleted; the next write goes to writeFileNum + 1', async () => {
  const dir = newDir();
  const q = openQueue(dir, 'e');
  await putAll(q, orders(1, 60));
  assert.is(await q.empty(), null);
  assert.is(q.depth(), 0);
  assert.equal(segmentNumbers(dir, 'e'), []);
  assert.not.ok(existsSync(join(dir, metaName('e'))), 'metadata removed');
  await putAll(q, [M[0]!]);
  assert.equal(await readBodies(q, 1), ['m001']);
  assert.equal(segmentNumbers(dir, 'e'), [3]);
  await closeQueue(q);
  assert.is(readMetaText(dir, 'e'), `0\n3,${REC}\n3,${REC}\n`);
});

test('delete(): every file of the queue is removed', async () => {
  const dir = newDir();
  const q = openQueue(dir, 'gone');
  await putAll(q, orders(1, 40));
  await q.delete();
  queues.splice(queues.indexOf(q), 1);
  assert.equal(readdirSync(dir).filter((f) => f.startsWith('gone.')), []);
});

// ---------------------------------------------------------------------------------------------
// Recovery (spec §4.7)

test('stale metadata: every record in the file is read and counted (go-diskqueue keeps the stale depth), writes go to the next file', async () => {
  const dir = newDir();
  writeSegment(dir, 'q', 0, M.slice(0, 5));
  writeGoMeta(dir, 'q', { depth: 3, readFileNum: 0, readPos: 0, writeFileNum: 0, writePos: 3 * REC });
  const q = openQueue(dir, 'q');
  assert.is(q.depth(), 5, 'the metadata depth plus the 2 records past its write position');
  assert.equal(await readBodies(q, 5), bodies(M.slice(0, 5)));
  assert.is(q.depth(), 0);
  await putAll(q, [M[5]!]);
  assert.equal(await readBodies(q, 1), ['m006']);
  await closeQueue(q);
  assert.equal(segmentNumbers(dir, 'q'), [1]);
  assert.is(readMetaText(dir, 'q'), `0\n1,${REC}\n1,${REC}\n`);
});

test('missing metadata (a crash before the first sync): the segments are read and counted, not overwritten (go-diskqueue starts over at 0,0)', async () => {
  const dir = newDir();
  writeSegment(dir, 'q', 2, M.slice(0, 3));
  writeSegment(dir, 'q', 3, M.slice(3, 5));
  const q = openQueue(dir, 'q');
  assert.is(q.depth(), 5);
  await putAll(q, [M[9]!]);
  assert.equal(await readBodies(q, 6), [...bodies(M.slice(0, 5)), 'm010']);
  await closeQueue(q);
  assert.equal(segmentNumbers(dir, 'q'), [4]);
  assert.is(readMetaText(dir, 'q'), `0\n4,${REC}\n4,${REC}\n`);
  assert.ok(readFileSync(join(dir, segmentName('q', 4))).subarray(0, REC).equals(encodeRecord(M[9]!)));
});

test('segments past the metadata write file (a crash after rolls, before the metadata sync): read, counted, not overwritten', async () => {
  const dir = newDir();
  writeSegment(dir, 'q', 0, M.slice(0, 2));
  writeSegment(dir, 'q', 1, M.slice(2, 4));
  writeSegment(dir, 'q', 2, M.slice(4, 5));
  writeGoMeta(dir, 'q', { depth: 1, readFileNum: 0, readPos: REC, writeFileNum: 0, writePos: 2 * REC });
  const q = openQueue(dir, 'q');
  assert.is(q.depth(), 4);
  await putAll(q, [M[9]!]);
  assert.equal(await readBodies(q, 5), [...bodies(M.slice(1, 5)), 'm010']);
  await closeQueue(q);
  assert.equal(segmentNumbers(dir, 'q'), [3]);
});

test('metadata claiming more than the file holds: the records there are read, then the file is renamed .bad, depth 0, and a new put is read from 000001', async () => {
  const dir = newDir();
  writeSegment(dir, 'q', 0, M.slice(0, 5));
  writeGoMeta(dir, 'q', { depth: 10, readFileNum: 0, readPos: 0, writeFileNum: 0, writePos: 10 * REC });
  const q = openQueue(dir, 'q');
  assert.equal(await readBodies(q, 5), bodies(M.slice(0, 5)));
  assert.is(q.read(), null);
  await waitFor(() => existsSync(join(dir, `${segmentName('q', 0)}.bad`)), 5000, '000000.dat.bad');
  await waitFor(() => q.depth() === 0, 5000, 'depth reset to 0');
  await putAll(q, [M[9]!]);
  assert.equal(await readBodies(q, 1), ['m010']);
  await closeQueue(q);
  assert.equal(segmentNumbers(dir, 'q'), [1]);
  assert.is(readMetaText(dir, 'q'), `0\n1,${REC}\n1,${REC}\n`);
});

test('garbage length in the write file: the records before it are readable, the file goes .bad, writing moves to the next file', async () => {
  const dir = newDir();
  writeSegment(dir, 'q', 0, M.slice(0, 5));
  const p = join(dir, segmentName('q', 0));
  const buf = readFileSync(p);
  buf.writeInt32BE(3, 2 * REC);
  writeFileSync(p, buf);
  writeGoMeta(dir, 'q', { depth: 5, readFileNum: 0, readPos: 0, writeFileNum: 0, writePos: 5 * REC });
  const q = openQueue(dir, 'q');
  assert.equal(await readBodies(q, 2), ['m001', 'm002']);
  await waitFor(() => existsSync(`${p}.bad`), 5000, '000000.dat.bad');
  await waitFor(() => q.depth() === 0, 5000, 'depth reset to 0');
  await putAll(q, [M[9]!]);
  assert.equal(await readBodies(q, 1), ['m010']);
  await closeQueue(q);
  assert.equal(segmentNumbers(dir, 'q'), [1]);
});

test('torn record at the end of a finished segment: .bad, reading continues in the next file', async () => {
  const dir = newDir();
  writeSegment(dir, 'q', 0, M.slice(0, 3), encodeRecord(M[9]!).subarray(0, 10));
  writeSegment(dir, 'q', 1, M.slice(3, 5));
  writeGoMeta(dir, 'q', { depth: 6, readFileNum: 0, readPos: 0, writeFileNum: 1, writePos: 2 * REC });
  const q = openQueue(dir, 'q');
  assert.equal(await readBodies(q, 5), bodies(M.slice(0, 5)));
  await waitFor(() => q.depth() === 0, 5000, 'depth reset to 0');
  await waitFor(() => existsSync(join(dir, `${segmentName('q', 0)}.bad`)), 5000, '000000.dat.bad');
  assert.equal(segmentNumbers(dir, 'q'), [1]);
});

test('a record read size above maxMsgSize (max-msg-size lowered across restarts) is corruption: .bad and skip', async () => {
  const dir = newDir();
  const long: GoMessage = { timestamp: 5n, attempts: 0, id: '00000000000000ff', body: Buffer.alloc(200, 0x4c) };
  writeSegment(dir, 'q', 0, [M[0]!, long, M[1]!]);
  writeSegment(dir, 'q', 1, [M[2]!]);
  writeGoMeta(dir, 'q', { depth: 4, readFileNum: 0, readPos: 0, writeFileNum: 1, writePos: REC });
  const q = openQueue(dir, 'q', { maxMsgSize: 100 });
  assert.equal(await readBodies(q, 2), ['m001', 'm003']);
  await waitFor(() => q.depth() === 0, 5000, 'depth reset to 0');
  await waitFor(() => existsSync(join(dir, `${segmentName('q', 0)}.bad`)), 5000, '000000.dat.bad');
});


/**
 * An IoExecutor that writes synchronously and reports in a microtask, so a write finishes
 * before any read that is out in the thread pool (the order a busy pool can produce).
 */
const syncIo: IoExecutor = {
  execute(b, done) {
    for (let i = 0; i < b.count; i++) {
      if (b.lengths[i]! > 0) writeSync(b.fds[i]!, b.data, b.offsets[i]!, b.lengths[i]!, b.positions[i]!);
      if ((b.flags[i]! & 3) !== 0) fdatasyncSync(b.fds[i]!);
    }
    queueMicrotask(() => done(0, b.count));
  },
};

test('a read that is out while the write file is finished (rolled) still gets the rest of that file', async () => {
  const dir = newDir();
  const errors: string[] = [];
  const logger = new Logger({ prefix: '', level: 4, write: (line) => errors.push(line) });
  const q = openQueue(dir, 'q', { maxBytesPerFile: 10 * REC, io: syncIo, logger });
  const N = makeMessages('n', 12);
  await putAll(q, N.slice(0, 3));
  assert.is(q.read(), null, 'the first read only starts the read-ahead');
  // While that read (up to the 3 records written so far) is out: 7 more fill 000000 and 2 roll
  // to 000001, written and reported before the read comes back.
  for (const m of N.slice(3, 12)) assert.is(q.put(payloadOf(m)), null);
  await q.flushed();
  assert.equal(await readBodies(q, 12), bodies(N));
  assert.equal(errors, [], 'no "depth at tail" complaint');
  assert.is(q.depth(), 0);
});

test.run();
