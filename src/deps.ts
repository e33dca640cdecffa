import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ClaudeBackend } from './agents/claude/backend.ts';
import { ModelAuth } from './agents/model-auth.ts';
import { providerAccess } from './agents/providers.ts';
import type { AgentBackend } from './agents/types.ts';
import { KeyStore } from './auth/key-store.ts';
import { agentPassThroughEnv, type Config, ConfigError, type ConfigSource } from './config/index.ts';
import { prepareDataDir } from './data-dir.ts';
import { type Db, openDatabase } from './db/open.ts';
import { isBwrapUsable, type SandboxPolicy } from './process/sandbox.ts';
import { RunRepository } from './runs/repository.ts';
import { RunService } from './runs/run-service.ts';
import { SessionStore } from './sessions/store.ts';
import { WorkspaceFs } from './workspaces/workspace-fs.ts';

/** Everything the HTTP layer needs, passed in: tests build the same graph with temp parts. */
export interface AppDeps {
  config: ConfigSource;
  db: Db;
  logger: Logger;
  keys: KeyStore;
  workspaces: WorkspaceFs;
  sessions: SessionStore;
  runs: RunService;
  backend: AgentBackend;
  modelAuth: ModelAuth;
}

/** Wires the engine from config: the one place the object graph is built, for the server and tests alike. */
export async function createDeps(
  config: ConfigSource,
  logger: Logger,
  opts: { fakeModelUrl?: string; backend?: AgentBackend } = {},
): Promise<AppDeps> {
  const c = config.current();
  prepareDataDir(c.DATA_DIR);
  const db = await openDatabase(c.DATA_DIR);
  const keys = new KeyStore(db, () => config.current().API_KEYS);
  const workspaces = new WorkspaceFs(join(c.DATA_DIR, 'workspaces'));
  await workspaces.init();
  const sessions = new SessionStore(db);
  const modelAuth = new ModelAuth(c, opts.fakeModelUrl);
  const sandbox = agentSandbox(c, logger);
  const backend =
    opts.backend ??
    new ClaudeBackend({
      agentDir: join(c.DATA_DIR, 'agent'),
      poolSize: c.POOL_SIZE,
      maxLive: Math.max(c.POOL_SIZE, c.MAX_CONCURRENT_RUNS),
      liveMaxTurns: c.LIVE_PROCESS_MAX_TURNS,
      liveIdleMs: c.LIVE_PROCESS_IDLE_MS,
      defaultModel: c.CLAUDE_MODEL,
      passThroughEnv: agentPassThroughEnv(),
      modelAccess: (provider) =>
        provider === 'anthropic' ? modelAuth.access() : providerAccess(config.current(), provider),
      logger,
      ...(sandbox ? { sandbox } : {}),
    });
  modelAuth.onChange(() => void backend.recycle());
  const runs = new RunService({
    backend,
    repository: new RunRepository(db),
    sessions,
    workspaces,
    logger,
    maxConcurrentRuns: c.MAX_CONCURRENT_RUNS,
    maxQueuedRuns: c.MAX_QUEUED_RUNS,
    maxQueuedRunsPerOwner: c.MAX_QUEUED_RUNS_PER_OWNER,
    defaultTimeoutMs: c.RUN_TIMEOUT_MS,
  });
  return { config, db, logger, keys, workspaces, sessions, runs, backend, modelAuth };
}

/**
 * AGENT_SANDBOX: `bwrap` requires bubblewrap, `auto` uses it when it works here, `none`
 * runs agents unconfined (they can then read anything the server's user can).
 */
function agentSandbox(c: Config, logger: Logger): SandboxPolicy | undefined {
  if (c.AGENT_SANDBOX === 'none') return undefined;
  if (!isBwrapUsable()) {
    if (c.AGENT_SANDBOX === 'bwrap') {
      throw new ConfigError('AGENT_SANDBOX', 'bwrap is not installed or cannot create namespaces here');
    }
    logger.warn(
      'bubblewrap not found: agents run unconfined (install bubblewrap, or set AGENT_SANDBOX=none to accept this)',
    );
    return undefined;
  }
  return { hidden: [c.DATA_DIR, '/root', '/home'], masked: c.ENV_FILE ? [resolve(c.ENV_FILE)] : [] };
}

/** Orderly stop: no new runs, running ones cancelled (their processes killed), then the store closed. */
export async function closeDeps(deps: AppDeps): Promise<void> {
  await deps.runs.drain();
  await deps.backend.close();
  await deps.db.destroy();
}
