/**
 * FrameEncoder.gather: one flush of N message frames, taken from a few source chunks (as the
 * frames of a client's flush sit in a handful of RecordRing chunks) into one output buffer.
 * N runs over 1, 4, 16, 64, as many as fit a 16 KiB and a 64 KiB output buffer (nsqd's default
 * and largest --output-buffer-size), and a finer sweep for the native threshold. The native side
 * calls the addon directly, without the wrapper's small-batch routing to TypeScript, so the
 * numbers show where the addon itself wins. Reported as frames per second.
 */
import { idState } from '../../src/native/backend.js';
import { LIMITS, SIZES, frameLength, hashBytes, patterned, type MicroCase, type Subject } from './common.js';

/** Source chunks the frames of one flush come from. */
const SOURCES = 4;

/** Batch sizes measured at every message size (the sweep includes the required 1, 4, 16, 64). */
export function gatherCounts(size: number, quick: boolean): { n: number; note: string }[] {
  const base = quick ? [1, 2, 4, 8, 16, 64] : [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64];
  const out = new Map<number, string>(base.map((n) => [n, '']));
  for (const [bytes, label] of [[16 * 1024, '16 KiB'], [64 * 1024, '64 KiB']] as const) {
    const fit = Math.floor(bytes / frameLength(size));
    if (fit > 0) out.set(fit, out.has(fit) ? `${out.get(fit)} fills ${label}`.trim() : `fills ${label}`);
  }
  return [...out].sort((a, b) => a[0] - b[0]).map(([n, note]) => ({ n, note }));
}

function gatherSubject(size: number, n: number, impl: Parameters<MicroCase['make']>[0]): Subject {
  const frame = frameLength(size);
  const perSource = Math.ceil(n / SOURCES);
  const sources = Array.from({ length: SOURCES }, (_, s) => patterned(Math.max(1, perSource) * frame, 10 + s));
  const index = new Int32Array(n);
  const offsets = new Int32Array(n);
  const lengths = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    index[i] = i % SOURCES;
    offsets[i] = Math.floor(i / SOURCES) * frame;
    lengths[i] = frame;
  }
  const out = Buffer.alloc(n * frame);
  const expected = n * frame;
  // Both gathers ignore `this`, so the bare function is called, as the addon's is.
  const gather = impl.addon !== null ? impl.addon.gather : impl.backend.frameEncoder.gather;
  return {
    op: () => {
      if (gather(out, 0, sources, index, offsets, lengths, n) !== expected) throw new Error('gather returned an unexpected offset');
    },
    units: () => ({ frames: n }),
    check: () => {
      out.fill(0);
      const end = gather(out, 0, sources, index, offsets, lengths, n);
      return `end ${end}, out ${hashBytes(out)}`;
    },
  };
}

/** The FrameEncoder.gather cases. */
export function frameEncoderCases(quick: boolean): MicroCase[] {
  const cases: MicroCase[] = [];
  for (const size of SIZES) {
    for (const { n, note } of gatherCounts(size, quick)) {
      cases.push({
        id: `gather/${size}/${n}`,
        group: 'FrameEncoder.gather',
        name: `N=${n}${note === '' ? '' : ` (${note})`}`,
        size,
        metrics: [{ key: 'frames', unit: 'frames/s' }],
        sweep: { kind: 'gather', n },
        make: (impl) => gatherSubject(size, n, impl),
      });
    }
  }
  return cases;
}

/** Batch sizes of the writeHeaders and splitMpub sweeps. */
function publishCounts(quick: boolean): number[] {
  return quick ? [1, 4, 16, 64, 200] : [1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64, 128, 200];
}

/**
 * FrameEncoder.writeHeaders: the 26-byte headers (timestamp, attempts, id) of a published batch
 * of N messages, one call per batch as Topic.putMessages makes it. Raw addon vs TS, messages/s.
 */
function headersSubject(n: number, impl: Parameters<MicroCase['make']>[0]): Subject {
  const out = Buffer.alloc(26 * n);
  const ids = idState(1);
  const nowMs = 1_700_000_000_000.5;
  const write = impl.addon !== null ? impl.addon.writeHeaders : impl.backend.frameEncoder.writeHeaders;
  return {
    op: () => {
      if (write(out, n, nowMs, ids) !== n) throw new Error('writeHeaders refused the batch');
    },
    units: () => ({ msgs: n }),
    check: () => {
      const fresh = idState(1);
      return `ret ${write(out, n, nowMs, fresh)}, out ${hashBytes(out)}, ids ${[...fresh].join(',')}`;
    },
  };
}

/**
 * FrameScanner.splitMpub: the message offsets of one MPUB body of N messages of `size` bytes, one
 * call per MPUB as nsqd's MPUB makes it. Raw addon vs TS, messages/s.
 */
function splitSubject(size: number, n: number, impl: Parameters<MicroCase['make']>[0]): Subject {
  const body = Buffer.alloc(4 + n * (4 + size), 7);
  body.writeInt32BE(n, 0);
  for (let i = 0, p = 4; i < n; i++, p += 4 + size) body.writeInt32BE(size, p);
  const starts = new Int32Array(n);
  const lens = new Int32Array(n);
  const scanner = impl.backend.createFrameScanner(LIMITS);
  const addon = impl.addon;
  const split = addon !== null
    ? (): number => addon.splitMpub(body, 0, body.length, LIMITS.maxMsgSize, starts, lens)
    : (): number => scanner.splitMpub(body, 0, body.length, starts, lens);
  return {
    op: () => {
      if (split() !== n) throw new Error('splitMpub refused the body');
    },
    units: () => ({ msgs: n }),
    check: () => `ret ${split()}, starts ${hashBytes(new Uint8Array(starts.buffer))}, lens ${hashBytes(new Uint8Array(lens.buffer))}`,
  };
}

/** The writeHeaders and splitMpub sweeps. */
export function publishCases(quick: boolean): MicroCase[] {
  const cases: MicroCase[] = [];
  for (const n of publishCounts(quick)) {
    cases.push({
      id: `headers/${n}`,
      group: 'FrameEncoder.writeHeaders',
      name: `N=${n}`,
      size: null,
      metrics: [{ key: 'msgs', unit: 'msgs/s' }],
      sweep: { kind: 'headers', n },
      make: (impl) => headersSubject(n, impl),
    });
  }
  for (const size of SIZES) {
    for (const n of publishCounts(quick)) {
      if (4 + n * (4 + size) > LIMITS.maxBodySize) continue;
      cases.push({
        id: `splitMpub/${size}/${n}`,
        group: 'FrameScanner.splitMpub',
        name: `N=${n}`,
        size,
        metrics: [{ key: 'msgs', unit: 'msgs/s' }],
        sweep: { kind: 'splitMpub', n },
        make: (impl) => splitSubject(size, n, impl),
      });
    }
  }
  return cases;
}
