import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { DownloadStore } from './downloads.ts';
import { type AddressClassifier, NetGuard } from './net-guard.ts';
import { BrowserPool, type Claim } from './pool.ts';
import type { ActionResult } from './run-action.ts';
import { captureViewportPng, type ScreenshotSize } from './screenshot.ts';
import { runRequest } from './script.ts';

export const DEFAULT_VIEWPORT = { width: 1280, height: 720 } as const;

export interface BrowserServiceOptions {
  /** Tests only: which addresses count as public (default: the real rule in net-guard.ts). */
  isPublicAddress?: AddressClassifier;
}

/** What every browser protocol (HTTP actions, screenshots, MCP) shares: the pool and its bounds. */
export class BrowserService {
  readonly pool: BrowserPool;
  readonly #netGuard: NetGuard;
  readonly #downloads: DownloadStore;

  constructor(
    private readonly config: () => Config,
    logger: Logger,
    opts: BrowserServiceOptions = {},
  ) {
    const c = config();
    this.#netGuard = new NetGuard({ isPublicAddress: opts.isPublicAddress });
    this.#downloads = new DownloadStore(join(c.DATA_DIR, 'browser-downloads'));
    this.pool = new BrowserPool({
      numReplicas: c.STEALTHY_AUTO_BROWSE_NUM_REPLICAS,
      queueMax: c.STEALTHY_AUTO_BROWSE_QUEUE_MAX,
      launch: { executablePath: c.CHROMIUM_PATH, maxHeapMb: c.STEALTHY_AUTO_BROWSE_MAX_HEAP_MB },
      viewport: DEFAULT_VIEWPORT,
      allowPrivate: c.STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE,
      netGuard: this.#netGuard,
      logger,
    });
  }

  /** Runs one request body (an action or a run_script) on the claimed replica, queueing behind others. */
  execute({ replica, instanceId }: Claim, body: unknown): Promise<ActionResult> {
    const c = this.config();
    return replica.run(instanceId, (session) => {
      // A context belongs to one owner for its whole life, so its sink is set once.
      const owner = replica.owner ?? '';
      session.downloadSink ??= (download) => this.#downloads.save(owner, download);
      return runRequest(
        {
          page: session.page,
          session,
          resizePng: this.pool.resizePng,
          timeoutMs: c.STEALTHY_AUTO_BROWSE_ACTION_TIMEOUT_MS,
          allowPrivate: c.STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE,
          netGuard: this.#netGuard,
          markBroken: () => replica.markBroken(),
          discardAfter: () => replica.markBroken(),
          readDownload: (name) => this.#downloads.read(owner, name),
        },
        body,
      );
    });
  }

  screenshot({ replica, instanceId }: Claim, size: ScreenshotSize): Promise<Buffer> {
    const timeoutMs = this.config().STEALTHY_AUTO_BROWSE_ACTION_TIMEOUT_MS;
    return replica.run(instanceId, (session) =>
      captureViewportPng(session.page, size, timeoutMs, this.pool.resizePng),
    );
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
