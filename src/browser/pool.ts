import type { Logger } from 'pino';
import type { Browser } from 'playwright-core';
import { AppError } from '../errors.ts';
import { type LaunchOptions, launchChromium } from './launch.ts';
import type { NetGuard } from './net-guard.ts';
import { Replica } from './replica.ts';
import { openReplicaPage } from './replica-page.ts';
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

export interface PoolStatus {
  browser: 'not_started' | 'running' | 'disconnected';
  version: string | undefined;
  replicas: Array<{
    id: string;
    state: string;
    queued: number;
    served: number;
    crashes: number;
    replacements: number;
    url: string | undefined;
  }>;
}

/**
 * N replicas over one shared Chromium process. The browser starts on first use (most
 * deployments never touch this surface) and is relaunched if it dies.
 */
export class BrowserPool {
  readonly replicas: readonly Replica[];
  #browser: Promise<Browser> | undefined;
  #nextPick = 0;
  #isClosed = false;

  constructor(private readonly opts: PoolOptions) {
    this.replicas = Array.from(
      { length: opts.numReplicas },
      (_, i) => new Replica(`replica-${i + 1}`, opts.queueMax, (id) => this.#openPage(id)),
    );
  }

  get viewport(): { width: number; height: number } {
    return this.opts.viewport;
  }

  replicaById(id: string | undefined): Replica | undefined {
    return id === undefined ? undefined : this.replicas.find((r) => r.id === id);
  }

  /** The pinned replica when the caller has one, else the least loaded (round robin among equals). */
  pick(pinnedId?: string): Replica {
    const pinned = this.replicaById(pinnedId);
    if (pinned) return pinned;
    const start = this.#nextPick++ % this.replicas.length;
    let best = this.replicas[start] as Replica;
    for (let i = 1; i < this.replicas.length; i++) {
      const r = this.replicas[(start + i) % this.replicas.length] as Replica;
      if (r.load < best.load) best = r;
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
      })),
    };
  }

  async close(): Promise<void> {
    this.#isClosed = true;
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
