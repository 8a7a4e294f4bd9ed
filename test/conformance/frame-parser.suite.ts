// Conformance suite for the read path: a FrameParser over a backend's FrameScanner must turn
// any split of the same byte stream into the same commands. Mounted once per backend.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Cmd,
  RECORD_STRIDE,
  R_BODY_LEN,
  R_BODY_START,
  R_CODE,
  R_LINE_END,
  R_LINE_START,
  R_SIZE,
  R_SRC,
  R_STATUS,
  STAGE_MPUB_MSG_BODY,
  STAGE_MPUB_MSG_SIZE,
  STATE_SLOTS,
  S_RESUME_INDEX,
  S_WALKED,
  ScanStatus,
  type Backend,
} from '../../src/native/backend.js';
import { FrameParser, PARTS_ACC_MAX, PARTS_MIN_BODY, PARTS_MIN_PIECE, SRC_CARRY, SRC_CHUNK, SRC_PARTS, type PartsPolicy } from '../../src/protocol/frame-parser.js';
import { prng } from '../helpers/prng.js';
import { mpubBody } from '../helpers/wire.js';

/** One parsed command, decoded for comparison. */
export interface ParsedCommand {
  code: number;
  status: number;
  line: string;
  body: string | null;
  size: number;
}

const LIMITS = { maxMsgSize: 1024, maxBodySize: 4096 };

/** Feed `chunks` through a parser; returns every command record decoded. */
export function parseAll(backend: Backend, chunks: Uint8Array[], capacity = 512, limits = LIMITS, parts?: PartsPolicy): { cmds: ParsedCommand[]; parser: FrameParser } {
  const parser = new FrameParser(backend.createFrameScanner(limits), capacity, parts);
  const cmds: ParsedCommand[] = [];
  for (const chunk of chunks) {
    parser.feed(chunk);
    let n: number;
    while ((n = parser.next()) > 0) {
      const r = parser.records;
      for (let i = 0; i < n; i++) {
        const b = i * RECORD_STRIDE;
        const src = Buffer.from(parser.source(r[b + R_SRC]!));
        const bs = r[b + R_BODY_START]!;
        cmds.push({
          code: r[b + R_CODE]!,
          status: r[b + R_STATUS]!,
          line: src.toString('latin1', r[b + R_LINE_START]!, r[b + R_LINE_END]!),
          body: bs < 0 ? null : Buffer.from(parser.body(r[b + R_SRC]!, bs, r[b + R_BODY_LEN]!)).toString('latin1'),
          size: r[b + R_SIZE]!,
        });
      }
    }
  }
  return { cmds, parser };
}

function sized(line: string, body: string): Buffer {
  const b = Buffer.from(body, 'latin1');
  const h = Buffer.alloc(4);
  h.writeInt32BE(b.length, 0);
  return Buffer.concat([Buffer.from(line + '\n', 'latin1'), h, b]);
}

/** A session exercising every command and body shape. */
export function sampleSession(): { bytes: Buffer; expected: ParsedCommand[] } {
  const parts: Buffer[] = [];
  const expected: ParsedCommand[] = [];
  const add = (line: string, code: Cmd, body?: string, cr = false): void => {
    const wireLine = cr ? line + '\r' : line;
    parts.push(body === undefined ? Buffer.from(wireLine + '\n', 'latin1') : sized(wireLine, body));
    expected.push({ code, status: ScanStatus.COMPLETE, line, body: body ?? null, size: body === undefined ? -1 : Buffer.byteLength(body, 'latin1') });
  };
  add('IDENTIFY', Cmd.IDENTIFY, '{"client_id":"x","feature_negotiation":true}');
  add('SUB topic channel', Cmd.SUB);
  add('RDY 10', Cmd.RDY);
  add('PUB topic', Cmd.PUB, 'hello world');
  add('MPUB topic', Cmd.MPUB, '\x00\x00\x00\x02\x00\x00\x00\x01a\x00\x00\x00\x02bc');
  add('DPUB topic 1000', Cmd.DPUB, 'later');
  add('FIN 0123456789abcdef', Cmd.FIN, undefined, true);
  add('REQ 0123456789abcdef 100', Cmd.REQ);
  add('TOUCH 0123456789abcdef', Cmd.TOUCH);
  add('NOP', Cmd.NOP);
  add('CLS', Cmd.CLS);
  add('AUTH', Cmd.AUTH, 'secret');
  add('', Cmd.UNKNOWN);
  add('WHAT is this', Cmd.UNKNOWN);
  add('PUBX t', Cmd.UNKNOWN);
  add('pub t', Cmd.UNKNOWN);
  add('PUB t', Cmd.PUB, 'x\ny\n');
  add('DPUB t 5', Cmd.DPUB, 'a line ending in CRLF', true);
  return { bytes: Buffer.concat(parts), expected };
}

/** Feed `chunks` to `parser` and call `visit` with each record (its first slot in parser.records), as they come. */
function eachRecord(parser: FrameParser, chunks: Uint8Array[], visit: (rec: Int32Array, b: number) => void): void {
  for (const c of chunks) {
    parser.feed(c);
    for (let n = parser.next(); n > 0; n = parser.next()) {
      for (let i = 0; i < n; i++) visit(parser.records, i * RECORD_STRIDE);
    }
  }
}

/** Split buf at the given cut points. */
function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out.filter((b) => b.length > 0);
}

/** A deterministic PRNG for reproducible random splits. */
export const rng = prng;

/** The suite, for one backend. */
export function frameParserSuite(name: string, backend: Backend): void {
  const t = suite(`FrameParser (${name})`);

  t('a whole session in one chunk', () => {
    const { bytes, expected } = sampleSession();
    assert.equal(parseAll(backend, [bytes]).cmds, expected);
  });

  t('the same session one byte at a time', () => {
    const { bytes, expected } = sampleSession();
    const chunks = [...bytes].map((b) => Uint8Array.of(b));
    const { cmds, parser } = parseAll(backend, chunks);
    assert.equal(cmds, expected);
    assert.is(parser.pendingStage, 0);
  });

  t('every two-way split of the session', () => {
    const { bytes, expected } = sampleSession();
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.equal(parseAll(backend, splitAt(bytes, [cut])).cmds, expected, `cut at ${cut}`);
    }
  });

  t('500 random splits, and a small record capacity', () => {
    const { bytes, expected } = sampleSession();
    const r = rng(42);
    for (let i = 0; i < 500; i++) {
      const cuts = Array.from({ length: 1 + Math.floor(r() * 12) }, () => 1 + Math.floor(r() * (bytes.length - 1)));
      assert.equal(parseAll(backend, splitAt(bytes, cuts), 1 + (i % 5)).cmds, expected, `split ${cuts}`);
    }
  });

  t('an MPUB arriving in many small reads: each rescan resumes where the last one stopped', () => {
    const count = 2000;
    const limits = { maxMsgSize: 1024, maxBodySize: 64 * 1024 };
    const sizedBody = mpubBody(Array.from({ length: count }, (_, i) => `m${String(i).padStart(9, '0')}`));
    const bytes = Buffer.concat([Buffer.from('MPUB t\n', 'latin1'), sizedBody]);
    // The backend's scanner, noting the resume index each scan is handed.
    const resumes: number[] = [];
    const spying: Backend = {
      ...backend,
      createFrameScanner: (l) => {
        const scanner = backend.createFrameScanner(l);
        return {
          scan(buf, start, end, records, state) {
            resumes.push(state[S_RESUME_INDEX]!);
            return scanner.scan(buf, start, end, records, state);
          },
          splitMpub: (...args) => scanner.splitMpub(...args),
        };
      },
    };
    const reads = Array.from({ length: Math.ceil(bytes.length / 100) }, (_, k) => bytes.subarray(100 * k, 100 * k + 100));
    const body = sizedBody.subarray(4);
    assert.equal(parseAll(spying, reads, 512, limits).cmds, [
      { code: Cmd.MPUB, status: ScanStatus.COMPLETE, line: 'MPUB t', body: body.toString('latin1'), size: body.length },
    ]);
    // 100-byte reads hold about 7 messages of 14 bytes: every rescan starts a few messages on.
    const hinted = resumes.filter((x) => x > 0);
    assert.ok(hinted.length > 250, `rescans that resumed: ${hinted.length} of ${resumes.length}`);
    for (let i = 1; i < hinted.length; i++) assert.ok(hinted[i]! > hinted[i - 1]!, `resume index went from ${hinted[i - 1]} to ${hinted[i]}`);
    assert.ok(hinted[hinted.length - 1]! > count - 10);
  });

  t('an MPUB of equal-size messages (the walk\'s fast path): whole, cut at every byte of its last messages, and past --max-body-size', () => {
    const msgs = Array.from({ length: 200 }, (_, i) => `m${String(i).padStart(12, '0')}`); // 13 bytes each
    const sizedBody = mpubBody(msgs);
    const head = Buffer.from('MPUB t\n', 'latin1');
    const bytes = Buffer.concat([head, sizedBody]);
    const body = sizedBody.subarray(4).toString('latin1');
    const whole = [{ code: Cmd.MPUB, status: ScanStatus.COMPLETE, line: 'MPUB t', body, size: body.length }];
    assert.equal(parseAll(backend, [bytes]).cmds, whole);
    const wholeState = new Int32Array(STATE_SLOTS);
    backend.createFrameScanner(LIMITS).scan(bytes, 0, bytes.length, new Int32Array(RECORD_STRIDE), wholeState);
    assert.is(wholeState[S_WALKED], 200, 'messages walked');
    // Message k's size field starts at first + 17k; a cut inside message k leaves it pending.
    const first = head.length + 4 + 4;
    for (let cut = bytes.length - 3 * 17 - 2; cut < bytes.length; cut++) {
      const parser = new FrameParser(backend.createFrameScanner(LIMITS));
      parser.feed(bytes.subarray(0, cut));
      assert.is(parser.next(), 0, `cut at ${cut}`);
      const k = Math.floor((cut - first) / 17);
      const inSize = cut - (first + 17 * k) < 4;
      assert.equal([parser.pendingStage, parser.pendingIndex], [inSize ? STAGE_MPUB_MSG_SIZE : STAGE_MPUB_MSG_BODY, k], `cut at ${cut}`);
      // What has come of the field it awaits: of message k's size field, or of its 13 bytes.
      assert.is(parser.pendingFieldBytes, inSize ? cut - (first + 17 * k) : cut - (first + 17 * k) - 4, `field bytes at ${cut}`);
      // The scan reports the messages it walked: those before the pending one.
      const st = new Int32Array(STATE_SLOTS);
      backend.createFrameScanner(LIMITS).scan(bytes, 0, cut, new Int32Array(RECORD_STRIDE), st);
      assert.is(st[S_WALKED], k, `messages walked before the cut at ${cut}`);
      assert.equal(parseAll(backend, [bytes.subarray(0, cut), bytes.subarray(cut)]).cmds, whole, `cut at ${cut}`);
    }
    // 300 such messages need 4 + 300 x 17 bytes; body_size claims 4096, the limit. The walk stops
    // at message 240, whose 13 bytes would end at 4101.
    const big = mpubBody(Array.from({ length: 300 }, (_, i) => `m${String(i).padStart(12, '0')}`));
    big.writeInt32BE(LIMITS.maxBodySize, 0);
    const records = new Int32Array(4 * RECORD_STRIDE);
    const state = new Int32Array(STATE_SLOTS);
    const stream = Buffer.concat([head, big]);
    assert.is(backend.createFrameScanner(LIMITS).scan(stream, 0, stream.length, records, state), 1);
    assert.equal([records[R_CODE], records[R_STATUS], records[R_BODY_LEN], records[R_SIZE]], [Cmd.MPUB, ScanStatus.TOO_BIG, 4101, LIMITS.maxBodySize]);
    assert.is(state[S_WALKED], 0, 'an MPUB that stops the scan is not counted as walked');
  });

  t('many commands per call: 10,000 FINs in one chunk', () => {
    const line = 'FIN 0123456789abcdef\n';
    const { cmds } = parseAll(backend, [Buffer.from(line.repeat(10000))]);
    assert.is(cmds.length, 10000);
    assert.ok(cmds.every((c) => c.code === Cmd.FIN && c.line === 'FIN 0123456789abcdef'));
  });

  t('declared sizes are checked before the body is needed', () => {
    for (const [line, size, code] of [
      ['PUB t', 1025, Cmd.PUB],
      ['DPUB t 5', 2 ** 31 - 1, Cmd.DPUB],
      ['MPUB t', 4097, Cmd.MPUB],
      ['IDENTIFY', 4097, Cmd.IDENTIFY],
      ['AUTH', 0, Cmd.AUTH],
      ['PUB t', -5, Cmd.PUB],
    ] as const) {
      const h = Buffer.alloc(4);
      h.writeInt32BE(size, 0);
      const { cmds, parser } = parseAll(backend, [Buffer.concat([Buffer.from(`NOP\n${line}\n`), h, Buffer.from('trailing bytes never parsed')])]);
      assert.equal(cmds.map((c) => [c.code, c.status, c.size]), [[Cmd.NOP, 0, -1], [code, ScanStatus.BAD_SIZE, size]]);
      assert.ok(parser.isStopped);
    }
  });

  t('a size error split across chunks is found as soon as the 4 size bytes arrive', () => {
    const h = Buffer.alloc(4);
    h.writeInt32BE(1 << 30, 0);
    const bytes = Buffer.concat([Buffer.from('PUB t\n'), h]);
    for (let cut = 1; cut < bytes.length; cut++) {
      const { cmds } = parseAll(backend, splitAt(bytes, [cut]));
      assert.equal(cmds.map((c) => [c.code, c.status, c.size]), [[Cmd.PUB, ScanStatus.BAD_SIZE, 1 << 30]]);
    }
  });

  t('a line longer than 16 KiB stops the parser; 16383 chars + newline do not', () => {
    const ok = Buffer.from('X'.repeat(16383) + '\n');
    assert.equal(parseAll(backend, [ok]).cmds.map((c) => c.status), [ScanStatus.COMPLETE]);
    const bad = Buffer.from('X'.repeat(16384) + '\n');
    assert.equal(parseAll(backend, [bad]).cmds.map((c) => c.status), [ScanStatus.LINE_TOO_LONG]);
    const chunks = splitAt(Buffer.from('X'.repeat(40000)), [1000, 17000, 30000]);
    assert.equal(parseAll(backend, chunks).cmds.map((c) => c.status), [ScanStatus.LINE_TOO_LONG]);
  });

  t('a pending body command reports its stage, its line and what has come of the field it awaits', () => {
    const parser = new FrameParser(backend.createFrameScanner(LIMITS));
    parser.feed(Buffer.from('PUB topic\n'));
    assert.is(parser.next(), 0);
    assert.equal([parser.pendingStage, parser.pendingFieldBytes], [2, 0]);
    parser.feed(Buffer.from('\x00\x00'));
    assert.is(parser.next(), 0);
    assert.is(parser.pendingStage, 2);
    assert.is(parser.pendingFieldBytes, 2);
    assert.is(parser.pendingCode, Cmd.PUB);
    assert.is(Buffer.from(parser.pendingLineSource).toString('latin1', parser.pendingLineStart, parser.pendingLineEnd), 'PUB topic');
    parser.feed(Buffer.from('\x00\x05'));
    assert.is(parser.next(), 0);
    assert.equal([parser.pendingStage, parser.pendingFieldBytes], [3, 0]);
    parser.feed(Buffer.from('ab'));
    assert.is(parser.next(), 0);
    assert.is(parser.pendingStage, 3);
    assert.is(parser.pendingFieldBytes, 2);
    parser.feed(Buffer.from('cdeNOP\n'));
    // The completed PUB, then the NOP after it, in one next().
    assert.is(parser.next(), 2);
    assert.is(parser.pendingStage, 0);
    assert.equal([parser.records[R_SRC], parser.records[RECORD_STRIDE + R_SRC], parser.records[RECORD_STRIDE + R_CODE]], [SRC_CARRY, SRC_CHUNK, Cmd.NOP]);
    assert.is(parser.next(), 0);
  });

  t('records of commands that span reads stay valid until the next feed(), while later commands are held in recycled buffers', () => {
    // PUBs of 300-900 bytes in reads of 500-1100 bytes: nearly every read completes one held
    // command and holds the next, so the parser keeps recycling its buffers.
    const r = prng(7);
    const bodies: string[] = [];
    const parts: Buffer[] = [];
    for (let i = 0; i < 120; i++) {
      const body = String.fromCharCode(97 + (i % 26)).repeat(300 + Math.floor(r() * 600)) + `#${i}`;
      bodies.push(body);
      parts.push(sized(`PUB t${i}`, body));
    }
    const stream = Buffer.concat(parts);
    const parser = new FrameParser(backend.createFrameScanner(LIMITS), 4);
    const seen: string[] = [];
    for (let at = 0; at < stream.length;) {
      const end = Math.min(stream.length, at + 500 + Math.floor(r() * 600));
      parser.feed(stream.subarray(at, end));
      at = end;
      // Keep every record of this read (copied out of `records`, not out of the buffers), and
      // read the bodies only once next() is drained: after the read's last command was held.
      const held: number[][] = [];
      for (let n = parser.next(); n > 0; n = parser.next()) {
        for (let i = 0; i < n; i++) held.push(Array.from(parser.records.subarray(i * RECORD_STRIDE, (i + 1) * RECORD_STRIDE)));
      }
      for (const rec of held) {
        const src = parser.source(rec[R_SRC]!);
        seen.push(Buffer.from(src.subarray(rec[R_BODY_START]!, rec[R_BODY_START]! + rec[R_BODY_LEN]!)).toString('latin1'));
      }
    }
    assert.is(seen.length, bodies.length);
    for (let i = 0; i < bodies.length; i++) assert.is(seen[i], bodies[i], `body of PUB ${i}`);
  });

  t('PUB and DPUB bodies held in parts across reads parse as copied ones, at every split and piece threshold', () => {
    const { bytes, expected } = sampleSession();
    const policies: PartsPolicy[] = [
      { minBody: 1, minPiece: 1 },
      { minBody: 1, minPiece: 3 },
      { minBody: 5, minPiece: 1_000_000 },
    ];
    const r = rng(7);
    for (const p of policies) {
      const tag = `minBody ${p.minBody}, minPiece ${p.minPiece}`;
      assert.equal(parseAll(backend, [...bytes].map((b) => Uint8Array.of(b)), 512, LIMITS, p).cmds, expected, `${tag}, one byte at a time`);
      for (let cut = 1; cut < bytes.length; cut++) assert.equal(parseAll(backend, splitAt(bytes, [cut]), 512, LIMITS, p).cmds, expected, `${tag}, cut at ${cut}`);
      for (let i = 0; i < 200; i++) {
        const cuts = Array.from({ length: 1 + Math.floor(r() * 20) }, () => 1 + Math.floor(r() * (bytes.length - 1)));
        assert.equal(parseAll(backend, splitAt(bytes, cuts), 1 + (i % 3), LIMITS, p).cmds, expected, `${tag}, split ${cuts}`);
      }
    }
  });

  t('a large PUB body that spans reads is held as ranges of them, in few parts however the stream is cut', () => {
    const limits = { maxMsgSize: 1024 * 1024, maxBodySize: 2 * 1024 * 1024 };
    const body = Buffer.alloc(100_000);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >>> 8)) & 0xff;
    const size = Buffer.alloc(4);
    size.writeInt32BE(body.length, 0);
    const bytes = Buffer.concat([Buffer.from('PUB big\n', 'latin1'), size, body, Buffer.from('NOP\n', 'latin1')]);
    const check = (chunks: Uint8Array[], maxParts: number, label: string): { bufs: Uint8Array[]; from: number[]; to: number[] } => {
      const parser = new FrameParser(backend.createFrameScanner(limits));
      let got: { bufs: Uint8Array[]; from: number[]; to: number[] } | null = null;
      let cmds = 0;
      eachRecord(parser, chunks, (rec, b) => {
        cmds++;
        if (rec[b + R_CODE] !== Cmd.PUB) return;
        assert.is(rec[b + R_SRC], SRC_PARTS, `${label}: source`);
        const line = Buffer.from(parser.source(SRC_PARTS)).toString('latin1', rec[b + R_LINE_START]!, rec[b + R_LINE_END]!);
        assert.is(line, 'PUB big', `${label}: line`);
        assert.is(rec[b + R_BODY_LEN], body.length);
        const parts = parser.bodyParts;
        assert.is(parts.length, body.length, `${label}: length`);
        const joined = Buffer.alloc(body.length + 3);
        assert.is(parts.copyTo(joined, 3), body.length + 3);
        assert.ok(joined.subarray(3).equals(body), `${label}: copyTo`);
        assert.throws(() => parts.copyTo(joined, 4), RangeError, `${label}: copyTo past the end`);
        assert.ok(Buffer.from(parser.body(SRC_PARTS, rec[b + R_BODY_START]!, body.length)).equals(body), `${label}: body()`);
        assert.ok(parts.count <= maxParts, `${label}: ${parts.count} parts, at most ${maxParts}`);
        const n = parts.count;
        got = { bufs: parts.bufs.slice(0, n), from: parts.from.slice(0, n), to: parts.to.slice(0, n) };
      });
      assert.is(cmds, 2, `${label}: commands`);
      assert.ok(got !== null);
      return got!;
    };
    // 16 KiB reads: the body is ranges of them, not copies.
    const reads = Array.from({ length: Math.ceil(bytes.length / 16384) }, (_, k) => bytes.subarray(16384 * k, 16384 * (k + 1)));
    const parts = check(reads, reads.length, '16 KiB reads');
    for (const p of parts.bufs) assert.ok((reads as Uint8Array[]).includes(p), 'a part is a range of a read');
    // The next feed() lets go of the reads the finished body held.
    const keep = new FrameParser(backend.createFrameScanner(limits));
    for (const r of reads) {
      keep.feed(r);
      while (keep.next() > 0);
    }
    assert.ok(keep.bodyParts.count > 0);
    keep.feed(Buffer.from('NOP\n'));
    assert.is(keep.bodyParts.count, 0);
    assert.not.ok(keep.bodyParts.bufs.some((b) => (reads as Uint8Array[]).includes(b)), 'no read is held after the next feed()');
    // One byte at a time: every piece is copied, into one owned buffer per PARTS_ACC_MAX bytes.
    check([...bytes].map((b) => Buffer.of(b)), Math.ceil(body.length / PARTS_ACC_MAX), 'one byte at a time');
    // Reads alternating 1 and 3000 bytes: views of the large ones, the small ones copied between.
    const mixed: Buffer[] = [];
    for (let at = 0, k = 0; at < bytes.length; k++) {
      const n = k % 2 === 0 ? 1 : 3000;
      mixed.push(bytes.subarray(at, at + n));
      at += n;
    }
    const m = check(mixed, 2 * Math.ceil(bytes.length / 3001) + 2, 'mixed reads');
    assert.ok(m.bufs.some((p, i) => (mixed as Uint8Array[]).includes(p) && m.to[i]! - m.from[i]! === 3000), 'a large read is held, not copied');
    assert.ok(m.bufs.some((p) => !(mixed as Uint8Array[]).includes(p)), 'the 1-byte reads are copied');
    // Below PARTS_MIN_BODY a body is copied, as before.
    const small = Buffer.concat([Buffer.from('PUB s\n', 'latin1'), Buffer.from([0, 0, 0, 200]), body.subarray(0, 200)]);
    const parser = new FrameParser(backend.createFrameScanner(limits));
    parser.feed(small.subarray(0, 100));
    assert.is(parser.next(), 0);
    parser.feed(small.subarray(100));
    assert.is(parser.next(), 1);
    assert.is(parser.records[R_SRC], SRC_CARRY);
    assert.ok(PARTS_MIN_BODY > 200 && PARTS_MIN_PIECE <= PARTS_MIN_BODY);
  });

  t('an MPUB that spans reads is held as ranges of them and walked on read by read: one scan a read, its body as sent however it is cut', () => {
    const limits = { maxMsgSize: 1024 * 1024, maxBodySize: 2 * 1024 * 1024 };
    const r = prng(11);
    // 400 messages of 1-400 bytes (~80 KB), then a NOP.
    const bodies = Array.from({ length: 400 }, (_, i) => Buffer.from(Array.from({ length: 1 + Math.floor(r() * 400) }, (_, k) => (i * 7 + k) & 0xff)));
    const body = mpubBody(bodies);
    const bytes = Buffer.concat([Buffer.from('MPUB big\n', 'latin1'), body, Buffer.from('NOP\n', 'latin1')]);
    const mpubBodyBytes = body.subarray(4);
    const run = (chunks: Uint8Array[], label: string): { parts: number; scans: number; src: number } => {
      const inner = backend.createFrameScanner(limits);
      let scans = 0;
      const parser = new FrameParser({ scan: (b, s, e, rec, st) => (scans++, inner.scan(b, s, e, rec, st)) });
      const codes: number[] = [];
      let parts = 0;
      let src = -1;
      eachRecord(parser, chunks, (rec, b) => {
        codes.push(rec[b + R_CODE]!);
        assert.is(rec[b + R_STATUS], ScanStatus.COMPLETE, `${label}: status`);
        if (rec[b + R_CODE] !== Cmd.MPUB) return;
        src = rec[b + R_SRC]!;
        const line = Buffer.from(parser.source(src)).toString('latin1', rec[b + R_LINE_START]!, rec[b + R_LINE_END]!);
        assert.is(line, 'MPUB big', `${label}: line`);
        assert.is(rec[b + R_BODY_LEN], mpubBodyBytes.length, `${label}: body length`);
        assert.ok(Buffer.from(parser.body(src, rec[b + R_BODY_START]!, rec[b + R_BODY_LEN]!)).equals(mpubBodyBytes), `${label}: body`);
        if (src === SRC_PARTS) parts = parser.bodyParts.count;
      });
      assert.equal(codes, [Cmd.MPUB, Cmd.NOP], `${label}: commands`);
      return { parts, scans, src };
    };
    // 16 KiB reads: the body is ranges of them, one scanner call per read.
    const reads = Array.from({ length: Math.ceil(bytes.length / 16384) }, (_, k) => bytes.subarray(16384 * k, 16384 * (k + 1)));
    const big = run(reads, '16 KiB reads');
    assert.is(big.src, SRC_PARTS);
    assert.is(big.parts, reads.length);
    assert.is(big.scans, reads.length, 'one scan a read');
    // One byte at a time (every size field split every way), and random cuts.
    assert.is(run([...bytes].map((b) => Buffer.of(b)), 'one byte at a time').src, SRC_PARTS);
    for (let k = 0; k < 100; k++) {
      const cuts = Array.from({ length: 1 + Math.floor(r() * 40) }, () => 1 + Math.floor(r() * (bytes.length - 1)));
      run(splitAt(bytes, cuts), `split ${cuts}`);
    }
    // Below PARTS_MIN_BODY an MPUB is copied, as before.
    const small = Buffer.concat([Buffer.from('MPUB s\n', 'latin1'), mpubBody(['a', 'bc', 'def'])]);
    const parser = new FrameParser(backend.createFrameScanner(limits));
    parser.feed(small.subarray(0, 20));
    assert.is(parser.next(), 0);
    parser.feed(small.subarray(20));
    assert.is(parser.next(), 1);
    assert.is(parser.records[R_SRC], SRC_CARRY);
  });

  t('small pieces of held bodies go into owned buffers that are reused only once the body that used one died with a feed()', () => {
    const limits = { maxMsgSize: 1024 * 1024, maxBodySize: 2 * 1024 * 1024 };
    // 40 PUBs of 3000-byte bodies, each its own bytes, cut so that every read ends 100 bytes into
    // a body or begins 100 bytes before one ends: each read completes a held body and holds the
    // next, and both have a piece under PARTS_MIN_PIECE, copied into an owned buffer.
    const cmds: Buffer[] = [];
    const bodies: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const body = Buffer.alloc(3000);
      for (let k = 0; k < body.length; k++) body[k] = (i * 7 + k * 13 + (k >>> 5)) & 0xff;
      bodies.push(body);
      cmds.push(sized(`PUB t${i}`, body.toString('latin1')));
    }
    const bytes = Buffer.concat(cmds);
    const cuts: number[] = [];
    let at = 0;
    for (let i = 0; i < cmds.length; i++) {
      const head = cmds[i]!.length - 3000;
      cuts.push(i % 2 === 0 ? at + head + 100 : at + cmds[i]!.length - 100);
      at += cmds[i]!.length;
    }
    const chunks = splitAt(bytes, cuts);
    assert.ok(PARTS_MIN_PIECE > 100 && PARTS_MIN_BODY < 3000);
    const parser = new FrameParser(backend.createFrameScanner(limits));
    let seen = 0;
    /** Owned buffers (not reads) of each body, and the read whose feed() completed it. */
    const owners = new Map<Uint8Array, number[]>();
    chunks.forEach((chunk, k) => {
      parser.feed(chunk);
      for (let n = parser.next(); n > 0; n = parser.next()) {
        for (let i = 0; i < n; i++) {
          const b = i * RECORD_STRIDE;
          const rec = parser.records;
          assert.is(rec[b + R_CODE], Cmd.PUB);
          // Checked after the whole next(), which has also held the next body's first piece.
          const got = Buffer.from(parser.body(rec[b + R_SRC]!, rec[b + R_BODY_START]!, rec[b + R_BODY_LEN]!));
          assert.ok(got.equals(bodies[seen]!), `body ${seen}`);
          if (rec[b + R_SRC] === SRC_PARTS) {
            const parts = parser.bodyParts;
            for (let j = 0; j < parts.count; j++) {
              const buf = parts.bufs[j]!;
              if ((chunks as Uint8Array[]).includes(buf)) continue;
              const uses = owners.get(buf) ?? [];
              if (!uses.includes(k)) uses.push(k);
              owners.set(buf, uses);
            }
          }
          seen++;
        }
      }
    });
    assert.is(seen, 40);
    // Owned buffers are reused (a few serve all 40 bodies) ...
    const reused = [...owners.values()].filter((uses) => uses.length > 1).length;
    assert.ok(reused > 0 && owners.size < 10, `${owners.size} owned buffers, ${reused} reused`);
    // ... but never by two bodies completed by the same read (both of whose records were alive).
    for (const uses of owners.values()) assert.is(new Set(uses).size, uses.length);
  });

  t('splitMpub lists an MPUB body\'s messages by offset, at any count, and refuses what nsqd would (-1)', () => {
    const scanner = backend.createFrameScanner(LIMITS);
    // Sizes that vary, and sizes all alike (the walk's fast path).
    for (const [n, alike] of [[1, false], [2, false], [7, false], [31, false], [32, false], [33, false], [200, false], [2, true], [7, true], [200, true]] as const) {
      const sizes = Array.from({ length: n }, (_, i) => (alike ? 9 : 1 + ((i * 37) % LIMITS.maxMsgSize)));
      const body = Buffer.alloc(4 + sizes.reduce((a, b) => a + 4 + b, 0));
      body.writeInt32BE(n, 0);
      let p = 4;
      for (const size of sizes) {
        body.writeInt32BE(size, p);
        p += 4 + size;
      }
      const buf = Buffer.concat([Buffer.from('pre'), body]);
      const starts = new Int32Array(n);
      const lens = new Int32Array(n);
      assert.is(scanner.splitMpub(buf, 3, body.length, starts, lens), n, `${n} messages`);
      let at = 3 + 4;
      for (let i = 0; i < n; i++) {
        assert.is(starts[i], at + 4, `start of message ${i} of ${n}`);
        assert.is(lens[i], sizes[i], `length of message ${i} of ${n}`);
        at += 4 + sizes[i]!;
      }
      assert.is(scanner.splitMpub(buf, 3, body.length - 1, new Int32Array(n), new Int32Array(n)), -1, 'last message past the range');
      assert.is(scanner.splitMpub(buf, 3, body.length, new Int32Array(n - 1), new Int32Array(n)), -1, 'arrays shorter than the count');
      assert.is(scanner.splitMpub(buf, 4, body.length, new Int32Array(n), new Int32Array(n)), -1, 'range past the buffer');
    }
    const one = (count: number, size: number): number => {
      const b = Buffer.alloc(12);
      b.writeInt32BE(count, 0);
      b.writeInt32BE(size, 4);
      return scanner.splitMpub(b, 0, 8 + Math.max(0, Math.min(size, 4)), new Int32Array(2), new Int32Array(2));
    };
    assert.is(one(1, 4), 1);
    assert.is(one(0, 4), -1, 'count 0');
    assert.is(one(-1, 4), -1, 'negative count');
    assert.is(one(1, 0), -1, 'empty message');
    assert.is(one(1, -5), -1, 'negative size');
    assert.is(one(1, LIMITS.maxMsgSize + 1), -1, 'message past max-msg-size');
    assert.is(one(2, 4), -1, 'count larger than the messages');
  });

  t.run();
}
