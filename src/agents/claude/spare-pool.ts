import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type Options, prewarm, type SpareProcess } from '@anthropic-ai/claude-agent-sdk';
import type { Logger } from 'pino';
import type { RelayGrant } from '../../egress/model-relay.ts';
import { killGroup } from '../../process/process-group.ts';
import { groupSpawner } from './agent-process.ts';
import { createAgentHome, removeAgentHome } from './environment.ts';

export interface Spare {
  id: string;
  home: string;
  spare: SpareProcess;
  child: ChildProcess | undefined;
  grant: RelayGrant;
}

export interface SparePoolOptions {
  size: number;
  agentDir: string;
  hostOptions: (home: string, grant: RelayGrant) => Options;
  /** A relay token for each new spare. */
  grant: () => RelayGrant;
  logger: Logger;
  /** The one owner these spares may serve (their transcripts and sandbox are that owner's); undefined: any. */
  owner?: string;
  /** Wraps the spawn of a spare whose home is `home` (the sandbox). */
  wrap?: (home: string) => Parameters<typeof groupSpawner>[1];
}

/**
 * Pre-started, parked Claude Code processes. A claim takes one and the pool refills at
 * once; a spare that dies while parked is replaced; a failing start backs off.
 */
export class SparePool {
  #ready: Spare[] = [];
  #warming = 0;
  #isClosed = false;
  #failures = 0;
  #retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: SparePoolOptions) {}

  get idle(): number {
    return this.#ready.length;
  }

  get warming(): number {
    return this.#warming;
  }

  /** Spare starts that failed in a row (0 once one starts). */
  get failures(): number {
    return this.#failures;
  }

  /** Fills the pool; resolves when the first round of starts has settled. */
  fill(): Promise<void> {
    const starts: Promise<void>[] = [];
    while (!this.#isClosed && this.#ready.length + this.#warming < this.opts.size)
      starts.push(this.#startOne());
    return Promise.all(starts).then(() => undefined);
  }

  take(): Spare | undefined {
    const spare = this.#ready.shift();
    if (spare) void this.fill();
    return spare;
  }

  async close(): Promise<void> {
    this.#isClosed = true;
    clearTimeout(this.#retryTimer);
    const spares = this.#ready.splice(0);
    for (const s of spares) discard(s);
    await Promise.all(spares.map((s) => removeAgentHome(s.home)));
  }

  async #startOne(): Promise<void> {
    this.#warming += 1;
    const id = randomUUID();
    let home: string | undefined;
    let child: ChildProcess | undefined;
    const grant = this.opts.grant();
    try {
      home = await createAgentHome(this.opts.agentDir, id, this.opts.owner);
      const spare = await prewarm({
        options: {
          ...this.opts.hostOptions(home, grant),
          spawnClaudeCodeProcess: groupSpawner((c) => {
            child = c;
          }, this.opts.wrap?.(home)),
        },
      });
      const entry: Spare = { id, home, spare, child, grant };
      this.#failures = 0;
      if (this.#isClosed) {
        discard(entry);
        await removeAgentHome(home);
        return;
      }
      this.#ready.push(entry);
      void spare.exited.then(() => this.#onExit(entry));
    } catch (err) {
      grant.revoke();
      this.#failures += 1;
      if (child?.pid !== undefined) killGroup(child.pid);
      if (home) await removeAgentHome(home);
      const delayMs = Math.min(30_000, 1000 * 2 ** Math.min(this.#failures, 5));
      this.opts.logger.warn(
        { err: (err as Error).message, retryInMs: delayMs },
        'agent spare failed to start',
      );
      if (!this.#isClosed) {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => void this.fill(), delayMs);
        this.#retryTimer.unref();
      }
    } finally {
      this.#warming -= 1;
    }
  }

  #onExit(entry: Spare): void {
    const i = this.#ready.indexOf(entry);
    if (i < 0) return; // claimed: its life is the run's now
    this.#ready.splice(i, 1);
    entry.grant.revoke();
    void removeAgentHome(entry.home);
    this.opts.logger.warn({ spare: entry.id }, 'parked agent spare exited; replacing it');
    void this.fill();
  }
}

function discard(s: Spare): void {
  s.grant.revoke();
  try {
    s.spare.close();
  } catch {
    // Already gone.
  }
  if (s.child?.pid !== undefined) killGroup(s.child.pid);
}
