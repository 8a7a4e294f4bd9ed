// IoExecutor differential: the same random write batches run by the native executeBatch (raw
// addon) on files in one temporary directory and by the TypeScript twin on identical files in
// another; the callbacks and the resulting file contents must match byte for byte.
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IoExecutor, WriteBatch } from '../../src/native/backend.js';
import { tsIoExecutor } from '../../src/native/fallback/io-executor.js';
import type { RawAddon } from './asan-addon.js';
import { Rand } from './generators.js';

/** One op of a batch, with fd given as a file number (resolved per directory). */
interface Op {
  file: number;
  position: number;
  offset: number;
  length: number;
  flags: number;
}

/** One IoExecutor case: initial file contents and a few batches over them. */
export interface IoCase {
  kind: 'io';
  seed: number;
  /** Initial contents of each writable file. */
  files: Uint8Array[];
  /** Whether file number files.length is a read-only fd (writes to it fail with EBADF). */
  readOnly: boolean;
  batches: { data: Uint8Array; ops: Op[] }[];
}

/**
 * Build IoCase `seed`: 1–4 files with random contents, 1–6 batches of 0–16 writes at random
 * positions (inside, at and past the end of the files, sparse), random lengths and sync flags.
 * With `known`, some ops target a read-only fd (the open issue io-completed-after-write-error).
 */
export function genIoCase(seed: number, known = false): IoCase {
  const r = new Rand(seed);
  const nFiles = 1 + r.int(4);
  const files = Array.from({ length: nFiles }, () => r.bytes(r.chance(0.3) ? 0 : r.len(4096)));
  const readOnly = known && r.chance(0.3);
  const batches: IoCase['batches'] = [];
  const nb = 1 + r.int(6);
  for (let b = 0; b < nb; b++) {
    const data = r.bytes(r.chance(0.05) ? r.int(200_000) : r.len(8192));
    const ops: Op[] = [];
    const count = r.int(17);
    for (let i = 0; i < count; i++) {
      const offset = r.int(data.length + 1);
      const length = r.chance(0.1) ? 0 : r.int(data.length - offset + 1);
      const k = r.next();
      const position = k < 0.5 ? r.int(8192) : k < 0.9 ? r.int(65536) : r.int(1 << 20);
      const flags = r.chance(0.7) ? 0 : r.int(4);
      const file = readOnly && r.chance(0.1) ? nFiles : r.int(nFiles);
      ops.push({ file, position, offset, length, flags });
    }
    batches.push({ data, ops });
  }
  return { kind: 'io', seed, files, readOnly, batches };
}

/** Describe a case for a failure report. */
export function describeIoCase(c: IoCase): string {
  const lines = [`${c.files.length} files of ${c.files.map((f) => f.length).join(', ')} bytes${c.readOnly ? `, file ${c.files.length} a read-only fd` : ''}`];
  c.batches.forEach((b, i) => {
    lines.push(`batch ${i}: data[${b.data.length}] ops ${b.ops.map((o) => `{file ${o.file} @${o.position} data[${o.offset},+${o.length}) flags ${o.flags}}`).join(' ')}`);
  });
  return lines.join('\n');
}

/** The native IoExecutor straight over the raw addon. */
export function rawIo(addon: RawAddon): IoExecutor {
  return { execute: (b, done) => addon.executeBatch(b.fds, b.positions, b.data, b.offsets, b.lengths, b.flags, b.count, done) };
}

function run(io: IoExecutor, batch: WriteBatch): Promise<[number, number]> {
  return new Promise((resolve, reject) => {
    try {
      io.execute(batch, (errno, completed) => resolve([errno, completed]));
    } catch (err) {
      reject(err as Error);
    }
  });
}

/** A scratch area: two directories, one per implementation. */
export class IoScratch {
  readonly root = mkdtempSync(join(tmpdir(), 'nsq-diff-io-'));
  readonly dirs = [join(this.root, 'native'), join(this.root, 'typescript')];
  private n = 0;

  constructor() {
    for (const d of this.dirs) mkdirSync(d);
  }

  close(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Run case c through both executors; null when identical, else what differed. */
  async diff(native: IoExecutor, c: IoCase, ts: IoExecutor = tsIoExecutor): Promise<string | null> {
    const tag = this.n++;
    const paths = this.dirs.map((d) => c.files.map((_, i) => join(d, `c${tag}-f${i}.dat`)));
    const fds: number[][] = [];
    for (let side = 0; side < 2; side++) {
      const list: number[] = [];
      c.files.forEach((content, i) => {
        writeFileSync(paths[side]![i]!, content);
        list.push(openSync(paths[side]![i]!, 'r+'));
      });
      if (c.readOnly) {
        const ro = join(this.dirs[side]!, `c${tag}-ro.dat`);
        writeFileSync(ro, 'read only');
        list.push(openSync(ro, 'r'));
      }
      fds.push(list);
    }
    try {
      for (let b = 0; b < c.batches.length; b++) {
        const { data, ops } = c.batches[b]!;
        const results: [number, number][] = [];
        for (let side = 0; side < 2; side++) {
          const batch: WriteBatch = {
            fds: Int32Array.from(ops, (o) => fds[side]![o.file]!),
            positions: Float64Array.from(ops, (o) => o.position),
            data,
            offsets: Int32Array.from(ops, (o) => o.offset),
            lengths: Int32Array.from(ops, (o) => o.length),
            flags: Uint8Array.from(ops, (o) => o.flags),
            count: ops.length,
          };
          results.push(await run(side === 0 ? native : ts, batch));
        }
        const [a, t] = results as [[number, number], [number, number]];
        if (a[0] !== t[0] || a[1] !== t[1]) {
          return `batch ${b}: done(errno, completed): native (${a[0]}, ${a[1]}), typescript (${t[0]}, ${t[1]})`;
        }
        for (let i = 0; i < c.files.length; i++) {
          const fa = readFileSync(paths[0]![i]!);
          const ft = readFileSync(paths[1]![i]!);
          if (!fa.equals(ft)) {
            let d = 0;
            while (d < fa.length && d < ft.length && fa[d] === ft[d]) d++;
            return `batch ${b}: file ${i} differs: native ${fa.length} bytes, typescript ${ft.length} bytes, first difference at byte ${d}`;
          }
        }
      }
      return null;
    } finally {
      for (const list of fds) for (const fd of list) closeSync(fd);
      for (const side of paths) for (const p of side) rmSync(p, { force: true });
      for (const d of this.dirs) rmSync(join(d, `c${tag}-ro.dat`), { force: true });
    }
  }
}
