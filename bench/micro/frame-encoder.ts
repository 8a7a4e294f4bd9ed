/**
 * FrameEncoder.gather: one flush of N message frames, taken from a few source chunks (as the
 * frames of a client's flush sit in a handful of RecordRing chunks) into one output buffer.
 * N runs over 1, 4, 16, 64, as many as fit a 16 KiB and a 64 KiB output buffer (nsqd's default
 * and largest --output-buffer-size), and a finer sweep for the native threshold. The native side
 * calls the addon directly, without the wrapper's small-batch routing to TypeScript, so the
 * numbers show where the addon itself wins. Reported as frames per second.
 */
import { SIZES, frameLength, hashBytes, patterned, type MicroCase, type Subject } from './common.js';

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
