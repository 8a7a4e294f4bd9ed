// Conformance suite for the SegmentWriter over one IoExecutor (native worker or TypeScript):
// record placement and rolling, callbacks in order, group commit, resume, and recovery after
// an I/O error. Files are real, in a temporary directory.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IoExecutor, WriteBatch } from '../../src/native/backend.js';
import { SegmentWriter } from '../../src/diskqueue/segment-writer.js';

function record(body: string): Buffer {
  const b = Buffer.from(body);
  const out = Buffer.alloc(4 + b.length);
  out.writeUInt32BE(b.length, 0);
  b.copy(out, 4);
  return out;
}

function appendP(w: SegmentWriter, buf: Buffer, durable = false): Promise<Error | null> {
  return new Promise((res) => w.append(buf, 0, buf.length, durable, res));
}

/** Counts batches and can fail the next one with an errno. */
class CountingIo implements IoExecutor {
  batches = 0;
  ops = 0;
  /** fdatasync calls the batches asked for (one per file per batch). */
  syncs = 0;
  failNext = 0;
  /** Fail the next batch as a failed fdatasync does: every write done, then the errno. */
  failSyncNext = 0;
  constructor(private readonly inner: IoExecutor) {}
  execute(b: WriteBatch, done: (errno: number, completed: number) => void): void {
    this.batches++;
    this.ops += b.count;
    const synced = new Set<number>();
    for (let i = 0; i < b.count; i++) if (b.flags[i]! & 1) synced.add(b.fds[i]!);
    this.syncs += synced.size;
    if (this.failNext !== 0) {
      const e = this.failNext;
      this.failNext = 0;
      queueMicrotask(() => done(e, 0));
      return;
    }
    if (this.failSyncNext !== 0) {
      const e = this.failSyncNext;
      this.failSyncNext = 0;
      this.inner.execute(b, () => done(e, b.count));
      return;
    }
    this.inner.execute(b, done);
  }
}

/** The suite for one IoExecutor. */
export function segmentWriterSuite(name: string, io: IoExecutor): void {
  const t = suite(`SegmentWriter (${name})`);
  let dir = '';
  t.before.each(() => {
    dir = mkdtempSync(join(tmpdir(), 'segw-'));
  });
  t.after.each(() => rmSync(dir, { recursive: true, force: true }));
  const fileName = (n: number): string => join(dir, `q.diskqueue.${String(n).padStart(6, '0')}.dat`);

  t('records land back to back; a record that would cross maxBytesPerFile starts the next file', async () => {
    const rolls: [number, number][] = [];
    const w = new SegmentWriter({ fileName, maxBytesPerFile: 100, fileNum: 0, writePos: 0, io });
    w.onRoll = (n, size) => rolls.push([n, size]);
    const recs = Array.from({ length: 10 }, (_, i) => record(`message-${String(i).padStart(2, '0')}-${'x'.repeat(20)}`));
    // 4 + 31 = 35 bytes each: two fit in 100, the third rolls.
    const errs = await Promise.all(recs.map((r) => appendP(w, r)));
    assert.ok(errs.every((e) => e === null));
    await w.close();
    const files = [0, 1, 2, 3, 4].map((n) => readFileSync(fileName(n)));
    for (let i = 0; i < 10; i++) {
      const f = files[Math.floor(i / 2)]!;
      assert.ok(f.subarray((i % 2) * 35, (i % 2) * 35 + 35).equals(recs[i]!), `record ${i}`);
    }
    assert.equal(files.map((f) => f.length), [70, 70, 70, 70, 70]);
    assert.equal(rolls, [[0, 70], [1, 70], [2, 70], [3, 70]]);
    assert.is(w.fileNum, 4);
    assert.is(w.writePos, 70);
  });

  t('a record larger than maxBytesPerFile goes alone into a fresh file; a batch append splits at rolls', async () => {
    const w = new SegmentWriter({ fileName, maxBytesPerFile: 50, fileNum: 7, writePos: 0, io });
    const big = record('B'.repeat(120));
    const small = record('s'.repeat(16));
    assert.is(await appendP(w, Buffer.concat([small, big, small, small, small])), null);
    await w.close();
    assert.equal(readFileSync(fileName(7)), small);
    assert.equal(readFileSync(fileName(8)), big);
    assert.equal(readFileSync(fileName(9)), Buffer.concat([small, small]));
    assert.equal(readFileSync(fileName(10)), small);
  });

  t('group commit: 500 concurrent durable appends take far fewer batches and syncs', async () => {
    const counting = new CountingIo(io);
    const w = new SegmentWriter({ fileName, maxBytesPerFile: 1 << 30, fileNum: 0, writePos: 0, io: counting });
    const order: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < 500; i++) {
      all.push(appendP(w, record(`m${i}`), true).then((e) => {
        assert.is(e, null);
        order.push(i);
      }));
    }
    await Promise.all(all);
    assert.equal(order, Array.from({ length: 500 }, (_, i) => i), 'callbacks in append order');
    assert.ok(counting.batches <= 3, `batches ${counting.batches}`);
    assert.ok(counting.syncs <= 3, `syncs ${counting.syncs}`);
    await w.close();
    assert.is(statSync(fileName(0)).size, 500 * 4 + [...Array(500).keys()].reduce((a, i) => a + `m${i}`.length, 0));
  });

  t('resuming at an offset keeps what the file already holds', async () => {
    writeFileSync(fileName(3), Buffer.from('0123456789'));
    const w = new SegmentWriter({ fileName, maxBytesPerFile: 1000, fileNum: 3, writePos: 10, io });
    assert.is(await appendP(w, record('tail')), null);
    await w.close();
    assert.equal(readFileSync(fileName(3)), Buffer.concat([Buffer.from('0123456789'), record('tail')]));
  });

  t('an I/O error fails the appends behind it and rewinds; the next append succeeds in place', async () => {
    const counting = new CountingIo(io);
    const w = new SegmentWriter({ fileName, maxBytesPerFile: 1000, fileNum: 0, writePos: 0, io: counting });
    assert.is(await appendP(w, record('first')), null);
    counting.failNext = 28; // ENOSPC
    const err = await appendP(w, record('lost'));
    assert.instance(err, Error);
    assert.is((err as Error & { code: string }).code, 'ENOSPC');
    assert.is(w.writePos, 9);
    assert.is(await appendP(w, record('again')), null);
    await w.close();
    assert.equal(readFileSync(fileName(0)), Buffer.concat([record('first'), record('again')]));
  });

  t('appends of one turn are one write; a failed sync keeps the non-durable appends before the first durable one and cuts off the rest', async () => {
    const counting = new CountingIo(io);
    const w = new SegmentWriter({ fileName, maxBytesPerFile: 1000, fileNum: 0, writePos: 0, io: counting });
    assert.is(await appendP(w, record('first'), true), null);
    const opsBefore = counting.ops;
    counting.failSyncNext = 5; // EIO
    const [a, b, c] = await Promise.all([appendP(w, record('kept')), appendP(w, record('durable'), true), appendP(w, record('after'))]);
    assert.is(counting.ops - opsBefore, 1, 'three contiguous appends, one write op');
    assert.is(a, null);
    assert.is((b as Error & { code: string }).code, 'EIO');
    assert.is((c as Error & { code: string }).code, 'EIO');
    assert.is(w.writePos, 9 + 8);
    assert.is(await appendP(w, record('next'), true), null);
    await w.close();
    assert.equal(readFileSync(fileName(0)), Buffer.concat([record('first'), record('kept'), record('next')]));
  });

  t('sync() resolves once everything before it is durable; close() is idempotent', async () => {
    const w = new SegmentWriter({ fileName, maxBytesPerFile: 1000, fileNum: 0, writePos: 0, io });
    w.append(record('a'), 0, 5, false, () => undefined);
    await new Promise<void>((res) => w.sync((e) => {
      assert.is(e, null);
      res();
    }));
    assert.is(statSync(fileName(0)).size, 5);
    await w.close();
    await w.close();
    assert.instance(await appendP(w, record('late')), Error);
  });

  t.run();
}
