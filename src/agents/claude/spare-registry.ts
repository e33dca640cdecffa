import { sep } from 'node:path';
import type { Options } from '@anthropic-ai/claude-agent-sdk';
import type { Logger } from 'pino';
import type { RelayGrant } from '../../egress/model-relay.ts';
import { bwrapCommand, type SandboxPolicy } from '../../process/sandbox.ts';
import { transcriptsDir } from './environment.ts';
import { type Spare, SparePool } from './spare-pool.ts';

export interface SpareRegistryOptions {
  size: number;
  agentDir: string;
  hostOptions: (home: string, grant: RelayGrant) => Options;
  grant: () => RelayGrant;
  logger: Logger;
  sandbox?: SandboxPolicy;
}

/** What a claim needs to know of a run to pick a spare it may use. */
export interface SpareRequest {
  owner: string;
  cwd: string;
  /** The owner's workspace root (every workspace of the owner lies below it). */
  ownerRoot?: string;
}

/**
 * Where spares come from. Unconfined, one generic pool of POOL_SIZE serves anyone: a claim
 * sets the folder. Sandboxed, a spare's mounts are fixed when it starts, so spares are
 * per owner: each binds that owner's workspace root and transcripts, and can serve any of
 * the owner's workspaces. The POOL_SIZE owners who ran most recently keep one spare each.
 */
export class SpareRegistry {
  readonly #generic: SparePool | undefined;
  readonly #byOwner = new Map<string, { root: string; pool: SparePool }>();

  constructor(private readonly opts: SpareRegistryOptions) {
    this.#generic = opts.sandbox
      ? undefined
      : new SparePool({
          size: opts.size,
          agentDir: opts.agentDir,
          hostOptions: opts.hostOptions,
          grant: opts.grant,
          logger: opts.logger,
        });
  }

  fill(): Promise<void> {
    return this.#generic?.fill() ?? Promise.resolve();
  }

  take(req: SpareRequest): Spare | undefined {
    if (this.#generic) return this.#generic.take();
    const entry = this.#byOwner.get(req.owner);
    if (!entry || !isInside(req.cwd, entry.root)) return undefined;
    this.#touch(req.owner, entry);
    return entry.pool.take();
  }

  /** A run of this owner started: keep (or start) a spare for their next new workspace. */
  noteOwner(req: SpareRequest): void {
    const { sandbox } = this.opts;
    if (!sandbox || !req.ownerRoot || this.opts.size === 0) return;
    const existing = this.#byOwner.get(req.owner);
    if (existing && existing.root === req.ownerRoot) {
      this.#touch(req.owner, existing);
      return;
    }
    if (existing) void existing.pool.close();
    const root = req.ownerRoot;
    const transcripts = transcriptsDir(this.opts.agentDir, req.owner);
    const pool = new SparePool({
      size: 1,
      agentDir: this.opts.agentDir,
      hostOptions: this.opts.hostOptions,
      grant: this.opts.grant,
      logger: this.opts.logger,
      owner: req.owner,
      wrap: (home) => (command, args, cwd) =>
        bwrapCommand(sandbox, [root, home, transcripts], cwd, command, args),
    });
    this.#byOwner.set(req.owner, { root, pool });
    void pool.fill();
    while (this.#byOwner.size > this.opts.size) {
      const [oldest, entry] = this.#byOwner.entries().next().value as [string, { pool: SparePool }];
      this.#byOwner.delete(oldest);
      void entry.pool.close();
    }
  }

  state(): { idle: number; warming: number; startFailures: number } {
    const pools = [
      ...(this.#generic ? [this.#generic] : []),
      ...[...this.#byOwner.values()].map((e) => e.pool),
    ];
    return {
      idle: pools.reduce((n, p) => n + p.idle, 0),
      warming: pools.reduce((n, p) => n + p.warming, 0),
      startFailures: pools.reduce((n, p) => Math.max(n, p.failures), 0),
    };
  }

  async close(): Promise<void> {
    const pools = [
      ...(this.#generic ? [this.#generic] : []),
      ...[...this.#byOwner.values()].map((e) => e.pool),
    ];
    this.#byOwner.clear();
    await Promise.all(pools.map((p) => p.close()));
  }

  /** Map order is recency: re-inserting marks the owner as the most recent. */
  #touch(owner: string, entry: { root: string; pool: SparePool }): void {
    this.#byOwner.delete(owner);
    this.#byOwner.set(owner, entry);
  }
}

function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root + sep);
}
