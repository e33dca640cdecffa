import type { QueueState } from '../engine/port.ts';
import { AppError } from '../errors.ts';

/** What the scheduler knows of a run: whose it is and which workspace it locks. */
export interface ScheduledRun {
  id: string;
  owner: string;
  workspace: string;
}

/**
 * Decides when runs start: the queue, the concurrency limit, each owner's share of the
 * queue, the fair pick between owners, and one run at a time per workspace.
 */
export interface Scheduler {
  /**
   * Checks the limits and takes the run's place in the queue in one step, so two callers
   * arriving together cannot both pass a check; the run starts only once `ready`.
   * Throws `conflict` (a busy workspace and `onBusy: 'conflict'`) or `queue_full`.
   */
  reserve(run: ScheduledRun, onBusy: 'wait' | 'conflict'): void;
  /** A reserved run is stored and may start when a slot frees. */
  ready(id: string): void;
  /** Puts runs back in the queue without limit checks (recovery after a restart). */
  requeue(runs: ScheduledRun[]): void;
  /** Takes a run out of the queue; false when it is not waiting (it started, or is unknown). */
  withdraw(id: string): boolean;
  /** A started run has finished: its slot and its workspace are free. */
  finished(id: string): void;
  state(): QueueState;
}

export interface SchedulerLimits {
  maxConcurrentRuns: number;
  maxQueuedRuns: number;
  /** Runs one owner may have waiting: a caller filling its share cannot starve the others. */
  maxQueuedRunsPerOwner?: number;
}

interface Waiting extends ScheduledRun {
  isReady: boolean;
}

/**
 * The in-process scheduler. Fair by owner: each owner may hold only its share of the
 * queue, and a free slot goes to the waiting owner with the fewest runs executing.
 */
export class FairScheduler implements Scheduler {
  readonly #queue: Waiting[] = [];
  readonly #executing = new Map<string, ScheduledRun>();
  readonly #busyWorkspaces = new Set<string>();
  /** Executing runs per owner, for the fair pick. */
  readonly #runningByOwner = new Map<string, number>();
  /** When each owner with runs queued or executing last had one started (a start counter). */
  readonly #lastStartOf = new Map<string, number>();
  #starts = 0;

  /** `start` is called (synchronously) for each run the scheduler starts. */
  constructor(
    private readonly limits: SchedulerLimits,
    private readonly start: (id: string) => void,
  ) {}

  reserve(run: ScheduledRun, onBusy: 'wait' | 'conflict'): void {
    const isWorkspaceBusy = this.#isWorkspaceTaken(run.workspace);
    if (isWorkspaceBusy && onBusy === 'conflict') {
      throw new AppError('conflict', 'This workspace already has a running run; wait for it or cancel it');
    }
    const canStartNow = !isWorkspaceBusy && this.#executing.size < this.limits.maxConcurrentRuns;
    if (!canStartNow && this.#queue.length >= this.limits.maxQueuedRuns) {
      throw new AppError('queue_full', 'Too many runs queued; try again shortly', this.#retryAfterS());
    }
    const ownerShare = this.limits.maxQueuedRunsPerOwner ?? this.limits.maxQueuedRuns;
    if (!canStartNow && this.#queue.filter((r) => r.owner === run.owner).length >= ownerShare) {
      throw new AppError(
        'queue_full',
        'You have too many runs queued; wait for some to finish',
        this.#retryAfterS(),
      );
    }
    this.#queue.push({ ...run, isReady: false });
  }

  ready(id: string): void {
    const run = this.#queue.find((r) => r.id === id);
    if (run) run.isReady = true;
    this.#pump();
  }

  requeue(runs: ScheduledRun[]): void {
    for (const run of runs) this.#queue.push({ ...run, isReady: true });
    this.#pump();
  }

  withdraw(id: string): boolean {
    const i = this.#queue.findIndex((r) => r.id === id);
    if (i < 0) return false;
    this.#queue.splice(i, 1);
    this.#pump();
    return true;
  }

  finished(id: string): void {
    const run = this.#executing.get(id);
    if (!run) return;
    this.#executing.delete(id);
    const ownerRunning = (this.#runningByOwner.get(run.owner) ?? 1) - 1;
    if (ownerRunning > 0) this.#runningByOwner.set(run.owner, ownerRunning);
    else this.#runningByOwner.delete(run.owner);
    // An owner with nothing left is forgotten: the turn order only concerns waiting owners.
    if (ownerRunning <= 0 && !this.#queue.some((r) => r.owner === run.owner)) {
      this.#lastStartOf.delete(run.owner);
    }
    this.#busyWorkspaces.delete(run.workspace);
    this.#pump();
  }

  state(): QueueState {
    return {
      running: this.#executing.size,
      queued: this.#queue.length,
      maxConcurrentRuns: this.limits.maxConcurrentRuns,
      maxQueuedRuns: this.limits.maxQueuedRuns,
    };
  }

  #isWorkspaceTaken(workspace: string): boolean {
    return this.#busyWorkspaces.has(workspace) || this.#queue.some((r) => r.workspace === workspace);
  }

  #retryAfterS(): number {
    return Math.max(1, Math.ceil((this.#queue.length / Math.max(1, this.limits.maxConcurrentRuns)) * 2));
  }

  #pump(): void {
    while (this.#executing.size < this.limits.maxConcurrentRuns) {
      const next = this.#nextFairRun();
      if (next === undefined) return;
      const [run] = this.#queue.splice(next, 1);
      if (!run) return;
      const { isReady: _, ...scheduled } = run;
      this.#executing.set(run.id, scheduled);
      this.#runningByOwner.set(run.owner, (this.#runningByOwner.get(run.owner) ?? 0) + 1);
      this.#starts += 1;
      this.#lastStartOf.set(run.owner, this.#starts);
      this.#busyWorkspaces.add(run.workspace);
      this.start(run.id);
    }
  }

  /**
   * The queue index of the run to start: among ready runs whose workspace is free, the
   * oldest of the owner with the fewest runs executing and, between equals, the one served
   * longest ago. So owners take turns instead of the first to fill the queue keeping every
   * slot. A run still being stored holds back the later runs of its workspace.
   */
  #nextFairRun(): number | undefined {
    let best: number | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    let bestLastStart = Number.POSITIVE_INFINITY;
    const heldBack = new Set<string>();
    for (const [i, run] of this.#queue.entries()) {
      if (this.#busyWorkspaces.has(run.workspace) || heldBack.has(run.workspace)) continue;
      if (!run.isReady) {
        heldBack.add(run.workspace);
        continue;
      }
      const load = this.#runningByOwner.get(run.owner) ?? 0;
      const lastStart = this.#lastStartOf.get(run.owner) ?? 0;
      if (load < bestLoad || (load === bestLoad && lastStart < bestLastStart)) {
        best = i;
        bestLoad = load;
        bestLastStart = lastStart;
      }
    }
    return best;
  }
}
