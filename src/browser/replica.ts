import { randomBytes } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { AppError } from '../errors.ts';
import type { BrowserSession } from './browser-session.ts';
import { FifoLock } from './fifo-lock.ts';

export type ReplicaState = 'not_started' | 'idle' | 'busy' | 'crashed';

/** Opens a fresh isolated context with its one page; the pool owns the shared browser. */
export type ReplicaPageFactory = (
  replicaId: string,
) => Promise<{ context: BrowserContext; page: Page; session: BrowserSession }>;

/** 256 random bits, base64url: the INSTANCEID a caller presents is its only claim to a replica. */
export function newInstanceId(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * One isolated browser context with one page, used by one request at a time. A page that
 * crashed, was closed, or hung is discarded and a fresh context takes its place, so a bad
 * page costs its own caller's state and nobody else's.
 *
 * A replica is held by one owner (a principal) under one unguessable instance id at a time.
 * Handing it to another owner gives it a new id and throws its context away before the new
 * owner's first use, so no cookie, storage or page of one owner is ever seen by another.
 */
export class Replica {
  readonly #lock: FifoLock;
  #context: BrowserContext | undefined;
  #page: Page | undefined;
  #session: BrowserSession | undefined;
  #isBroken = false;
  #instanceId: string | undefined;
  #owner: string | undefined;
  /** Set when the replica changed hands: the previous owner's context must go before the next use. */
  #isReassigned = false;
  /** When its owner last claimed it (ms): the least recently used idle replica is the one handed over. */
  lastClaimedAt = 0;
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

  get instanceId(): string | undefined {
    return this.#instanceId;
  }

  get owner(): string | undefined {
    return this.#owner;
  }

  /** Gives the replica to `owner` under a fresh instance id; only called while nobody holds or waits for it. */
  assign(owner: string): string {
    this.#instanceId = newInstanceId();
    this.#owner = owner;
    this.#isReassigned = true;
    this.lastClaimedAt = Date.now();
    return this.#instanceId;
  }

  /** Frees the replica for anyone; its state is dropped before the next owner's first use. */
  unassign(): void {
    this.#instanceId = undefined;
    this.#owner = undefined;
    this.#isReassigned = true;
  }

  get waiting(): number {
    return this.#lock.waiting;
  }

  get url(): string | undefined {
    return this.#page && !this.#page.isClosed() ? this.#page.url() : undefined;
  }

  /** The active tab, for a read that must not queue (GET …/state); actions go through run(). */
  get activePage(): Page | undefined {
    return this.#session?.page;
  }

  /** The live page, for tests and diagnostics only; actions go through run(). */
  get currentPage(): Page | undefined {
    return this.#page;
  }

  /**
   * Runs fn with exclusive use of this replica's page, waiting in its queue if busy, provided
   * the replica is still held under `instanceId` when its turn comes.
   */
  async run<T>(instanceId: string, fn: (session: BrowserSession) => Promise<T>): Promise<T> {
    const release = await this.#lock.acquire();
    // The pool only hands over replicas nobody holds or waits for, so this is a last line of
    // defence: a caller must never run on a context that now belongs to someone else.
    if (this.#instanceId === undefined || this.#instanceId !== instanceId) {
      release();
      throw new AppError(
        'conflict',
        'This browser instance was handed to another caller; retry for a new one',
      );
    }
    try {
      if (this.#isReassigned) {
        await this.close();
        this.#isBroken = false;
        this.#isReassigned = false;
      }
      await this.#livePage();
      return await fn(this.#session as BrowserSession);
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
    this.#session = undefined;
    await context?.close().catch(() => {});
  }

  async #livePage(): Promise<Page> {
    if (this.#page && !this.#needsReplacement()) return this.#page;
    if (this.#page) await this.#discard();
    const { context, page, session } = await this.openPage(this.id);
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
    this.#session = session;
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
