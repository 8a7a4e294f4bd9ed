import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { unmarshalGo } from '../internal/go-json.js';

/** nsqd.dat as nsqd 1.3 writes it. */
export interface Metadata {
  topics: { name: string; paused: boolean; channels: { name: string; paused: boolean }[] | null }[] | null;
  version: string;
}

/** Path of nsqd.dat inside a data path ('' means the working directory). */
export function metadataFile(dataPath: string): string {
  return dataPath === '' ? 'nsqd.dat' : join(dataPath, 'nsqd.dat');
}

/** Read nsqd.dat; null when it does not exist; throws nsqd's start-up error text on bad JSON. */
export function readMetadata(file: string): Metadata | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`failed to read metadata from ${file} - ${(err as Error).message}`);
  }
  try {
    const m = unmarshalGo(text) as Metadata; // Go's json.Unmarshal, with its syntax-error texts
    if (m === null || typeof m !== 'object') throw new Error('not an object');
    return m;
  } catch (err) {
    throw new Error(`failed to parse metadata in ${file} - ${(err as Error).message}`);
  }
}

/** The temporary file an atomic rewrite of `file` goes through (Go's `<file>.<rand>.tmp`). */
const tmpFileName = (file: string): string => `${file}.${randomInt(2 ** 31)}.tmp`;

/** Write a file atomically: `<file>.<rand>.tmp` (0600), fsync, rename over. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tmpFileName(file);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** writeFileAtomic on libuv's thread pool: the event loop goes on serving clients while the disk syncs. */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = tmpFileName(file);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, file);
}

/**
 * Rewrites of one file (writeFileAtomicAsync), one at a time, each with `content()` as it is when
 * that write starts, so the newest content lands last; requests made before the pending write
 * starts share it. `content()` null skips a write (the owner is closing or deleting); a failed
 * write goes to `onError`, and the next request tries again.
 */
export class SerialRewriter {
  private tail: Promise<void> = Promise.resolve();
  private pending: Promise<void> | null = null;

  constructor(
    private readonly file: string,
    private readonly content: () => string | null,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Resolves once a write holding the content as of now is on disk (or failed, or was skipped). */
  request(): Promise<void> {
    if (this.pending !== null) return this.pending;
    const write = this.tail.then(async () => {
      this.pending = null;
      const data = this.content();
      if (data === null) return;
      try {
        await writeFileAtomicAsync(this.file, data);
      } catch (err) {
        this.onError(err as Error);
      }
    });
    this.pending = this.tail = write;
    return write;
  }

  /** Resolves when every requested write is done. */
  idle(): Promise<void> {
    return this.tail;
  }
}
