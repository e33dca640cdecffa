import { timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { Browser } from 'playwright-core';
import { AppError } from '../errors.ts';
import { type LaunchOptions, launchChromium } from './launch.ts';
import type { NetGuard } from './net-guard.ts';
import { Replica } from './replica.ts';
import { openReplicaPage } from './replica-page.ts';
import { ChromiumPngResizer, type PngResizer } from './screenshot.ts';
import { stealthUserAgent } from './stealth.ts';

export interface PoolOptions {
  numReplicas: number;
  /** How many requests may wait for one busy replica. */
  queueMax: number;
  launch: LaunchOptions;
  viewport: { width: number; height: number };
  allowPrivate: boolean;
  /** The private-network rule (and its DNS cache) for every context when allowPrivate is off. */
  netGuard: NetGuard;
  logger: Logger;
}

export interface ReplicaStatus {
  id: string;
  state: string;
  queued: number;
  served: number;
  crashes: number;
  replacements: number;
  url: string | undefined;
  /** Who holds it and under which instance id: for the caller-facing views to filter, never to show. */
  owner: string | undefined;
  instanceId: string | undefined;
}

export interface PoolStatus {
  browser: 'not_started' | 'running' | 'disconnected';
  version: string | undefined;
  replicas: ReplicaStatus[];
}

/** A replica as one owner holds it: run actions with `replica.run(instanceId, …)`. */
export interface Claim {
  replica: Replica;
  instanceId: string;
  /** True when the replica was just assigned (the caller must be told its new instance id). */
  isNew: boolean;
}

/**
 * N replicas over one shared Chromium process. The browser starts on first use (most
 * deployments never touch this surface) and is relaunched if it dies.
 *
 * Each replica belongs to one owner at a time, under an unguessable instance id (the
 * INSTANCEID cookie of the seed's clients). An owner reaches a replica only by presenting
 * an id it was given; any other id, or another owner's, gets it a replica of its own.
 */
export class BrowserPool {
  readonly replicas: readonly Replica[];
  #browser: Promise<Browser> | undefined;
  #isClosed = false;
  readonly #resizer = new ChromiumPngResizer(() => this.#liveBrowser());

  constructor(private readonly opts: PoolOptions) {
    this.replicas = Array.from(
      { length: opts.numReplicas },
      (_, i) => new Replica(`replica-${i + 1}`, opts.queueMax, (id) => this.#openPage(id)),
    );
  }

  get viewport(): { width: number; height: number } {
    return this.opts.viewport;
  }

  /** The replica currently held under `instanceId` (any owner): for tests and diagnostics only. */
  replicaOf(instanceId: string | undefined): Replica | undefined {
    return this.replicas.find((r) => idsEqual(r.instanceId, instanceId));
  }

  /**
   * The replica `owner` holds under `instanceId`, or else a replica newly assigned to it
   * (see #freeReplica; a previous owner's state is discarded and its id stops working).
   * Synchronous, so a caller that runs on the claim at once cannot lose it in between.
   */
  claim(owner: string, instanceId?: string): Claim {
    const held = this.claimable(owner, instanceId);
    if (held?.instanceId) {
      held.lastClaimedAt = Date.now();
      return { replica: held, instanceId: held.instanceId, isNew: false };
    }
    const replica = this.#freeReplica(owner);
    if (!replica) {
      throw new AppError('queue_full', 'Every browser replica is in use by other callers; retry shortly', 1);
    }
    if (replica.owner !== undefined) {
      this.opts.logger.info({ replicaId: replica.id }, 'browser replica handed to a new owner');
    }
    return { replica, instanceId: replica.assign(owner), isNew: true };
  }

  /** The replica `owner` holds under `instanceId`, without claiming it (undefined if none). */
  claimable(owner: string, instanceId: string | undefined): Replica | undefined {
    return this.replicas.find((r) => r.owner === owner && idsEqual(r.instanceId, instanceId));
  }

  /** Gives a replica back (e.g. its MCP session ended) if `owner` still holds it under `instanceId`. */
  release(owner: string, instanceId: string): void {
    this.claimable(owner, instanceId)?.unassign();
  }

  /**
   * A replica for a new claim of `owner`: a free one (least loaded), else an idle one taken
   * from whoever holds the most replicas — the claimant's own first on a tie — least
   * recently claimed first. So a caller making new claims in a loop takes its own
   * replicas back before anyone else's, and a principal holding no more than its share
   * keeps what it has.
   */
  #freeReplica(owner: string): Replica | undefined {
    const unowned = this.replicas.filter((r) => r.owner === undefined);
    if (unowned.length > 0) {
      return unowned.reduce((best, r) => (r.load < best.load ? r : best));
    }
    const held = new Map<string, number>();
    for (const r of this.replicas) if (r.owner) held.set(r.owner, (held.get(r.owner) ?? 0) + 1);
    const rank = (r: Replica): [number, number, number] => [
      -(held.get(r.owner ?? '') ?? 0),
      r.owner === owner ? 0 : 1,
      r.lastClaimedAt,
    ];
    let best: Replica | undefined;
    for (const r of this.replicas) {
      if (r.load !== 0) continue;
      if (!best || isBefore(rank(r), rank(best))) best = r;
    }
    return best;
  }

  async status(): Promise<PoolStatus> {
    const browser = this.#browser ? await this.#browser.catch(() => undefined) : undefined;
    return {
      browser: !this.#browser ? 'not_started' : browser?.isConnected() ? 'running' : 'disconnected',
      version: browser?.version(),
      replicas: this.replicas.map((r) => ({
        id: r.id,
        state: r.state,
        queued: r.waiting,
        served: r.served,
        crashes: r.crashes,
        replacements: r.replacements,
        url: r.url,
        owner: r.owner,
        instanceId: r.instanceId,
      })),
    };
  }

  /** Resizes screenshots with the shared Chromium (see ChromiumPngResizer). */
  get resizePng(): PngResizer {
    return this.#resizer.resize;
  }

  async close(): Promise<void> {
    this.#isClosed = true;
    await this.#resizer.close();
    await Promise.all(this.replicas.map((r) => r.close()));
    const browser = await this.#browser?.catch(() => undefined);
    this.#browser = undefined;
    await browser?.close().catch(() => {});
  }

  async #openPage(replicaId: string) {
    if (this.#isClosed) throw new AppError('unavailable', 'Browser service is shutting down');
    const browser = await this.#liveBrowser();
    this.opts.logger.debug({ replicaId }, 'opening browser replica');
    return openReplicaPage(browser, {
      viewport: this.opts.viewport,
      userAgent: stealthUserAgent(browser.version()),
      netGuard: this.opts.allowPrivate ? undefined : this.opts.netGuard,
    });
  }

  async #liveBrowser(): Promise<Browser> {
    const pending = this.#browser;
    if (pending) {
      // Replicas opening together share one launch; a failed launch fails its waiters.
      const browser = await pending;
      if (browser.isConnected()) return browser;
      if (this.#browser !== pending) return this.#liveBrowser();
    }
    const launching = launchChromium(this.opts.launch).then((browser) => {
      browser.on('disconnected', () => {
        if (!this.#isClosed) this.opts.logger.warn('Chromium disconnected; it is relaunched on next use');
      });
      return browser;
    });
    this.#browser = launching;
    // Forget a failed launch so a later request tries again (e.g. once Chromium is installed).
    launching.catch(() => {
      if (this.#browser === launching) this.#browser = undefined;
    });
    return launching;
  }
}

/** Constant-time comparison of instance ids, so response timing says nothing about a guess. */
function idsEqual(held: string | undefined, presented: string | undefined): boolean {
  if (held === undefined || presented === undefined) return false;
  const a = Buffer.from(held);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

function isBefore(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) {
    if ((a[i] as number) !== (b[i] as number)) return (a[i] as number) < (b[i] as number);
  }
  return false;
}
