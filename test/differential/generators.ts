// Random and mutated inputs for the differential tests and the fuzzer (test/fuzz/run.ts), and
// the comparisons that run one input through the C++ addon (raw, at every size) and through the
// TypeScript twin and describe the first difference. Every case is built from its own seed, so
// a failure is reproduced from (kind, seed) alone.
import {
  RECORD_STRIDE,
  R_BODY_LEN,
  R_BODY_START,
  R_CODE,
  R_LINE_END,
  R_LINE_START,
  R_SIZE,
  R_SRC,
  R_STATUS,
  STATE_SLOTS,
  ID_STATE_SLOTS,
  STAGE_MPUB_MSG_BODY,
  STAGE_STOPPED,
  STAGE_NONE,
  STAGE_MPUB_MSG_SIZE,
  S_CONSUMED,
  S_INDEX,
  S_LINE_LEN,
  S_MPUB_AT,
  S_MPUB_CHECK,
  S_RESUME_AT,
  S_RESUME_CHECK,
  S_RESUME_INDEX,
  S_RESUME_BASE,
  S_RESUME_LINE_LEN,
  S_RESUME_SIZE,
  S_RESUME_COUNT,
  S_RESUME_PREFIX,
  S_STAGE,
  S_WALKED,
  type FrameScanner,
  type ScanLimits,
} from '../../src/native/backend.js';
import { NativeFrameScanner, RoutedFrameScanner } from '../../src/native/addon.js';
import { tsFrameEncoder } from '../../src/native/fallback/frame-encoder.js';
import { TsFrameScanner, readInt32 } from '../../src/native/fallback/frame-scanner.js';
import { tsRecordCodec } from '../../src/native/fallback/record-codec.js';
import { FrameParser, type PartsPolicy } from '../../src/protocol/frame-parser.js';
import { rng } from '../conformance/frame-parser.suite.js';
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { rawAddon, type RawAddon } from './asan-addon.js';

// ---------------------------------------------------------------------------------------------
// Random source

/** A seeded PRNG (the conformance suites' rng()) with the helpers the generators need. */
export class Rand {
  readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = rng(seed);
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** A length biased to small values, sometimes up to max. */
  len(max: number): number {
    const r = this.next();
    if (r < 0.5) return this.int(Math.min(max, 16) + 1);
    if (r < 0.85) return this.int(Math.min(max, 256) + 1);
    return this.int(max + 1);
  }
  /** Random bytes in b[from, to): an xorshift32 stream seeded from this PRNG (fast for big buffers). */
  fill(b: Uint8Array, from = 0, to = b.length): void {
    let x = ((this.next() * 4294967296) >>> 0) | 1;
    let i = from;
    for (; i + 4 <= to; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x;
      b[i + 1] = x >>> 8;
      b[i + 2] = x >>> 16;
      b[i + 3] = x >>> 24;
    }
    for (; i < to; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[i] = x;
    }
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    this.fill(b);
    return b;
  }
  /** An int32 that tends to sit on a boundary: 0, ±1, limits, INT32_MIN/MAX, random. */
  edgeInt(limit: number): number {
    switch (this.int(12)) {
      case 0: return 0;
      case 1: return -1;
      case 2: return 1;
      case 3: return limit;
      case 4: return limit + 1;
      case 5: return limit - 1;
      case 6: return 0x7fffffff;
      case 7: return -0x80000000;
      case 8: return this.range(-0x80000000, 0x7fffffff);
      case 9: return -this.range(1, 1000);
      case 10: return this.range(0, 2 * limit + 8);
      default: return this.range(0, 300);
    }
  }
}

/** The seed of case `index` of kind `kind` in a run seeded `seed` (splitmix-style mixing). */
export function caseSeed(seed: number, kind: number, index: number): number {
  let h = (seed ^ Math.imul(kind + 1, 0x85ebca6b) ^ Math.imul(index, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Reporting

/** An xxd-style hex dump of b, cut after `max` bytes. */
export function hexDump(b: Uint8Array, max = 4096): string {
  const lines: string[] = [];
  const n = Math.min(b.length, max);
  for (let off = 0; off < n; off += 16) {
    const row = b.subarray(off, Math.min(off + 16, n));
    let hex = '';
    let txt = '';
    for (let i = 0; i < 16; i++) {
      if (i < row.length) {
        hex += row[i]!.toString(16).padStart(2, '0') + (i % 2 === 1 ? ' ' : '');
        txt += row[i]! >= 0x20 && row[i]! < 0x7f ? String.fromCharCode(row[i]!) : '.';
      } else {
        hex += i % 2 === 1 ? '   ' : '  ';
      }
    }
    lines.push(`${off.toString(16).padStart(8, '0')}: ${hex} ${txt}`);
  }
  if (b.length > max) lines.push(`... ${b.length - max} more bytes`);
  return lines.join('\n');
}

function i32s(a: Int32Array | readonly number[], max = 64): string {
  const items = Array.from(a.length > max ? Array.prototype.slice.call(a, 0, max) as number[] : a);
  return `[${items.join(', ')}${a.length > max ? `, … ${a.length - max} more` : ''}]`;
}

function firstDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

/** The first slot where native `a` and typescript `b` differ, worded as `name[i]: native x, typescript y`, or null. */
function slotDiff(name: string, a: ArrayLike<number>, b: ArrayLike<number>): string | null {
  const d = firstDiff(a, b);
  return d < 0 ? null : `${name}[${d}]: native ${a[d]}, typescript ${b[d]}`;
}

const SLOT_NAMES = ['R_CODE', 'R_STATUS', 'R_SRC', 'R_LINE_START', 'R_LINE_END', 'R_BODY_START', 'R_BODY_LEN', 'R_SIZE'];
const STATE_NAMES = [
  'S_CONSUMED', 'S_STAGE', 'S_NEED', 'S_CODE', 'S_LINE_LEN', 'S_INDEX', 'S_MPUB_AT', 'S_MPUB_CHECK', 'S_RESUME_AT', 'S_RESUME_INDEX', 'S_RESUME_CHECK', 'S_WALKED',
  'S_RESUME_BASE', 'S_RESUME_LINE_LEN', 'S_RESUME_SIZE', 'S_RESUME_COUNT', 'S_RESUME_PREFIX',
];

/** One differential case: what was fed (for the report) and a check returning the difference or null. */
export interface DiffCase {
  /** Generator family. */
  kind: string;
  /** Seed the case was built from. */
  seed: number;
  /** The main input bytes (hex-dumped on failure). */
  input: Uint8Array;
  /** The other arguments, one line. */
  describe(): string;
}

// ---------------------------------------------------------------------------------------------
// V2 command streams

/** Scanner limits the generators pick from (nsqd's defaults, the suites' small ones, odd ones). */
export const LIMIT_PRESETS: readonly ScanLimits[] = [
  { maxMsgSize: 1024, maxBodySize: 4096 },
  { maxMsgSize: 64, maxBodySize: 256 },
  { maxMsgSize: 16, maxBodySize: 40 },
  { maxMsgSize: 1048576, maxBodySize: 5242880 },
  { maxMsgSize: 300, maxBodySize: 300 },
  { maxMsgSize: 5000, maxBodySize: 100 },
  { maxMsgSize: 0x7fffffff, maxBodySize: 0x7fffffff },
  { maxMsgSize: 1, maxBodySize: 9 },
  { maxMsgSize: 100, maxBodySize: 3 },
];

/** A growable byte buffer. */
export class Sink {
  buf = new Uint8Array(1024);
  len = 0;
  private grow(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  byte(v: number): void {
    this.grow(1);
    this.buf[this.len++] = v;
  }
  ascii(s: string): void {
    this.grow(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i) & 0xff;
  }
  bytes(b: Uint8Array): void {
    this.grow(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  int32(v: number): number {
    this.grow(4);
    const at = this.len;
    this.buf[at] = (v >>> 24) & 0xff;
    this.buf[at + 1] = (v >>> 16) & 0xff;
    this.buf[at + 2] = (v >>> 8) & 0xff;
    this.buf[at + 3] = v & 0xff;
    this.len += 4;
    return at;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** A generated stream and the offsets of its int32 fields (body sizes, MPUB counts and message sizes). */
export interface Stream {
  bytes: Uint8Array;
  intFields: number[];
}

const HEX = '0123456789abcdef';
const WORDS_WITH_BODY = ['IDENTIFY', 'AUTH', 'PUB', 'MPUB', 'DPUB'] as const;
const WORDS_NO_BODY = ['SUB', 'RDY', 'FIN', 'REQ', 'TOUCH', 'CLS', 'NOP'] as const;
const WORDS_UNKNOWN = ['', 'WHAT', 'PUBX', 'pub', 'MPU', 'MPUBB', 'IDENTIF', 'IDENTIFYX', 'TOUCHY', 'AUT', 'DPU', 'FI', 'NOPE', 'RDYY', 'CL', 'SUBB', 'X', ' PUB', '\rPUB'];

function token(r: Rand): string {
  switch (r.int(6)) {
    case 0: return 'topic' + r.int(100);
    case 1: return 'ch#ephemeral';
    case 2: {
      let id = '';
      for (let i = 0; i < 16; i++) id += HEX[r.int(16)];
      return id;
    }
    case 3: return String(r.range(-5, 100000));
    case 4: {
      let s = '';
      const n = r.len(40);
      for (let i = 0; i < n; i++) {
        let c = r.int(256);
        if (c === 0x0a) c = 0x41;
        s += String.fromCharCode(c);
      }
      return s;
    }
    default: return '';
  }
}

function lineEnd(r: Rand, s: Sink): void {
  const k = r.next();
  if (k < 0.6) s.byte(0x0a);
  else if (k < 0.95) s.ascii('\r\n');
  else s.ascii('\r\r\n');
}

function commandLine(r: Rand, s: Sink, word: string): void {
  s.ascii(word);
  const params = r.int(4);
  for (let i = 0; i < params; i++) {
    s.ascii(r.chance(0.9) ? ' ' : '  ');
    s.ascii(token(r));
  }
  if (r.chance(0.05)) s.ascii(' ');
  lineEnd(r, s);
}

/** One body length within `limit` (mostly small, sometimes exactly at the limit). */
function bodyLen(r: Rand, limit: number): number {
  const cap = Math.min(limit, 70_000);
  if (cap <= 0) return 1;
  const k = r.next();
  if (k < 0.1) return cap;
  if (k < 0.15) return Math.max(1, cap - 1);
  return 1 + r.int(Math.min(cap, k < 0.9 ? 64 : cap));
}

/** Append an MPUB body (count + messages) with a declared body_size that may under- or overstate it. */
function mpub(r: Rand, s: Sink, limits: ScanLimits, fields: number[]): void {
  const maxMessages = Math.max(1, Math.floor((limits.maxBodySize - 4) / 5));
  const count = r.chance(0.01) ? Math.min(maxMessages, 300) : 1 + r.int(Math.min(maxMessages, r.chance(0.8) ? 6 : 40));
  const lens: number[] = [];
  let total = 4;
  // Runs of equal sizes (the walks' fast path) are common: all alike, runs, or each its own.
  const repeat = r.pick([0.97, 0.6, 0]);
  for (let i = 0; i < count; i++) {
    const l = i > 0 && r.chance(repeat) ? lens[i - 1]! : bodyLen(r, Math.min(limits.maxMsgSize, 512));
    lens.push(l);
    total += 4 + l;
  }
  let declared = total;
  const k = r.next();
  if (k < 0.1) declared = Math.max(1, total - 1 - r.int(total));
  else if (k < 0.2) declared = total + 1 + r.int(64);
  else if (k < 0.25) declared = limits.maxBodySize;
  declared = Math.min(declared, 0x7fffffff);
  fields.push(s.int32(declared));
  fields.push(s.int32(count));
  for (const l of lens) {
    fields.push(s.int32(l));
    s.bytes(r.bytes(l));
  }
  if (declared > total && r.chance(0.5)) s.bytes(r.bytes(Math.min(declared - total, 300))); // padding nsqd would read as the next command
}

/** A line of about 16 KiB (the line limit) with or without a carriage return. */
function longLine(r: Rand, s: Sink): void {
  const total = r.range(16380, 16388); // bytes including the newline
  const cr = r.chance(0.5);
  const word = r.pick(['NOP', 'PUB', 'SUB', 'X', 'FIN', 'IDENTIFY']);
  s.ascii(word);
  const fill = total - word.length - (cr ? 2 : 1);
  for (let i = 0; i < fill; i++) s.byte(r.chance(0.1) ? 0x20 : 0x61 + r.int(26));
  s.ascii(cr ? '\r\n' : '\n');
}

/**
 * The command just written again 1-24 times, bodies new (a publisher's stream, the scanners'
 * repeat path): its line always, its size too or, in one run in three, a new size now and then;
 * the last one sometimes differs in one byte of its line or in its size, so a run ends on a
 * near miss.
 */
function repeatRun(r: Rand, s: Sink, line: Uint8Array, size: number, fields: number[]): void {
  const n = 1 + r.int(24);
  const vary = r.chance(0.33) ? 0.3 : 0;
  for (let i = 0; i < n; i++) {
    let l = line;
    if (r.chance(vary)) size = 1 + r.int(r.chance(0.5) ? 8 : 300);
    let z = size;
    if (i === n - 1 && r.chance(0.3)) {
      if (r.chance(0.5)) {
        l = line.slice();
        const at = r.int(l.length);
        l[at] = (l[at]! ^ (1 << r.int(8))) & 0xff;
      } else {
        z = Math.max(1, size + r.pick([-1, 1, 256]));
      }
    }
    s.bytes(l);
    fields.push(s.int32(z));
    s.bytes(r.bytes(z));
  }
}

/** A stream of `n` random commands, all well formed under `limits` unless the limits are tiny. */
export function commandStream(r: Rand, limits: ScanLimits, n: number, longLines = 0.02): Stream {
  const s = new Sink();
  const fields: number[] = [];
  for (let c = 0; c < n; c++) {
    const k = r.next();
    if (k < 0.4) {
      const word = r.pick(WORDS_WITH_BODY);
      const lineAt = s.len;
      commandLine(r, s, word);
      if (word === 'MPUB') {
        mpub(r, s, limits, fields);
      } else {
        const line = s.buf.slice(lineAt, s.len);
        const limit = word === 'PUB' || word === 'DPUB' ? limits.maxMsgSize : limits.maxBodySize;
        const l = bodyLen(r, Math.min(limit, 4096));
        fields.push(s.int32(l));
        if (word === 'IDENTIFY' && r.chance(0.5)) {
          const json = `{"client_id":"c${r.int(1000)}","feature_negotiation":true}`;
          for (let i = 0; i < l; i++) s.byte(json.charCodeAt(i % json.length));
        } else {
          s.bytes(r.bytes(l));
        }
        if (r.chance(0.3)) repeatRun(r, s, line, l, fields);
      }
    } else if (k < 0.85) {
      commandLine(r, s, r.pick(WORDS_NO_BODY));
    } else if (k < 1 - longLines) {
      commandLine(r, s, r.pick(WORDS_UNKNOWN));
    } else {
      longLine(r, s);
    }
  }
  return { bytes: s.result(), intFields: fields };
}

/** Apply 1–4 random mutations: bit flips, truncation, random bytes, edge values in size fields, long lines. */
export function mutate(r: Rand, st: Stream, limits: ScanLimits): Uint8Array {
  let b = st.bytes;
  const fields = st.intFields;
  const rounds = 1 + r.int(4);
  for (let m = 0; m < rounds; m++) {
    const k = r.int(12);
    if (k === 0 && b.length > 0) {
      // Bit flips.
      b = b.slice();
      const flips = 1 + r.int(8);
      for (let i = 0; i < flips; i++) b[r.int(b.length)]! ^= 1 << r.int(8);
    } else if (k === 1 && b.length > 0) {
      // Truncation: anywhere, or inside/just after an int32 field (MPUB count and message sizes).
      const at = fields.length > 0 && r.chance(0.5) ? r.pick(fields) + r.int(9) : r.int(b.length + 1);
      b = b.subarray(0, Math.min(at, b.length));
    } else if (k === 2) {
      // Random bytes spliced in.
      const at = r.int(b.length + 1);
      const ins = r.bytes(r.len(64));
      const nb = new Uint8Array(b.length + ins.length);
      nb.set(b.subarray(0, at));
      nb.set(ins, at);
      nb.set(b.subarray(at), at + ins.length);
      b = nb;
    } else if (k === 3 && b.length > 0) {
      // A range deleted.
      const at = r.int(b.length);
      const n = 1 + r.int(Math.min(64, b.length - at));
      const nb = new Uint8Array(b.length - n);
      nb.set(b.subarray(0, at));
      nb.set(b.subarray(at + n), at);
      b = nb;
    } else if ((k === 4 || k === 5 || k === 6) && fields.length > 0) {
      // An edge value in a size, count or message-size field (huge, negative, zero, limit ± 1).
      const at = r.pick(fields);
      if (at + 4 <= b.length) {
        b = b.slice();
        const v = r.edgeInt(r.pick([limits.maxMsgSize, limits.maxBodySize, Math.floor((limits.maxBodySize - 4) / 5)]));
        b[at] = (v >>> 24) & 0xff;
        b[at + 1] = (v >>> 16) & 0xff;
        b[at + 2] = (v >>> 8) & 0xff;
        b[at + 3] = v & 0xff;
      }
    } else if (k === 7) {
      // A newline added or removed.
      b = b.slice();
      if (b.length > 0) {
        const at = r.int(b.length);
        if (b[at] === 0x0a) b[at] = 0x20;
        else b[at] = 0x0a;
      }
    } else if (k === 8) {
      // A long line (near 16 KiB) inserted or appended.
      const s = new Sink();
      longLine(r, s);
      const ins = r.chance(0.3) ? s.result().subarray(0, s.len - 1 - r.int(3)) : s.result();
      const at = r.chance(0.5) ? b.length : r.int(b.length + 1);
      const nb = new Uint8Array(b.length + ins.length);
      nb.set(b.subarray(0, at));
      nb.set(ins, at);
      nb.set(b.subarray(at), at + ins.length);
      b = nb;
    } else if (k === 9 && b.length > 0) {
      // A range duplicated.
      const at = r.int(b.length);
      const n = 1 + r.int(Math.min(200, b.length - at));
      const nb = new Uint8Array(b.length + n);
      nb.set(b.subarray(0, at + n));
      nb.set(b.subarray(at, at + n), at + n);
      nb.set(b.subarray(at + n), at + 2 * n);
      b = nb;
    } else if (k === 10) {
      // A body command with a random declared size and no body.
      const s = new Sink();
      s.ascii(r.pick(WORDS_WITH_BODY));
      lineEnd(r, s);
      s.int32(r.edgeInt(r.pick([limits.maxMsgSize, limits.maxBodySize])));
      if (r.chance(0.5)) s.bytes(r.bytes(r.len(32)));
      const nb = new Uint8Array(b.length + s.len);
      nb.set(b);
      nb.set(s.result(), b.length);
      b = nb;
    } else if (b.length > 0) {
      // Random bytes overwritten.
      b = b.slice();
      const n = 1 + r.int(8);
      for (let i = 0; i < n; i++) b[r.int(b.length)] = r.int(256);
    }
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// FrameScanner.scan

/** One scan() case. */
export interface ScanCase extends DiffCase {
  buf: Uint8Array;
  start: number;
  end: number;
  capacity: number;
  limits: ScanLimits;
  fill: number;
  /**
   * -1, or a point in [start, end]: scan [start, resumeCut) first, and if that stops inside an
   * MPUB's messages at `start`, hand its resume point to the scan of [start, end), whose result
   * must then equal a scan without it.
   */
  resumeCut: number;
  /**
   * With resumeCut: resume as FrameParser does for an MPUB held in parts (S_RESUME_BASE),
   * scanning only [resumeCut, end) with the MPUB's line, size, count and the bytes of the size
   * field before the cut given in the state.
   */
  resumeParts?: boolean;
  /** Leave the S_RESUME_BASE inputs as pre-filled (junk) instead of zero. */
  junkInputs?: boolean;
}

/** Place `bytes` in a bigger buffer (garbage around it, maybe a view with a byteOffset) and pick start/end. */
function frame(r: Rand, bytes: Uint8Array): { buf: Uint8Array; start: number; end: number } {
  const pre = r.chance(0.3) ? r.len(64) : 0;
  const post = r.chance(0.3) ? r.len(64) : 0;
  const viewPad = r.chance(0.2) ? 1 + r.int(16) : 0;
  const backing = new Uint8Array(viewPad + pre + bytes.length + post + viewPad);
  r.fill(backing, 0, viewPad + pre);
  backing.set(bytes, viewPad + pre);
  // Garbage after end: sometimes newlines, so a scanner that looks past `end` would be caught.
  for (let i = viewPad + pre + bytes.length; i < backing.length; i++) backing[i] = r.chance(0.3) ? 0x0a : r.int(256);
  const buf = viewPad > 0 ? backing.subarray(viewPad, backing.length - viewPad) : backing;
  let start = pre;
  let end = pre + bytes.length;
  const k = r.next();
  if (k < 0.1) {
    start = r.int(buf.length + 1);
    end = start + r.int(buf.length - start + 1);
  } else if (k < 0.2 && end > start) {
    end = start + r.int(end - start + 1);
  } else if (k < 0.25 && end > start) {
    start = start + r.int(end - start + 1);
  }
  return { buf, start, end };
}

function capacityOf(r: Rand): number {
  const k = r.next();
  if (k < 0.5) return 1 + r.int(8);
  if (k < 0.8) return 1 + r.int(64);
  return 512;
}

/** Build scan case `seed`: a random command stream, mutated about 60% of the time. */
export function genScanCase(seed: number): ScanCase {
  const r = new Rand(seed);
  const limits = r.pick(LIMIT_PRESETS);
  let bytes: Uint8Array;
  const k = r.next();
  if (k < 0.03) {
    bytes = r.bytes(r.len(2048)); // pure noise
  } else {
    const st = commandStream(r, limits, 1 + r.int(r.chance(0.8) ? 8 : 40));
    if (r.chance(0.3)) {
      // Lead with an MPUB, the command a resume point applies to.
      const s = new Sink();
      commandLine(r, s, 'MPUB');
      const fields: number[] = [];
      mpub(r, s, limits, fields);
      const head = s.result();
      const both = new Uint8Array(head.length + st.bytes.length);
      both.set(head, 0);
      both.set(st.bytes, head.length);
      st.intFields = [...fields, ...st.intFields.map((f) => f + head.length)];
      st.bytes = both;
    }
    bytes = k < 0.4 ? st.bytes : mutate(r, st, limits);
  }
  const { buf, start, end } = frame(r, bytes);
  const capacity = capacityOf(r);
  const fill = r.chance(0.5) ? -0x5a5a5a5b : r.range(-0x80000000, 0x7fffffff);
  const resumeCut = r.chance(0.4) ? start + r.int(end - start + 1) : -1;
  const resumeParts = resumeCut >= 0 && r.chance(0.5);
  const junkInputs = resumeCut < 0 && r.chance(0.03);
  return {
    kind: 'scan',
    seed,
    input: buf,
    buf,
    start,
    end,
    capacity,
    limits,
    fill,
    resumeCut,
    resumeParts,
    junkInputs,
    describe: () =>
      `scan(buf[${buf.length}] byteOffset ${buf.byteOffset}, start ${start}, end ${end}, records capacity ${capacity}, state[${STATE_SLOTS}], maxMsgSize ${limits.maxMsgSize}, maxBodySize ${limits.maxBodySize}) with arrays pre-filled with ${fill}` +
      (junkInputs ? ' (S_RESUME_BASE inputs too)' : '') +
      (resumeCut >= 0 ? `, resuming ${resumeParts ? 'from parts ' : ''}from a scan of [${start}, ${resumeCut})` : ''),
  };
}

const tsScanners = new Map<ScanLimits, TsFrameScanner>();
/** The TypeScript scanner for a limits object (one per preset). */
export function tsScannerFor(limits: ScanLimits): TsFrameScanner {
  let s = tsScanners.get(limits);
  if (s === undefined) {
    s = new TsFrameScanner(limits);
    tsScanners.set(limits, s);
  }
  return s;
}

/** Run one scan case on both; null when identical, else what differed. */
export function diffScan(addon: RawAddon, c: ScanCase): string | null {
  const recA = new Int32Array(c.capacity * RECORD_STRIDE).fill(c.fill);
  const recB = new Int32Array(c.capacity * RECORD_STRIDE).fill(c.fill);
  const stA = new Int32Array(STATE_SLOTS).fill(c.fill);
  const stB = new Int32Array(STATE_SLOTS).fill(c.fill);
  if (c.junkInputs !== true) {
    for (const st of [stA, stB]) st.fill(0, S_RESUME_BASE, S_RESUME_PREFIX + 1);
  }
  const before = c.buf.slice();
  const out: string[] = [];
  let resumed = false;
  let cutIndex = 0;
  let from = c.start;
  if (c.resumeCut >= 0) {
    // The scan a resume point comes from: both must report the same one.
    const cutA = new Int32Array(STATE_SLOTS);
    const cutB = new Int32Array(STATE_SLOTS);
    new NativeFrameScanner(addon, c.limits).scan(c.buf, c.start, c.resumeCut, recA, cutA);
    tsScannerFor(c.limits).scan(c.buf, c.start, c.resumeCut, recB, cutB);
    if (firstDiff(cutA, cutB) >= 0) return `scan of [start, resumeCut): state native ${i32s(cutA)}, typescript ${i32s(cutB)}`;
    const stage = cutA[S_STAGE]!;
    if ((stage === STAGE_MPUB_MSG_SIZE || stage === STAGE_MPUB_MSG_BODY) && cutA[S_CONSUMED] === c.start && cutA[S_MPUB_AT] !== 0) {
      for (const st of [stA, stB]) {
        st[S_RESUME_AT] = cutA[S_MPUB_AT]!;
        st[S_RESUME_INDEX] = cutA[S_INDEX]!;
        st[S_RESUME_CHECK] = cutA[S_MPUB_CHECK]!;
      }
      cutIndex = cutA[S_INDEX]!;
      resumed = true;
      if (c.resumeParts === true) {
        // The MPUB's start stays behind: only [resumeCut, end) is scanned.
        const lineLen = cutA[S_LINE_LEN]!;
        const base = c.resumeCut - c.start;
        const at = cutA[S_MPUB_AT]!;
        let prefix = 0;
        for (let k = at; k < Math.min(at + 4, base); k++) prefix = (prefix << 8) | c.buf[c.start + k]!;
        for (const st of [stA, stB]) {
          st[S_RESUME_BASE] = base;
          st[S_RESUME_LINE_LEN] = lineLen;
          st[S_RESUME_SIZE] = readInt32(c.buf, c.start + lineLen);
          st[S_RESUME_COUNT] = readInt32(c.buf, c.start + lineLen + 4);
          st[S_RESUME_PREFIX] = prefix | 0;
        }
        from = c.resumeCut;
      }
    }
    recA.fill(c.fill);
    recB.fill(c.fill);
  }
  const nA = new NativeFrameScanner(addon, c.limits).scan(c.buf, from, c.end, recA, stA);
  const nB = tsScannerFor(c.limits).scan(c.buf, from, c.end, recB, stB);
  if (resumed) {
    // Resuming must not change the outcome: compare with a scan that walks every message.
    const recW = new Int32Array(c.capacity * RECORD_STRIDE).fill(c.fill);
    const stW = new Int32Array(STATE_SLOTS);
    const nW = tsScannerFor(c.limits).scan(c.buf, c.start, c.end, recW, stW);
    if (from !== c.start) {
      // From parts, the MPUB's record is in command offsets (line 0-0, body after its size
      // field), and while it is incomplete it is reported at the cut.
      if (nW > 0) {
        recW[R_LINE_START] = 0;
        recW[R_LINE_END] = 0;
        if (recW[R_BODY_START]! >= 0) recW[R_BODY_START] = recW[R_BODY_START]! - c.start;
      }
      if (nW === 0 && stW[S_CONSUMED] === c.start && stW[S_STAGE] !== STAGE_NONE) stW[S_CONSUMED] = from;
    }
    // S_WALKED differs by design: the resumed walk skips the messages before the resume index
    // (unless that MPUB stopped the scan, and so counts on neither side).
    const skipped = stW[S_WALKED]! - stB[S_WALKED]!;
    const resumeIndex = cutIndex;
    const walkedOk = skipped === resumeIndex || (stB[S_STAGE] === STAGE_STOPPED && skipped === 0);
    stW[S_WALKED] = stB[S_WALKED]!;
    if (nW !== nB || firstDiff(recW, recB) >= 0 || firstDiff(stW, stB) >= 0 || !walkedOk) {
      out.push(`resumed scan differs from a whole walk: count ${nB} vs ${nW}, state ${i32s(stB)} vs ${i32s(stW)}, ${skipped} messages fewer walked, resumed at ${resumeIndex}`);
    }
  }
  if (nA !== nB) out.push(`returned count: native ${nA}, typescript ${nB}`);
  const d = firstDiff(recA, recB);
  if (d >= 0) {
    const rec = Math.floor(d / RECORD_STRIDE);
    const base = rec * RECORD_STRIDE;
    out.push(`record ${rec} slot ${SLOT_NAMES[d % RECORD_STRIDE]}: native ${recA[d]}, typescript ${recB[d]}`);
    out.push(`  native record ${rec}:     ${i32s(recA.subarray(base, base + RECORD_STRIDE))}`);
    out.push(`  typescript record ${rec}: ${i32s(recB.subarray(base, base + RECORD_STRIDE))}`);
  }
  if (firstDiff(stA, stB) >= 0) {
    const s = firstDiff(stA, stB);
    out.push(`state slot ${STATE_NAMES[s]}: native ${i32s(stA)}, typescript ${i32s(stB)}`);
  }
  if (firstDiff(before, c.buf) >= 0) out.push('the input buffer was modified');
  return out.length === 0 ? null : out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// FrameParser over each scanner, with random chunk splits

/** One parser case: a stream and how it is cut into chunks. */
export interface ParserCase extends DiffCase {
  chunks: Uint8Array[];
  capacity: number;
  limits: ScanLimits;
}

/** Build parser case `seed`: a stream (mutated ~40% of the time) cut at random points. */
export function genParserCase(seed: number): ParserCase {
  const r = new Rand(seed);
  const limits = r.pick(LIMIT_PRESETS.slice(0, 6));
  const st = commandStream(r, limits, 1 + r.int(r.chance(0.8) ? 10 : 40), 0.004);
  const bytes = r.chance(0.6) ? st.bytes : mutate(r, st, limits);
  const chunks: Uint8Array[] = [];
  const k = r.next();
  if (k < 0.1 && bytes.length <= 600) {
    for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1)); // one byte at a time
  } else if (k < 0.3) {
    const size = 1 + r.int(r.chance(0.5) ? 16 : 512);
    for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
  } else {
    const cuts = Array.from({ length: r.int(12) }, () => r.int(bytes.length + 1)).sort((a, b) => a - b);
    let prev = 0;
    for (const cut of [...cuts, bytes.length]) {
      chunks.push(bytes.slice(prev, cut)); // empty chunks too
      prev = cut;
    }
  }
  const capacity = capacityOf(r);
  return {
    kind: 'parser',
    seed,
    input: bytes,
    chunks,
    capacity,
    limits,
    describe: () => `FrameParser(capacity ${capacity}, maxMsgSize ${limits.maxMsgSize}, maxBodySize ${limits.maxBodySize}) fed ${chunks.length} chunks of sizes ${runLengths(chunks.map((x) => x.length))}`,
  };
}

function hexOf(b: Uint8Array, from: number, to: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, Math.max(0, to - from)).toString('hex');
}

/** "2x100,5,7x3": a list of sizes with repeats folded. */
function runLengths(sizes: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < sizes.length; ) {
    let j = i;
    while (j < sizes.length && sizes[j] === sizes[i]) j++;
    out.push(j - i > 1 ? `${sizes[i]}x${j - i}` : String(sizes[i]));
    i = j;
  }
  return out.join(',');
}

/** Feed the chunks and describe every record and the pending state after each chunk, one string per event. */
export function parseEvents(scanner: Pick<FrameScanner, 'scan'>, c: ParserCase, parts?: PartsPolicy): string[] {
  const parser = new FrameParser(scanner, c.capacity, parts);
  const events: string[] = [];
  for (let k = 0; k < c.chunks.length; k++) {
    parser.feed(c.chunks[k]!);
    let n: number;
    while ((n = parser.next()) > 0) {
      const rec = parser.records;
      for (let i = 0; i < n; i++) {
        const b = i * RECORD_STRIDE;
        const src = parser.source(rec[b + R_SRC]!);
        const bs = rec[b + R_BODY_START]!;
        const code = rec[b + R_CODE]!;
        const line = rec[b + R_LINE_START]! <= rec[b + R_LINE_END]! ? hexOf(src, rec[b + R_LINE_START]!, rec[b + R_LINE_END]!) : '?';
        const body = bs < 0 ? '-' : hexOf(parser.body(rec[b + R_SRC]!, bs, rec[b + R_BODY_LEN]!), 0, rec[b + R_BODY_LEN]!);
        events.push(`chunk ${k} cmd code=${code} status=${rec[b + R_STATUS]} size=${rec[b + R_SIZE]} bodyLen=${rec[b + R_BODY_LEN]} line=${line} body=${body}`);
      }
    }
    events.push(`chunk ${k} end: stopped=${parser.isStopped} stage=${parser.pendingStage} code=${parser.pendingStage >= 2 ? parser.pendingCode : '-'} index=${parser.pendingStage >= 5 ? parser.pendingIndex : '-'} bytes=${parser.pendingBytes}`);
  }
  return events;
}

/**
 * Run one parser case over the raw native scanner and the TypeScript scanner (null when
 * identical), and check the commands do not depend on the split (the whole stream in one chunk).
 */
export function diffParser(addon: RawAddon, c: ParserCase): string | null {
  const native = new NativeFrameScanner(addon, c.limits);
  const a = parseEvents(native, c);
  const ts = new TsFrameScanner(c.limits);
  const b = parseEvents(ts, c);
  // Calls may go to either scanner (nativeBackend routes each by its expected work): the state
  // one leaves must be one the other continues from. Alternating and routed runs must match too.
  let calls = 0;
  const alternating: Pick<FrameScanner, 'scan'> = { scan: (buf, s, e, rec, st) => ((calls++ & 1) === 0 ? native : ts).scan(buf, s, e, rec, st) };
  // Bodies held in parts (views and copies of the reads) must read as the copied ones do.
  const minPiece = 1 + (c.seed % 7) * (c.seed % 3 === 0 ? 1 : 40);
  const sides: [string, string[]][] = [
    ['native:     ', a],
    ['alternating:', parseEvents(alternating, c)],
    ['routed:     ', parseEvents(new RoutedFrameScanner(addon, c.limits), c)],
    ['parts:      ', parseEvents(native, c, { minBody: 1 + (c.seed % 5) * 8, minPiece })],
  ];
  for (const [label, x] of sides) {
    const n = Math.max(x.length, b.length);
    for (let i = 0; i < n; i++) {
      if (x[i] !== b[i]) return `event ${i} differs:\n  ${label} ${x[i] ?? '(none)'}\n  typescript:  ${b[i] ?? '(none)'}`;
    }
  }
  // And the split must not matter: the same commands as the whole stream in one chunk.
  const commands = (ev: string[]): string[] => ev.filter((e) => !e.includes(' end: ')).map((e) => e.slice(e.indexOf(' cmd ')));
  const split = commands(a);
  const whole = commands(parseEvents(native, { ...c, chunks: [c.input] }));
  const m = Math.max(split.length, whole.length);
  for (let i = 0; i < m; i++) {
    if (split[i] !== whole[i]) return `command ${i} depends on the split:\n  in chunks: ${split[i] ?? '(none)'}\n  whole:     ${whole[i] ?? '(none)'}`;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// FrameEncoder.gather

/** A copy of b for one side: a plain copy, or (no `nullData`) a view into a larger buffer, so an empty one keeps a non-null data pointer. */
function copyOf(b: Uint8Array, nullData: boolean): Uint8Array {
  if (nullData) return b.slice();
  const backing = new Uint8Array(b.length + 8);
  backing.set(b, 4);
  return backing.subarray(4, 4 + b.length);
}

/** One gather() case. */
export interface GatherCase extends DiffCase {
  /** Whether empty buffers may have a null data pointer (`known` inputs). */
  nullData: boolean;
  out: Uint8Array;
  outOffset: number;
  sources: Uint8Array[];
  index: Int32Array;
  offsets: Int32Array;
  lengths: Int32Array;
  count: number;
}

/**
 * A buffer of `len` random bytes: a plain Uint8Array, a Buffer, or a view with a byteOffset. A
 * plain or Buffer of length 0 has a null data pointer on the C++ side, which the addon passes to
 * memcpy (undefined behaviour, see sanitizer-reproducers.test.ts): without `nullData` an empty
 * buffer is always an empty view into a larger one.
 */
function someBuffer(r: Rand, len: number, nullData = false): Uint8Array {
  const k = len === 0 && !nullData ? 2 : r.int(3);
  if (k === 0) return r.bytes(len);
  if (k === 1) return Buffer.from(r.bytes(len));
  const pad = 1 + r.int(8);
  const b = r.bytes(len + 2 * pad);
  return b.subarray(pad, pad + len); // a view with a byteOffset
}

/**
 * Build gather case `seed`: mostly valid frames, with some out of range (bad source index,
 * negative or overflowing offset/length, output too small, count beyond the arrays). Only with
 * `known`: a negative count, and empty buffers with a null data pointer (the open issues of
 * known-differences.test.ts and sanitizer-reproducers.test.ts).
 */
export function genGatherCase(seed: number, known = false): GatherCase {
  const r = new Rand(seed);
  const nSources = r.int(6);
  const big = r.chance(0.02);
  const sources = Array.from({ length: nSources }, () => someBuffer(r, big ? r.int(70_000) : r.len(400), known));
  const count = r.int(r.chance(0.8) ? 12 : 100);
  const arrLen = (): number => (r.chance(0.9) ? count + r.int(3) : r.int(count + 1));
  const index = new Int32Array(arrLen());
  const offsets = new Int32Array(arrLen());
  const lengths = new Int32Array(arrLen());
  const bad = r.chance(0.3) ? 1 / (1 + r.int(count + 1)) : 0;
  let total = 0;
  const n = Math.max(index.length, offsets.length, lengths.length);
  for (let i = 0; i < n; i++) {
    const s = nSources > 0 ? r.int(nSources) : 0;
    const src = sources[s];
    const sl = src?.length ?? 0;
    const off = r.int(sl + 1);
    const len = r.chance(0.2) ? sl - off : r.int(sl - off + 1);
    let si = s;
    let so = off;
    let ln = len;
    if (r.chance(bad)) {
      switch (r.int(7)) {
        case 0: si = r.pick([-1, nSources, nSources + 1, -0x80000000, 0x7fffffff]); break;
        case 1: so = r.pick([-1, sl, sl + 1, 0x7fffffff, -0x80000000]); break;
        case 2: ln = r.pick([-1, sl - off + 1, 0x7fffffff, -0x80000000]); break;
        case 3: so = r.edgeInt(sl); break;
        case 4: ln = r.edgeInt(sl); break;
        case 5: so = 0x7ffffff0; ln = 0x20; break; // off + len overflows int32
        default: si = r.edgeInt(nSources); break;
      }
    }
    if (i < index.length) index[i] = si;
    if (i < offsets.length) offsets[i] = so;
    if (i < lengths.length) lengths[i] = ln;
    if (i < count) total += Math.min(Math.max(0, ln), sl);
  }
  let outOffset = r.chance(0.5) ? 0 : r.int(64);
  let outLen = outOffset + total + (r.chance(0.5) ? 0 : r.int(64));
  if (r.chance(0.1)) outLen = r.int(outLen + 1); // output too small
  if (r.chance(0.05)) outOffset = r.pick([-1, outLen, outLen + 1, -0x80000000, 0x7fffffff]);
  let cnt = count;
  if (r.chance(0.03)) cnt = count + 1 + r.int(3); // beyond the arrays
  if (known && r.chance(0.05)) cnt = -1 - r.int(5);
  const out = someBuffer(r, Math.min(outLen, 1 << 22), known);
  return {
    kind: 'gather',
    seed,
    nullData: known,
    input: sources.length > 0 ? sources[0]! : new Uint8Array(0),
    out,
    outOffset,
    sources,
    index,
    offsets,
    lengths,
    count: cnt,
    describe: () =>
      `gather(out[${out.length}], outOffset ${outOffset}, sources lengths [${sources.map((s) => s.length).join(', ')}], index ${i32s(index)}, offsets ${i32s(offsets)}, lengths ${i32s(lengths)}, count ${cnt}); input shown: sources[0]`,
  };
}

/** Run one gather case on both (each into its own copy of out); null when identical. */
export function diffGather(addon: RawAddon, c: GatherCase): string | null {
  const outA = copyOf(c.out, c.nullData);
  const outB = copyOf(c.out, c.nullData);
  const srcCopies = c.sources.map((s) => s.slice());
  const rA = addon.gather(outA, c.outOffset, c.sources, c.index, c.offsets, c.lengths, c.count);
  const rB = tsFrameEncoder.gather(outB, c.outOffset, c.sources, c.index, c.offsets, c.lengths, c.count);
  if (rA !== rB) return `returned: native ${rA}, typescript ${rB}`;
  if (rA >= 0) {
    const d = firstDiff(outA, outB);
    if (d >= 0) return `output byte ${d}: native ${outA[d]}, typescript ${outB[d]}`;
  }
  for (let i = 0; i < c.sources.length; i++) if (firstDiff(srcCopies[i]!, c.sources[i]!) >= 0) return `source ${i} was modified`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// RecordCodec.pushRecords

/** Bytes of the message header pushMessages puts before each body. */
const MESSAGE_HEADER = 26;

/** One pushRecords() case, or (kind 'pushMessages', with headers) one pushMessages() case. */
export interface PushCase extends DiffCase {
  /** Whether empty buffers may have a null data pointer (`known` inputs). */
  nullData: boolean;
  /** pushMessages only: the 26-byte message headers, one per payload index. */
  headers: Uint8Array | null;
  dest: Uint8Array;
  destPos: number;
  src: Uint8Array;
  starts: Int32Array;
  lens: Int32Array;
  first: number;
  count: number;
}

/**
 * Build pushRecords case `seed` (or, with `messages`, pushMessages case: plus a headers buffer
 * of 26 bytes per payload, sometimes too short): payload lists, destination room and
 * positions, some out of range (`known`: see someBuffer).
 */
export function genPushCase(seed: number, known = false, messages = false): PushCase {
  const r = new Rand(seed);
  const per = messages ? 8 + MESSAGE_HEADER : 8;
  const src = someBuffer(r, r.chance(0.02) ? r.int(70_000) : r.len(600), known);
  const n = r.int(r.chance(0.8) ? 12 : 80);
  const starts = new Int32Array(r.chance(0.95) ? n : r.int(n + 1));
  const lens = new Int32Array(r.chance(0.95) ? n : r.int(n + 1));
  const bad = r.chance(0.2) ? 1 / (1 + r.int(n + 1)) : 0;
  let total = 0;
  for (let i = 0; i < Math.max(starts.length, lens.length); i++) {
    let st = r.int(src.length + 1);
    let ln = r.chance(0.1) ? src.length - st : r.int(Math.min(src.length - st, r.chance(0.8) ? 48 : 70_000) + 1);
    if (r.chance(bad)) {
      switch (r.int(5)) {
        case 0: st = r.pick([-1, src.length + 1, 0x7fffffff, -0x80000000]); break;
        case 1: ln = r.pick([-1, src.length - st + 1, 0x7fffffff, -0x80000000]); break;
        case 2: st = 0x7ffffff0; ln = 0x20; break;
        case 3: st = r.edgeInt(src.length); break;
        default: ln = r.edgeInt(src.length); break;
      }
    }
    if (i < starts.length) starts[i] = st;
    if (i < lens.length) lens[i] = ln;
    total += per + Math.min(Math.max(0, ln), src.length);
  }
  let first = n > 0 && r.chance(0.3) ? r.int(n) : 0;
  let count = r.chance(0.8) ? n - first : r.int(n - first + 1);
  if (r.chance(0.05)) first = r.pick([-1, n, n + 1, -0x80000000]);
  if (r.chance(0.05)) count = r.pick([-1, n - first + 1, 0x7fffffff, -0x80000000]);
  let destPos = r.chance(0.5) ? 0 : r.int(64);
  const room = r.next() < 0.5 ? total : r.int(total + 1);
  const dest = someBuffer(r, Math.min(destPos + room + r.int(16), 1 << 22), known);
  if (r.chance(0.05)) destPos = r.pick([-1, dest.length, dest.length + 1, 0x7fffffff, -0x80000000]);
  let headers: Uint8Array | null = null;
  if (messages) {
    const k = r.next();
    const needed = Math.max(0, Math.max(starts.length, lens.length)) * MESSAGE_HEADER;
    const hl = k < 0.85 ? needed + (r.chance(0.3) ? r.int(40) : 0) : k < 0.95 ? r.int(needed + 1) : needed - 1 - r.int(MESSAGE_HEADER);
    headers = someBuffer(r, Math.max(0, hl), known);
  }
  const hdr = headers;
  return {
    kind: messages ? 'pushMessages' : 'push',
    seed,
    nullData: known,
    headers,
    input: src,
    dest,
    destPos,
    src,
    starts,
    lens,
    first,
    count,
    describe: () =>
      hdr === null
        ? `pushRecords(dest[${dest.length}], destPos ${destPos}, src[${src.length}], starts ${i32s(starts)}, lens ${i32s(lens)}, first ${first}, count ${count}); input shown: src`
        : `pushMessages(dest[${dest.length}], destPos ${destPos}, headers[${hdr.length}], src[${src.length}], starts ${i32s(starts)}, lens ${i32s(lens)}, first ${first}, count ${count}); input shown: src`,
  };
}

/** Run one pushRecords or pushMessages case on both; null when identical (return value and every dest byte). */
export function diffPush(addon: RawAddon, c: PushCase): string | null {
  const dA = copyOf(c.dest, c.nullData);
  const dB = copyOf(c.dest, c.nullData);
  const rA = c.headers === null
    ? addon.pushRecords(dA, c.destPos, c.src, c.starts, c.lens, c.first, c.count)
    : addon.pushMessages(dA, c.destPos, c.headers, c.src, c.starts, c.lens, c.first, c.count);
  const rB = c.headers === null
    ? tsRecordCodec.pushRecords(dB, c.destPos, c.src, c.starts, c.lens, c.first, c.count)
    : tsRecordCodec.pushMessages(dB, c.destPos, c.headers, c.src, c.starts, c.lens, c.first, c.count);
  if (rA !== rB) return `returned: native ${rA}, typescript ${rB}`;
  const d = firstDiff(dA, dB);
  if (d >= 0) return `dest byte ${d}: native ${dA[d]}, typescript ${dB[d]} (both returned ${rA})`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// RecordCodec.scanRecords

/** One scanRecords() case. */
export interface ScanRecordsCase extends DiffCase {
  buf: Uint8Array;
  readPos: number;
  writePos: number;
  max: number;
  offsLen: number;
  lensLen: number;
  fill: number;
}

/** Build scanRecords case `seed`: a chunk of records, sometimes corrupted, scanned from random positions. */
export function genScanRecordsCase(seed: number): ScanRecordsCase {
  const r = new Rand(seed);
  const s = new Sink();
  const pre = r.chance(0.3) ? r.len(32) : 0;
  s.bytes(r.bytes(pre));
  const n = r.int(r.chance(0.8) ? 12 : 100);
  const sizeAt: number[] = [];
  for (let i = 0; i < n; i++) {
    const l = r.chance(0.05) ? r.int(5000) : r.len(64);
    sizeAt.push(s.int32(l + 4));
    s.int32(2);
    s.bytes(r.bytes(l));
  }
  const writeEnd = s.len;
  s.bytes(r.bytes(r.chance(0.3) ? r.len(32) : 0));
  let buf: Uint8Array = s.result();
  if (r.chance(0.3) && sizeAt.length > 0) {
    buf = buf.slice();
    const flips = 1 + r.int(3);
    for (let i = 0; i < flips; i++) {
      const at = r.pick(sizeAt);
      const k = r.int(4);
      if (k === 0) buf[at + r.int(4)]! ^= 1 << r.int(8);
      else {
        const v = r.pick([0, 1, 3, 4, 5, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffc, 0xfffffffb, r.int(10_000)]);
        buf[at] = (v >>> 24) & 0xff;
        buf[at + 1] = (v >>> 16) & 0xff;
        buf[at + 2] = (v >>> 8) & 0xff;
        buf[at + 3] = v & 0xff;
      }
    }
  }
  if (r.chance(0.2)) {
    const pad = 1 + r.int(8);
    const b = new Uint8Array(buf.length + 2 * pad);
    b.set(buf, pad);
    buf = b.subarray(pad, pad + buf.length);
  }
  let readPos = pre;
  let writePos = writeEnd;
  const k = r.next();
  if (k < 0.2 && sizeAt.length > 0) readPos = r.pick(sizeAt);
  else if (k < 0.3) readPos = r.int(buf.length + 1);
  const k2 = r.next();
  if (k2 < 0.15) writePos = readPos + r.int(Math.max(0, buf.length - readPos) + 1);
  else if (k2 < 0.2) writePos = buf.length;
  if (r.chance(0.04)) readPos = r.pick([-1, writePos + 1, buf.length + 1, -0x80000000]);
  if (r.chance(0.04)) writePos = r.pick([-1, buf.length + 1, 0x7fffffff]);
  let max = r.chance(0.7) ? n + r.int(3) : r.int(n + 2);
  if (r.chance(0.04)) max = r.pick([-1, 0, 0x7fffffff, -0x80000000]);
  const offsLen = r.chance(0.85) ? n + r.int(3) : r.int(n + 2);
  const lensLen = r.chance(0.85) ? offsLen : r.int(n + 2);
  const fill = r.range(-0x80000000, 0x7fffffff);
  return {
    kind: 'scanRecords',
    seed,
    input: buf,
    buf,
    readPos,
    writePos,
    max,
    offsLen,
    lensLen,
    fill,
    describe: () => `scanRecords(buf[${buf.length}], readPos ${readPos}, writePos ${writePos}, max ${max}, outOffsets[${offsLen}], outLens[${lensLen}]) pre-filled with ${fill}`,
  };
}

/** Run one scanRecords case on both; null when identical (return value and both output arrays). */
export function diffScanRecords(addon: RawAddon, c: ScanRecordsCase): string | null {
  const oA = new Int32Array(c.offsLen).fill(c.fill);
  const oB = new Int32Array(c.offsLen).fill(c.fill);
  const lA = new Int32Array(c.lensLen).fill(c.fill);
  const lB = new Int32Array(c.lensLen).fill(c.fill);
  const rA = addon.scanRecords(c.buf, c.readPos, c.writePos, c.max, oA, lA);
  const rB = tsRecordCodec.scanRecords(c.buf, c.readPos, c.writePos, c.max, oB, lB);
  if (rA !== rB) return `returned: native ${rA}, typescript ${rB}`;
  return slotDiff('outOffsets', oA, oB) ?? slotDiff('outLens', lA, lB);
}


// ---------------------------------------------------------------------------------------------
// FrameScanner.splitMpub

/** One splitMpub() case. */
export interface SplitCase extends DiffCase {
  buf: Uint8Array;
  start: number;
  len: number;
  maxMsgSize: number;
  /** Lengths of the starts and lens arrays. */
  startsLen: number;
  lensLen: number;
}

/**
 * Build splitMpub case `seed`: an MPUB body ([int32 count]([int32 size][bytes])×count) at a
 * random offset of a larger buffer, mostly well formed, else with a count that disagrees with
 * the messages, a size of 0, negative or above the limit, a message running past the range,
 * arrays shorter than the count, or a range outside the buffer.
 */
export function genSplitCase(seed: number): SplitCase {
  const r = new Rand(seed);
  const maxMsgSize = r.pick([1, 7, 100, 4096, 1024 * 1024]);
  const n = r.chance(0.05) ? 0 : r.chance(0.8) ? 1 + r.int(40) : 1 + r.int(600);
  let body = 4;
  const sizes: number[] = [];
  const repeat = r.pick([0.97, 0.6, 0]);
  for (let i = 0; i < n; i++) {
    const size = i > 0 && r.chance(repeat) ? sizes[i - 1]! : r.chance(0.97) ? 1 + r.int(Math.min(maxMsgSize, r.chance(0.9) ? 40 : 3000)) : r.pick([0, -1, -2147483648, maxMsgSize + 1, 2147483647]);
    sizes.push(size);
    body += 4 + Math.max(0, Math.min(size, 3000));
  }
  const pre = r.int(20);
  const buf = new Uint8Array(pre + body + r.int(20));
  r.fill(buf);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const count = r.chance(0.9) ? n : r.pick([0, -1, n + 1, Math.max(0, n - 1), 2147483647]);
  dv.setInt32(pre, count);
  let pos = pre + 4;
  for (const size of sizes) {
    dv.setInt32(pos, size);
    pos += 4 + Math.max(0, Math.min(size, 3000));
  }
  let start = pre;
  let len = body;
  if (r.chance(0.1)) len = Math.max(0, len - 1 - r.int(8)); // the last message runs past the range
  if (r.chance(0.03)) start = r.pick([-1, buf.length, buf.length + 1]);
  if (r.chance(0.03)) len = r.pick([-1, 0, 3, buf.length - start + 1]);
  const arr = (): number => (r.chance(0.9) ? Math.max(0, count) + r.int(3) : r.int(Math.max(1, n + 1)));
  const startsLen = Math.min(arr(), 5000);
  const lensLen = r.chance(0.95) ? startsLen : Math.min(arr(), 5000);
  return {
    kind: 'splitMpub',
    seed,
    input: buf,
    buf,
    start,
    len,
    maxMsgSize,
    startsLen,
    lensLen,
    describe: () => `splitMpub(buf[${buf.length}], start ${start}, len ${len}, maxMsgSize ${maxMsgSize}, starts[${startsLen}], lens[${lensLen}])`,
  };
}

/** Run one splitMpub case on both (each with its own arrays, filled alike beforehand); null when identical. */
export function diffSplit(addon: RawAddon, c: SplitCase): string | null {
  const fill = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => -7 - i);
  const [sA, lA, sB, lB] = [fill(c.startsLen), fill(c.lensLen), fill(c.startsLen), fill(c.lensLen)];
  const rA = addon.splitMpub(c.buf, c.start, c.len, c.maxMsgSize, sA, lA);
  const rB = new TsFrameScanner({ maxMsgSize: c.maxMsgSize, maxBodySize: 5 * 1024 * 1024 }).splitMpub(c.buf, c.start, c.len, sB, lB);
  if (rA !== rB) return `returned native ${rA}, typescript ${rB}`;
  return slotDiff('starts', sA, sB) ?? slotDiff('lens', lA, lB);
}

// ---------------------------------------------------------------------------------------------
// FrameEncoder.writeHeaders

/** One writeHeaders() case. */
export interface HeadersCase extends DiffCase {
  outLen: number;
  count: number;
  nowMs: number;
  ids: number[];
}

/** NSQ's id epoch (ms-ish ticks) and 2^20, for picking clocks near interesting ticks. */
const TWEPOCH_TICK = 1288834974288;

/**
 * Build writeHeaders case `seed`: today's clock, a random or odd one (0, negative, NaN,
 * infinite, the int64-ns bound and just past it, half-ns fractions), a generator state that is
 * fresh, just behind or ahead of the clock's tick, at sequences near 4095 (so batches roll over
 * ticks), or invalid (NaN, fractions, sequence 4096, stray node bits, too short), and counts
 * that fit the output, do not, or are not integers.
 */
export function genHeadersCase(seed: number): HeadersCase {
  const r = new Rand(seed);
  const nowMs = r.chance(0.6) ? 1.7e12 + r.next() * 1e11
    : r.chance(0.5) ? r.next() * 1e13
    : r.pick([0, -1, -0, Number.NaN, Infinity, -Infinity, 9223372036854, 9223372036855, 0.0000005, 1.5e-6, 2.5e-6, 4503599627.3705, TWEPOCH_TICK * 1.048576, 1e-300]);
  const tick = Math.floor((nowMs * 1e6) / 1048576);
  const count = r.chance(0.9) ? r.int(r.chance(0.9) ? 40 : 9000) : r.pick([-1, 0.5, 2.5, Number.NaN, 1e300]);
  const fits = Number.isInteger(count) && count >= 0 && count < 1e6 ? count : 3;
  const outLen = r.chance(0.85) ? fits * 26 + r.int(30) : r.int(Math.max(1, fits * 26));
  let last = r.chance(0.3) ? -1 : Number.isFinite(tick) ? tick + r.pick([-2, -1, 0, 0, 0, 1, 5]) : r.int(1e12);
  let seq = r.chance(0.5) ? r.int(4096) : r.pick([0, 4094, 4095]);
  let node = r.int(1024) << 12;
  const bad = r.chance(0.08);
  if (bad) {
    const which = r.int(6);
    if (which === 0) last = r.pick([Number.NaN, 1.5, -2, 2 ** 53]);
    else if (which === 1) seq = r.pick([4096, -1, 0.5, Number.NaN]);
    else if (which === 2) node = r.pick([1, 0x3ff << 12 | 1, 1024 << 12, -4096, Number.NaN]);
  }
  const ids = bad && r.chance(0.2) ? [last, seq] : [last, seq, node];
  return {
    kind: 'headers',
    seed,
    input: new Uint8Array(0),
    outLen,
    count,
    nowMs,
    ids,
    describe: () => `writeHeaders(out[${outLen}], count ${count}, nowMs ${nowMs}, ids [${ids.join(', ')}])`,
  };
}

/** Run one writeHeaders case on both (each with its own output and state, alike beforehand); null when identical. */
export function diffHeaders(addon: RawAddon, c: HeadersCase): string | null {
  const outA = new Uint8Array(c.outLen).fill(0xa5);
  const outB = new Uint8Array(c.outLen).fill(0xa5);
  const idsA = Float64Array.from(c.ids);
  const idsB = Float64Array.from(c.ids);
  const rA = addon.writeHeaders(outA, c.count, c.nowMs, idsA);
  const rB = tsFrameEncoder.writeHeaders(outB, c.count, c.nowMs, idsB);
  if (rA !== rB) return `returned native ${rA}, typescript ${rB}`;
  for (let i = 0; i < Math.max(idsA.length, ID_STATE_SLOTS); i++) {
    if (!Object.is(idsA[i], idsB[i])) return `ids[${i}]: native ${idsA[i]}, typescript ${idsB[i]}`;
  }
  const d = firstDiff(outA, outB);
  if (d >= 0) return `out[${d}] (header ${Math.floor(d / 26)}, byte ${d % 26}): native ${outA[d]}, typescript ${outB[d]}`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// Registry of the synchronous case kinds

/** A synchronous differential case kind: build case `seed`, and compare the two implementations on it. */
export interface CaseKind<C extends DiffCase = DiffCase> {
  name: string;
  /** Build case `seed`; `known` also generates inputs that hit the open known differences. */
  gen(seed: number, known: boolean): C;
  diff(addon: RawAddon, c: C): string | null;
}

function kind<C extends DiffCase>(k: CaseKind<C>): CaseKind<DiffCase> {
  return k as unknown as CaseKind<DiffCase>;
}

/** Every synchronous kind by name (IoExecutor cases are asynchronous: see io.ts). */
export const KINDS: Record<'scan' | 'parser' | 'gather' | 'push' | 'pushMessages' | 'scanRecords' | 'splitMpub' | 'headers', CaseKind> = {
  scan: kind({ name: 'scan', gen: (s) => genScanCase(s), diff: diffScan }),
  parser: kind({ name: 'parser', gen: (s) => genParserCase(s), diff: diffParser }),
  gather: kind({ name: 'gather', gen: (s, known) => genGatherCase(s, known), diff: diffGather }),
  push: kind({ name: 'push', gen: (s, known) => genPushCase(s, known), diff: diffPush }),
  pushMessages: kind({ name: 'pushMessages', gen: (s, known) => genPushCase(s, known, true), diff: diffPush }),
  scanRecords: kind({ name: 'scanRecords', gen: (s) => genScanRecordsCase(s), diff: diffScanRecords }),
  splitMpub: kind({ name: 'splitMpub', gen: (s) => genSplitCase(s), diff: diffSplit }),
  headers: kind({ name: 'headers', gen: (s) => genHeadersCase(s), diff: diffHeaders }),
};

/** Stable numbers of the kinds, mixed into case seeds (io is 5). */
export const KIND_IDS: Record<string, number> = { scan: 0, parser: 1, gather: 2, push: 3, scanRecords: 4, io: 5, pushMessages: 6, splitMpub: 7, headers: 8 };

/** The base seed of the differential tests: DIFF_SEED, or a fixed default so CI is reproducible. */
export function baseSeed(): number {
  const env = process.env.DIFF_SEED;
  return env !== undefined && env !== '' ? Number(env) >>> 0 : 20260101;
}

/**
 * Whether the generators also make the inputs of the known differences (negative counts, empty
 * buffers with a null data pointer, failing writes). All of them are fixed, so on by default;
 * DIFF_KNOWN=0 leaves them out.
 */
export function knownInputs(): boolean {
  return process.env.DIFF_KNOWN !== '0';
}

/** Case counts of the tests are multiplied by DIFF_SCALE (default 1). */
export function scaled(n: number): number {
  const s = Number(process.env.DIFF_SCALE ?? 1);
  return Math.max(1, Math.round(n * (Number.isFinite(s) && s > 0 ? s : 1)));
}

/**
 * Run `count` cases of a kind from the base seed; returns null, or the report of the first
 * difference (or exception).
 */
export function runKind(addon: RawAddon, k: CaseKind, count: number, seed = baseSeed(), known = knownInputs()): string | null {
  const id = KIND_IDS[k.name]!;
  for (let i = 0; i < count; i++) {
    const c = k.gen(caseSeed(seed, id, i), known);
    let d: string | null;
    try {
      d = k.diff(addon, c);
    } catch (err) {
      d = `threw: ${(err as Error).stack ?? String(err)}`;
    }
    if (d !== null) return report(c, d, `case ${i} of DIFF_SEED=${seed}`, 1024, known);
  }
  return null;
}

/** Fail the running test with the report of the first of `count` cases of kind `k` on which the two differ. */
export function assertAgree(addon: RawAddon, k: CaseKind, count: number): void {
  const failure = runKind(addon, k, count);
  if (failure !== null) assert.unreachable(failure);
}

/**
 * A uvu suite of differential tests: `define` adds them with the raw addon, or, when the addon
 * is not built, one test says there is nothing to compare.
 */
export function differentialSuite(name: string, define: (t: Test, addon: RawAddon) => void): void {
  const addon = rawAddon();
  const t = suite(name);
  if (addon !== null) define(t, addon);
  else t('native addon not built: nothing to compare', () => {});
  t.run();
}

/** A failure report: what differed, the arguments, how to replay it, and a hex dump of the input. */
export function report(c: DiffCase, difference: string, context: string, dumpMax = 1024, known = false): string {
  return [
    `${c.kind} case differs (${context}, case seed ${c.seed}):`,
    difference,
    c.describe(),
    `replay: npm run fuzz -- --replay ${c.kind}:${c.seed}${known ? ' --known' : ''}`,
    `input (${c.input.length} bytes):`,
    hexDump(c.input, dumpMax),
  ].join('\n');
}
