import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  RING_CHUNK_BYTES,
  STAGE_NONE,
  S_CONSUMED,
  S_RESUME_AT,
  S_STAGE,
  S_RESUME_BASE,
  S_SCAN_END,
  S_SCAN_START,
  S_WALKED,
  type Backend,
  type DirLocker,
  type FrameEncoder,
  type FrameScanner,
  type IoExecutor,
  type RecordCodec,
  type ScanLimits,
  type WriteBatch,
} from './backend.js';
import { tsFrameEncoder } from './fallback/frame-encoder.js';
import { TsFrameScanner, readInt32 } from './fallback/frame-scanner.js';
import { tsRecordCodec } from './fallback/record-codec.js';

/** ABI version of the addon this code speaks to (native/binding.cc kAbiVersion). */
export const ADDON_ABI_VERSION = 10;

/** The raw exports of native/binding.cc. */
interface Addon {
  abiVersion: number;
  /** Hash of the sources it was built from (scripts/native-hash.mjs). */
  sourceHash?: string;
  /** A handle binding a scanner to these arrays and limits, for scan() (it holds the arrays while it lives). */
  bindScanner(records: Int32Array, state: Int32Array, maxMsgSize: number, maxBodySize: number): ScanHandle;
  /**
   * Scan buf[start, end) into the arrays `handle` was bound to, start and end being in its state's
   * S_SCAN_START and S_SCAN_END (cleared by the call): the records written, or -1.
   */
  scan(buf: Uint8Array, handle: ScanHandle): number;
  gather(out: Uint8Array, outOffset: number, sources: readonly Uint8Array[], index: Int32Array, offsets: Int32Array, lengths: Int32Array, count: number): number;
  pushRecords(dest: Uint8Array, destPos: number, src: Uint8Array, starts: Int32Array, lens: Int32Array, first: number, count: number): number;
  pushMessages(dest: Uint8Array, destPos: number, headers: Uint8Array, src: Uint8Array, starts: Int32Array, lens: Int32Array, first: number, count: number): number;
  scanRecords(buf: Uint8Array, readPos: number, writePos: number, max: number, outOffsets: Int32Array, outLens: Int32Array): number;
  splitMpub(buf: Uint8Array, start: number, len: number, maxMsgSize: number, starts: Int32Array, lens: Int32Array): number;
  writeHeaders(out: Uint8Array, count: number, nowMs: number, ids: Float64Array): number;
  prefault(buffers: Uint8Array[], cb: () => void): void;
  executeBatch(fds: Int32Array, positions: Float64Array, data: Uint8Array, offsets: Int32Array, lengths: Int32Array, flags: Uint8Array, count: number, cb: (errno: number, done: number) => void): void;
  lockDirectory(path: string): number;
  unlockDirectory(fd: number): void;
}

/** The addon's functions, by name (loadAddon checks each is there). */
export const ADDON_FUNCTIONS = ['bindScanner', 'scan', 'gather', 'pushRecords', 'pushMessages', 'scanRecords', 'splitMpub', 'writeHeaders', 'prefault', 'executeBatch', 'lockDirectory', 'unlockDirectory'] as const;

/** What bindScanner() returns: an opaque handle (a JS External) that only scan() reads. */
export type ScanHandle = { readonly __scanHandle: unique symbol };

/**
 * The addon's scanner as a FrameScanner. The native call reads four arguments, not seven: the
 * records and state arrays (the same ones on every call from a FrameParser) and the limits are
 * bound once to a handle, and bound again only when a call brings other arrays, or one whose
 * length changed (a detached buffer reads as length 0), so the C++ side's bounds stay true.
 */
export class NativeFrameScanner implements FrameScanner {
  private handle: ScanHandle | null = null;
  private records: Int32Array | null = null;
  private state: Int32Array | null = null;
  private recordsLength = 0;
  private stateLength = 0;
  /**
   * A second binding, for a second records array: a FrameParser scans into its records and,
   * after a held command completed, into the view of them from record 1 on.
   */
  private other: NativeFrameScanner | null = null;

  constructor(
    private readonly addon: Pick<Addon, 'bindScanner' | 'scan' | 'splitMpub'>,
    private readonly limits: ScanLimits,
  ) {}

  scan(buf: Uint8Array, start: number, end: number, records: Int32Array, state: Int32Array): number {
    // Another records array than the bound one goes to the second binding.
    const s = this.handle === null || records === this.records ? this : (this.other ??= new NativeFrameScanner(this.addon, this.limits));
    return s.scanBound(buf, start, end, records, state);
  }

  splitMpub(buf: Uint8Array, start: number, len: number, starts: Int32Array, lens: Int32Array): number {
    return this.addon.splitMpub(buf, start, len, this.limits.maxMsgSize, starts, lens);
  }

  /** scan() over this binding alone (binding again when the arrays differ). */
  private scanBound(buf: Uint8Array, start: number, end: number, records: Int32Array, state: Int32Array): number {
    let handle = this.handle;
    if (handle === null || records !== this.records || state !== this.state || records.length !== this.recordsLength || state.length !== this.stateLength) {
      handle = this.bind(records, state);
    }
    // The range goes in the state (the addon reads int32 slots there); one that is not an int32
    // range is refused as the twin refuses it.
    if ((start | 0) !== start || (end | 0) !== end) return -1;
    state[S_SCAN_START] = start;
    state[S_SCAN_END] = end;
    return this.addon.scan(buf, handle);
  }

  private bind(records: Int32Array, state: Int32Array): ScanHandle {
    const handle = this.addon.bindScanner(records, state, this.limits.maxMsgSize, this.limits.maxBodySize);
    this.handle = handle;
    this.records = records;
    this.state = state;
    this.recordsLength = records.length;
    this.stateLength = state.length;
    return handle;
  }
}

/**
 * Below these batch sizes the TypeScript twin is faster than crossing into C++ (measured by
 * bench/micro: the smallest batch at which the raw addon is faster at every message size from
 * 16 B to 4 KiB; at 64 KiB the copies dominate and both sides are within noise), as ws routes
 * small frames away from bufferutil. A call into the addon costs ~60 ns (raw N-API, see
 * native/binding.cc). scanRecords never won (its TypeScript loop only reads lengths), so it
 * always runs in TypeScript. writeHeaders wins from 8 headers (5.7x at 200); splitMpub only
 * from an MPUB of about 48 messages (3.2x at 200, where it checks four messages of one size a
 * step), since below that the call costs more than the TypeScript walk saves.
 */
export const NATIVE_GATHER_MIN_FRAMES = 8;
export const NATIVE_PUSH_MIN_RECORDS = 3;
export const NATIVE_SPLIT_MIN_MESSAGES = 48;
export const NATIVE_HEADERS_MIN_MESSAGES = 8;

/**
 * Scanner work is counted in MPUB messages walked; a command line (found with indexOf and
 * classified) costs the TypeScript scanner about as much as this many of them (bench/micro's
 * scan sweeps: ~35 ns a line, ~3-5 ns an MPUB message).
 */
export const SCAN_LINE_WORK = 12;
/**
 * A scan() call crosses into C++ only when it is expected to do at least this much work: the
 * raw addon wins from 2 PUBs per call and from one MPUB of 4 messages (bench/micro since the
 * range went into the state, ABI 10; it was 8 messages before), and loses below (0.91-0.98x for a
 * single command: the call costs about what a line does). So a line and four messages: 2 PUBs
 * are 24, one MPUB of 4 messages 16, and a resumed walk (no line) goes native from 16
 * messages. With 24 (from one MPUB of 12 messages) the parse rows of MPUBs of 4 KiB messages
 * (16 a read, walked from where the last read stopped) ran on the twin at 0.99-1.02x; with 16
 * they run native at 1.08-1.23x (three runs).
 */
export const NATIVE_SCAN_MIN_WORK = 16;

/** Calls that walk fewer bytes do not change the routing scanner's estimate (see learn()). */
const LEARN_MIN_BYTES = 256;

/**
 * A FrameScanner that sends each call to the addon or to the TypeScript twin, by the work it
 * expects: the bytes to scan times the work per byte of the previous call (its command lines and
 * the MPUB messages it reports in S_WALKED, over the bytes it walked). A stream of large
 * PUBs (a 64 KiB read holds under 12 of them) and the rescan of one held command run in
 * TypeScript; FIN floods, small PUBs and MPUBs of many messages run in C++. Both scanners keep
 * all their state in the caller's state array, so consecutive calls may use either.
 */
export class RoutedFrameScanner implements FrameScanner {
  private readonly ts: TsFrameScanner;
  private readonly native: NativeFrameScanner;
  /**
   * Work per byte in the last call, as work / bytes (a ratio kept unreduced, so that no call
   * divides; it starts at one per byte, high: the first call goes native).
   */
  private work = 1;
  private bytes = 1;

  constructor(addon: Pick<Addon, 'bindScanner' | 'scan' | 'splitMpub'>, limits: ScanLimits) {
    this.ts = new TsFrameScanner(limits);
    this.native = new NativeFrameScanner(addon, limits);
  }

  scan(buf: Uint8Array, start: number, end: number, records: Int32Array, state: Int32Array): number {
    // A held MPUB rescanned with a resume hint is walked only from the hint on (an MPUB resumed
    // from parts, from where its next message begins in buf).
    const base = state[S_RESUME_BASE]!;
    const from = start + (base === 0 ? state[S_RESUME_AT]! : Math.max(0, state[S_RESUME_AT]! - base));
    // Two call sites, each seeing one class, so that V8 inlines both (one site choosing between
    // the scanners was polymorphic, and cost the native path ~10% of a 64 KiB read of 4 KiB PUBs
    // once a stream had sent calls both ways).
    const n = (end - from) * this.work >= NATIVE_SCAN_MIN_WORK * this.bytes ? this.native.scan(buf, start, end, records, state) : this.ts.scan(buf, start, end, records, state);
    if (n >= 0) this.learn(from, end, state, n);
    return n;
  }

  splitMpub(buf: Uint8Array, start: number, len: number, starts: Int32Array, lens: Int32Array): number {
    // Routed by the message count the body declares (the arrays may be longer; a bad range is
    // refused by either side alike).
    const count = len >= 4 && start >= 0 && start + 4 <= buf.length ? readInt32(buf, start) : 0;
    return (count < NATIVE_SPLIT_MIN_MESSAGES ? this.ts : this.native).splitMpub(buf, start, len, starts, lens);
  }

  /**
   * Work per byte of the call that walked from `from` and returned n records: its command lines
   * and the MPUB messages it walked. A call over fewer than LEARN_MIN_BYTES (the rescan of a held
   * line or size field, which often completes nothing) says little of the stream, and is not
   * learnt from: it would leave the density at 0 for the read that follows.
   */
  private learn(from: number, end: number, state: Int32Array, n: number): void {
    const walked = (state[S_STAGE] === STAGE_NONE ? state[S_CONSUMED]! : end) - from;
    if (walked >= LEARN_MIN_BYTES) {
      this.work = n * SCAN_LINE_WORK + state[S_WALKED]!;
      this.bytes = walked;
    }
  }
}

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
  for (const f of ADDON_FUNCTIONS) {
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
 * empty stock, come from Buffer.allocUnsafe as in the TypeScript codec. A stock no chunk was
 * taken from for PREFAULT_IDLE_MS is let go, so an nsqd between bursts does not keep it.
 */
export class PrefaultedChunks {
  private readonly ready: Buffer[] = [];
  private refilling = false;
  /** Chunks taken since the last idle check. */
  private taken = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  constructor(private readonly addon: Pick<Addon, 'prefault'>) {}

  /** Chunks ready now (for tests). */
  get stock(): number {
    return this.ready.length;
  }

  alloc(size: number): Buffer {
    if (size !== RING_CHUNK_BYTES) return Buffer.allocUnsafe(size);
    this.taken++;
    const b = this.ready.pop();
    if (this.ready.length < PREFAULT_LOW) this.refill();
    return b ?? Buffer.allocUnsafeSlow(size);
  }

  /** Drop the stock if no chunk was taken since the last call (the idle timer's tick); true when dropped. */
  releaseIfIdle(): boolean {
    if (this.taken > 0) {
      this.taken = 0;
      return false;
    }
    this.ready.length = 0;
    if (this.idleTimer !== null) {
      clearInterval(this.idleTimer);
      this.idleTimer = null;
    }
    return true;
  }

  private refill(): void {
    if (this.refilling) return;
    this.refilling = true;
    this.armIdleTimer();
    const batch: Buffer[] = [];
    for (let i = 0; i < PREFAULT_BATCH; i++) batch.push(Buffer.allocUnsafeSlow(RING_CHUNK_BYTES));
    this.addon.prefault(batch, () => {
      this.ready.push(...batch);
      this.refilling = false;
      // (A stock let go while this batch was being touched starts its idle time again.)
      this.armIdleTimer();
    });
  }

  private armIdleTimer(): void {
    this.idleTimer ??= setInterval(() => this.releaseIfIdle(), PREFAULT_IDLE_MS).unref();
  }
}

/**
 * Chunks touched per worker call, and the stock below which a refill starts (so at most
 * PREFAULT_LOW + PREFAULT_BATCH - 1 MiB stand ready). With a stock of 4 and batches of 8 the
 * worker fell behind a publish burst into fresh memory and the main thread took page faults
 * again (the ring's pushMessages was 23% of nsqd's samples, copying at about 1 GB/s): 16 and 16
 * published 0.91-1.07 M msgs/s against 0.82-0.93 M in seven interleaved pairs (MPUB 200 x 200 B,
 * 4 connections, 2 cores); 32 and 32 gained nothing more.
 */
export const PREFAULT_BATCH = 16;
export const PREFAULT_LOW = 16;
/** A stock untouched this long is let go. */
export const PREFAULT_IDLE_MS = 5000;

/** The C++ backend over a loaded addon. */
export function nativeBackend(addon: Addon): Backend {
  const chunks = new PrefaultedChunks(addon);
  const frameEncoder: FrameEncoder = {
    gather(out, outOffset, sources, index, offsets, lengths, count) {
      if (count < NATIVE_GATHER_MIN_FRAMES) return tsFrameEncoder.gather(out, outOffset, sources, index, offsets, lengths, count);
      return addon.gather(out, outOffset, sources, index, offsets, lengths, count);
    },
    writeHeaders(out, count, nowMs, ids) {
      if (count < NATIVE_HEADERS_MIN_MESSAGES) return tsFrameEncoder.writeHeaders(out, count, nowMs, ids);
      return addon.writeHeaders(out, count, nowMs, ids);
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
    createFrameScanner: (limits: ScanLimits) => new RoutedFrameScanner(addon, limits),
    frameEncoder,
    records,
    io,
    dirLocker,
  };
}
