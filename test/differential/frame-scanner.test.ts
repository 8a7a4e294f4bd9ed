// Differential: FrameScanner.scan of the raw C++ addon vs the TypeScript twin on random valid
// command streams and their mutations (bit flips, truncations, random bytes, huge/negative/limit
// sizes, lines near 16 KiB, MPUB body_size smaller or larger than its messages), random
// start/end inside a larger buffer, small record capacities: same count, every record slot and
// the whole state array. Seeds: DIFF_SEED (printed on failure), DIFF_SCALE scales the counts.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  Cmd,
  RECORD_STRIDE,
  R_CODE,
  R_LINE_END,
  R_LINE_START,
  R_STATUS,
  STATE_SLOTS,
  S_CONSUMED,
  S_SCAN_END,
  S_RESUME_AT,
  S_RESUME_BASE,
  S_RESUME_CHECK,
  S_RESUME_INDEX,
  ScanStatus,
  mpubResumeCheck,
  type ScanLimits,
} from '../../src/native/backend.js';
import { NativeFrameScanner, type ScanHandle } from '../../src/native/addon.js';
import { TsFrameScanner } from '../../src/native/fallback/frame-scanner.js';
import { rawAddon } from './asan-addon.js';
import { KINDS, LIMIT_PRESETS, Sink, assertAgree, diffScan, hexDump, scaled, type ScanCase } from './generators.js';

const addon = rawAddon();
const t = suite('differential: FrameScanner.scan (native vs typescript)');
let cases = 0;
t.after(() => {
  process.stdout.write(`\n${cases.toLocaleString('en-US')} scan cases compared\n`);
});

/** A hand-made case: the bytes scanned whole with each limits preset and each small capacity. */
function fixed(name: string, bytes: Uint8Array): void {
  for (const limits of LIMIT_PRESETS) {
    for (const capacity of [1, 2, 3, 512]) {
      for (const end of [bytes.length, bytes.length - 1, Math.floor(bytes.length / 2)]) {
        if (end < 0) continue;
        const c: ScanCase = {
          kind: 'scan', seed: 0, input: bytes, buf: bytes, start: 0, end, capacity, limits, fill: -7, resumeCut: -1,
          describe: () => `${name}: end ${end}, capacity ${capacity}, limits ${JSON.stringify(limits)}`,
        };
        cases++;
        const d = diffScan(addon!, c);
        if (d !== null) assert.unreachable(`${c.describe()}\n${d}\n${hexDump(bytes, 512)}`);
      }
    }
  }
}

function stream(build: (s: Sink) => void): Uint8Array {
  const s = new Sink();
  build(s);
  return s.result();
}

if (addon !== null) {
  t('50,000 random and mutated command streams', () => {
    assertAgree(addon, KINDS.scan, scaled(50_000));
    cases += scaled(50_000);
  });

  t('lines of 16383, 16384 and 16385 bytes, with and without \\r, whole and cut', () => {
    for (const total of [16382, 16383, 16384, 16385, 16386]) {
      for (const cr of [false, true]) {
        const line = stream((s) => {
          s.ascii('NOP ');
          for (let i = 4; i < total - (cr ? 2 : 1); i++) s.byte(0x78);
          s.ascii(cr ? '\r\n' : '\n');
          s.ascii('NOP\n');
        });
        fixed(`line of ${total} bytes${cr ? ' with \\r' : ''}`, line);
      }
    }
    fixed('16 KiB without a newline', new Uint8Array(16384).fill(0x41));
    fixed('16 KiB - 1 without a newline', new Uint8Array(16383).fill(0x41));
  });

  t('declared sizes at 0, ±1, the limits, INT32_MIN and INT32_MAX for every body command', () => {
    for (const word of ['PUB t', 'DPUB t 100', 'MPUB t', 'IDENTIFY', 'AUTH']) {
      for (const v of [0, 1, -1, 3, 4, 5, 9, 15, 16, 17, 40, 41, 255, 256, 257, 1024, 1025, 4096, 4097, 0x7fffffff, -0x80000000]) {
        fixed(`${word} size ${v}`, stream((s) => {
          s.ascii(`${word}\n`);
          s.int32(v);
          for (let i = 0; i < Math.min(Math.max(v, 0), 300); i++) s.byte(i & 0xff);
        }));
      }
    }
  });

  t('runs of one repeated command (the repeat path): cut by capacity, by the end, by a near miss in line or size', () => {
    const pub = (s: Sink, line: string, size: number, fill: number): void => {
      s.ascii(line);
      s.int32(size);
      for (let i = 0; i < Math.min(size, 300); i++) s.byte((fill + i) & 0xff);
    };
    for (const line of ['PUB t\n', 'PUB t\r\n', 'DPUB t 100\n', 'IDENTIFY\n', 'PUB a_topic_name_longer_than_eight\n']) {
      for (const size of [1, 4, 100]) {
        for (const run of [2, 9]) {
          // Whole runs; each cut by `fixed` at its end, end - 1 and half way, at capacities 1, 2, 3.
          fixed(`${run} x ${JSON.stringify(line)} size ${size}`, stream((s) => {
            for (let i = 0; i < run; i++) pub(s, line, size, i);
            s.ascii('NOP\n');
          }));
          // The last one differs in one byte of its line, or in its size (larger, smaller, past the limit).
          for (const at of new Set([0, 3, line.length - 2, line.length - 1])) {
            fixed(`${run} x ${JSON.stringify(line)} size ${size}, last differs at line byte ${at}`, stream((s) => {
              for (let i = 0; i < run - 1; i++) pub(s, line, size, i);
              const b = Buffer.from(line, 'latin1');
              b[at] = b[at]! ^ 0x01;
              s.ascii(b.toString('latin1'));
              s.int32(size);
              for (let i = 0; i < size; i++) s.byte(i);
            }));
          }
          for (const other of [size - 1, size + 1, 0, -1, 0x7fffffff]) {
            fixed(`${run} x ${JSON.stringify(line)} size ${size}, last of size ${other}`, stream((s) => {
              for (let i = 0; i < run - 1; i++) pub(s, line, size, i);
              pub(s, line, other, 0);
            }));
          }
        }
      }
    }
  });

  t('MPUB: counts and message sizes at the edges; body_size smaller and larger than its messages', () => {
    const limits: ScanLimits = LIMIT_PRESETS[0]!;
    const msgs = [1, 5, 1024, 3];
    const total = 4 + msgs.reduce((a, l) => a + 4 + l, 0);
    for (const declared of [1, total - 1, total, total + 1, 4096, 4097]) {
      for (const count of [0, -1, 1, 3, 4, 5, 818, 819, 0x7fffffff]) {
        fixed(`MPUB size ${declared} count ${count}`, stream((s) => {
          s.ascii('MPUB t\r\n');
          s.int32(declared);
          s.int32(count);
          for (const l of msgs) {
            s.int32(l);
            for (let i = 0; i < l; i++) s.byte(0x0a);
          }
          s.ascii('NOP\n');
        }));
      }
      for (const bad of [0, -1, 1025, 0x7fffffff]) {
        fixed(`MPUB message size ${bad}`, stream((s) => {
          s.ascii('MPUB t\n');
          s.int32(declared);
          s.int32(2);
          s.int32(1);
          s.byte(0x61);
          s.int32(bad);
          s.ascii('xyz');
        }));
      }
    }
    // Messages that run past max-body-size (TOO_BIG) at every message boundary.
    for (let n = 1; n <= 6; n++) {
      fixed(`MPUB ${n} x 1000-byte messages`, stream((s) => {
        s.ascii('MPUB t\n');
        s.int32(limits.maxBodySize);
        s.int32(n);
        for (let k = 0; k < n; k++) {
          s.int32(1000);
          for (let i = 0; i < 1000; i++) s.byte(k);
        }
      }));
    }
  });

  t('every start and end over a short session with capacity 1 and 2', () => {
    const bytes = stream((s) => {
      s.ascii('IDENTIFY\n');
      s.int32(2);
      s.ascii('{}');
      s.ascii('SUB t c\r\nRDY 1\nPUB t\n');
      s.int32(3);
      s.ascii('a\nb');
      s.ascii('MPUB t\n');
      s.int32(14);
      s.int32(2);
      s.int32(1);
      s.ascii('x');
      s.int32(1);
      s.ascii('y');
      s.ascii('FIN 0123456789abcdef\nNOP\n');
    });
    for (let start = 0; start <= bytes.length; start++) {
      for (let end = start; end <= bytes.length; end++) {
        for (const capacity of [1, 2]) {
          const c: ScanCase = {
            kind: 'scan', seed: 0, input: bytes, buf: bytes, start, end, capacity, limits: LIMIT_PRESETS[0]!, fill: 99, resumeCut: -1,
            describe: () => `session: start ${start}, end ${end}, capacity ${capacity}`,
          };
          cases++;
          const d = diffScan(addon, c);
          if (d !== null) assert.unreachable(`${c.describe()}\n${d}`);
        }
      }
    }
  });

  t('the state array is fully written on every return path', () => {
    // Sanity of the comparison itself: a record array sized exactly, the state pre-filled.
    const rec = new Int32Array(RECORD_STRIDE);
    const st = new Int32Array(STATE_SLOTS).fill(12345);
    // (Not the S_RESUME_BASE inputs: junk there is a walk no scan can resume, and returns -1.)
    st.fill(0, S_RESUME_BASE, STATE_SLOTS);
    assert.is(new NativeFrameScanner(addon, { maxMsgSize: 1024, maxBodySize: 4096 }).scan(new TextEncoder().encode('NOP\nNOP\n'), 0, 8, rec, st), 1);
    assert.ok(!st.includes(12345));
  });
  t('a resume hint is honoured only with its check word, for the MPUB at start', () => {
    // MPUB of 3 messages whose message 1 has size 0 (nsqd: E_BAD_MESSAGE); message 2 starts at 28.
    const s = new Sink();
    s.ascii('MPUB t\n');
    s.int32(4 + 3 * 5);
    s.int32(3);
    s.int32(1);
    s.ascii('a');
    s.int32(0);
    s.int32(1);
    s.ascii('b');
    const bytes = s.result();
    const limits = LIMIT_PRESETS[0]!;
    const ts = new TsFrameScanner(limits);
    const native = new NativeFrameScanner(addon, limits);
    const at = 7 + 4 + 4 + 5 + 4; // message 2's size field, from the command's start
    const size = 4 + 3 * 5;
    for (const [hint, check, honoured] of [
      [at, mpubResumeCheck(at, 2, size, 3), true],
      [at, mpubResumeCheck(at, 2, size, 3) ^ 1, false],
      [at, mpubResumeCheck(at, 2, size, 4), false],
      [bytes.length + 1, mpubResumeCheck(bytes.length + 1, 2, size, 3), false],
    ] as const) {
      for (const impl of ['native', 'typescript'] as const) {
        const rec = new Int32Array(4 * RECORD_STRIDE);
        const st = new Int32Array(STATE_SLOTS);
        st[S_RESUME_AT] = hint;
        st[S_RESUME_INDEX] = 2;
        st[S_RESUME_CHECK] = check;
        const n = (impl === 'native' ? native : ts).scan(bytes, 0, bytes.length, rec, st);
        assert.is(n, 1);
        assert.is(rec[R_STATUS], honoured ? ScanStatus.COMPLETE : ScanStatus.BAD_MSG_SIZE, `${impl}, hint ${hint} check ${check}`);
        assert.equal([st[S_RESUME_AT], st[S_RESUME_INDEX], st[S_RESUME_CHECK]], [0, 0, 0], 'the hint is consumed');
      }
    }
  });
  t('the native scanner binds again for other arrays, a resized or a detached one', () => {
    // The C++ side keeps the bound arrays' memory and lengths; each call must still see the
    // arrays it is given, so a stale binding would write into the wrong array or out of bounds.
    const limits = LIMIT_PRESETS[0]!;
    const native = new NativeFrameScanner(addon, limits);
    const bytes = new TextEncoder().encode('NOP\nRDY 1\nCLS\n');
    const recA = new Int32Array(3 * RECORD_STRIDE);
    const recB = new Int32Array(3 * RECORD_STRIDE);
    const st = new Int32Array(STATE_SLOTS);
    assert.is(native.scan(bytes, 0, bytes.length, recA, st), 3);
    assert.is(native.scan(bytes, 4, bytes.length, recB, st), 2, 'other records array');
    assert.equal([recB[R_CODE], recB[R_LINE_START], recA[R_LINE_START]], [Cmd.RDY, 4, 0], 'each call wrote its own array');
    // A length-tracking view over a resizable buffer: shrinking it must shrink the capacity.
    // (ES2024's resizable ArrayBuffer, in Node 20; the project's lib is ES2022.)
    const Resizable = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void };
    const growable = new Resizable(3 * RECORD_STRIDE * 4, { maxByteLength: 3 * RECORD_STRIDE * 4 });
    const recR = new Int32Array(growable);
    assert.is(native.scan(bytes, 0, bytes.length, recR, st), 3);
    growable.resize(RECORD_STRIDE * 4);
    assert.is(native.scan(bytes, 0, bytes.length, recR, st), 1, 'capacity follows the resize');
    growable.resize(0);
    assert.is(native.scan(bytes, 0, bytes.length, recR, st), -1, 'no room for a record');
    // Detached (its memory handed to another owner): the array reads as empty, nothing is written.
    const stD = new Int32Array(STATE_SLOTS);
    assert.is(native.scan(bytes, 0, bytes.length, recA, stD), 3);
    const moved = structuredClone(stD.buffer, { transfer: [stD.buffer] });
    assert.is(native.scan(bytes, 0, 4, recA, stD), -1, 'detached state array');
    assert.is(new Int32Array(moved)[S_CONSUMED], bytes.length, 'the moved memory was not written after the move');
  });
  t('a scanner handle holds its arrays for as long as it lives, and no longer', async () => {
    const limits = LIMIT_PRESETS[0]!;
    const bytes = new TextEncoder().encode('NOP\n');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // The native side keeps raw pointers into the arrays: while the handle lives, they must too,
    // though nothing in JS refers to them any more. (Made in a plain function, as below.)
    // (The state array stays reachable: the scan's range goes in it.)
    const state = new Int32Array(STATE_SLOTS);
    const [handle, weakRecords] = ((): [ScanHandle, WeakRef<Int32Array>] => {
      const records = new Int32Array(RECORD_STRIDE);
      return [addon.bindScanner(records, state, limits.maxMsgSize, limits.maxBodySize), new WeakRef(records)];
    })();
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    assert.ok(weakRecords.deref() !== undefined, 'records array collected while its handle lives');
    state[S_SCAN_END] = bytes.length;
    assert.is(addon.scan(bytes, handle), 1);
    assert.is(weakRecords.deref()![R_LINE_END], 3, 'the scan wrote into the held array');
    // Once the scanners are gone their arrays are collected (a reference held from C++ that
    // is never released would keep every connection's arrays for good).
    // (Made in a plain function: a suspended async function keeps its dead temporaries.)
    const held = ((): WeakRef<Int32Array>[] => {
      const refs: WeakRef<Int32Array>[] = [];
      for (let i = 0; i < 20; i++) {
        const rec = new Int32Array(64 * RECORD_STRIDE);
        new NativeFrameScanner(addon, limits).scan(bytes, 0, bytes.length, rec, new Int32Array(STATE_SLOTS));
        refs.push(new WeakRef(rec));
      }
      return refs;
    })();
    for (let round = 0; round < 3 && held.some((w) => w.deref() !== undefined); round++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    assert.is(held.filter((w) => w.deref() !== undefined).length, 0, 'record arrays still alive after 3 collections');
  });
} else {
  t('native addon not built: nothing to compare', () => {});
}

t.run();
