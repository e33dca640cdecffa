import { AppError } from '../errors.ts';

/**
 * One holder at a time, waiters served in arrival order, and a bound on how many may wait:
 * a replica's page can only do one thing at once, and an unbounded queue hides overload.
 */
export class FifoLock {
  #isHeld = false;
  readonly #waiters: Array<() => void> = [];

  constructor(readonly maxWaiters: number) {}

  get isHeld(): boolean {
    return this.#isHeld;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves with a release function; rejects with queue_full when the wait list is full. */
  acquire(): Promise<() => void> {
    if (!this.#isHeld) {
      this.#isHeld = true;
      return Promise.resolve(this.#releaser());
    }
    if (this.#waiters.length >= this.maxWaiters) {
      return Promise.reject(new AppError('queue_full', 'Browser replica is busy and its queue is full', 1));
    }
    return new Promise((resolve) => this.#waiters.push(() => resolve(this.#releaser())));
  }

  #releaser(): () => void {
    let isReleased = false;
    return () => {
      if (isReleased) return;
      isReleased = true;
      const next = this.#waiters.shift();
      if (next) next();
      else this.#isHeld = false;
    };
  }
}
