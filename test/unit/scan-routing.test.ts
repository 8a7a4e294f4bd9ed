// RoutedFrameScanner (src/native/addon.ts): which scanner each call goes to. Socket reads full of
// small commands, or MPUBs of many messages, cross into C++; reads of a few large PUBs and the
// rescan of one held command stay in TypeScript, where the micro bench measured them faster.
// The "addon" here is the TypeScript scanner behind the addon's bindScanner() and scan() signatures,
// counting the scan() calls, so the test runs with or without a compiler; what each path returns is covered by the
// differential parser test (native, alternating and routed runs against the twin).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { S_RESUME_AT, S_SCAN_END, S_SCAN_START } from '../../src/native/backend.js';
import { RoutedFrameScanner, type ScanHandle } from '../../src/native/addon.js';
import { TsFrameScanner } from '../../src/native/fallback/frame-scanner.js';
import { FrameParser } from '../../src/protocol/frame-parser.js';

const LIMITS = { maxMsgSize: 1024 * 1024, maxBodySize: 5 * 1024 * 1024 };
const CHUNK = 64 * 1024;

/** A scanner that stands in for the addon and counts the calls routed to it. */
function countingAddon(): ConstructorParameters<typeof RoutedFrameScanner>[0] & { calls: number } {
  const inner = new TsFrameScanner(LIMITS);
  const a = {
    calls: 0,
    bindScanner(rec: Int32Array, st: Int32Array): ScanHandle {
      return { rec, st } as unknown as ScanHandle;
    },
    scan(buf: Uint8Array, handle: ScanHandle): number {
      a.calls++;
      const { rec, st } = handle as unknown as { rec: Int32Array; st: Int32Array };
      // The range, as the addon takes it: from the bound state.
      return inner.scan(buf, st[S_SCAN_START]!, st[S_SCAN_END]!, rec, st);
    },
    splitMpub(buf: Uint8Array, start: number, len: number, _max: number, starts: Int32Array, lens: Int32Array): number {
      return inner.splitMpub(buf, start, len, starts, lens);
    },
  };
  return a;
}

function pub(size: number): Buffer {
  const line = Buffer.from('PUB t\n');
  const out = Buffer.alloc(line.length + 4 + size, 0x61);
  line.copy(out);
  out.writeInt32BE(size, line.length);
  return out;
}

function mpub(size: number, count: number): Buffer {
  const line = Buffer.from('MPUB t\n');
  const body = Buffer.alloc(4 + count * (4 + size), 0x62);
  body.writeInt32BE(count, 0);
  for (let i = 0, p = 4; i < count; i++, p += 4 + size) body.writeInt32BE(size, p);
  const size4 = Buffer.alloc(4);
  size4.writeInt32BE(body.length);
  return Buffer.concat([line, size4, body]);
}

/**
 * Parse `stream` in 64 KiB reads; returns [commands, scanner calls, calls the addon got, calls
 * with an MPUB resume hint (rescans of a held MPUB), those of them the addon got].
 */
function parse(stream: Buffer): [number, number, number, number, number] {
  const addon = countingAddon();
  const routed = new RoutedFrameScanner(addon, LIMITS);
  let calls = 0;
  let resumed = 0;
  let resumedNative = 0;
  const parser = new FrameParser({
    scan: (b, s, e, r, st) => {
      calls++;
      const hinted = st[S_RESUME_AT]! > 0;
      const before = addon.calls;
      const n = routed.scan(b, s, e, r, st);
      if (hinted) {
        resumed++;
        resumedNative += addon.calls - before;
      }
      return n;
    },
  }, 4096);
  let n = 0;
  for (let i = 0; i < stream.length; i += CHUNK) {
    parser.feed(stream.subarray(i, Math.min(stream.length, i + CHUNK)));
    for (let k = parser.next(); k > 0; k = parser.next()) n += k;
  }
  assert.not.ok(parser.isStopped, 'the stream parses');
  return [n, calls, addon.calls, resumed, resumedNative];
}

const repeat = (b: Buffer, n: number): Buffer => Buffer.concat(Array.from({ length: n }, () => b));

test('FIN lines and small PUBs: every socket read goes native', () => {
  const fins = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `FIN ${String(i).padStart(16, '0')}\n`).join(''));
  const [n, calls, native] = parse(fins);
  assert.is(n, 20_000);
  // Held partial lines are rescanned in TypeScript (one short line); the reads themselves go native.
  assert.ok(native >= Math.floor(fins.length / CHUNK), `native calls ${native} of ${calls}`);
  const [m, , nativePub] = parse(repeat(pub(200), 2000));
  assert.is(m, 2000);
  assert.ok(nativePub >= Math.floor((2000 * 214) / CHUNK), `small PUBs: ${nativePub} native calls`);
  // 26-byte commands: most reads end inside a line or a size field, whose rescans complete
  // nothing; they must not send the next read to TypeScript.
  const tiny = repeat(pub(16), 20_000);
  const [k, , nativeTiny] = parse(tiny);
  assert.is(k, 20_000);
  assert.ok(nativeTiny >= Math.floor(tiny.length / CHUNK), `16-byte PUBs: ${nativeTiny} native calls, ${Math.ceil(tiny.length / CHUNK)} reads`);
});

test('4 KiB PUBs: the reads (16 commands each) go native, and a PUB held across reads completes without another scan; 64 KiB PUBs stay in TypeScript', () => {
  const [n, calls, native] = parse(repeat(pub(4096), 200));
  assert.is(n, 200);
  const reads = Math.ceil((200 * 4106) / CHUNK);
  // Every full read; the last one is short (8 commands) and may stay in TypeScript.
  assert.ok(native === reads || native === reads - 1, `${native} of ${calls} calls native, ${reads} reads`);
  assert.is(calls, reads, 'one scan a read: the held PUBs were completed without one');
  const [m, calls2, native2] = parse(repeat(pub(65536), 40));
  assert.is(m, 40);
  assert.ok(native2 <= 1, `${native2} of ${calls2} calls native (at most the first, before anything is known)`);
});

test('MPUBs of many small messages go native; MPUBs of a few large messages stay in TypeScript', () => {
  const stream = repeat(mpub(16, 200), 100);
  const [n, calls, native] = parse(stream);
  assert.is(n, 100);
  // Every read (16 MPUBs of 200) goes native; the rescan of the MPUB held across a read walks
  // only its messages after the resume point, sometimes fewer than the native threshold.
  const reads = Math.ceil(stream.length / CHUNK);
  assert.ok(native >= reads && native <= calls, `${native} of ${calls} calls native, ${reads} reads`);
  const [m, calls2, native2] = parse(repeat(mpub(65536, 8), 10));
  assert.is(m, 10);
  assert.ok(native2 <= 1, `${native2} of ${calls2} calls native`);
});

test('an MPUB held across reads is routed by the messages each read walks (from the resume point), not by all it holds', () => {
  // 200 x 16 KiB: each 64 KiB read adds ~4 messages to the held MPUB; the walk resumes where the
  // last one stopped, so a read's scan is ~4 messages of work, below the native threshold (had
  // the scan been weighed by all the MPUB holds, 200 messages, it would go native). (The scan of
  // a read where one MPUB ends and the next starts may go either way: ~3 messages and a line; so
  // may the first of all, before anything is known.)
  const [n, calls, native, resumed, resumedNative] = parse(repeat(mpub(16384, 200), 3));
  assert.is(n, 3);
  assert.ok(resumed > 30, `${resumed} of ${calls} calls resumed: the MPUBs were walked read by read`);
  assert.ok(resumedNative <= 2, `${resumedNative} of ${resumed} resumed scans native (at most where the next MPUB starts)`);
  assert.ok(native <= 4, `${native} of ${calls} calls native (at most the scan where each MPUB starts)`);
  // 200 x 200 B (40 KiB each): a rescan walks a few hundred messages and goes native.
  const [m, calls2, native2] = parse(repeat(mpub(200, 200), 20));
  assert.is(m, 20);
  assert.is(native2, calls2, 'every call native');
});

test('a switch of load moves the route: large PUBs, then a FIN flood, then large PUBs again', () => {
  const fins = Buffer.from(Array.from({ length: 10_000 }, (_, i) => `FIN ${String(i).padStart(16, '0')}\n`).join(''));
  const stream = Buffer.concat([repeat(pub(8192), 40), fins, repeat(pub(8192), 40)]);
  const [n, calls, native] = parse(stream);
  assert.is(n, 10_080);
  assert.ok(native >= 3 && native < calls, `${native} of ${calls} calls native`);
});

test.run();
