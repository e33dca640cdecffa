import type { AddressInfo } from 'node:net';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { buildApp } from '../../src/app.ts';
import type { NetGuard } from '../../src/browser/net-guard.ts';
import type { BrowserServiceOptions } from '../../src/browser/service.ts';
import { ConfigSource } from '../../src/config/index.ts';
import { closeDeps, createDeps, type ServerDeps } from '../../src/deps.ts';
import { type FakeModel, startFakeModel } from '../../src/fake-model/server.ts';
import type { Surface } from '../../src/http/surface.ts';
import { createLogger } from '../../src/logger.ts';
import type { StorageOptions } from '../../src/storage/service.ts';
import { makeTempDir } from './temp.ts';

export interface TestApp {
  url: string;
  app: FastifyInstance;
  deps: ServerDeps;
  dataDir: string;
  /** The fake model the agents talk to (its /_requests shows what they sent). */
  fake: FakeModel;
  /** The env values the app was built with; mutate then `deps.config.reload()` to rotate. */
  env: Record<string, string | undefined>;
  close(): Promise<void>;
}

/**
 * Builds the real app (real SQLite file in a temp dir, the real Claude Code binary talking
 * to a fake model on port 0, real HTTP on port 0) with the given surfaces and environment.
 * Nothing is mocked: tests pass parts in.
 */
export async function startTestApp(opts: {
  surfaces: readonly Surface[];
  env?: Record<string, string | undefined>;
  dataDir?: string;
  /** Which addresses agents' egress treats as public (a local stand-in for a public site). */
  agentNetGuard?: NetGuard;
  /** BrowserService test options (e.g. the address rule). */
  browser?: BrowserServiceOptions;
  /** The object store's clock and lock limits. */
  storage?: StorageOptions;
  /** Where the server's log lines go (tests that assert what is never logged); LOG_LEVEL still applies. */
  logDestination?: NodeJS.WritableStream;
  /** Sees every route the app registers. */
  onRoute?: (route: RouteOptions) => void;
}): Promise<TestApp> {
  const temp = opts.dataDir ? undefined : await makeTempDir();
  const dataDir = opts.dataDir ?? temp?.dir ?? '';
  const env: Record<string, string | undefined> = {
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    POOL_SIZE: '0',
    ...opts.env,
  };
  const config = ConfigSource.fromValues(env);
  const fake = await startFakeModel();
  const logger = createLogger(config.current().LOG_LEVEL, opts.logDestination);
  const deps = await createDeps(config, logger, {
    fakeModelUrl: fake.url,
    ...(opts.agentNetGuard ? { agentNetGuard: opts.agentNetGuard } : {}),
    ...(opts.browser ? { browser: opts.browser } : {}),
    ...(opts.storage ? { storage: opts.storage } : {}),
  });
  await deps.engine.recover();
  await deps.webhooks.resume();
  void deps.backend.warm();
  const app = await buildApp(deps, opts.surfaces, opts.onRoute ? { onRoute: opts.onRoute } : {});
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    deps,
    dataDir,
    fake,
    env,
    async close() {
      await app.close();
      await closeDeps(deps);
      await fake.close();
      await temp?.cleanup();
    },
  };
}
