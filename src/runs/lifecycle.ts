import type { Logger } from 'pino';
import type { AgentBackend } from '../agents/types.ts';
import type { RunResult, RunStatus } from '../engine/events.ts';
import { ZERO_USAGE } from '../engine/events.ts';
import type { RunObserver } from '../engine/observer.ts';
import type { SandboxInfo } from '../engine/port.ts';
import type { RunRecord } from '../engine/record.ts';
import type { RunSpec } from '../engine/spec.ts';
import { checkTier, tierOf } from '../engine/tier.ts';
import { AppError } from '../errors.ts';
import type { SessionStore } from '../sessions/store.ts';
import type { RunAdmission, RunGuard } from '../usage/run-guard.ts';
import type { WorkspaceFs } from '../workspaces/workspace-fs.ts';
import type { EventLog } from './event-log.ts';
import { AgentExecutor, type Executor } from './executor.ts';
import type { RunRepository } from './repository.ts';

/**
 * The parts of a run's life every engine shares, whatever decides when and where it runs:
 * the checks before it is queued, storing it, executing it with its timeout, and settling it
 * (a stopped run keeps its partial output). The embedded engine (runs/engine.ts) and the
 * cluster one (runs/cluster/engine.ts) differ only in their queue and their event fan-out.
 */

export interface SubmissionRules {
  workspaces: WorkspaceFs;
  sessions: SessionStore;
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

/** What both engines are built from: the agent backend, the store, the limits and the watchers. */
export interface EngineOptions extends SubmissionRules {
  backend: AgentBackend;
  repository: RunRepository;
  logger: Logger;
  /** Runs executed at once (on a cluster: by this node). */
  maxConcurrentRuns: number;
  /** Runs waiting (on a cluster: in the whole cluster). */
  maxQueuedRuns: number;
  /** Runs one owner may have waiting: a caller filling its share cannot starve the others. */
  maxQueuedRunsPerOwner?: number;
  defaultTimeoutMs: number;
  /** The sandbox agents run under, recorded on every run and reported by health(). */
  sandbox: SandboxInfo;
  /** Told when runs start, produce events and settle (metrics). */
  observer?: RunObserver;
}

/**
 * Everything checked before a run is queued; throws the AppError a caller gets. Resolves
 * with the key's admission (its limits and spend) for the engine to claim a slot with.
 */
export async function checkSubmission(
  spec: RunSpec,
  rules: SubmissionRules,
): Promise<RunAdmission | undefined> {
  rules.admit?.();
  checkSizes(spec, rules.maxPromptChars);
  checkTier(spec);
  await rules.workspaces.ensure(spec.workspace); // validates the name before anything is stored
  if (spec.resumeSessionId && !(await rules.sessions.ownsAgentSession(spec.owner, spec.resumeSessionId))) {
    throw new AppError('not_found', `No session ${spec.resumeSessionId}`);
  }
  return rules.guard?.admit(spec);
}

function checkSizes(spec: RunSpec, max: number | undefined): void {
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

/** Stores a queued run (and the named session it continues, created on first use). */
export async function storeRun(
  parts: { repository: RunRepository; sessions: SessionStore },
  id: string,
  spec: RunSpec,
  createdAt: number,
  sandboxName: string,
): Promise<void> {
  const session = spec.session
    ? await parts.sessions.getOrCreate(spec.owner, spec.session.kind, spec.session.name, spec.workspace)
    : undefined;
  await parts.repository.insert(id, spec, createdAt, session?.id ?? null, sandboxName);
}

/** What executing and settling a run needs. */
export interface RunParts {
  repository: RunRepository;
  log: EventLog;
  executor: Executor;
  logger: Logger;
  defaultTimeoutMs: number;
  /** The sandbox agents run under here, recorded on every run. */
  sandboxName: string;
  /** Told when runs start and settle (metrics). */
  observer?: RunObserver;
  /** Records a settled run's usage against its key and frees its slot. */
  guard?: RunGuard;
}

/**
 * Why a run was stopped: cancelled, timed out, or failed by the engine itself with a
 * message of its own (its key's budget is spent).
 */
export type StopReason = 'cancelled' | 'timed_out' | { failed: string };

/**
 * The execution parts of an engine: its agent executor (its events told to the observer,
 * each model call metered by the key guard) and the settling parts. `stop` is how the
 * engine stops one of its runs when the guard says its budget is spent.
 */
export function runParts(
  opts: EngineOptions & { guard?: RunGuard },
  log: EventLog,
  stop: (runId: string, reason: StopReason) => void,
): RunParts {
  const parts: RunParts = {
    repository: opts.repository,
    log,
    executor: new AgentExecutor({
      ...opts,
      log,
      onEvent: (spec, ev) => observe(parts, (o) => o.runEvent(spec, ev)),
      onModelCall: (runId, call) => {
        const stopMessage = opts.guard?.onModelCall(runId, call);
        if (stopMessage) stop(runId, { failed: stopMessage });
      },
    }),
    logger: opts.logger,
    defaultTimeoutMs: opts.defaultTimeoutMs,
    sandboxName: opts.sandbox.name,
    ...(opts.observer ? { observer: opts.observer } : {}),
    ...(opts.guard ? { guard: opts.guard } : {}),
  };
  return parts;
}

/** Tells the observer; a watcher's failure is logged, never the run's. */
export function observe(parts: Pick<RunParts, 'observer' | 'logger'>, call: (o: RunObserver) => void): void {
  const { observer } = parts;
  if (!observer) return;
  try {
    call(observer);
  } catch (err) {
    parts.logger.warn({ err }, 'run observer failed');
  }
}

/** A run as its settling needs it. */
export interface SettlingRun {
  id: string;
  spec: RunSpec;
  createdAt: number;
  startedAt: number | undefined;
  node?: string;
}

export interface ExecutionOutcome {
  status: RunStatus;
  result: RunResult | undefined;
  error: string | undefined;
}

/**
 * Runs a started run's agent to its end under its timeout. `abort` is the run's stop:
 * aborted with `cancelled` or `timed_out` (the timeout here does it), which the outcome's
 * status then says. Never throws. The caller has marked it running (and set `startedAt`).
 */
export async function executeRun(
  parts: RunParts,
  run: SettlingRun,
  abort: AbortController,
): Promise<ExecutionOutcome> {
  const { id, spec } = run;
  const signal = abort.signal;
  const timer = setTimeout(() => {
    if (!signal.aborted) abort.abort('timed_out' satisfies StopReason);
  }, spec.timeoutMs ?? parts.defaultTimeoutMs);
  let outcome: { result: RunResult | undefined; error: string | undefined };
  try {
    parts.log.append(id, { type: 'status', status: 'running' });
    // Admitted at submit, but a queued run may wait long: a key revoked or spent meanwhile
    // must not get one more model call (each waiting run would otherwise overshoot a budget).
    const refusal = await parts.guard?.beforeStart(id, spec);
    if (refusal) return { status: 'failed', result: undefined, error: refusal };
    observe(parts, (o) => o.runStarted(spec));
    outcome = await parts.executor.execute(id, spec, signal);
  } catch (err) {
    outcome = {
      result: undefined,
      error: err instanceof AppError ? err.message : 'The agent failed unexpectedly',
    };
    if (!(err instanceof AppError)) parts.logger.error({ err, runId: id }, 'run failed');
  } finally {
    clearTimeout(timer);
  }
  const reason = signal.aborted ? (signal.reason as StopReason) : undefined;
  const { result } = outcome;
  // Stopped by the engine (a spent budget): a failure that says why, whatever the agent said.
  if (typeof reason === 'object') return { status: 'failed', result, error: reason.failed };
  const status: RunStatus = reason ?? (result && !result.isError ? 'succeeded' : 'failed');
  return { status, result, error: outcome.error };
}

/**
 * Settles a run: what a stopped run produced is kept as its result, the events we make up
 * (result, error, final status) are logged, the log is flushed, the record finished and the
 * log closed (its followers end). Undefined when the store already held it settled (another
 * node declared it lost): then nothing more is written.
 */
export async function settleRun(
  parts: Pick<RunParts, 'repository' | 'log' | 'logger' | 'sandboxName' | 'observer' | 'guard'>,
  run: SettlingRun,
  status: RunStatus,
  agentResult: RunResult | undefined,
  agentError: string | undefined,
): Promise<RunRecord | undefined> {
  const { id, log } = { id: run.id, log: parts.log };
  const finishedAt = Date.now();
  const logged = log.summary(id);
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
  if (result && result !== agentResult) log.append(id, { type: 'result', result });
  if (status !== 'succeeded' && !logged.hasError) {
    log.append(id, { type: 'error', code: status, message: error ?? status });
  }
  log.append(id, { type: 'status', status });
  let isStored = true;
  try {
    await log.flush(id);
    isStored = await parts.repository.finish(id, status, result, error, finishedAt);
  } catch (err) {
    parts.logger.error({ err, runId: id }, 'could not persist a finished run');
  }
  await log.close(id);
  if (!isStored) {
    parts.guard?.release(id);
    return undefined;
  }
  const durationMs = run.startedAt === undefined ? undefined : finishedAt - run.startedAt;
  observe(parts, (o) => o.runFinished(run.spec, status, durationMs));
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
    sandbox: parts.sandboxName,
    tier: tierOf(run.spec),
    ...(run.node ? { node: run.node } : {}),
  };
  // Usage is recorded before the caller hears the run is done: a next run sees its cost.
  await parts.guard?.settled(record);
  return record;
}
