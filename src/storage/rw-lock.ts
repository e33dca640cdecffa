import { AppError } from '../errors.ts';

export interface LockLimits {
  /** Waiting longer than this to acquire gives 503. */
  waitMs: number;
  /** A holder is cut off (its signal aborts, the lock is released) after this long. */
  holdMs: number;
}

export interface LockHold {
  /** Aborts when the hold limit passes: the holder must stop (e.g. destroy its stream). */
  signal: AbortSignal;
  /** Idempotent. */
  release(): void;
}

interface Waiter {
  isWriter: boolean;
  grant: (hold: LockHold) => void;
}

/**
 * One read/write lock per key: reads share, writes are exclusive. Writer-preferring, so
 * a steady stream of readers cannot starve an upload's commit.
 */
class RwLock {
  readers = 0;
  isWriting = false;
  readonly queue: Waiter[] = [];

  get isIdle(): boolean {
    return this.readers === 0 && !this.isWriting && this.queue.length === 0;
  }

  canGrant(isWriter: boolean): boolean {
    if (isWriter) return !this.isWriting && this.readers === 0;
    return !this.isWriting && !this.queue.some((w) => w.isWriter);
  }
}

export class KeyLocks {
  readonly #locks = new Map<string, RwLock>();
  readonly #limits: LockLimits;

  constructor(limits: LockLimits) {
    this.#limits = limits;
  }

  read(key: string): Promise<LockHold> {
    return this.#acquire(key, false);
  }

  write(key: string): Promise<LockHold> {
    return this.#acquire(key, true);
  }

  #acquire(key: string, isWriter: boolean): Promise<LockHold> {
    let lock = this.#locks.get(key);
    if (!lock) {
      lock = new RwLock();
      this.#locks.set(key, lock);
    }
    const held = lock;
    if (held.canGrant(isWriter) && held.queue.length === 0) {
      return Promise.resolve(this.#hold(key, held, isWriter));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        isWriter,
        grant: (hold) => {
          clearTimeout(timer);
          resolve(hold);
        },
      };
      const timer = setTimeout(() => {
        const i = held.queue.indexOf(waiter);
        if (i >= 0) held.queue.splice(i, 1);
        this.#pump(key, held);
        reject(
          new AppError(
            'unavailable',
            `Timed out after ${this.#limits.waitMs} ms waiting for the object's lock`,
            1,
          ),
        );
      }, this.#limits.waitMs);
      held.queue.push(waiter);
    });
  }

  #hold(key: string, lock: RwLock, isWriter: boolean): LockHold {
    if (isWriter) lock.isWriting = true;
    else lock.readers++;
    const controller = new AbortController();
    let isReleased = false;
    const release = () => {
      if (isReleased) return;
      isReleased = true;
      clearTimeout(limitTimer);
      if (isWriter) lock.isWriting = false;
      else lock.readers--;
      this.#pump(key, lock);
    };
    const limitTimer = setTimeout(() => {
      controller.abort(
        new AppError('unavailable', `Held the object's lock longer than ${this.#limits.holdMs} ms`),
      );
      release();
    }, this.#limits.holdMs);
    limitTimer.unref();
    return { signal: controller.signal, release };
  }

  #pump(key: string, lock: RwLock): void {
    while (lock.queue.length > 0) {
      const next = lock.queue[0];
      if (!next) break;
      const isFree = next.isWriter ? !lock.isWriting && lock.readers === 0 : !lock.isWriting;
      if (!isFree) break;
      lock.queue.shift();
      next.grant(this.#hold(key, lock, next.isWriter));
      if (next.isWriter) break;
    }
    if (lock.isIdle) this.#locks.delete(key);
  }
}
