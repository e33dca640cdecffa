import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AgentBackend } from '../agents/types.ts';
import type { RunResult, RunStatus, StoredEvent } from '../engine/events.ts';
import { ZERO_USAGE } from '../engine/events.ts';
import type { EngineHealth, RunEngine, RunFilter, RunSummary, SandboxInfo } from '../engine/port.ts';
import type { RunRecord } from '../engine/record.ts';
import type { RunSpec } from '../engine/spec.ts';
import { AppError } from '../errors.ts';
import type { SessionStore } from '../sessions/store.ts';
import type { RunGuard } from '../usage/run-guard.ts';
import type { WorkspaceFs } from '../workspaces/workspace-fs.ts';
import { type EventLog, StoredEventLog } from './event-log.ts';
import { AgentExecutor, type Executor } from './executor.ts';
import { promptExcerptOf, type RunRepository } from './repository.ts';
import { FairScheduler, type Scheduler } from './scheduler.ts';

export interface EmbeddedEngineOptions {
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
  /** The sandbox agents run under, recorded on every run and reported by health(). */
  sandbox: SandboxInfo;
  /** Refuses a run the server may not start for the current caller (throws an AppError). */
  admit?: () => void;
  /**
   * Most characters a run may hand the model besides its prompt (a system prompt, an
   * appended one, a JSON schema), each: surfaces check the prompt against MAX_PROMPT_CHARS
   * in their own shape, and these must not be a way around it.
   */
  maxPromptChars?: number;
  /** Per-key scope, limits, budgets and usage (runs without a keyId pass untouched). */
  guard?: RunGuard;
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
  /** Why the engine itself stopped the run (a spent budget), shown as its error. */
  stopMessage?: string;
}

type StopReason = 'cancelled' | 'timed_out' | 'over_budget';

/**
 * The embedded RunEngine: SQLite store, in-process scheduler, executor and event log.
 * This is where timeouts, cancellation, settling (a stopped run keeps its partial output),
 * drain and recovery live; the scheduler decides when, the executor runs the agent, the
 * event log fans events out and stores them.
 */
export class EmbeddedRunEngine implements RunEngine {
  readonly #active = new Map<string, Active>();
  readonly #scheduler: Scheduler;
  readonly #executor: Executor;
  readonly #log: EventLog;
  #isDraining = false;
  readonly #totals = { processed: 0, errors: 0, sinceMs: Date.now() };

  constructor(private readonly opts: EmbeddedEngineOptions) {
    this.#log = new StoredEventLog(opts.repository);
    this.#scheduler = new FairScheduler(opts, (id) => void this.#execute(id));
    this.#executor = new AgentExecutor({
      ...opts,
      log: this.#log,
      onModelCall: (runId, call) => {
        const stopMessage = this.opts.guard?.onModelCall(runId, call);
        if (stopMessage) this.#stop(runId, 'over_budget', stopMessage);
      },
    });
  }

  #checkSizes(spec: RunSpec): void {
    const max = this.opts.maxPromptChars;
    if (max === undefined) return;
    const parts: Array<[string, string | undefined]> = [
      ['prompt', spec.prompt],
      ['systemPrompt', spec.systemPrompt],
      ['appendSystemPrompt', spec.appendSystemPrompt],
      ['jsonSchema', spec.jsonSchema === undefined ? undefined : JSON.stringify(spec.jsonSchema)],
    ];
    for (const [name, text] of parts) {
      if (text !== undefined && text.length > max) {
        throw new AppError('invalid_request', `${name} is longer than ${max} characters (MAX_PROMPT_CHARS)`);
      }
    }
  }

  async submit(spec: RunSpec, opts: { signal?: AbortSignal } = {}): Promise<{ id: string }> {
    if (this.#isDraining) throw new AppError('unavailable', 'The server is shutting down', 5);
    this.opts.admit?.();
    this.#checkSizes(spec);
    await this.opts.workspaces.ensure(spec.workspace); // validates the name before anything is stored
    if (
      spec.resumeSessionId &&
      !(await this.opts.sessions.ownsAgentSession(spec.owner, spec.resumeSessionId))
    ) {
      throw new AppError('not_found', `No session ${spec.resumeSessionId}`);
    }
    const { guard } = this.opts;
    const admission = await guard?.admit(spec);
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
      const session = spec.session
        ? await this.opts.sessions.getOrCreate(
            spec.owner,
            spec.session.kind,
            spec.session.name,
            spec.workspace,
          )
        : undefined;
      await this.opts.repository.insert(id, spec, createdAt, session?.id ?? null, this.opts.sandbox.name);
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
    };
  }

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
  #stop(id: string, reason: StopReason, message?: string): boolean {
    const run = this.#active.get(id);
    if (!run || run.abort.signal.aborted) return false;
    if (message) run.stopMessage = message;
    run.abort.abort(reason);
    if (this.#scheduler.withdraw(id)) {
      void this.#settle(id, reason === 'over_budget' ? 'failed' : reason, undefined, message);
    }
    return true;
  }

  async #execute(id: string): Promise<void> {
    const run = this.#active.get(id);
    if (!run) return;
    const { spec } = run;
    const signal = run.abort.signal;
    const timer = setTimeout(() => this.#stop(id, 'timed_out'), spec.timeoutMs ?? this.opts.defaultTimeoutMs);
    let outcome: { result: RunResult | undefined; error: string | undefined };
    try {
      run.startedAt = Date.now();
      run.status = 'running';
      await this.opts.repository.markRunning(id, run.startedAt);
      this.#log.append(id, { type: 'status', status: 'running' });
      outcome = await this.#executor.execute(id, spec, signal);
    } catch (err) {
      outcome = {
        result: undefined,
        error: err instanceof AppError ? err.message : 'The agent failed unexpectedly',
      };
      if (!(err instanceof AppError)) this.opts.logger.error({ err, runId: id }, 'run failed');
    } finally {
      clearTimeout(timer);
    }
    const reason = signal.aborted ? (signal.reason as StopReason) : undefined;
    const { result } = outcome;
    // Stopped by its key's budget: a failure that says why, whatever the agent managed to say.
    const isOverBudget = reason === 'over_budget';
    const status: RunStatus = isOverBudget
      ? 'failed'
      : (reason ?? (result && !result.isError ? 'succeeded' : 'failed'));
    const error = isOverBudget ? (run.stopMessage ?? 'The key’s budget is spent') : outcome.error;
    await this.#settle(id, status, result, error);
    this.#totals.processed += 1;
    if (status !== 'succeeded') this.#totals.errors += 1;
    this.#scheduler.finished(id);
  }

  async #settle(
    id: string,
    status: RunStatus,
    agentResult: RunResult | undefined,
    agentError: string | undefined,
  ): Promise<void> {
    const run = this.#active.get(id);
    if (!run) return;
    const finishedAt = Date.now();
    const logged = this.#log.summary(id);
    let result = agentResult;
    let error = agentError;
    if (status === 'cancelled' || status === 'timed_out') {
      // What was produced before the stop is kept: a timed-out run answers with its partial output.
      result = {
        subtype: status,
        isError: true,
        text: agentResult?.text ?? logged.streamedText,
        numTurns: agentResult?.numTurns ?? 0,
        durationMs: finishedAt - (run.startedAt ?? finishedAt),
        totalCostUsd: agentResult?.totalCostUsd ?? 0,
        sessionId: agentResult?.sessionId,
        usage: agentResult?.usage ?? ZERO_USAGE,
      };
      error = status === 'timed_out' ? 'The run timed out' : 'The run was cancelled';
    }
    if (status === 'failed' && !error) error = result?.text || 'The agent reported an error';
    // The agent's own result and error events were logged as they came; add only what we made up.
    if (result && result !== agentResult) this.#log.append(id, { type: 'result', result });
    if (status !== 'succeeded' && !logged.hasError) {
      this.#log.append(id, { type: 'error', code: status, message: error ?? status });
    }
    this.#log.append(id, { type: 'status', status });
    try {
      await this.#log.flush(id);
      await this.opts.repository.finish(id, status, result, error, finishedAt);
    } catch (err) {
      this.opts.logger.error({ err, runId: id }, 'could not persist a finished run');
    }
    this.#active.delete(id);
    run.status = status;
    this.#log.close(id);
    const record: RunRecord = {
      id,
      owner: run.spec.owner,
      workspace: run.spec.workspace,
      status,
      spec: run.spec,
      result,
      error,
      createdAt: run.createdAt,
      startedAt: run.startedAt,
      finishedAt,
    };
    // Usage is recorded before the caller hears the run is done: a next run sees its cost.
    await this.opts.guard?.settled(record);
    run.resolve(record);
  }
}
