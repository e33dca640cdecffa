import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { type AppDeps, buildApp, type Surface } from '../../src/app.ts';
import { KeyStore } from '../../src/auth/key-store.ts';
import { ConfigSource } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/open.ts';
import { createLogger } from '../../src/logger.ts';
import { makeTempDir } from './temp.ts';

export interface TestApp {
  url: string;
  app: FastifyInstance;
  deps: AppDeps;
  dataDir: string;
  /** The env values the app was built with; mutate then `deps.config.reload()` to rotate. */
  env: Record<string, string | undefined>;
  close(): Promise<void>;
}

/**
 * Builds the real app (real SQLite file in a temp dir, real HTTP on port 0) with the given
 * surfaces and environment. No module is mocked: tests pass parts in.
 */
export async function startTestApp(opts: {
  surfaces: readonly Surface[];
  env?: Record<string, string | undefined>;
}): Promise<TestApp> {
  const temp = await makeTempDir();
  const env: Record<string, string | undefined> = {
    DATA_DIR: temp.dir,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...opts.env,
  };
  const config = ConfigSource.fromValues(env);
  const db = await openDatabase(temp.dir);
  const logger = createLogger(config.current().LOG_LEVEL);
  const keys = new KeyStore(db, config.current().API_KEYS);
  const deps: AppDeps = { config, db, logger, keys };
  const app = await buildApp(deps, opts.surfaces);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    deps,
    dataDir: temp.dir,
    env,
    async close() {
      await app.close();
      await db.destroy();
      await temp.cleanup();
    },
  };
}
