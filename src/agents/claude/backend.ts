import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type Options, query, type SDKUserMessage } from '@anthropic-ai/claude-agent-sdk';
import type { Logger } from 'pino';
import type { ModelRelay, RelayGrant } from '../../egress/model-relay.ts';
import type { RunEvent } from '../../engine/events.ts';
import { bwrapCommand, type SandboxPolicy } from '../../process/sandbox.ts';
import { killSandboxStrays } from '../../process/strays.ts';
import type { AgentBackend, AgentRunRequest, ModelProvider, PoolState } from '../types.ts';
import { AgentProcess, groupSpawner, userMessage } from './agent-process.ts';
import { Channel } from './channel.ts';
import {
  buildAgentEnv,
  createAgentHome,
  linkTranscripts,
  type ModelAccess,
  removeAgentHome,
  setUserMemory,
  transcriptsDir,
} from './environment.ts';
import { treeRssBytes } from './process-memory.ts';
import { isClaimable, reuseKeyOf } from './reuse-key.ts';
import { SpareRegistry } from './spare-registry.ts';

export interface ClaudeBackendOptions {
  /** DATA_DIR/agent: per-process homes and the shared transcript store. */
  agentDir: string;
  poolSize: number;
  /** Most live processes parked for reuse at once. */
  maxLive: number;
  liveMaxTurns: number;
  /** Idle time after which a live process beyond the `poolSize` most recently used is stopped. */
  liveIdleMs: number;
  /** A live process whose tree holds more resident memory than this after a run is recycled; 0: no limit. */
  liveMaxRssBytes: number;
  defaultModel: string;
  passThroughEnv: Record<string, string | undefined>;
  /**
   * Read at every start, so a refreshed OAuth token or rotated key is used from then on.
   * Throws an AppError for a provider that is not configured.
   */
  modelAccess: (provider: ModelProvider) => ModelAccess;
  logger: Logger;
  /** Run every agent under bubblewrap with this policy; undefined runs them unconfined. */
  sandbox?: SandboxPolicy;
  /** The model relay that hands each process its token, and how agents reach it. */
  relay: ModelRelay;
  /** The relay's URL as an agent sees it, and the egress proxy's (sandboxed agents only). */
  endpoint: { baseUrl: string; proxyUrl?: string };
}

/**
 * Claude Code through the Agent SDK. A run is served, fastest first, by:
 * 1. a live process of the same owner and settings: the same session continues in place;
 *    a one-shot run finds one whose conversation was already reset (`/clear`) when its
 *    last run ended, so it pays only the model's own time;
 * 2. a pre-started spare claimed for the run's folder (saves the ~1 s start-up);
 * 3. a cold start, for what a claim cannot carry (replaced system prompt, schema, resume).
 * Every process runs in streaming-input mode, so after its run it can be parked for reuse.
 * Between runs, never during one, a parked process is checked (tree RSS against
 * `liveMaxRssBytes`) and, unless its conversation may be continued, reset. Processes beyond
 * the `poolSize` most recently used are stopped after `liveIdleMs` idle, so an idle server
 * shrinks back to the pool's footprint.
 */
export class ClaudeBackend implements AgentBackend {
  readonly name = 'claude';
  #spares: SpareRegistry;
  /** Bumped when credentials change: processes of an older generation are not reused. */
  #generation = 0;
  readonly #generationOf = new WeakMap<AgentProcess, number>();
  readonly #live = new Set<AgentProcess>();
  readonly #busy = new Set<AgentProcess>();
  readonly #reaper: NodeJS.Timeout;
  readonly #homeRemovals = new Set<Promise<unknown>>();

  constructor(private readonly opts: ClaudeBackendOptions) {
    this.#spares = this.#newSpares();
    // Often enough that a process outlives its idle time by at most a quarter of it.
    this.#reaper = setInterval(() => this.#reapIdle(), Math.max(250, Math.min(5000, opts.liveIdleMs / 4)));
    this.#reaper.unref();
  }

  warm(): Promise<void> {
    return this.#spares.fill();
  }

  /**
   * Credentials changed (OAuth login or refresh): parked processes and spares started with
   * the old ones are replaced; busy ones finish their run and are not reused.
   */
  async recycle(): Promise<void> {
    this.#generation += 1;
    for (const p of this.#live) p.kill();
    this.#live.clear();
    const old = this.#spares;
    this.#spares = this.#newSpares();
    await old.close();
    void this.#spares.fill();
  }

  #newSpares(): SpareRegistry {
    // Spares only ever serve the server's own model access (see isClaimable).
    return new SpareRegistry({
      size: this.opts.poolSize,
      agentDir: this.opts.agentDir,
      hostOptions: (home, grant) => this.#hostOptions(home, this.opts.modelAccess('anthropic'), grant),
      grant: () => this.#grant('anthropic'),
      logger: this.opts.logger,
      ...(this.opts.sandbox ? { sandbox: this.opts.sandbox } : {}),
    });
  }

  poolState(): PoolState {
    return {
      size: this.opts.poolSize,
      ...this.#spares.state(),
      busy: this.#busy.size,
      live: this.#live.size,
    };
  }

  async *start(req: AgentRunRequest, signal: AbortSignal): AsyncGenerator<RunEvent> {
    const access = this.opts.modelAccess(req.provider ?? 'anthropic');
    const key = reuseKeyOf(req, access.defaultModel ?? this.opts.defaultModel, access);
    const reused = await this.#reuse(req, key, signal);
    let proc = reused?.proc;
    let servedBy = reused?.servedBy ?? '';
    let isPromptQueued = false;
    if (!proc && !signal.aborted && isClaimable(req)) {
      proc = await this.#claim(req, key);
      isPromptQueued = proc !== undefined;
      servedBy = 'warm spare';
    }
    if (!proc && !signal.aborted) {
      proc = await this.#cold(req, key, access);
      isPromptQueued = true;
      servedBy = 'cold start';
    }
    if (!proc) return; // aborted before any process was chosen
    // Which way the run was served, for logs, /status readers and the tests that prove it.
    yield { type: 'status', status: 'running', detail: servedBy };
    this.#spares.noteOwner(req);
    if (!this.#generationOf.has(proc)) this.#generationOf.set(proc, this.#generation);
    this.#busy.add(proc);
    proc.grant.begin(req.onModelCall);
    try {
      for await (const ev of proc.turn(isPromptQueued ? undefined : req.prompt, signal, req.images)) {
        // The relay's record of this run's model calls, before the run's last word.
        if (ev.type === 'result' || ev.type === 'error') {
          for (const call of proc.grant.end()) yield { type: 'model_call', call };
        }
        yield ev;
      }
    } finally {
      proc.grant.end();
      this.#busy.delete(proc);
      if (signal.aborted || !proc.isAlive) proc.kill();
      else {
        // Nothing a prompt started may outlive its run in a process kept for the next one.
        if (this.opts.sandbox && proc.pid !== undefined) killSandboxStrays(proc.pid);
        this.#park(proc, req.keepsConversation === true);
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#reaper);
    await this.#spares.close();
    const procs = [...this.#live, ...this.#busy];
    for (const p of procs) p.kill();
    this.#live.clear();
    this.#busy.clear();
    // A process killed mid-reset may still be writing its home: wait for it to be gone and
    // for its home to be removed, so nothing writes under DATA_DIR once close resolves.
    await Promise.all(procs.map((p) => p.exited(2000)));
    await Promise.all(this.#homeRemovals);
  }

  /**
   * A parked process for this run. A continuation takes the process holding its session; a
   * one-shot run prefers one already reset (or resetting) after its last run, and only then
   * clears a process that kept its conversation.
   */
  async #reuse(
    req: AgentRunRequest,
    key: string,
    signal: AbortSignal,
  ): Promise<{ proc: AgentProcess; servedBy: string } | undefined> {
    if (req.forkSession) return undefined;
    for (;;) {
      const candidates = [...this.#live].filter((p) => p.reuseKey === key && p.isAlive);
      const isContinuation = req.resumeSessionId !== undefined;
      const match = isContinuation
        ? candidates.find((p) => p.holdsConversation && p.sessionId === req.resumeSessionId)
        : // Reset already, then resetting, then one that kept a conversation (cleared now).
          (candidates.find((p) => p.isSettled && !p.holdsConversation) ??
          candidates.find((p) => !p.holdsConversation) ??
          candidates[0]);
      if (!match) return undefined;
      this.#live.delete(match);
      const wasSettled = match.isSettled;
      const wasReset = !match.holdsConversation;
      if (!(await match.ready()) || signal.aborted) {
        match.kill();
        if (signal.aborted) return undefined;
        continue; // dropped between runs (memory limit, reset failed): look again
      }
      if (isContinuation) {
        // A reset in flight when this run chose the process would have ended the session.
        if (!match.holdsConversation || match.sessionId !== req.resumeSessionId) {
          this.#live.add(match);
          return undefined;
        }
        return { proc: match, servedBy: 'live process, same session' };
      }
      if (match.holdsConversation && !(await match.clear(signal))) {
        match.kill();
        if (signal.aborted) return undefined;
        continue;
      }
      const servedBy =
        wasReset && wasSettled ? 'live process, reset before the run' : 'live process, reset on arrival';
      return { proc: match, servedBy };
    }
  }

  async #claim(req: AgentRunRequest, key: string): Promise<AgentProcess | undefined> {
    const spare = this.#spares.take(req);
    if (!spare) return undefined;
    await setUserMemory(spare.home, req.userMemory);
    await linkTranscripts(spare.home, transcriptsDir(this.opts.agentDir, req.owner));
    const input = new Channel<SDKUserMessage>();
    input.push(userMessage(req.prompt, req.images));
    const q = spare.spare.claim({
      prompt: input,
      options: {
        cwd: req.cwd,
        model: req.model ?? this.opts.defaultModel,
        permissionMode: 'bypassPermissions',
        title: 'agentgate run',
        ...(req.appendSystemPrompt ? { appendSystemPrompt: req.appendSystemPrompt } : {}),
        ...(req.effort ? { settings: { effortLevel: req.effort } } : {}),
      },
    });
    try {
      await spare.spare.claimed;
    } catch (err) {
      const reason = (err as Error).message;
      if (!reason.startsWith('option_not_applied')) {
        // The prompt did not run: discard the spare and let the caller start cold.
        this.opts.logger.warn({ reason }, 'spare claim refused; starting cold');
        spare.spare.close();
        spare.grant.revoke();
        input.end();
        void removeAgentHome(spare.home);
        return undefined;
      }
    }
    return new AgentProcess(spare.id, spare.home, key, q, input, spare.child, spare.grant, (p) =>
      this.#onDeath(p),
    );
  }

  async #cold(req: AgentRunRequest, key: string, access: ModelAccess): Promise<AgentProcess> {
    const id = randomUUID();
    const home = await createAgentHome(this.opts.agentDir, id, req.owner);
    await setUserMemory(home, req.userMemory);
    const input = new Channel<SDKUserMessage>();
    input.push(userMessage(req.prompt, req.images));
    const holder: { child?: ChildProcess; proc?: AgentProcess } = {};
    const grant = this.#grant(req.provider ?? 'anthropic');
    const options: Options = {
      ...this.#hostOptions(home, access, grant),
      cwd: req.cwd,
      model: req.model ?? access.defaultModel ?? this.opts.defaultModel,
      title: 'agentgate run',
      systemPrompt:
        req.systemPrompt !== undefined
          ? req.systemPrompt
          : {
              type: 'preset',
              preset: 'claude_code',
              ...(req.appendSystemPrompt ? { append: req.appendSystemPrompt } : {}),
            },
      ...(req.effort ? { effort: req.effort } : {}),
      ...(req.jsonSchema ? { outputFormat: { type: 'json_schema', schema: req.jsonSchema } } : {}),
      ...(req.resumeSessionId ? { resume: req.resumeSessionId } : {}),
      ...(req.forkSession ? { forkSession: true } : {}),
      // Over the control channel, not argv: MCP headers carry bearer tokens that would
      // otherwise be readable in /proc/<pid>/cmdline.
      ...(req.mcpServers ? { mcpServers: req.mcpServers, mcpServersDelivery: 'initialize' as const } : {}),
      spawnClaudeCodeProcess: groupSpawner(
        (c) => {
          holder.child = c;
          holder.proc?.attachChild(c);
        },
        this.#sandboxWrap([req.cwd, home, transcriptsDir(this.opts.agentDir, req.owner)]),
      ),
    };
    const q = query({ prompt: input, options });
    holder.proc = new AgentProcess(id, home, key, q, input, holder.child, grant, (p) => this.#onDeath(p));
    return holder.proc;
  }

  #sandboxWrap(writable: string[]) {
    const policy = this.opts.sandbox;
    if (!policy) return undefined;
    return (command: string, args: string[], cwd: string | undefined) =>
      bwrapCommand(policy, writable, cwd, command, args);
  }

  /** A relay token for a new process of this provider; the relay reads the credential per call. */
  #grant(provider: ModelProvider): RelayGrant {
    return this.opts.relay.grant(() => this.opts.modelAccess(provider));
  }

  #hostOptions(home: string, access: ModelAccess, grant: RelayGrant): Options {
    return {
      env: buildAgentEnv(this.opts.passThroughEnv, home, access, {
        ...this.opts.endpoint,
        token: grant.token,
        kind: grant.kind,
      }),
      // Headless: never wait on a permission prompt nobody can answer.
      permissionMode: 'bypassPermissions',
      allowDangerouslySkipPermissions: true,
      includePartialMessages: true,
      settingSources: ['user', 'project', 'local'],
      systemPrompt: { type: 'preset', preset: 'claude_code' },
      stderr: (data) => this.opts.logger.debug({ agentStderr: data.slice(0, 2000) }, 'agent stderr'),
    };
  }

  /**
   * Parks a process after its run and starts its between-runs work at once, off the next
   * run's path: the memory check, then the reset unless its conversation may be continued.
   */
  #park(proc: AgentProcess, keepsConversation: boolean): void {
    const isStale = this.#generationOf.get(proc) !== this.#generation;
    if (isStale || proc.turns >= this.opts.liveMaxTurns || this.opts.maxLive === 0) {
      proc.kill(); // bounded memory growth: recycle after a number of turns
      return;
    }
    // Decided now, so no continuation picks a process whose reset is on its way.
    if (!keepsConversation) proc.holdsConversation = false;
    proc.startBetweenRuns(async () => {
      if (!(await this.#isWithinMemoryLimit(proc))) {
        proc.kill();
        return false;
      }
      if (keepsConversation) return true;
      if (await proc.resetConversation()) return true;
      proc.kill();
      return false;
    });
    this.#live.add(proc);
    while (this.#live.size > this.opts.maxLive) {
      const oldest = [...this.#live].sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
      if (!oldest) break;
      this.#live.delete(oldest);
      oldest.kill();
    }
  }

  async #isWithinMemoryLimit(proc: AgentProcess): Promise<boolean> {
    const limit = this.opts.liveMaxRssBytes;
    if (limit <= 0 || proc.pid === undefined) return true;
    const rssBytes = await treeRssBytes(proc.pid);
    if (rssBytes <= limit) return true;
    this.opts.logger.info(
      { agent: proc.id, rssMb: Math.round(rssBytes / 2 ** 20), limitMb: Math.round(limit / 2 ** 20) },
      'live agent process past its memory limit; recycling it between runs',
    );
    return false;
  }

  /** Keeps the `poolSize` most recently used live processes; stops the others once idle. */
  #reapIdle(): void {
    const now = Date.now();
    const byRecency = [...this.#live].sort((a, b) => b.lastUsedAt - a.lastUsedAt);
    for (const p of byRecency.slice(this.opts.poolSize)) {
      if (now - p.lastUsedAt > this.opts.liveIdleMs) {
        this.#live.delete(p);
        p.kill();
      }
    }
  }

  #onDeath(p: AgentProcess): void {
    this.#live.delete(p);
    p.grant.revoke();
    // After the exit: a process killed mid-write would otherwise refill the home being removed.
    const removal = p
      .exited(2000)
      .then(() => removeAgentHome(p.home))
      .catch(() => undefined);
    this.#homeRemovals.add(removal);
    void removal.finally(() => this.#homeRemovals.delete(removal));
  }
}
