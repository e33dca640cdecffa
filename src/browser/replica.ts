import type { BrowserContext, Page } from 'playwright-core';
import { FifoLock } from './fifo-lock.ts';

export type ReplicaState = 'not_started' | 'idle' | 'busy' | 'crashed';

/** Opens a fresh isolated context with its one page; the pool owns the shared browser. */
export type ReplicaPageFactory = (replicaId: string) => Promise<{ context: BrowserContext; page: Page }>;

/**
 * One isolated browser context with one page, used by one request at a time. A page that
 * crashed, was closed, or hung is discarded and a fresh context takes its place, so a bad
 * page costs its own caller's state and nobody else's.
 */
export class Replica {
  readonly #lock: FifoLock;
  #context: BrowserContext | undefined;
  #page: Page | undefined;
  #isBroken = false;
  served = 0;
  crashes = 0;
  replacements = 0;

  constructor(
    readonly id: string,
    queueMax: number,
    private readonly openPage: ReplicaPageFactory,
  ) {
    this.#lock = new FifoLock(queueMax);
  }

  get state(): ReplicaState {
    if (this.#isBroken) return 'crashed';
    if (this.#lock.isHeld) return 'busy';
    return this.#page ? 'idle' : 'not_started';
  }

  /** Requests holding or waiting for this replica: what "least loaded" compares. */
  get load(): number {
    return (this.#lock.isHeld ? 1 : 0) + this.#lock.waiting;
  }

  get waiting(): number {
    return this.#lock.waiting;
  }

  get url(): string | undefined {
    return this.#page && !this.#page.isClosed() ? this.#page.url() : undefined;
  }

  /** The live page, for tests and diagnostics only; actions go through run(). */
  get currentPage(): Page | undefined {
    return this.#page;
  }

  /** Runs fn with exclusive use of this replica's page, waiting in its queue if busy. */
  async run<T>(fn: (page: Page) => Promise<T>): Promise<T> {
    const release = await this.#lock.acquire();
    try {
      return await fn(await this.#livePage());
    } finally {
      this.served++;
      // Only a page that existed can need replacing: a failed launch leaves nothing to discard.
      if (this.#page && this.#needsReplacement()) await this.#discard();
      release();
    }
  }

  /** Declares the page unusable (e.g. a script that never returns); replaced after this use. */
  markBroken(): void {
    this.#isBroken = true;
  }

  async close(): Promise<void> {
    const context = this.#context;
    this.#context = undefined;
    this.#page = undefined;
    await context?.close().catch(() => {});
  }

  async #livePage(): Promise<Page> {
    if (this.#page && !this.#needsReplacement()) return this.#page;
    if (this.#page) await this.#discard();
    const { context, page } = await this.openPage(this.id);
    page.on('crash', () => {
      if (this.#page !== page) return;
      this.#isBroken = true;
      this.crashes++;
      this.#healWhenFree();
    });
    // Closed by anything but us (the context died, the browser went away): replace it too.
    page.on('close', () => {
      if (this.#page === page) this.#isBroken = true;
    });
    this.#context = context;
    this.#page = page;
    this.#isBroken = false;
    return page;
  }

  #needsReplacement(): boolean {
    return this.#isBroken || !this.#page || this.#page.isClosed();
  }

  async #discard(): Promise<void> {
    await this.close();
    this.#isBroken = false;
    this.replacements++;
  }

  /** Replaces a crashed page as soon as the replica is free, so the next caller finds it ready. */
  #healWhenFree(): void {
    this.#lock
      .acquire()
      .then(async (release) => {
        try {
          await this.#livePage();
        } catch {
          // the next run() retries and reports the cause to its caller
        } finally {
          release();
        }
      })
      .catch(() => {});
  }
}
