import { fdatasync, fsync, write } from 'node:fs';
import { constants as os } from 'node:os';
import type { IoExecutor, WriteBatch } from '../backend.js';

/**
 * TypeScript IoExecutor: the batch's writes one after another through libuv's thread pool,
 * then one fdatasync (or fsync) per file that asked for it. Same contract as the native twin.
 */
export const tsIoExecutor: IoExecutor = {
  execute(batch: WriteBatch, done: (errno: number, completed: number) => void): void {
    const syncs = new Map<number, boolean>();
    let i = 0;
    let written = 0;
    const fail = (err: NodeJS.ErrnoException, completed: number): void => {
      const code = typeof err.errno === 'number' ? -err.errno : os.errno.EIO;
      done(code > 0 ? code : os.errno.EIO, completed);
    };
    const syncNext = (entries: [number, boolean][], k: number): void => {
      if (k === entries.length) {
        done(0, batch.count);
        return;
      }
      const [fd, full] = entries[k]!;
      (full ? fsync : fdatasync)(fd, (err) => {
        if (err) fail(err, batch.count);
        else syncNext(entries, k + 1);
      });
    };
    const step = (): void => {
      if (i === batch.count) {
        syncNext([...syncs], 0);
        return;
      }
      const len = batch.lengths[i]!;
      if (written === len) {
        const flags = batch.flags[i]!;
        if ((flags & 3) !== 0) syncs.set(batch.fds[i]!, (syncs.get(batch.fds[i]!) ?? false) || (flags & 2) !== 0);
        i++;
        written = 0;
        step();
        return;
      }
      write(batch.fds[i]!, batch.data, batch.offsets[i]! + written, len - written, batch.positions[i]! + written, (err, n) => {
        if (err) return fail(err, i);
        if (n === 0) return fail(Object.assign(new Error('short write'), { errno: -os.errno.EIO }), i);
        written += n;
        step();
      });
    };
    step();
  },
};
