import type { Redis } from 'ioredis';
import { AppError } from '../../errors.ts';
import { scripts } from './coordinator-scripts.ts';

/**
 * The cluster's shared run bookkeeping in Redis (its keys and atomic steps are described in
 * coordinator-scripts.ts), as typed calls under one key prefix.
 */

export interface Promotion {
  id: string;
  priority: number;
}

export interface LostRun {
  id: string;
  /** The node that held it. */
  node: string;
  /** The next run of its workspace, to be queued now. */
  next: Promotion | undefined;
}

export interface ClusterCounts {
  active: number;
  running: number;
  chained: number;
  capacity: number;
}

export interface Limits {
  maxQueuedRuns: number;
  maxQueuedRunsPerOwner: number;
}

function promotionOf(id: unknown, priority: unknown): Promotion | undefined {
  return typeof id === 'string' && id !== '' ? { id, priority: clampPriority(Number(priority)) } : undefined;
}

/** BullMQ's priorities run from 1 (0 would mean "none", ahead of every prioritized job) to 2^21 - 1. */
function clampPriority(n: number): number {
  return Math.min(2_097_151, Math.max(1, Number.isFinite(n) ? Math.floor(n) : 1));
}

export class Coordinator {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /**
   * Checks the limits and takes the run's place in one step (two callers cannot both pass).
   * Returns the promotion when the run may go on the queue now, undefined when it waits
   * behind its workspace's run. Throws `conflict` or `queue_full` as the embedded scheduler does.
   */
  async reserve(
    run: { id: string; owner: string; workspace: string },
    onBusy: 'wait' | 'conflict',
    limits: Limits,
  ): Promise<Promotion | undefined> {
    const r = (await scripts.reserve.run(this.redis, [
      this.prefix,
      run.id,
      run.owner,
      run.workspace,
      onBusy,
      limits.maxQueuedRuns,
      limits.maxQueuedRunsPerOwner,
      0,
    ])) as [string, string | number, number?];
    return this.#reserved(run.id, r);
  }

  /** Puts a stored queued run back in the bookkeeping without limit checks (recovery); no-op when there. */
  async requeue(run: { id: string; owner: string; workspace: string }): Promise<Promotion | undefined> {
    const r = (await scripts.reserve.run(this.redis, [
      this.prefix,
      run.id,
      run.owner,
      run.workspace,
      'wait',
      0,
      0,
      1,
    ])) as [string, string | number, number?];
    return r[0] === 'exists' ? undefined : this.#reserved(run.id, r);
  }

  #reserved(id: string, r: [string, string | number, number?]): Promotion | undefined {
    const [outcome, a, b] = r;
    if (outcome === 'conflict') {
      throw new AppError('conflict', 'This workspace already has a running run; wait for it or cancel it');
    }
    if (outcome === 'queue_full' || outcome === 'owner_full') {
      const retryAfterS = Math.max(1, Math.ceil((Number(a) / Math.max(1, Number(b))) * 2));
      throw new AppError(
        'queue_full',
        outcome === 'queue_full'
          ? 'Too many runs queued; try again shortly'
          : 'You have too many runs queued; wait for some to finish',
        retryAfterS,
      );
    }
    return a === 'queued' ? { id, priority: clampPriority(Number(b)) } : undefined;
  }

  /**
   * Drops a run from the bookkeeping; returns the next run of its workspace to queue. With
   * `announce` (its record is stored settled), every node's waiters wake in the same step.
   */
  async forget(id: string, announce = false): Promise<Promotion | undefined> {
    const [nextId, priority] = (await scripts.forget.run(this.redis, [
      this.prefix,
      id,
      announce ? 1 : 0,
    ])) as [string?, number?];
    return promotionOf(nextId, priority);
  }

  /** The run starts on `node` with a lease, unless it is gone (cancelled) or its workspace is held. */
  async start(id: string, node: string, leaseMs: number): Promise<'ok' | 'gone' | 'ws_locked'> {
    const [outcome] = (await scripts.start.run(this.redis, [this.prefix, id, node, leaseMs])) as [string];
    return outcome as 'ok' | 'gone' | 'ws_locked';
  }

  /**
   * `settled`: it was waiting and is dropped (the caller records it cancelled and queues
   * `next`); `running`: its node was told to stop it; `unknown`: it is not active.
   */
  async cancel(
    id: string,
  ): Promise<{ outcome: 'settled'; next: Promotion | undefined } | { outcome: 'running' | 'unknown' }> {
    const [outcome, a, b] = (await scripts.cancel.run(this.redis, [this.prefix, id])) as [
      string,
      string?,
      number?,
    ];
    if (outcome === 'settled') return { outcome, next: promotionOf(a, b) };
    return { outcome: outcome as 'running' | 'unknown' };
  }

  /** Renews this node's registration and its runs' leases; returns the runs it no longer holds. */
  async heartbeat(node: string, capacity: number, leaseMs: number, runIds: string[]): Promise<string[]> {
    return (await scripts.heartbeat.run(this.redis, [
      this.prefix,
      node,
      capacity,
      leaseMs,
      ...runIds,
    ])) as string[];
  }

  /** Claims expired leases (lost nodes' runs) and promotions left undone for `staleMs`. */
  async sweep(staleMs: number): Promise<{ lost: LostRun[]; stale: Promotion[] }> {
    const [lostFlat, staleFlat] = (await scripts.sweep.run(this.redis, [this.prefix, 100, staleMs])) as [
      string[],
      string[],
    ];
    const lost: LostRun[] = [];
    for (let i = 0; i < lostFlat.length; i += 4) {
      lost.push({
        id: String(lostFlat[i]),
        node: String(lostFlat[i + 1] ?? ''),
        next: promotionOf(lostFlat[i + 2], lostFlat[i + 3]),
      });
    }
    const stale: Promotion[] = [];
    for (let i = 0; i < staleFlat.length; i += 2) {
      const p = promotionOf(staleFlat[i], staleFlat[i + 1]);
      if (p) stale.push(p);
    }
    return { lost, stale };
  }

  async counts(): Promise<ClusterCounts> {
    const [active, running, chained, capacity] = (await scripts.counts.run(this.redis, [
      this.prefix,
    ])) as number[];
    return { active: active ?? 0, running: running ?? 0, chained: chained ?? 0, capacity: capacity ?? 0 };
  }

  /** Leaves the cluster's capacity (a draining node). */
  async leave(node: string): Promise<void> {
    await this.redis.zrem(`${this.prefix}nodes`, node);
    await this.redis.hdel(`${this.prefix}node-capacity`, node);
  }

  /** Tells every node's waiters that the run settled (after its record is stored). */
  async announceSettled(id: string): Promise<void> {
    await this.redis.publish(`${this.prefix}finished`, id);
  }

  /** The promotion is on the BullMQ queue: no sweeper needs to redo it. */
  async promoted(id: string): Promise<void> {
    await this.redis.zrem(`${this.prefix}promote`, id);
  }

  channel(name: 'cancel' | 'finished'): string {
    return `${this.prefix}${name}`;
  }
}
