import type { ChildProcess } from 'node:child_process';
import { closeSync } from 'node:fs';
import type { Query, SDKUserMessage, SpawnedProcess, SpawnOptions } from '@anthropic-ai/claude-agent-sdk';
import type { RelayGrant } from '../../egress/model-relay.ts';
import type { RunEvent } from '../../engine/events.ts';
import type { PromptImage } from '../../engine/spec.ts';
import { killGroup, spawnInGroup } from '../../process/process-group.ts';
import type { SandboxCommand } from '../../process/sandbox.ts';
import type { Channel } from './channel.ts';
import { translateSdkMessage } from './translate.ts';

/**
 * Spawns the CLI in its own process group and remembers the group, so the process and
 * everything it starts can be killed at once. The SDK aborts `signal` only after its own
 * graceful close (stdin EOF + grace), so honouring it here never cuts a clean exit short.
 */
export function groupSpawner(
  onSpawn: (child: ChildProcess) => void,
  wrap?: (command: string, args: string[], cwd: string | undefined) => SandboxCommand,
): (opts: SpawnOptions) => SpawnedProcess {
  return (opts) => {
    const cmd = wrap
      ? wrap(opts.command, opts.args, opts.cwd)
      : { command: opts.command, args: opts.args, fds: [] };
    let child: ChildProcess;
    try {
      child = spawnInGroup(cmd.command, cmd.args, { cwd: opts.cwd, env: opts.env, fds: cmd.fds });
    } finally {
      for (const fd of cmd.fds) closeSync(fd);
    }
    onSpawn(child);
    opts.signal.addEventListener('abort', () => child.pid !== undefined && killGroup(child.pid), {
      once: true,
    });
    // stdio is ['pipe','pipe','pipe'], so the streams the SDK needs are never null.
    return child as SpawnedProcess;
  };
}

export function userMessage(text: string, images?: readonly PromptImage[]): SDKUserMessage {
  const content = images?.length
    ? [
        ...images.map((i) => ({
          type: 'image' as const,
          source: { type: 'base64' as const, media_type: i.mediaType, data: i.data },
        })),
        { type: 'text' as const, text },
      ]
    : text;
  return {
    type: 'user',
    message: { role: 'user', content },
    parent_tool_use_id: null,
  } as SDKUserMessage;
}

const ABORTED = Symbol('aborted');

/**
 * One running Claude Code process in streaming-input mode: each pushed prompt is one turn
 * ending in one `result`. Between turns it stays alive and can serve the same owner again.
 */
export class AgentProcess {
  sessionId: string | undefined;
  turns = 0;
  lastUsedAt = Date.now();
  /**
   * The conversation of the last turn is in context and meant to stay (false as soon as a
   * reset is decided): a later run may continue it in place.
   */
  holdsConversation = false;
  #costBaseline = 0;
  #isDead = false;
  #child: ChildProcess | undefined;
  /** The work done between two runs (memory check, reset); false when it dropped the process. */
  #betweenRuns: Promise<boolean> = Promise.resolve(true);
  #isBetweenRunsDone = true;

  constructor(
    readonly id: string,
    readonly home: string,
    /** What this process can be reused for (owner + everything fixed at its start). */
    readonly reuseKey: string,
    private readonly query: Query,
    private readonly input: Channel<SDKUserMessage>,
    child: ChildProcess | undefined,
    /** The relay token this process holds (honoured only while one of its runs is active). */
    readonly grant: RelayGrant,
    private readonly onDeath: (p: AgentProcess) => void,
  ) {
    this.#child = child;
    child?.once('exit', () => this.#markDead());
  }

  attachChild(child: ChildProcess): void {
    this.#child = child;
    child.once('exit', () => this.#markDead());
  }

  get isAlive(): boolean {
    return !this.#isDead;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * Runs one prompt to its result. The first message of a claimed or cold process is
   * already queued by its creator; later turns push their prompt here.
   */
  async *turn(
    prompt: string | undefined,
    signal: AbortSignal,
    images?: readonly PromptImage[],
  ): AsyncGenerator<RunEvent> {
    this.lastUsedAt = Date.now();
    this.holdsConversation = true;
    if (prompt !== undefined) this.input.push(userMessage(prompt, images));
    for (;;) {
      const next = await this.#nextOrAbort(signal);
      if (next === ABORTED) {
        this.kill();
        return;
      }
      if (next.done) {
        this.#markDead();
        const why = next.value instanceof Error ? `: ${next.value.message.split('\n')[0]}` : '';
        yield {
          type: 'error',
          code: 'agent_exited',
          message: `The agent process ended before answering${why}`,
        };
        return;
      }
      for (const ev of translateSdkMessage(next.value)) {
        if (ev.type === 'session') this.sessionId = ev.sessionId;
        if (ev.type === 'result') {
          this.turns += 1;
          this.lastUsedAt = Date.now();
          if (ev.result.sessionId) this.sessionId = ev.result.sessionId;
          // Cost is cumulative over a live process's turns; report this turn's share.
          const total = ev.result.totalCostUsd;
          const own = Math.max(0, total - this.#costBaseline);
          this.#costBaseline = total;
          yield { type: 'result', result: { ...ev.result, totalCostUsd: own } };
          return;
        }
        yield ev;
      }
    }
  }

  /**
   * Runs `work` now, between runs: `ready()` resolves with its outcome, and a run must not
   * take the process before it has (the query's stream has one reader at a time).
   */
  startBetweenRuns(work: () => Promise<boolean>): void {
    this.#isBetweenRunsDone = false;
    this.#betweenRuns = work()
      .catch(() => false)
      .then((isOk) => {
        this.#isBetweenRunsDone = true;
        return isOk && this.isAlive;
      });
  }

  /** Whether the between-runs work has finished (a run taking the process now waits for nothing). */
  get isSettled(): boolean {
    return this.#isBetweenRunsDone;
  }

  /** Resolves once the between-runs work is over: true if the process can serve a run. */
  ready(): Promise<boolean> {
    return this.#betweenRuns;
  }

  /** `/clear` with nobody waiting: run between runs, so the next one-shot run finds a clean process. */
  async resetConversation(): Promise<boolean> {
    return this.clear(new AbortController().signal);
  }

  /** Starts a fresh conversation in this process (`/clear` answers with a zero-turn result, no model call). */
  async clear(signal: AbortSignal): Promise<boolean> {
    this.input.push(userMessage('/clear'));
    for (;;) {
      const next = await this.#nextOrAbort(signal);
      if (next === ABORTED) {
        this.kill();
        return false;
      }
      if (next.done) {
        this.#markDead();
        return false;
      }
      const msg = next.value as { type?: string; session_id?: string; total_cost_usd?: number };
      if (msg.type === 'result') {
        if (typeof msg.session_id === 'string') this.sessionId = msg.session_id;
        this.holdsConversation = false;
        // /clear resets the process's running cost total.
        this.#costBaseline = typeof msg.total_cost_usd === 'number' ? msg.total_cost_usd : 0;
        return true;
      }
    }
  }

  /** Resolves once the process has exited (at once when it has), or after `withinMs` regardless. */
  exited(withinMs: number): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, withinMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  kill(): void {
    if (this.#child?.pid !== undefined) killGroup(this.#child.pid);
    this.input.end();
    try {
      this.query.close();
    } catch {
      // Already closed.
    }
    this.#markDead();
  }

  async #nextOrAbort(signal: AbortSignal): Promise<IteratorResult<unknown> | typeof ABORTED> {
    if (signal.aborted) return ABORTED;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<typeof ABORTED>((resolve) => {
      onAbort = () => resolve(ABORTED);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.query.next(), aborted]);
    } catch (err) {
      this.#markDead();
      return { done: true, value: err };
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  #markDead(): void {
    if (this.#isDead) return;
    this.#isDead = true;
    this.onDeath(this);
  }
}
