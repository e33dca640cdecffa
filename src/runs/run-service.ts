import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AgentBackend, AgentRunRequest } from '../agents/types.ts';
import type { RunResult, RunStatus, StoredEvent } from '../engine/events.ts';
import { ZERO_USAGE } from '../engine/events.ts';
import type { RunRecord } from '../engine/record.ts';
import type { RunSpec } from '../engine/spec.ts';
import { AppError } from '../errors.ts';
import type { SessionStore } from '../sessions/store.ts';
import type { WorkspaceFs } from '../workspaces/workspace-fs.ts';
import { ActiveRun } from './active-run.ts';
import type { RunRepository } from './repository.ts';

export interface RunServiceOptions {
  backend: AgentBackend;
  repository: RunRepository;
  sessions: SessionStore;
  workspaces: WorkspaceFs;
  logger: Logger;
  maxConcurrentRuns: number;
  maxQueuedRuns: number;
  /** Runs one owner may have waiting: a caller filling its share cannot starve the others. */
  maxQueuedRunsPerOwner?: number;
  defaultTimeoutMs: number;
  /** The sandbox agents run under, recorded on every run. */
  sandbox: 'bwrap' | 'none';
  /** Refuses a run the server may not start for the current caller (throws an AppError). */
  admit?: () => void;
}

export interface QueueState {
  running: number;
  queued: number;
  maxConcurrentRuns: number;
  maxQueuedRuns: number;
}

export interface ActiveRunInfo {
  id: string;
  owner: string;
  workspace: string;
  status: RunStatus;
  createdAt: number;
  startedAt: number | undefined;
}

/**
 * The one run engine. Every surface calls `submit` and renders the run's events; this is
 * where the queue, the concurrency limit, the one-run-per-workspace rule, timeouts and
 * cancellation live. The queue is fair by owner: each owner may hold only its share of
 * it, and a free slot goes to the waiting owner with the fewest runs executing.
 */
export class RunService {
  readonly #active = new Map<string, ActiveRun>();
  readonly #queue: ActiveRun[] = [];
  readonly #busyWorkspaces = new Set<string>();
  /** Executing runs per owner, for the fair pick in #pump. */
  readonly #runningByOwner = new Map<string, number>();
  /** When each owner with runs queued or executing last had one started (a start counter). */
  readonly #lastStartOf = new Map<string, number>();
  #starts = 0;
  #running = 0;
  #isDraining = false;

  constructor(private readonly opts: RunServiceOptions) {}

  get backend(): AgentBackend {
    return this.opts.backend;
  }

  /**
   * Queues a run and returns at once. `signal` is the caller's interest: when it aborts
   * (client gone) the run is cancelled; a fire-and-forget caller passes none.
   */
  async submit(spec: RunSpec, signal?: AbortSignal): Promise<ActiveRun> {
    if (this.#isDraining) throw new AppError('unavailable', 'The server is shutting down', 5);
    this.opts.admit?.();
    await this.opts.workspaces.ensure(spec.workspace); // validates the name before anything is stored
    if (
      spec.resumeSessionId &&
      !(await this.opts.sessions.ownsAgentSession(spec.owner, spec.resumeSessionId))
    ) {
      throw new AppError('not_found', `No session ${spec.resumeSessionId}`);
    }
    const isWorkspaceBusy = this.#isWorkspaceTaken(spec.workspace);
    if (isWorkspaceBusy && spec.onBusy === 'conflict') {
      throw new AppError('conflict', 'This workspace already has a running run; wait for it or cancel it');
    }
    const canStartNow = !isWorkspaceBusy && this.#running < this.opts.maxConcurrentRuns;
    if (!canStartNow && this.#queue.length >= this.opts.maxQueuedRuns) {
      throw new AppError('queue_full', 'Too many runs queued; try again shortly', this.#retryAfterS());
    }
    const ownerShare = this.opts.maxQueuedRunsPerOwner ?? this.opts.maxQueuedRuns;
    if (!canStartNow && this.#queue.filter((r) => r.spec.owner === spec.owner).length >= ownerShare) {
      throw new AppError(
        'queue_full',
        'You have too many runs queued; wait for some to finish',
        this.#retryAfterS(),
      );
    }
    const run = new ActiveRun(randomUUID(), spec, Date.now());
    const session = spec.session
      ? await this.opts.sessions.getOrCreate(spec.owner, spec.session.kind, spec.session.name, spec.workspace)
      : undefined;
    await this.opts.repository.insert(run.id, spec, run.createdAt, session?.id ?? null, this.opts.sandbox);
    this.#active.set(run.id, run);
    run.emit({ type: 'status', status: 'queued' });
    if (signal) {
      if (signal.aborted) this.cancel(run.id);
      else signal.addEventListener('abort', () => this.cancel(run.id), { once: true });
    }
    this.#queue.push(run);
    this.#pump();
    return run;
  }

  /** Cancels a queued or running run; false when it is not active. */
  cancel(runId: string, status: 'cancelled' | 'timed_out' = 'cancelled'): boolean {
    const run = this.#active.get(runId);
    if (!run || run.abort.signal.aborted) return false;
    run.abort.abort(status);
    const i = this.#queue.indexOf(run);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      void this.#settle(run, status, undefined, undefined);
    }
    return true;
  }

  /** Cancels a run and resolves once it has settled (its processes are gone); undefined when not active. */
  async cancelAndWait(runId: string): Promise<RunRecord | undefined> {
    const run = this.#active.get(runId);
    if (!run || !this.cancel(runId)) return undefined;
    return run.done;
  }

  /** Replays a run's events after `afterSeq`, then follows live ones until it finishes. */
  async *subscribe(runId: string, afterSeq = 0): AsyncGenerator<StoredEvent> {
    const run = this.#active.get(runId);
    if (!run) {
      for (const e of await this.opts.repository.events(runId, afterSeq)) yield e;
      return;
    }
    let seq = afterSeq;
    for (;;) {
      while (seq < run.events.length) {
        const e = run.events[seq];
        seq += 1;
        if (e && e.seq > afterSeq) yield e;
      }
      if (this.#isFinished(run)) return;
      await new Promise<void>((resolve) => {
        const off = run.onChange(() => {
          off();
          resolve();
        });
      });
    }
  }

  async get(runId: string): Promise<RunRecord | undefined> {
    return this.opts.repository.get(runId);
  }

  activeRuns(): ActiveRunInfo[] {
    return [...this.#active.values()].map((r) => ({
      id: r.id,
      owner: r.spec.owner,
      workspace: r.spec.workspace,
      status: r.status,
      createdAt: r.createdAt,
      startedAt: r.startedAt,
    }));
  }

  queueState(): QueueState {
    return {
      running: this.#running,
      queued: this.#queue.length,
      maxConcurrentRuns: this.opts.maxConcurrentRuns,
      maxQueuedRuns: this.opts.maxQueuedRuns,
    };
  }

  /** Start-up: runs a crash left running are failed; queued ones are picked up again. */
  async recover(): Promise<number> {
    const queued = await this.opts.repository.recover(Date.now());
    for (const rec of queued) {
      const run = new ActiveRun(rec.id, rec.spec, rec.createdAt);
      this.#active.set(run.id, run);
      this.#queue.push(run);
    }
    this.#pump();
    return queued.length;
  }

  /** Stops taking runs and cancels every active one; resolves when all have settled. */
  async drain(): Promise<void> {
    this.#isDraining = true;
    const runs = [...this.#active.values()];
    for (const r of runs) this.cancel(r.id);
    await Promise.all(runs.map((r) => r.done));
  }

  #isWorkspaceTaken(workspace: string): boolean {
    return this.#busyWorkspaces.has(workspace) || this.#queue.some((r) => r.spec.workspace === workspace);
  }

  #isFinished(run: ActiveRun): boolean {
    return !this.#active.has(run.id);
  }

  #retryAfterS(): number {
    return Math.max(1, Math.ceil((this.#queue.length / Math.max(1, this.opts.maxConcurrentRuns)) * 2));
  }

  #pump(): void {
    while (this.#running < this.opts.maxConcurrentRuns) {
      const next = this.#nextFairRun();
      if (next === undefined) return;
      const run = this.#queue[next];
      if (!run) return;
      this.#queue.splice(next, 1);
      this.#running += 1;
      this.#runningByOwner.set(run.spec.owner, (this.#runningByOwner.get(run.spec.owner) ?? 0) + 1);
      this.#starts += 1;
      this.#lastStartOf.set(run.spec.owner, this.#starts);
      this.#busyWorkspaces.add(run.spec.workspace);
      void this.#execute(run);
    }
  }

  /**
   * The queue index of the run to start: among runs whose workspace is free, the oldest of
   * the owner with the fewest runs executing and, between equals, the one served longest
   * ago. So owners take turns instead of the first to fill the queue keeping every slot.
   */
  #nextFairRun(): number | undefined {
    let best: number | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    let bestLastStart = Number.POSITIVE_INFINITY;
    for (const [i, run] of this.#queue.entries()) {
      if (this.#busyWorkspaces.has(run.spec.workspace)) continue;
      const load = this.#runningByOwner.get(run.spec.owner) ?? 0;
      const lastStart = this.#lastStartOf.get(run.spec.owner) ?? 0;
      if (load < bestLoad || (load === bestLoad && lastStart < bestLastStart)) {
        best = i;
        bestLoad = load;
        bestLastStart = lastStart;
      }
    }
    return best;
  }

  async #execute(run: ActiveRun): Promise<void> {
    const { spec } = run;
    const signal = run.abort.signal;
    const timeoutMs = spec.timeoutMs ?? this.opts.defaultTimeoutMs;
    const timer = setTimeout(() => this.cancel(run.id, 'timed_out'), timeoutMs);
    let result: RunResult | undefined;
    let error: string | undefined;
    try {
      run.startedAt = Date.now();
      run.status = 'running';
      await this.opts.repository.markRunning(run.id, run.startedAt);
      run.emit({ type: 'status', status: 'running' });
      const req = await this.#agentRequest(run);
      for await (const ev of this.opts.backend.start(req, signal)) {
        run.emit(ev);
        // Token deltas are kept in memory and stored with the next whole message, so a
        // crash loses at most the half-written message and the hot path stays cheap.
        if (ev.type !== 'text_delta') await this.#flush(run);
        if (ev.type === 'session') await this.#recordSession(run, ev.sessionId);
        if (ev.type === 'result') result = ev.result;
        if (ev.type === 'error') error = ev.message;
      }
    } catch (err) {
      error = err instanceof AppError ? err.message : 'The agent failed unexpectedly';
      if (!(err instanceof AppError)) this.opts.logger.error({ err, runId: run.id }, 'run failed');
    } finally {
      clearTimeout(timer);
    }
    const reason = signal.aborted ? (signal.reason as 'cancelled' | 'timed_out') : undefined;
    const status: RunStatus = reason ?? (result && !result.isError ? 'succeeded' : 'failed');
    if (result?.sessionId) await this.#recordSession(run, result.sessionId);
    await this.#settle(run, status, result, error);
    this.#running -= 1;
    const ownerRunning = (this.#runningByOwner.get(spec.owner) ?? 1) - 1;
    if (ownerRunning > 0) this.#runningByOwner.set(spec.owner, ownerRunning);
    else this.#runningByOwner.delete(spec.owner);
    // An owner with nothing left is forgotten: the turn order only concerns waiting owners.
    if (ownerRunning <= 0 && !this.#queue.some((r) => r.spec.owner === spec.owner)) {
      this.#lastStartOf.delete(spec.owner);
    }
    this.#busyWorkspaces.delete(spec.workspace);
    this.#pump();
  }

  async #agentRequest(run: ActiveRun): Promise<AgentRunRequest> {
    const { spec } = run;
    const cwd = await this.opts.workspaces.ensure(spec.workspace);
    let resumeSessionId = spec.resumeSessionId;
    if (!resumeSessionId && spec.session?.mode === 'continue') {
      const s = await this.opts.sessions.find(spec.owner, spec.session.kind, spec.session.name);
      resumeSessionId = s?.agentSessionId ?? undefined;
    }
    // Every surface keeps a user's workspaces under users/<user>: a sandboxed spare of that
    // owner binds this root and can serve any of them.
    const rootName = /^users\/[^/]+/.exec(spec.workspace)?.[0];
    const ownerRoot = rootName ? await this.opts.workspaces.ensure(rootName) : undefined;
    return {
      runId: run.id,
      owner: spec.owner,
      cwd,
      ...(ownerRoot ? { ownerRoot } : {}),
      prompt: spec.prompt,
      model: spec.model,
      provider: spec.provider,
      systemPrompt: spec.systemPrompt,
      appendSystemPrompt: spec.appendSystemPrompt,
      jsonSchema: spec.jsonSchema,
      effort: spec.effort,
      resumeSessionId,
      forkSession: spec.forkSession,
      userMemory: spec.userMemory,
      mcpServers: spec.mcpServers,
    };
  }

  async #flush(run: ActiveRun): Promise<void> {
    const pending = run.events.slice(run.persistedSeq);
    if (pending.length === 0) return;
    run.persistedSeq = run.events.length;
    await this.opts.repository.appendEvents(run.id, pending);
  }

  async #recordSession(run: ActiveRun, agentSessionId: string): Promise<void> {
    await this.opts.repository.setAgentSession(run.id, agentSessionId);
    const { session } = run.spec;
    if (!session) return;
    const rec = await this.opts.sessions.find(run.spec.owner, session.kind, session.name);
    if (rec && rec.agentSessionId !== agentSessionId)
      await this.opts.sessions.setAgentSession(rec.id, agentSessionId);
  }

  async #settle(
    run: ActiveRun,
    status: RunStatus,
    agentResult: RunResult | undefined,
    error: string | undefined,
  ): Promise<void> {
    const finishedAt = Date.now();
    let result = agentResult;
    if (status === 'cancelled' || status === 'timed_out') {
      // What was produced before the stop is kept: a timed-out run answers with its partial output.
      result = {
        subtype: status,
        isError: true,
        text: agentResult?.text ?? run.streamedText,
        numTurns: agentResult?.numTurns ?? 0,
        durationMs: finishedAt - (run.startedAt ?? finishedAt),
        totalCostUsd: agentResult?.totalCostUsd ?? 0,
        sessionId: agentResult?.sessionId,
        usage: agentResult?.usage ?? ZERO_USAGE,
      };
      error = status === 'timed_out' ? 'The run timed out' : 'The run was cancelled';
    }
    if (status === 'failed' && !error) error = result?.text || 'The agent reported an error';
    // The agent's own result and error events were emitted as they came; add only what we made up.
    if (result && result !== agentResult) run.emit({ type: 'result', result });
    if (status !== 'succeeded' && !run.events.some((e) => e.event.type === 'error')) {
      run.emit({ type: 'error', code: status, message: error ?? status });
    }
    run.emit({ type: 'status', status });
    try {
      await this.#flush(run);
      await this.opts.repository.finish(run.id, status, result, error, finishedAt);
    } catch (err) {
      this.opts.logger.error({ err, runId: run.id }, 'could not persist a finished run');
    }
    this.#active.delete(run.id);
    run.finish({
      id: run.id,
      owner: run.spec.owner,
      workspace: run.spec.workspace,
      status,
      spec: run.spec,
      result,
      error,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt,
    });
  }
}
