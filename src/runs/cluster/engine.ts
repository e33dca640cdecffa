import { randomUUID } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { StoredEvent } from '../../engine/events.ts';
import type { EngineHealth, RunFilter, RunSummary } from '../../engine/port.ts';
import type { RunRecord } from '../../engine/record.ts';
import type { RunSpec } from '../../engine/spec.ts';
import { AppError } from '../../errors.ts';
import type { RunAdmission, RunGuard } from '../../usage/run-guard.ts';
import type { ServerEngine } from '../engine.ts';
import {
  checkSubmission,
  type EngineOptions,
  executeRun,
  type RunParts,
  runParts,
  type SettlingRun,
  settleRun,
  storeRun,
} from '../lifecycle.ts';
import { type ClusterCounts, Coordinator, type Promotion } from './coordinator.ts';
import { RunQueue } from './run-queue.ts';
import { StreamEventLog } from './stream-log.ts';

export interface ClusterEngineOptions extends EngineOptions {
  redisUrl: string;
  nodeId: string;
  /** A running run's lease: renewed while it lives; a node silent this long loses its runs (`node_lost`). */
  leaseMs: number;
  /** Keys and queue names start with this (several deployments may share one Redis). */
  prefix?: string;
  /**
   * Per-key scope, budgets and usage. On a cluster a key's budget and scope are checked at
   * submit (from the shared store) and its spend is metered on the node executing the run;
   * `maxConcurrentRuns` is counted per node.
   */
  guard?: RunGuard;
}

/** A run executing on this node. */
interface LocalRun {
  abort: AbortController;
}

/**
 * The cluster RunEngine: every node shares the store (DATA_DIR's SQLite, or PostgreSQL),
 * the workspaces (DATA_DIR on a shared filesystem) and one Redis. A run is queued on
 * BullMQ and executed by whichever node's worker has a free slot; its events go to a
 * Redis stream any node follows; cancel reaches the executing node by pub/sub; one run per
 * workspace holds across nodes (Coordinator); a node that dies has its running runs failed
 * with `node_lost` once their lease expires, never silently run again (agents are not
 * idempotent), while its queued runs stay on the queue for the other nodes.
 * Execution and settling are the embedded engine's (runs/lifecycle.ts).
 */
export class ClusterRunEngine implements ServerEngine {
  readonly #redis: Redis;
  readonly #subscriber: Redis;
  readonly #coordinator: Coordinator;
  readonly #log: StreamEventLog;
  readonly #parts: RunParts;
  readonly #queue: RunQueue;
  readonly #local = new Map<string, LocalRun>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #totals = { processed: 0, errors: 0, sinceMs: Date.now() };
  #counts: ClusterCounts = { active: 0, running: 0, chained: 0, capacity: 0 };
  #isDraining = false;
  readonly #prefix: string;

  constructor(private readonly opts: ClusterEngineOptions) {
    this.#prefix = `${opts.prefix ?? 'agentgate'}:`;
    // BullMQ's blocking commands need an unlimited retry budget on their connection.
    this.#redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
    this.#redis.on('error', (err) => opts.logger.warn({ err: err.message }, 'redis connection error'));
    this.#subscriber = this.#redis.duplicate();
    this.#subscriber.on('error', () => undefined);
    this.#coordinator = new Coordinator(this.#redis, this.#prefix);
    this.#log = new StreamEventLog(this.#redis, opts.repository, {
      prefix: this.#prefix,
      streamTtlS: 3600,
      blockMs: Math.min(5000, opts.leaseMs),
      logger: opts.logger,
    });
    this.#parts = runParts(opts, this.#log, (id, reason) => {
      const abort = this.#local.get(id)?.abort;
      if (abort && !abort.signal.aborted) abort.abort(reason);
    });
    this.#queue = new RunQueue(this.#redis, opts.prefix ?? 'agentgate', opts.logger);
  }

  /** Joins the cluster: listens for cancels and settlements, registers its slots, starts taking runs. */
  async start(): Promise<void> {
    await this.#subscriber.subscribe(
      this.#coordinator.channel('cancel'),
      this.#coordinator.channel('finished'),
    );
    this.#subscriber.on('message', (channel: string, id: string) => {
      if (channel === this.#coordinator.channel('cancel')) this.#local.get(id)?.abort.abort('cancelled');
      else for (const wake of this.#waiters.get(id) ?? []) wake();
    });
    await this.#heartbeat();
    this.#every(Math.max(100, Math.floor(this.opts.leaseMs / 3)), () => this.#heartbeat());
    this.#every(Math.max(100, Math.floor(this.opts.leaseMs / 2)), () => this.#sweep());
    this.#queue.startWorker(
      { concurrency: this.opts.maxConcurrentRuns, leaseMs: this.opts.leaseMs },
      (job, token) => this.#process(job, token),
      (runId) => {
        this.#requeueStalled(runId).catch((err: unknown) =>
          this.opts.logger.warn({ err, runId }, 'could not queue a stalled run again'),
        );
      },
    );
  }

  #every(ms: number, tick: () => Promise<void>): void {
    let isBusy = false;
    const timer = setInterval(() => {
      if (isBusy) return;
      isBusy = true;
      tick()
        .catch((err: unknown) => this.opts.logger.warn({ err }, 'cluster upkeep failed'))
        .finally(() => {
          isBusy = false;
        });
    }, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  async submit(spec: RunSpec, opts: { signal?: AbortSignal } = {}): Promise<{ id: string }> {
    if (this.#isDraining) throw new AppError('unavailable', 'The server is shutting down', 5);
    await checkSubmission(spec, this.opts);
    const id = randomUUID();
    const promotion = await this.#coordinator.reserve(
      { id, owner: spec.owner, workspace: spec.workspace },
      spec.onBusy,
      {
        maxQueuedRuns: this.opts.maxQueuedRuns,
        maxQueuedRunsPerOwner: this.opts.maxQueuedRunsPerOwner ?? this.opts.maxQueuedRuns,
      },
    );
    try {
      await storeRun(this.opts, id, spec, Date.now(), this.opts.sandbox.name);
      this.#log.open(id);
      this.#log.append(id, { type: 'status', status: 'queued' });
      await this.#log.flush(id);
      this.#log.detach(id);
    } catch (err) {
      await this.#coordinator.forget(id).then((next) => this.#enqueue(next));
      throw err;
    }
    // Stored and reserved: should the queue refuse it now, the sweep queues it later (`promote`).
    await this.#enqueue(promotion).catch((err: unknown) =>
      this.opts.logger.error({ err, runId: id }, 'could not queue a run; the sweep will'),
    );
    const { signal } = opts;
    if (signal) {
      const onAbort = () => void this.cancel(id).catch(() => undefined);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    void this.#refreshCounts();
    return { id };
  }

  async #enqueue(promotion: Promotion | undefined): Promise<void> {
    if (!promotion) return;
    await this.#queue.add(promotion);
    await this.#coordinator.promoted(promotion.id);
  }

  events(id: string, afterSeq = 0): AsyncIterable<StoredEvent> {
    return this.#log.read(id, afterSeq);
  }

  async wait(id: string): Promise<RunRecord> {
    let wake: () => void = () => undefined;
    const waiters = this.#waiters.get(id) ?? new Set();
    this.#waiters.set(id, waiters);
    try {
      for (;;) {
        // Listening before reading: a settlement announced in between still wakes this loop.
        const woken = new Promise<void>((resolve) => {
          wake = resolve;
          waiters.add(resolve);
        });
        const rec = await this.opts.repository.get(id);
        if (!rec) throw new AppError('not_found', `No run ${id}`);
        if (rec.status !== 'queued' && rec.status !== 'running') return rec;
        // A missed announcement (a Redis reconnect) costs at most one lease period.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise<void>((r) => (timer = setTimeout(r, this.opts.leaseMs)))]);
        clearTimeout(timer);
        waiters.delete(wake);
      }
    } finally {
      waiters.delete(wake);
      if (waiters.size === 0) this.#waiters.delete(id);
    }
  }

  async cancel(id: string, opts: { wait?: boolean } = {}): Promise<boolean> {
    const r = await this.#coordinator.cancel(id);
    if (r.outcome === 'unknown') return false;
    if (r.outcome === 'settled') {
      // It never started: recorded cancelled here, and its workspace's next run goes on the queue.
      await this.#settleElsewhere(id, 'cancelled', undefined);
      await this.#enqueue(r.next);
      void this.#refreshCounts();
      return true;
    }
    if (opts.wait) await this.wait(id);
    return true;
  }

  async get(id: string): Promise<RunRecord | undefined> {
    return this.opts.repository.get(id);
  }

  async list(filter: RunFilter): Promise<RunSummary[]> {
    if (filter.state === 'active') return this.opts.repository.listActive(filter);
    return this.opts.repository.list(filter);
  }

  health(): EngineHealth {
    const c = this.#counts;
    return {
      backend: 'cluster',
      node: this.opts.nodeId,
      pool: this.opts.backend.poolState(),
      queue: {
        // This node's slots; the whole cluster's queue.
        running: this.#local.size,
        queued: Math.max(0, c.active - c.running),
        maxConcurrentRuns: this.opts.maxConcurrentRuns,
        maxQueuedRuns: this.opts.maxQueuedRuns,
      },
      sandbox: this.opts.sandbox,
      totals: { ...this.#totals },
    };
  }

  async #refreshCounts(): Promise<void> {
    try {
      this.#counts = await this.#coordinator.counts();
    } catch {
      // health() keeps the last known counts
    }
  }

  /**
   * Start-up: runs the store holds as running without a live lease (a node killed before
   * this one started, or this node's own previous life) are failed with `node_lost`; queued
   * ones Redis does not know (it was restarted empty) go back on the queue.
   */
  async recover(): Promise<number> {
    await this.#sweep();
    for (const rec of await this.opts.repository.listByStatus('running')) {
      const isLeased = (await this.#redis.zscore(`${this.#prefix}leases`, rec.id)) !== null;
      if (!isLeased) await this.#recordLost(rec.id, rec.node ?? 'unknown');
    }
    let requeued = 0;
    for (const rec of await this.opts.repository.listByStatus('queued')) {
      const promotion = await this.#coordinator.requeue({
        id: rec.id,
        owner: rec.owner,
        workspace: rec.workspace,
      });
      if (promotion) {
        requeued += 1;
        await this.#enqueue(promotion);
      }
    }
    void this.#refreshCounts();
    return requeued;
  }

  async drain(): Promise<void> {
    this.#isDraining = true;
    const closing = this.#queue.stopWorker();
    for (const run of this.#local.values()) run.abort.abort('cancelled');
    await closing;
    await this.#coordinator.leave(this.opts.nodeId).catch(() => undefined);
  }

  async close(): Promise<void> {
    if (!this.#isDraining) await this.drain();
    for (const t of this.#timers) clearInterval(t);
    this.#log.closeReaders();
    await this.#queue.close();
    this.#subscriber.disconnect();
    this.#redis.disconnect();
  }

  /** A worker of this node took a run's job. */
  async #process(job: Job, token: string | undefined): Promise<void> {
    const id = String((job.data as { runId: string }).runId);
    if (this.#isDraining) {
      // Taken while this node stops: back on the queue for another node.
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    }
    // Known before it starts, so a cancel published the moment it starts finds it.
    const local: LocalRun = { abort: new AbortController() };
    this.#local.set(id, local);
    let isStarted = false;
    try {
      const started = await this.#coordinator.start(id, this.opts.nodeId, this.opts.leaseMs);
      if (started === 'gone') return;
      if (started === 'ws_locked') {
        // A lost node's run still holds the workspace until its lease expires.
        await job.moveToDelayed(Date.now() + Math.max(100, Math.floor(this.opts.leaseMs / 4)), token);
        throw new DelayedError();
      }
      isStarted = true;
      const rec = await this.opts.repository.get(id);
      if (!rec) return; // its submitter died before storing it
      const run: SettlingRun = {
        id,
        spec: rec.spec,
        createdAt: rec.createdAt,
        startedAt: Date.now(),
        node: this.opts.nodeId,
      };
      // Settled meanwhile (cancelled as it was taken): nothing to run.
      if (!(await this.opts.repository.markRunning(id, run.startedAt ?? Date.now(), this.opts.nodeId)))
        return;
      try {
        await this.#claimForKey(id, rec.spec);
        this.#log.open(id, await this.#log.lastSeq(id));
        const outcome = await executeRun(this.#parts, run, local.abort);
        const record = await settleRun(this.#parts, run, outcome.status, outcome.result, outcome.error);
        if (record) {
          this.#totals.processed += 1;
          if (record.status !== 'succeeded') this.#totals.errors += 1;
        }
      } catch (err) {
        // The store or Redis failed under the run: it must not stay `running` with no lease.
        this.opts.logger.error({ err, runId: id }, 'run failed');
        this.#log.detach(id);
        await this.#settleElsewhere(id, 'failed', {
          code: 'internal',
          message: 'The run failed unexpectedly',
        }).catch(() => undefined);
      }
    } finally {
      this.#local.delete(id);
      if (isStarted) {
        // Settled in the store by now: released and announced in one step.
        const next = await this.#coordinator.forget(id, true).catch((err: unknown) => {
          this.opts.logger.error({ err, runId: id }, 'could not release a run in redis');
          return undefined;
        });
        await this.#enqueue(next).catch((err: unknown) =>
          this.opts.logger.error({ err, runId: next?.id }, 'could not queue the next run of a workspace'),
        );
      }
    }
  }

  /**
   * Meters the run here, the node executing it: its model calls count against its key's
   * budget (and stop it once spent), its usage is recorded when it settles. The key was
   * admitted at submit; a key revoked or spent since is still metered, never unmetered
   * (and executeRun's guard check then fails the run before its agent starts).
   */
  async #claimForKey(id: string, spec: RunSpec): Promise<void> {
    const { guard } = this.opts;
    if (!guard) return;
    let admission: RunAdmission | undefined;
    try {
      admission = await guard.admit(spec);
    } catch (err) {
      this.opts.logger.warn(
        { err, runId: id },
        'a queued run’s key changed since submit; metering it anyway',
      );
    }
    guard.claim(id, spec, admission ? { ...admission, maxConcurrentRuns: null } : undefined);
  }

  /**
   * A job whose worker died (kill -9) is failed by BullMQ as stalled. When its run had not
   * started yet (no lease: it never reached an agent) it is queued again for another node;
   * a started one is the lease sweep's, failed as node_lost, never run twice.
   */
  async #requeueStalled(id: string): Promise<void> {
    if ((await this.#redis.hget(`${this.#prefix}run:${id}`, 'state')) !== 'queued') return;
    this.opts.logger.warn({ runId: id }, 'a node died holding a run it had not started: queued again');
    await this.#enqueue({ id, priority: await this.#queue.priorityOf(id) });
  }

  /** Renews this node and its runs; a run whose lease another node already claimed is stopped here. */
  async #heartbeat(): Promise<void> {
    const lost = await this.#coordinator.heartbeat(
      this.opts.nodeId,
      this.#isDraining ? 0 : this.opts.maxConcurrentRuns,
      this.opts.leaseMs,
      [...this.#local.keys()],
    );
    for (const id of lost) {
      const run = this.#local.get(id);
      // Not yet started (between taking the job and its lease) is not lost.
      if (run && (await this.#redis.hget(`${this.#prefix}run:${id}`, 'state')) !== 'queued') {
        this.opts.logger.warn({ runId: id }, 'this node lost the lease of a running run; stopping it');
        run.abort.abort('cancelled');
      }
    }
    await this.#refreshCounts();
  }

  /** Lost nodes' runs become `node_lost`; promotions a dead node left undone are redone. */
  async #sweep(): Promise<void> {
    const { lost, stale } = await this.#coordinator.sweep(this.opts.leaseMs);
    for (const run of lost) {
      await this.#recordLost(run.id, run.node);
      await this.#enqueue(run.next);
    }
    for (const p of stale) await this.#enqueue(p);
  }

  async #recordLost(id: string, node: string): Promise<void> {
    this.opts.logger.warn({ runId: id, node }, 'run lost with its node (lease expired): failed as node_lost');
    const message = `node_lost: node ${node} stopped renewing the run's lease (killed or cut off); the run was not retried`;
    await this.#settleElsewhere(id, 'failed', { code: 'node_lost', message });
  }

  /** Settles a run this node does not execute (cancelled before it started, or lost with its node). */
  async #settleElsewhere(
    id: string,
    status: 'cancelled' | 'failed',
    error: { code: string; message: string } | undefined,
  ): Promise<void> {
    const rec = await this.opts.repository.get(id);
    if (!rec || (rec.status !== 'queued' && rec.status !== 'running')) return;
    this.#log.open(id, await this.#log.lastSeq(id));
    if (error) this.#log.append(id, { type: 'error', ...error });
    await settleRun(
      this.#parts,
      {
        id,
        spec: rec.spec,
        createdAt: rec.createdAt,
        startedAt: rec.startedAt,
        ...(rec.node ? { node: rec.node } : {}),
      },
      status,
      undefined,
      error?.message,
    );
    await this.#coordinator.announceSettled(id);
  }
}
