import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { RING_CHUNK_BYTES, type Backend, type DirLocker, type FrameEncoder, type IoExecutor, type RecordCodec, type ScanLimits, type WriteBatch } from './backend.js';
import { tsFrameEncoder } from './fallback/frame-encoder.js';
import { tsRecordCodec } from './fallback/record-codec.js';

/** ABI version of the addon this code speaks to (native/binding.cc kAbiVersion). */
export const ADDON_ABI_VERSION = 3;

/** The raw exports of native/binding.cc. */
interface Addon {
  abiVersion: number;
  /** Hash of the sources it was built from (scripts/native-hash.mjs). */
  sourceHash?: string;
  scan(buf: Uint8Array, start: number, end: number, records: Int32Array, state: Int32Array, maxMsgSize: number, maxBodySize: number): number;
  gather(out: Uint8Array, outOffset: number, sources: readonly Uint8Array[], index: Int32Array, offsets: Int32Array, lengths: Int32Array, count: number): number;
  pushRecords(dest: Uint8Array, destPos: number, src: Uint8Array, starts: Int32Array, lens: Int32Array, first: number, count: number): number;
  pushMessages(dest: Uint8Array, destPos: number, headers: Uint8Array, src: Uint8Array, starts: Int32Array, lens: Int32Array, first: number, count: number): number;
  scanRecords(buf: Uint8Array, readPos: number, writePos: number, max: number, outOffsets: Int32Array, outLens: Int32Array): number;
  prefault(buffers: Uint8Array[], cb: () => void): void;
  executeBatch(fds: Int32Array, positions: Float64Array, data: Uint8Array, offsets: Int32Array, lengths: Int32Array, flags: Uint8Array, count: number, cb: (errno: number, done: number) => void): void;
  lockDirectory(path: string): number;
  unlockDirectory(fd: number): void;
}

const FUNCTIONS = ['scan', 'gather', 'pushRecords', 'pushMessages', 'scanRecords', 'prefault', 'executeBatch', 'lockDirectory', 'unlockDirectory'] as const;

/**
 * Below these batch sizes the TypeScript twin is faster than crossing into C++ (measured by
 * bench/micro, worst case over 16 B..64 KiB messages; see README), as ws routes small frames
 * away from bufferutil. scanRecords never won (its TypeScript loop only reads lengths), so it
 * always runs in TypeScript.
 */
export const NATIVE_GATHER_MIN_FRAMES = 16;
export const NATIVE_PUSH_MIN_RECORDS = 8;

/** Where the addon was loaded from (build/ or prebuilds/). */
export let addonPath = '';

/** Load the addon with node-gyp-build from the package root and check its shape; throws why not. */
export function loadAddon(): Addon {
  const require = createRequire(import.meta.url);
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const load = require('node-gyp-build') as ((dir: string) => unknown) & { resolve(dir: string): string };
  const addon = load(root) as Partial<Addon> | null;
  addonPath = load.resolve(root);
  if (addon === null || typeof addon !== 'object') throw new Error('node-gyp-build returned no module');
  for (const f of FUNCTIONS) {
    if (typeof addon[f] !== 'function') throw new Error(`addon lacks ${f}()`);
  }
  if (addon.abiVersion !== ADDON_ABI_VERSION) {
    throw new Error(`addon ABI ${String(addon.abiVersion)}, expected ${ADDON_ABI_VERSION} (rebuild with npm run build:native)`);
  }
  return addon as Addon;
}

/**
 * Full-size ring chunks prepared ahead: allocated here, their pages touched by the addon on a
 * worker thread (one call per PREFAULT_BATCH chunks), handed out once ready; other sizes, or an
 * empty stock, come from Buffer.allocUnsafe as in the TypeScript codec.
 */
export class PrefaultedChunks {
  private readonly ready: Buffer[] = [];
  private refilling = false;
  constructor(private readonly addon: Addon) {}

  alloc(size: number): Buffer {
    if (size !== RING_CHUNK_BYTES) return Buffer.allocUnsafe(size);
    const b = this.ready.pop();
    if (this.ready.length < PREFAULT_LOW) this.refill();
    return b ?? Buffer.allocUnsafeSlow(size);
  }

  private refill(): void {
    if (this.refilling) return;
    this.refilling = true;
    const batch: Buffer[] = [];
    for (let i = 0; i < PREFAULT_BATCH; i++) batch.push(Buffer.allocUnsafeSlow(RING_CHUNK_BYTES));
    this.addon.prefault(batch, () => {
      this.ready.push(...batch);
      this.refilling = false;
    });
  }
}

/** Chunks touched per worker call, and the stock below which a refill starts. */
const PREFAULT_BATCH = 8;
const PREFAULT_LOW = 4;

/** The C++ backend over a loaded addon. */
export function nativeBackend(addon: Addon): Backend {
  const chunks = new PrefaultedChunks(addon);
  const frameEncoder: FrameEncoder = {
    gather(out, outOffset, sources, index, offsets, lengths, count) {
      if (count < NATIVE_GATHER_MIN_FRAMES) return tsFrameEncoder.gather(out, outOffset, sources, index, offsets, lengths, count);
      return addon.gather(out, outOffset, sources, index, offsets, lengths, count);
    },
  };
  const records: RecordCodec = {
    pushRecords(dest, destPos, src, starts, lens, first, count) {
      if (count < NATIVE_PUSH_MIN_RECORDS) return tsRecordCodec.pushRecords(dest, destPos, src, starts, lens, first, count);
      return addon.pushRecords(dest, destPos, src, starts, lens, first, count);
    },
    pushMessages(dest, destPos, headers, src, starts, lens, first, count) {
      if (count < NATIVE_PUSH_MIN_RECORDS) return tsRecordCodec.pushMessages(dest, destPos, headers, src, starts, lens, first, count);
      return addon.pushMessages(dest, destPos, headers, src, starts, lens, first, count);
    },
    scanRecords: tsRecordCodec.scanRecords,
    allocChunk: (size) => chunks.alloc(size),
  };
  const io: IoExecutor = {
    execute(b: WriteBatch, done) {
      addon.executeBatch(b.fds, b.positions, b.data, b.offsets, b.lengths, b.flags, b.count, done);
    },
  };
  const dirLocker: DirLocker = {
    lock: (path) => addon.lockDirectory(path),
    unlock: (fd) => addon.unlockDirectory(fd),
  };
  return {
    native: true,
    createFrameScanner(limits: ScanLimits) {
      const max = limits.maxMsgSize;
      const body = limits.maxBodySize;
      return { scan: (buf, start, end, rec, state) => addon.scan(buf, start, end, rec, state, max, body) };
    },
    frameEncoder,
    records,
    io,
    dirLocker,
  };
}
