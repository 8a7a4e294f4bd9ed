// Minimal reproducers of what AddressSanitizer/UBSan found in the addon (scripts/asan.sh). They
// change no result — native and TypeScript agree on every one — so only a sanitizer build shows
// them: under `npm run test:asan` (NSQ_TEST_ADDON = the sanitizer build, libasan preloaded) each
// runs in a child process and an OPEN entry passes while the child still prints its sanitizer
// report (and reports it on stdout as "open sanitizer finding"), failing once it no longer does
// (then mark it fixed: it must run clean). In a normal build each is an ordinary differential
// check. The generators avoid these inputs unless `known` (DIFF_KNOWN=1, `npm run fuzz -- --known`)
// so the sanitizer run can find anything else. NSQ_DIFF_STRICT=1 demands a clean run of all.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { tsFrameEncoder } from '../../src/native/fallback/frame-encoder.js';
import { tsRecordCodec } from '../../src/native/fallback/record-codec.js';
import { rawAddon } from './asan-addon.js';

const addon = rawAddon();
const strict = process.env.NSQ_DIFF_STRICT === '1';
const sanitized = (process.env.NSQ_TEST_ADDON ?? '') !== '' && /libasan/.test(process.env.LD_PRELOAD ?? '');
const t = suite(`sanitizer reproducers (${sanitized ? 'under the sanitizer build' : 'as differential checks'})`);

/** The .node file in use, for the child process. */
function addonFile(): string {
  if (sanitized) return process.env.NSQ_TEST_ADDON!;
  const require = createRequire(import.meta.url);
  const resolve = (require('node-gyp-build') as { resolve(dir: string): string }).resolve;
  return resolve(fileURLToPath(new URL('../..', import.meta.url)));
}

interface Reproducer {
  id: string;
  status: 'open' | 'fixed';
  /** Where and what. */
  note: string;
  /** A JavaScript expression over the raw addon `a`, run in the child. */
  call: string;
  /** The same call on the native addon and on the twin, in-process (normal builds). */
  native: (a: NonNullable<typeof addon>) => number;
  typescript: () => number;
}

const REPRODUCERS: Reproducer[] = [
  {
    id: 'gather-null-source',
    status: 'fixed',
    note: 'native/frame_encoder.cc:19 memcpy(out + pos, src.data + off, len) with src.data == nullptr: an empty Uint8Array or Buffer as a source has a null data pointer, and memcpy(dst, NULL, 0) is undefined behaviour (UBSan: "null pointer passed as argument 2, which is declared to never be null")',
    call: 'a.gather(new Uint8Array(4), 0, [new Uint8Array(0)], Int32Array.of(0), Int32Array.of(0), Int32Array.of(0), 1)',
    native: (a) => a.gather(new Uint8Array(4), 0, [new Uint8Array(0)], Int32Array.of(0), Int32Array.of(0), Int32Array.of(0), 1),
    typescript: () => tsFrameEncoder.gather(new Uint8Array(4), 0, [new Uint8Array(0)], Int32Array.of(0), Int32Array.of(0), Int32Array.of(0), 1),
  },
  {
    id: 'gather-null-output',
    status: 'fixed',
    note: 'native/frame_encoder.cc:19, the same memcpy with out == nullptr: an empty output and a zero-length frame (UBSan: "null pointer passed as argument 1")',
    call: 'a.gather(new Uint8Array(0), 0, [Uint8Array.of(1)], Int32Array.of(0), Int32Array.of(0), Int32Array.of(0), 1)',
    native: (a) => a.gather(new Uint8Array(0), 0, [Uint8Array.of(1)], Int32Array.of(0), Int32Array.of(0), Int32Array.of(0), 1),
    typescript: () => tsFrameEncoder.gather(new Uint8Array(0), 0, [Uint8Array.of(1)], Int32Array.of(0), Int32Array.of(0), Int32Array.of(0), 1),
  },
  {
    id: 'push-records-null-source',
    status: 'fixed',
    note: 'native/ring_buffer.cc:28 memcpy(d + 8, src + st, len) with src == nullptr: an empty payload source and a zero-length payload (UBSan: "null pointer passed as argument 2")',
    call: 'a.pushRecords(new Uint8Array(16), 0, new Uint8Array(0), Int32Array.of(0), Int32Array.of(0), 0, 1)',
    native: (a) => a.pushRecords(new Uint8Array(16), 0, new Uint8Array(0), Int32Array.of(0), Int32Array.of(0), 0, 1),
    typescript: () => tsRecordCodec.pushRecords(new Uint8Array(16), 0, new Uint8Array(0), Int32Array.of(0), Int32Array.of(0), 0, 1),
  },
  {
    id: 'push-messages-null-source',
    status: 'fixed',
    note: 'native/ring_buffer.cc PushMessages: memcpy(d + 8 + kHeader, src + st, len) with src == nullptr: an empty body source and a zero-length body (UBSan: "null pointer passed as argument 2")',
    call: 'a.pushMessages(new Uint8Array(64), 0, new Uint8Array(26), new Uint8Array(0), Int32Array.of(0), Int32Array.of(0), 0, 1)',
    native: (a) => a.pushMessages(new Uint8Array(64), 0, new Uint8Array(26), new Uint8Array(0), Int32Array.of(0), Int32Array.of(0), 0, 1),
    typescript: () => tsRecordCodec.pushMessages(new Uint8Array(64), 0, new Uint8Array(26), new Uint8Array(0), Int32Array.of(0), Int32Array.of(0), 0, 1),
  },
];

if (addon !== null) {
  for (const r of REPRODUCERS) {
    t(`${r.status.toUpperCase()} ${r.id}`, () => {
      if (!sanitized) {
        assert.is(r.native(addon), r.typescript(), `${r.id}: native and typescript results`);
        return;
      }
      const child = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addonFile())}); process.stdout.write(String(${r.call}))`], {
        env: process.env,
        encoding: 'utf8',
        timeout: 30_000,
      });
      const report = /^.*(runtime error:|ERROR: AddressSanitizer).*$/m.exec(child.stderr)?.[0] ?? null;
      const clean = child.status === 0 && report === null;
      if (r.status === 'fixed' || strict) {
        assert.ok(clean, `${r.id}: ${report ?? `exit ${child.status}`}\n${r.note}`);
      } else {
        assert.ok(!clean, `${r.id} no longer reproduces under the sanitizer: mark it fixed and let the generators make its inputs (${r.note})`);
        process.stdout.write(`open sanitizer finding ${r.id}: ${report ?? `exit ${child.status}`}\n`);
      }
    });
  }
} else {
  t('native addon not built: nothing to reproduce', () => {});
}

t.run();
