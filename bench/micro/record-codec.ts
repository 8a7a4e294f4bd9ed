/**
 * RecordCodec.pushRecords / scanRecords and the RecordRing above them: batches of 1, 4, 16 and
 * 200 records (200 = one bench_writer MPUB), plus a finer pushRecords sweep for the threshold.
 * A record's payload is what a topic stores for a message: the 26-byte header and the body.
 * The codec cases call the addon directly (no small-batch routing); the RecordRing cases use the
 * backend as nsqd does (nativeBackend's codec, which sends small batches to TypeScript).
 * Reported as records per second.
 */
import { RecordRing } from '../../src/native/record-ring.js';
import { tsRecordCodec } from '../../src/native/fallback/record-codec.js';
import { MESSAGE_HEADER, SIZES, fnv, frameLength, hashBytes, patterned, type Impl, type MicroCase, type Subject } from './common.js';

/** Batch sizes for the RecordRing and scanRecords cases. */
export const RECORD_BATCHES = [1, 4, 16, 200];

/** Batch sizes for pushRecords (the required four plus the threshold sweep). */
export function pushCounts(quick: boolean): number[] {
  return quick ? [1, 2, 4, 8, 16, 64, 200] : [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64, 200];
}

/** `n` payloads of 26 + size bytes laid end to end, as a topic lays out an MPUB's messages. */
function payloads(size: number, n: number): { src: Buffer; starts: Int32Array; lens: Int32Array } {
  const len = MESSAGE_HEADER + size;
  const src = patterned(n * len, 20 + n);
  const starts = new Int32Array(n);
  const lens = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    starts[i] = i * len;
    lens[i] = len;
  }
  return { src, starts, lens };
}

function pushSubject(size: number, n: number, impl: Impl): Subject {
  const { src, starts, lens } = payloads(size, n);
  const dest = Buffer.alloc(n * frameLength(size));
  const push = impl.addon !== null ? impl.addon.pushRecords : impl.backend.records.pushRecords;
  return {
    op: () => {
      if (push(dest, 0, src, starts, lens, 0, n) !== n) throw new Error('pushRecords stored fewer records than asked');
    },
    units: () => ({ records: n }),
    check: () => {
      dest.fill(0);
      const k = push(dest, 0, src, starts, lens, 0, n);
      return `${k} records, dest ${hashBytes(dest)}`;
    },
  };
}

function scanSubject(size: number, n: number, impl: Impl): Subject {
  const { src, starts, lens } = payloads(size, n);
  const buf = Buffer.alloc(n * frameLength(size));
  if (tsRecordCodec.pushRecords(buf, 0, src, starts, lens, 0, n) !== n) throw new Error('could not lay out the records');
  const outOffsets = new Int32Array(n);
  const outLens = new Int32Array(n);
  const scan = impl.addon !== null ? impl.addon.scanRecords : impl.backend.records.scanRecords;
  const end = buf.length;
  return {
    op: () => {
      if (scan(buf, 0, end, n, outOffsets, outLens) !== n) throw new Error('scanRecords listed fewer records than stored');
    },
    units: () => ({ records: n }),
    check: () => {
      const k = scan(buf, 0, end, n, outOffsets, outLens);
      let sum = 0;
      for (let i = 0; i < k; i++) sum += outOffsets[i]! * 3 + outLens[i]!;
      return `${k} records, ${sum}`;
    },
  };
}

function ringSubject(size: number, n: number, impl: Impl): Subject {
  const { src, starts, lens } = payloads(size, n);
  const ring = new RecordRing(1 << 30, impl.backend.records);
  // topic.ts shifts into 256-slot arrays.
  const offs = new Int32Array(256);
  const outLens = new Int32Array(256);
  const cycle = (visit: ((buf: Buffer, off: number, len: number) => void) | null): void => {
    if (ring.pushBatch(src, starts, lens, 0, n) !== n) throw new Error('pushBatch stored fewer records than asked');
    let got = 0;
    while (got < n) {
      const c = ring.shiftBatch(256, offs, outLens);
      if (c === null) throw new Error('ring ran dry');
      const k = ring.batchCount;
      if (visit !== null) for (let i = 0; i < k; i++) visit(c.buf, offs[i]!, outLens[i]!);
      got += k;
      ring.release(c);
    }
  };
  return {
    op: () => cycle(null),
    units: () => ({ records: n }),
    check: () => {
      let h = 0x811c9dc5;
      let count = 0;
      cycle((buf, off, len) => {
        h = fnv(h, buf, off, off + 8 + len);
        count++;
      });
      return `${count} records, hash ${(h >>> 0).toString(16)}`;
    },
  };
}

/** The RecordCodec and RecordRing cases. */
export function recordCases(quick: boolean): MicroCase[] {
  const cases: MicroCase[] = [];
  const metrics = [{ key: 'records', unit: 'records/s' }];
  for (const size of SIZES) {
    for (const n of pushCounts(quick)) {
      cases.push({
        id: `pushRecords/${size}/${n}`,
        group: 'RecordCodec.pushRecords',
        name: `N=${n}`,
        size,
        metrics,
        sweep: { kind: 'pushRecords', n },
        make: (impl) => pushSubject(size, n, impl),
      });
    }
  }
  for (const size of SIZES) {
    for (const n of RECORD_BATCHES) {
      cases.push({
        id: `scanRecords/${size}/${n}`,
        group: 'RecordCodec.scanRecords',
        name: `N=${n}`,
        size,
        metrics,
        sweep: { kind: 'scanRecords', n },
        make: (impl) => scanSubject(size, n, impl),
      });
    }
  }
  for (const size of SIZES) {
    for (const n of RECORD_BATCHES) {
      cases.push({
        id: `ring/${size}/${n}`,
        group: 'RecordRing push+shift',
        name: `N=${n}`,
        size,
        metrics,
        make: (impl) => ringSubject(size, n, impl),
      });
    }
  }
  return cases;
}
