/**
 * The IoExecutor through SegmentWriter: k appenders each append one 200-byte message (a 204-byte
 * go-diskqueue record) in the same turn of the event loop, which group commit turns into one
 * write batch, and the op waits for every callback. Durable appends end the batch with one
 * fdatasync. Segments go to a fresh folder under os.tmpdir(), removed afterwards. Reported as
 * appends per second and as batches per second, which for durable appends are the fdatasync
 * calls per second (counted at the IoExecutor, not assumed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IoExecutor } from '../../src/native/backend.js';
import { RECORD_LENGTH_BYTES, SegmentWriter } from '../../src/diskqueue/segment-writer.js';
import { patterned, type Impl, type MicroCase, type Subject } from './common.js';

/** Message size of the segment-writer cases. */
export const SEGMENT_MESSAGE_BYTES = 200;
/** Appenders joining one batch. */
export const APPENDERS = [1, 16, 64];
/** nsqd's --max-bytes-per-file default. */
const MAX_BYTES_PER_FILE = 100 * 1024 * 1024;

function writerSubject(appenders: number, durable: boolean, impl: Impl): Subject {
  const dir = mkdtempSync(join(tmpdir(), 'nsq-ts-micro-'));
  let calls = 0;
  let batches = 0;
  let syncs = 0;
  const inner = impl.backend.io;
  const io: IoExecutor = {
    execute(b, done) {
      batches++;
      const synced = new Set<number>();
      for (let i = 0; i < b.count; i++) if ((b.flags[i]! & 3) !== 0) synced.add(b.fds[i]!);
      syncs += synced.size;
      inner.execute(b, done);
    },
  };
  const writer = new SegmentWriter({
    fileName: (n) => join(dir, `bench.diskqueue.${String(n).padStart(6, '0')}.dat`),
    maxBytesPerFile: MAX_BYTES_PER_FILE,
    fileNum: 0,
    writePos: 0,
    io,
  });
  const record = Buffer.allocUnsafe(RECORD_LENGTH_BYTES + SEGMENT_MESSAGE_BYTES);
  record.writeInt32BE(SEGMENT_MESSAGE_BYTES, 0);
  patterned(SEGMENT_MESSAGE_BYTES, 7).copy(record, RECORD_LENGTH_BYTES);
  const op = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      calls++;
      let left = appenders;
      const done = (err: Error | null): void => {
        if (err !== null) reject(err);
        else if (--left === 0) resolve();
      };
      for (let i = 0; i < appenders; i++) writer.append(record, 0, record.length, durable, done);
    });
  return {
    op,
    async: true,
    units: () => ({ appends: appenders, batches: batches / calls, fsyncs: syncs / calls }),
    check: async () => {
      const before = { batches, calls };
      await op();
      return `${appenders} appends in ${batches - before.batches} batch(es), ${calls - before.calls} op`;
    },
    dispose: async () => {
      await writer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The SegmentWriter cases. */
export function segmentWriterCases(): MicroCase[] {
  const cases: MicroCase[] = [];
  for (const durable of [false, true]) {
    for (const k of APPENDERS) {
      cases.push({
        id: `segment/${durable ? 'fdatasync' : 'nosync'}/${k}`,
        group: durable ? 'SegmentWriter durable' : 'SegmentWriter no sync',
        name: `${k} appender${k === 1 ? '' : 's'}/batch`,
        size: SEGMENT_MESSAGE_BYTES,
        metrics: [
          { key: 'appends', unit: 'appends/s' },
          durable ? { key: 'fsyncs', unit: 'fsyncs/s' } : { key: 'batches', unit: 'batches/s' },
        ],
        make: (impl) => writerSubject(k, durable, impl),
      });
    }
  }
  return cases;
}
