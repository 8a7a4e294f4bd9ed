import { closeSync, openSync, readFileSync, realpathSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Directories locked by this process (several embedded daemons share one pid). */
const lockedHere = new Set<string>();

const LOCK_FILE = '.nsq-ts.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Exclusive ownership of a data path, so two nsqd never write one directory. Node has no
 * flock(2), so this twin uses a pid file (`.nsq-ts.lock`, ignored by Go nsqd) with stale-pid
 * takeover; a native flock on the directory itself comes with the addon.
 */
export class DirLock {
  private readonly dir: string;
  private path = '';

  constructor(dir: string) {
    this.dir = dir === '' ? '.' : dir;
  }

  /** Take the lock; an Error when another live process (or daemon here) holds it. */
  lock(): Error | null {
    let real: string;
    try {
      real = realpathSync(this.dir);
    } catch (err) {
      return err as Error;
    }
    if (lockedHere.has(real)) return new Error(`${real} is locked by this process`);
    const file = join(real, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        lockedHere.add(real);
        this.path = real;
        return null;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') return err as Error;
        const pid = Number.parseInt(safeRead(file), 10);
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
          return new Error(`locked by pid ${pid}`);
        }
        try {
          unlinkSync(file);
        } catch {
          // Raced with another starter; the next attempt decides.
        }
      }
    }
    return new Error('could not take the lock');
  }

  /** Release the lock. */
  unlock(): void {
    if (this.path === '') return;
    lockedHere.delete(this.path);
    try {
      unlinkSync(join(this.path, LOCK_FILE));
    } catch {
      // Already gone.
    }
    this.path = '';
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
