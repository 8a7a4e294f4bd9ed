import { closeSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from 'node:fs';
import { constants as os } from 'node:os';
import { join } from 'node:path';
import type { DirLocker } from '../backend.js';

/** Directories locked by this process (several embedded daemons share one pid). */
const lockedHere = new Map<number, string>();
let nextHandle = 1;
const LOCK_FILE = '.nsq-ts.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function errnoOf(err: unknown): number {
  const e = (err as NodeJS.ErrnoException).errno;
  return typeof e === 'number' && e < 0 ? e : -os.errno.EIO;
}

/**
 * The TypeScript DirLocker: Node has no flock(2), so a pid file (`.nsq-ts.lock`, which Go nsqd
 * ignores) with stale-pid takeover. It excludes nsq-ts daemons from each other; only the native
 * twin's flock also excludes a Go nsqd.
 */
export const pidFileLocker: DirLocker = {
  lock(path: string): number {
    let real: string;
    try {
      real = realpathSync(path);
    } catch (err) {
      return errnoOf(err);
    }
    for (const dir of lockedHere.values()) if (dir === real) return -os.errno.EWOULDBLOCK;
    const file = join(real, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        const h = nextHandle++;
        lockedHere.set(h, real);
        return h;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return errnoOf(err);
        let pid = NaN;
        try {
          pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
        } catch {
          // Vanished meanwhile: try again.
        }
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) return -os.errno.EWOULDBLOCK;
        try {
          unlinkSync(file);
        } catch {
          // Raced with another starter; the next attempt decides.
        }
      }
    }
    return -os.errno.EWOULDBLOCK;
  },

  unlock(handle: number): void {
    const dir = lockedHere.get(handle);
    if (dir === undefined) return;
    lockedHere.delete(handle);
    try {
      unlinkSync(join(dir, LOCK_FILE));
    } catch {
      // Already gone.
    }
  },
};
