import { randomUUID } from 'node:crypto';
import type { RunResult, RunStatus, StoredEvent } from '../engine/events.ts';
import type { EngineHealth, RunEngine, RunFilter, RunSummary } from '../engine/port.ts';
import type { RunRecord } from '../engine/record.ts';
import type { RunSpec } from '../engine/spec.ts';
import { tierOf } from '../engine/tier.ts';
import { AppError } from '../errors.ts';
import type { RunGuard } from '../usage/run-guard.ts';
import { type EventLog, StoredEventLog } from './event-log.ts';
import {
  checkSubmission,
  type EngineOptions,
  executeRun,
  type RunParts,
  runParts,
  type StopReason,
  settleRun,
  storeRun,
} from './lifecycle.ts';
import { promptExcerptOf } from './repository.ts';
import { FairScheduler, type Scheduler } from './scheduler.ts';

export interface EmbeddedEngineOptions extends EngineOptions {
  /** This node's name (NODE_ID), recorded on every run it executes. */
  nodeId?: string;
  /** Per-key scope, limits, budgets and usage (runs without a keyId pass untouched). */
  guard?: RunGuard;
}

/** What a server's lifecycle does with an engine besides the port: start-up and shutdown. */
export interface ServerEngine extends RunEngine {
  /** Start-up: takes up what a previous process left; resolves with the queued runs picked up. */
  recover(): Promise<number>;
  /** Stops taking runs and cancels this node's running ones; resolves when they have settled. */
  drain(): Promise<void>;
  /** Lets go of what the engine holds beyond the store (connections); after drain. */
  close(): Promise<void>;
}

/** What the engine keeps of a run from submit until it settles; never handed out. */
interface Active {
  spec: RunSpec;
  createdAt: number;
  status: RunStatus;
  startedAt: number | undefined;
  abort: AbortController;
  done: Promise<RunRecord>;
  resolve: (r: RunRecord) => void;
}

/**
 * The embedded RunEngine: SQLite store, in-process scheduler, executor and event log.
 * This is where timeouts, cancellation, settling (a stopped run keeps its partial output),
 * drain and recovery live; the scheduler decides when, the executor runs the agent, the
 * event log fans events out and stores them.
 */
export class EmbeddedRunEngine implements ServerEngine {
  readonly #active = new Map<string, Active>();
  readonly #scheduler: Scheduler;
  readonly #parts: RunParts;
  readonly #log: EventLog;
  #isDraining = false;
  readonly #totals = { processed: 0, errors: 0, sinceMs: Date.now() };

  constructor(private readonly opts: EmbeddedEngineOptions) {
    this.#log = new StoredEventLog(opts.repository);
    this.#scheduler = new FairScheduler(opts, (id) => void this.#execute(id));
    this.#parts = runParts(opts, this.#log, (id, reason) => this.#stop(id, reason));
  }

  async submit(spec: RunSpec, opts: { signal?: AbortSignal } = {}): Promise<{ id: string }> {
    if (this.#isDraining) throw new AppError('unavailable', 'The server is shutting down', 5);
    const admission = await checkSubmission(spec, this.opts);
    const { guard } = this.opts;
    const id = randomUUID();
    // From the claim to the queue nothing awaits: two submits cannot both take a key's last slot.
    guard?.claim(id, spec, admission);
    try {
      this.#scheduler.reserve({ id, owner: spec.owner, workspace: spec.workspace }, spec.onBusy);
    } catch (err) {
      guard?.release(id);
      throw err;
    }
    const createdAt = Date.now();
    try {
      await storeRun(this.opts, id, spec, createdAt, this.opts.sandbox.name);
    } catch (err) {
      this.#scheduler.withdraw(id);
      guard?.release(id);
      throw err;
    }
    this.#activate(id, spec, createdAt);
    const { signal } = opts;
    if (signal) {
      if (signal.aborted) this.#stop(id, 'cancelled');
      else signal.addEventListener('abort', () => this.#stop(id, 'cancelled'), { once: true });
    }
    this.#scheduler.ready(id);
    return { id };
  }

  events(id: string, afterSeq = 0): AsyncIterable<StoredEvent> {
    return this.#log.read(id, afterSeq);
  }

  async wait(id: string): Promise<RunRecord> {
    const active = this.#active.get(id);
    if (active) return active.done;
    const record = await this.opts.repository.get(id);
    if (!record) throw new AppError('not_found', `No run ${id}`);
    return record;
  }

  async cancel(id: string, opts: { wait?: boolean } = {}): Promise<boolean> {
    const active = this.#active.get(id);
    if (!active || !this.#stop(id, 'cancelled')) return false;
    if (opts.wait) await active.done;
    return true;
  }

  async get(id: string): Promise<RunRecord | undefined> {
    return this.opts.repository.get(id);
  }

  async list(filter: RunFilter): Promise<RunSummary[]> {
    // The store holds every run with its current status; only the active list is served
    // from memory (oldest first, the scheduler's view).
    if (filter.state !== 'active') return this.opts.repository.list(filter);
    return [...this.#active.entries()]
      .map(([id, r]) => ({
        id,
        owner: r.spec.owner,
        workspace: r.spec.workspace,
        status: r.status,
        createdAt: r.createdAt,
        startedAt: r.startedAt,
        finishedAt: undefined,
        promptExcerpt: promptExcerptOf(r.spec.prompt),
      }))
      .filter(
        (r) =>
          (filter.owner === undefined || r.owner === filter.owner) &&
          (filter.workspace === undefined || r.workspace === filter.workspace) &&
          (filter.workspacePrefix === undefined || r.workspace.startsWith(filter.workspacePrefix)),
      );
  }

  health(): EngineHealth {
    return {
      pool: this.opts.backend.poolState(),
      queue: this.#scheduler.state(),
      sandbox: this.opts.sandbox,
      totals: { ...this.#totals },
      backend: 'embedded',
      node: this.opts.nodeId ?? '',
    };
  }

  async close(): Promise<void> {}

  /** Start-up: runs a crash left running are failed; queued ones are picked up again. */
  async recover(): Promise<number> {
    const queued = await this.opts.repository.recover(Date.now());
    for (const rec of queued) this.#activate(rec.id, rec.spec, rec.createdAt);
    this.#scheduler.requeue(
      queued.map((r) => ({ id: r.id, owner: r.spec.owner, workspace: r.spec.workspace })),
    );
    return queued.length;
  }

  /** Stops taking runs and cancels every active one; resolves when all have settled. */
  async drain(): Promise<void> {
    this.#isDraining = true;
    const ids = [...this.#active.keys()];
    await Promise.all(ids.map((id) => this.cancel(id, { wait: true })));
  }

  #activate(id: string, spec: RunSpec, createdAt: number): void {
    let resolve!: (r: RunRecord) => void;
    const done = new Promise<RunRecord>((r) => {
      resolve = r;
    });
    const abort = new AbortController();
    this.#active.set(id, { spec, createdAt, status: 'queued', startedAt: undefined, abort, done, resolve });
    this.#log.open(id);
    this.#log.append(id, { type: 'status', status: 'queued' });
  }

  /** Stops a queued or running run; false when it is not active or already stopping. */
  #stop(id: string, reason: StopReason): boolean {
    const run = this.#active.get(id);
    if (!run || run.abort.signal.aborted) return false;
    run.abort.abort(reason);
    if (this.#scheduler.withdraw(id)) {
      if (typeof reason === 'object') void this.#settle(id, 'failed', undefined, reason.failed);
      else void this.#settle(id, reason, undefined, undefined);
    }
    return true;
  }

  async #execute(id: string): Promise<void> {
    const run = this.#active.get(id);
    if (!run) return;
    run.startedAt = Date.now();
    run.status = 'running';
    let outcome: { status: RunStatus; result: RunResult | undefined; error: string | undefined };
    try {
      await this.opts.repository.markRunning(id, run.startedAt, this.opts.nodeId);
      outcome = await executeRun(this.#parts, this.#settling(id, run), run.abort);
    } catch (err) {
      this.opts.logger.error({ err, runId: id }, 'run failed');
      outcome = { status: 'failed', result: undefined, error: 'The agent failed unexpectedly' };
    }
    await this.#settle(id, outcome.status, outcome.result, outcome.error);
    this.#totals.processed += 1;
    if (outcome.status !== 'succeeded') this.#totals.errors += 1;
    this.#scheduler.finished(id);
  }

  #settling(id: string, run: Active) {
    return {
      id,
      spec: run.spec,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      ...(this.opts.nodeId !== undefined && run.startedAt !== undefined ? { node: this.opts.nodeId } : {}),
    };
  }

  async #settle(
    id: string,
    status: RunStatus,
    agentResult: RunResult | undefined,
    agentError: string | undefined,
  ): Promise<void> {
    const run = this.#active.get(id);
    if (!run) return;
    const settling = this.#settling(id, run);
    const record = await settleRun(this.#parts, settling, status, agentResult, agentError);
    this.#active.delete(id);
    run.status = status;
    run.resolve(
      record ?? {
        ...settling,
        owner: run.spec.owner,
        workspace: run.spec.workspace,
        status,
        result: agentResult,
        error: agentError,
        finishedAt: Date.now(),
        sandbox: this.opts.sandbox.name,
        tier: tierOf(run.spec),
      },
    );
  }
}
