import type { AddressInfo } from 'node:net';
import { needsFakeModel } from './agents/model-auth.ts';
import { buildApp } from './app.ts';
import { readStoredOAuth } from './auth/oauth-store.ts';
import { type ConfigSource, shadowedFileVariables } from './config/index.ts';
import { closeDeps, createDeps } from './deps.ts';
import { type FakeModel, startFakeModel } from './fake-model/server.ts';
import { createLogger } from './logger.ts';
import { allSurfaces } from './surfaces/index.ts';

/** `agentgate serve`: wires config → engine → app, listens, and drains on SIGTERM. */
export async function serve(config: ConfigSource): Promise<void> {
  const c = config.current();
  const logger = createLogger(c.LOG_LEVEL);
  let fake: FakeModel | undefined;
  // A subscription login stored by POST /auth/exchange counts as credentials: no fake model then.
  const storedOAuth = await readStoredOAuth(c.DATA_DIR);
  if (needsFakeModel(c, storedOAuth !== undefined)) {
    fake = await startFakeModel({ host: '127.0.0.1', port: 0 });
    const banner = '!'.repeat(78);
    process.stderr.write(
      `\n${banner}\n!! No model credentials: agents talk to the BUILT-IN FAKE MODEL at ${fake.url}\n` +
        '!! Answers are scripted echoes, not Claude. Set ANTHROPIC_API_KEY (or log in via\n' +
        `!! POST /auth/login) for real runs. /health reports model.isFake=true.\n${banner}\n\n`,
    );
  }
  const deps = await createDeps(config, logger, fake ? { fakeModelUrl: fake.url } : {});
  // Before recovered runs start; the claude-code-api surface then refreshes it before expiry.
  if (storedOAuth && !c.CLAUDE_CODE_OAUTH_TOKEN) deps.modelAuth.setOAuthToken(storedOAuth.accessToken);
  const recovered = await deps.engine.recover();
  if (recovered > 0) logger.info({ recovered }, 'picked up queued runs from before the restart');
  // After recovery, so webhooks of re-queued runs wait for their new run.
  await deps.webhooks.resume();
  void deps.backend.warm();
  const app = await buildApp(deps, allSurfaces);
  await app.listen({ port: c.PORT, host: c.HOST });
  const { port } = app.server.address() as AddressInfo;
  logger.info({ url: `http://${c.HOST}:${port}`, model: deps.modelAuth.method() }, 'agentgate listening');

  let isStopping = false;
  const stop = async (signal: string) => {
    if (isStopping) return;
    isStopping = true;
    logger.info({ signal }, 'draining: no new runs, cancelling running ones');
    try {
      // Runs first: their requests then end, so closing the listener does not wait on them.
      await deps.engine.drain();
      await app.close();
      await closeDeps(deps);
      await fake?.close();
      process.exit(0);
    } catch (err) {
      logger.error({ err }, 'unclean shutdown');
      process.exit(1);
    }
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', () => {
    try {
      config.reload();
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'reload refused; keeping the previous configuration');
      return;
    }
    try {
      // Keys removed from API_KEYS stop working now, not at the next restart.
      deps.keys.reload();
      logger.info('configuration reloaded (SIGHUP)');
      const shadowed = shadowedFileVariables();
      if (shadowed.length > 0) {
        logger.warn(
          { variables: shadowed },
          'these variables are set in the process environment too, which wins over the env file: editing them in the file changes nothing (a key removed from the file stays valid) until they are removed from the environment and the server restarts',
        );
      }
    } catch (err) {
      logger.error(
        { err: (err as Error).message },
        'API_KEYS is malformed: no API_KEYS key is accepted until it is fixed (stored keys still are)',
      );
    }
  });
}
