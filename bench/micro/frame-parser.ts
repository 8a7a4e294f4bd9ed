/**
 * FrameParser over each FrameScanner: a stream of V2 commands cut into 64 KiB socket chunks, fed
 * one feed() per chunk and drained with next(), whose record capacity holds a whole chunk's
 * commands so that each chunk is one scanner call (protocol-v2 uses the default 512, i.e. up to
 * 7 calls for a chunk of FIN lines; the per-call cost is amortised either way). Commands that straddle a chunk go through the parser's carry path, as they do on a real
 * socket. Reported as commands per second (messages per second for MPUB).
 */
import { RECORD_STRIDE, R_BODY_LEN, R_CODE, R_STATUS } from '../../src/native/backend.js';
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
  const bodyLen = 4 + count * (4 + size);
  const one = Buffer.allocUnsafe(TOPIC_LINE_MPUB.length + 4 + bodyLen);
  let p = TOPIC_LINE_MPUB.copy(one, 0);
  p = one.writeInt32BE(bodyLen, p);
  p = one.writeInt32BE(count, p);
  const body = patterned(size, 5);
  for (let i = 0; i < count; i++) {
    p = one.writeInt32BE(size, p);
    p += body.copy(one, p);
  }
  const n = Math.max(2, Math.ceil(MIN_STREAM_BYTES / one.length));
  return { bytes: Buffer.concat(Array.from({ length: n }, () => one)), commands: n, messages: n * count };
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

/** The FrameParser cases: FIN lines, PUB and MPUB at every size. */
export function frameParserCases(): MicroCase[] {
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
  return cases;
}
