/**
 * FrameParser over each FrameScanner: a stream of V2 commands cut into 64 KiB socket chunks, fed
 * one feed() per chunk and drained with next(), whose record capacity holds a whole chunk's
 * commands so that each chunk is one scanner call (protocol-v2 uses the default 512, i.e. up to
 * 7 calls for a chunk of FIN lines; the per-call cost is amortised either way). Commands that straddle a chunk go through the parser's carry path, as they do on a real
 * socket. Reported as commands per second (messages per second for MPUB).
 */
import { RECORD_STRIDE, R_BODY_LEN, R_CODE, R_STATUS, STATE_SLOTS } from '../../src/native/backend.js';
import { NativeFrameScanner } from '../../src/native/addon.js';
import { FrameParser } from '../../src/protocol/frame-parser.js';
import { LIMITS, SIZES, patterned, type MicroCase, type Subject } from './common.js';

/** Bytes per socket read (a full 64 KiB read, as under load). */
export const CHUNK_BYTES = 64 * 1024;
/** Records per next(): more than the 3,120 FIN lines a 64 KiB chunk holds. */
const PARSER_CAPACITY = 4096;
/** Smallest stream one op parses. */
const MIN_STREAM_BYTES = 256 * 1024;
/** Messages per MPUB (fewer at 64 KiB, so one MPUB stays within --max-body-size 5 MiB). */
export const mpubCount = (size: number): number => (size >= 65536 ? 64 : 200);

const TOPIC_LINE_PUB = Buffer.from('PUB sub_bench\n', 'latin1');
const TOPIC_LINE_MPUB = Buffer.from('MPUB sub_bench\n', 'latin1');
const HEX = '0123456789abcdef';

interface Stream {
  bytes: Buffer;
  /** Commands (records the parser yields) in the stream. */
  commands: number;
  /** Messages in the stream (= commands except for MPUB). */
  messages: number;
}

function finStream(): Stream {
  const parts: Buffer[] = [];
  let len = 0;
  let n = 0;
  while (len < MIN_STREAM_BYTES) {
    let id = '';
    for (let k = 0; k < 16; k++) id += HEX[(n * 7 + k * 13 + (n >>> k)) & 15];
    const b = Buffer.from(`FIN ${id}\n`, 'latin1');
    parts.push(b);
    len += b.length;
    n++;
  }
  return { bytes: Buffer.concat(parts), commands: n, messages: n };
}

function pubStream(size: number): Stream {
  const body = patterned(size, 3);
  const one = Buffer.allocUnsafe(TOPIC_LINE_PUB.length + 4 + size);
  TOPIC_LINE_PUB.copy(one, 0);
  one.writeInt32BE(size, TOPIC_LINE_PUB.length);
  body.copy(one, TOPIC_LINE_PUB.length + 4);
  const n = Math.max(16, Math.ceil(MIN_STREAM_BYTES / one.length));
  return { bytes: Buffer.concat(Array.from({ length: n }, () => one)), commands: n, messages: n };
}

function mpubStream(size: number): Stream {
  const count = mpubCount(size);
  const one = mpubBytes(size, count);
  const n = Math.max(2, Math.ceil(MIN_STREAM_BYTES / one.length));
  return { bytes: Buffer.concat(Array.from({ length: n }, () => one)), commands: n, messages: n * count };
}

/** One MPUB as large as --max-body-size allows, of `size`-byte messages (it spans ~80 reads). */
function bigMpubStream(size: number): Stream {
  const count = Math.floor((LIMITS.maxBodySize - 4) / (4 + size));
  return { bytes: mpubBytes(size, count), commands: 1, messages: count };
}

function chunksOf(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += CHUNK_BYTES) out.push(b.subarray(i, Math.min(b.length, i + CHUNK_BYTES)));
  return out;
}

function parserSubject(stream: Stream, unitKey: string, impl: Parameters<MicroCase['make']>[0]): Subject {
  const parser = new FrameParser(impl.backend.createFrameScanner(LIMITS), PARSER_CAPACITY);
  const chunks = chunksOf(stream.bytes);
  const expected = stream.commands;
  const op = (): void => {
    let n = 0;
    for (let i = 0; i < chunks.length; i++) {
      parser.feed(chunks[i]!);
      for (let k = parser.next(); k > 0; k = parser.next()) n += k;
    }
    if (n !== expected) throw new Error(`parsed ${n} commands, expected ${expected}${parser.isStopped ? ' (parser stopped)' : ''}`);
  };
  return {
    op,
    units: () => ({ [unitKey]: unitKey === 'msgs' ? stream.messages : stream.commands }),
    check: () => {
      let n = 0;
      let body = 0;
      let codes = 0;
      const rec = parser.records;
      for (let i = 0; i < chunks.length; i++) {
        parser.feed(chunks[i]!);
        for (let k = parser.next(); k > 0; k = parser.next()) {
          for (let j = 0; j < k; j++) {
            const b = j * RECORD_STRIDE;
            if (rec[b + R_STATUS] !== 0) return `status ${rec[b + R_STATUS]} at command ${n + j}`;
            codes += rec[b + R_CODE]!;
            if (rec[b + R_BODY_LEN]! > 0) body += rec[b + R_BODY_LEN]!;
          }
          n += k;
        }
      }
      return `${n} commands, ${body} body bytes, code sum ${codes}`;
    },
  };
}

/** Commands per scanner call in the PUB threshold sweep. */
export function scanLineCounts(quick: boolean): number[] {
  return quick ? [1, 4, 16, 32, 64, 128] : [1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128];
}

/** Messages of the one MPUB per scanner call in the MPUB threshold sweep. */
export function scanMpubCounts(quick: boolean): number[] {
  return quick ? [4, 16, 64, 256, 1024] : [4, 8, 16, 32, 64, 128, 192, 256, 384, 512, 1024];
}

/**
 * One scanner call over `bytes` (whole commands), raw: the addon's scan() without the
 * wrapper's routing, against the TypeScript scanner.
 */
function rawScanSubject(bytes: Buffer, commands: number, units: number, unitKey: string, impl: Parameters<MicroCase['make']>[0]): Subject {
  const records = new Int32Array(Math.max(commands, 1) * RECORD_STRIDE);
  const state = new Int32Array(STATE_SLOTS);
  const end = bytes.length;
  const scanner = impl.addon !== null ? new NativeFrameScanner(impl.addon, LIMITS) : impl.backend.createFrameScanner(LIMITS);
  const op = (): void => {
    if (scanner.scan(bytes, 0, end, records, state) !== commands) throw new Error('scan returned an unexpected count');
  };
  return {
    op,
    units: () => ({ [unitKey]: units }),
    check: () => {
      records.fill(0);
      const n = scanner.scan(bytes, 0, end, records, state);
      return `${n} records ${Array.from(records).join(',')} state ${Array.from(state).join(',')}`;
    },
  };
}

/** `n` PUBs of `size`-byte bodies laid end to end. */
function pubBytes(size: number, n: number): Buffer {
  const one = pubStream(size).bytes.subarray(0, TOPIC_LINE_PUB.length + 4 + size);
  return Buffer.concat(Array.from({ length: n }, () => one));
}

/** One MPUB of `count` messages of `size` bytes. */
function mpubBytes(size: number, count: number): Buffer {
  const bodyLen = 4 + count * (4 + size);
  const out = Buffer.allocUnsafe(TOPIC_LINE_MPUB.length + 4 + bodyLen);
  let p = TOPIC_LINE_MPUB.copy(out, 0);
  p = out.writeInt32BE(bodyLen, p);
  p = out.writeInt32BE(count, p);
  const body = patterned(size, 5);
  for (let i = 0; i < count; i++) {
    p = out.writeInt32BE(size, p);
    p += body.copy(out, p);
  }
  return out;
}

/** Sizes the scanner sweeps run at (a PUB line costs the same whatever its body size; 64 KiB adds nothing). */
const SWEEP_SIZES = [16, 200, 4096];

/** The FrameParser cases: FIN lines, PUB and MPUB at every size, and the scanner threshold sweeps. */
export function frameParserCases(quick = false): MicroCase[] {
  const cases: MicroCase[] = [];
  let fin: Stream | null = null;
  cases.push({
    id: 'parse/FIN',
    group: 'FrameParser',
    name: 'FIN lines',
    size: null,
    metrics: [{ key: 'cmds', unit: 'cmds/s' }],
    make: (impl) => parserSubject((fin ??= finStream()), 'cmds', impl),
  });
  for (const size of SIZES) {
    cases.push({
      id: `parse/PUB/${size}`,
      group: 'FrameParser',
      name: 'PUB',
      size,
      metrics: [{ key: 'cmds', unit: 'cmds/s' }],
      make: (impl) => parserSubject(pubStream(size), 'cmds', impl),
    });
  }
  for (const size of SIZES) {
    cases.push({
      id: `parse/MPUB/${size}`,
      group: 'FrameParser',
      name: `MPUB x${mpubCount(size)}`,
      size,
      metrics: [{ key: 'msgs', unit: 'msgs/s' }],
      make: (impl) => parserSubject(mpubStream(size), 'msgs', impl),
    });
  }
  for (const size of [16, 200, 4096]) {
    cases.push({
      id: `parse/MPUB5M/${size}`,
      group: 'FrameParser',
      name: 'one 5 MiB MPUB',
      size,
      metrics: [{ key: 'msgs', unit: 'msgs/s' }],
      make: (impl) => parserSubject(bigMpubStream(size), 'msgs', impl),
    });
  }
  for (const size of SWEEP_SIZES) {
    for (const n of scanLineCounts(quick)) {
      cases.push({
        id: `scan/PUB/${size}/${n}`,
        group: 'FrameScanner.scan',
        name: `PUB N=${n}`,
        size,
        metrics: [{ key: 'cmds', unit: 'cmds/s' }],
        sweep: { kind: 'scanPub', n },
        make: (impl) => rawScanSubject(pubBytes(size, n), n, n, 'cmds', impl),
      });
    }
  }
  for (const size of SWEEP_SIZES) {
    for (const n of scanMpubCounts(quick)) {
      cases.push({
        id: `scan/MPUB/${size}/${n}`,
        group: 'FrameScanner.scan',
        name: `one MPUB x${n}`,
        size,
        metrics: [{ key: 'msgs', unit: 'msgs/s' }],
        sweep: { kind: 'scanMpub', n },
        make: (impl) => rawScanSubject(mpubBytes(size, n), 1, n, 'msgs', impl),
      });
    }
  }
  return cases;
}
