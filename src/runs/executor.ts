import type { Logger } from 'pino';
import type { AgentBackend, AgentRunRequest } from '../agents/types.ts';
import type { ModelCall, RunResult } from '../engine/events.ts';
import type { RunSpec } from '../engine/spec.ts';
import { AppError } from '../errors.ts';
import type { SessionStore } from '../sessions/store.ts';
import { ownerRootOf } from '../workspaces/owners.ts';
import type { WorkspaceFs } from '../workspaces/workspace-fs.ts';
import type { EventLog } from './event-log.ts';
import type { RunRepository } from './repository.ts';

/** How an agent's run ended, as the agent told it. */
export interface AgentOutcome {
  result: RunResult | undefined;
  error: string | undefined;
}

/** Runs one run's agent to its end, writing its events to the run's log. */
export interface Executor {
  /** Never throws: a failure is an outcome with an error. Aborting `signal` stops the agent. */
  execute(runId: string, spec: RunSpec, signal: AbortSignal): Promise<AgentOutcome>;
}

export interface AgentExecutorOptions {
  backend: AgentBackend;
  log: EventLog;
  repository: RunRepository;
  sessions: SessionStore;
  workspaces: WorkspaceFs;
  logger: Logger;
  /** Each model call of a run as the relay finishes it (budgets are checked there). */
  onModelCall?: (runId: string, call: ModelCall) => void;
}

/** Runs an agent through its `AgentBackend`, in the run's workspace, continuing its session. */
export class AgentExecutor implements Executor {
  constructor(private readonly opts: AgentExecutorOptions) {}

  async execute(runId: string, spec: RunSpec, signal: AbortSignal): Promise<AgentOutcome> {
    const { log } = this.opts;
    let result: RunResult | undefined;
    let error: string | undefined;
    try {
      const req = await this.#agentRequest(runId, spec);
      for await (const ev of this.opts.backend.start(req, signal)) {
        log.append(runId, ev);
        // Token deltas are kept in memory and stored with the next whole message, so a
        // crash loses at most the half-written message and the hot path stays cheap.
        if (ev.type !== 'text_delta') await log.flush(runId);
        if (ev.type === 'session') await this.#recordSession(runId, spec, ev.sessionId);
        if (ev.type === 'result') result = ev.result;
        if (ev.type === 'error') error = ev.message;
      }
    } catch (err) {
      error = err instanceof AppError ? err.message : 'The agent failed unexpectedly';
      if (!(err instanceof AppError)) this.opts.logger.error({ err, runId }, 'run failed');
    }
    if (result?.sessionId) await this.#recordSession(runId, spec, result.sessionId);
    return { result, error };
  }

  async #agentRequest(runId: string, spec: RunSpec): Promise<AgentRunRequest> {
    const cwd = await this.opts.workspaces.ensure(spec.workspace);
    let resumeSessionId = spec.resumeSessionId;
    if (!resumeSessionId && spec.session?.mode === 'continue') {
      const s = await this.opts.sessions.find(spec.owner, spec.session.kind, spec.session.name);
      resumeSessionId = s?.agentSessionId ?? undefined;
    }
    // Every surface keeps a user's workspaces under one root: a sandboxed spare of that
    // owner binds this root and can serve any of them.
    const rootName = ownerRootOf(spec.workspace);
    const ownerRoot = rootName ? await this.opts.workspaces.ensure(rootName) : undefined;
    return {
      runId,
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
      ...(spec.images?.length ? { images: spec.images } : {}),
      // A named or resumed session is continued later: its process keeps the conversation.
      keepsConversation: spec.session !== undefined || resumeSessionId !== undefined,
      forkSession: spec.forkSession,
      userMemory: spec.userMemory,
      mcpServers: spec.mcpServers,
      ...(this.opts.onModelCall
        ? { onModelCall: (call: ModelCall) => this.opts.onModelCall?.(runId, call) }
        : {}),
    };
  }

  async #recordSession(runId: string, spec: RunSpec, agentSessionId: string): Promise<void> {
    await this.opts.repository.setAgentSession(runId, agentSessionId);
    const { session } = spec;
    if (!session) return;
    const rec = await this.opts.sessions.find(spec.owner, session.kind, session.name);
    if (rec && rec.agentSessionId !== agentSessionId)
      await this.opts.sessions.setAgentSession(rec.id, agentSessionId);
  }
}
