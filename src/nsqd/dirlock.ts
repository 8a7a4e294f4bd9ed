import type { DirLocker } from '../native/backend.js';

/** Exclusive ownership of a data path, so two nsqd never write one directory (nsqd's dirlock). */
export class DirLock {
  private readonly dir: string;
  private readonly locker: DirLocker;
  private handle = -1;

  constructor(dir: string, locker: DirLocker) {
    this.dir = dir === '' ? '.' : dir;
    this.locker = locker;
  }

  /** Take the lock; an Error when another process (or daemon here) holds it. */
  lock(): Error | null {
    const h = this.locker.lock(this.dir);
    if (h < 0) return new Error(`cannot lock ${this.dir} (errno ${-h})`);
    this.handle = h;
    return null;
  }

  /** Release the lock. */
  unlock(): void {
    if (this.handle < 0) return;
    this.locker.unlock(this.handle);
    this.handle = -1;
  }
}
