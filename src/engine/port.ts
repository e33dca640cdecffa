import type { RunStatus, StoredEvent } from './events.ts';
import type { RunRecord } from './record.ts';
import type { RunSpec } from './spec.ts';

/**
 * The RunEngine port: everything a surface may do with runs. A surface parses its protocol
 * into a `RunSpec`, calls these, and renders events, records and `AppError`s in its own
 * shape; it never holds an in-memory run. The embedded implementation is `runs/engine.ts`;
 * a cluster one implements the same interface.
 */
export interface RunEngine {
  /**
   * Queues a run and returns its id at once. `signal` is the caller's interest: when it
   * aborts (client gone) the run is cancelled; a fire-and-forget caller passes none.
   */
  submit(spec: RunSpec, opts?: { signal?: AbortSignal }): Promise<{ id: string }>;
  /** The run's events after `afterSeq`: the stored ones, then live ones until it finishes. */
  events(id: string, afterSeq?: number): AsyncIterable<StoredEvent>;
  /** Resolves with the run's final record once it has settled (its processes are gone). */
  wait(id: string): Promise<RunRecord>;
  /**
   * Cancels a queued or running run; false when it is not active. With `wait`, resolves
   * once the run has settled.
   */
  cancel(id: string, opts?: { wait?: boolean }): Promise<boolean>;
  get(id: string): Promise<RunRecord | undefined>;
  list(filter: RunFilter): Promise<RunSummary[]>;
  health(): EngineHealth;
}

export interface RunFilter {
  /**
   * `active`: queued or running (oldest first); `finished`: settled (most recently finished
   * first); `any`: every run whatever its state, newest created first (ties by id, descending),
   * pageable with `before`.
   */
  state: 'active' | 'finished' | 'any';
  owner?: string;
  workspace?: string;
  /** Workspaces whose name starts with this. */
  workspacePrefix?: string;
  /** Only runs in this status (`any` only). */
  status?: RunStatus;
  /** Only runs created strictly before this position (`any` only): the next page after it. */
  before?: RunPosition;
  /** At most this many (finished and any; defaults to 1000). */
  limit?: number;
}

/** A run's place in the `any` order: a page ends at its last run's position. */
export interface RunPosition {
  createdAt: number;
  id: string;
}

export interface RunSummary {
  id: string;
  owner: string;
  workspace: string;
  status: RunStatus;
  createdAt: number;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /** The first characters of the prompt (at most 200), for lists. */
  promptExcerpt: string;
}

export interface QueueState {
  running: number;
  queued: number;
  maxConcurrentRuns: number;
  maxQueuedRuns: number;
}

/** The agent backend's process pool, as /health reports it. */
export interface PoolState {
  size: number;
  idle: number;
  busy: number;
  warming: number;
  /** Live processes parked for reuse by a later run of the same owner and settings. */
  live: number;
  /** Consecutive failed spare starts (the agent binary cannot start, say); 0 when fine. */
  startFailures: number;
}

/** How agents are confined here, decided once at start-up. */
export interface SandboxInfo {
  name: 'bwrap' | 'none';
  /** Unconfined, so runs are served to local, unproxied callers only. */
  isLoopbackOnly: boolean;
  /** Why the sandbox is off. */
  reason?: string;
}

/** Runs this engine has settled since it started (not across restarts). */
export interface RunTotals {
  /** Runs that started and settled, whatever their outcome. */
  processed: number;
  /** Of those, the ones that did not succeed (failed, timed out or cancelled). */
  errors: number;
  /** When this engine started (epoch ms). */
  sinceMs: number;
}

export interface EngineHealth {
  pool: PoolState;
  queue: QueueState;
  sandbox: SandboxInfo;
  totals: RunTotals;
}
