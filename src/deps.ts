import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { ClaudeBackend } from './agents/claude/backend.ts';
import { ModelAuth } from './agents/model-auth.ts';
import { providerAccess } from './agents/providers.ts';
import type { AgentBackend } from './agents/types.ts';
import { KeyStore } from './auth/key-store.ts';
import { oauthClientOf } from './auth/oauth-pkce.ts';
import { OAuthCredentialStore } from './auth/oauth-store.ts';
import { defaultNetGuard, type NetGuard } from './browser/net-guard.ts';
import { BrowserService, type BrowserServiceOptions } from './browser/service.ts';
import { agentPassThroughEnv, type Config, ConfigError, type ConfigSource } from './config/index.ts';
import { prepareDataDir } from './data-dir.ts';
import { type Db, openDatabase } from './db/open.ts';
import { AgentEgress } from './egress/agent-egress.ts';
import { AgentGateway } from './egress/agent-gateway.ts';
import { ModelRelay } from './egress/model-relay.ts';
import { AppError } from './errors.ts';
import { isProxiedCaller } from './http/caller-context.ts';
import type { AppDeps } from './http/surface.ts';
import { applySeccompPath, type SandboxPolicy, sandboxUnavailableReason } from './process/sandbox.ts';
import { EmbeddedRunEngine } from './runs/engine.ts';
import { RunRepository } from './runs/repository.ts';
import { SessionStore } from './sessions/store.ts';
import { createStorageService, type StorageOptions, type StorageService } from './storage/service.ts';
import { renderRun } from './surfaces/api/render.ts';
import { UsageLedger } from './usage/ledger.ts';
import { KeyRunGuard } from './usage/run-guard.ts';
import { WebhookService } from './webhooks/service.ts';
import { WorkspaceFs } from './workspaces/workspace-fs.ts';

/**
 * The server's object graph: what surfaces get (`AppDeps`, interfaces only) plus what only
 * the server's lifecycle and tests touch (the concrete engine, backend, store, gateway).
 */
export interface ServerDeps extends AppDeps {
  db: Db;
  engine: EmbeddedRunEngine;
  backend: AgentBackend;
  modelAuth: ModelAuth;
  sandbox: SandboxDecision;
  agentGateway: AgentGateway;
  oauth: OAuthCredentialStore;
  storage: StorageService;
  webhooks: WebhookService;
}

/** Wires the engine from config: the one place the object graph is built, for the server and tests alike. */
export async function createDeps(
  config: ConfigSource,
  logger: Logger,
  opts: {
    fakeModelUrl?: string;
    backend?: AgentBackend;
    /** Which addresses agents' egress treats as public (tests name a local stand-in). */
    agentNetGuard?: NetGuard;
    /** The browser service's test options (e.g. the address rule). */
    browser?: BrowserServiceOptions;
    /** The object store's clock and lock limits (tests move time). */
    storage?: StorageOptions;
    /** Which addresses webhook targets may have (tests name a local stand-in for a public one). */
    webhookNetGuard?: NetGuard;
  } = {},
): Promise<ServerDeps> {
  const c = config.current();
  prepareDataDir(c.DATA_DIR);
  const db = await openDatabase(c.DATA_DIR);
  // Every path an agent's sandbox mounts is checked against where its descriptor really is,
  // so the paths are built from DATA_DIR's real location (it may be, or sit below, a symlink).
  const dataDir = await realpath(c.DATA_DIR);
  const keys = new KeyStore(
    db,
    () => config.current().API_KEYS,
    () => config.current().ADMIN_API_KEYS,
  );
  const usage = new UsageLedger(db);
  const workspaces = new WorkspaceFs(join(dataDir, 'workspaces'));
  await workspaces.init();
  const sessions = new SessionStore(db);
  const modelAuth = new ModelAuth(c, opts.fakeModelUrl);
  const socketDir = join(dataDir, 'run');
  const sandbox = decideSandbox(c, logger, socketDir);
  const relay = new ModelRelay(logger);
  const egress = new AgentEgress(
    opts.agentNetGuard ?? defaultNetGuard,
    () => {
      const cur = config.current();
      return { mode: cur.AGENT_EGRESS, allow: cur.AGENT_EGRESS_ALLOW };
    },
    logger,
  );
  const agentGateway = new AgentGateway(relay, egress, logger);
  await agentGateway.listen(socketDir);
  const isSandboxed = sandbox.policy !== undefined;
  const backend =
    opts.backend ??
    new ClaudeBackend({
      ...backendSettings(c, dataDir),
      modelAccess: (provider) =>
        provider === 'anthropic' ? modelAuth.access() : providerAccess(config.current(), provider),
      logger,
      relay,
      endpoint: {
        baseUrl: agentGateway.baseUrl(isSandboxed),
        ...(isSandboxed ? { proxyUrl: agentGateway.baseUrl(true) } : {}),
      },
      ...(sandbox.policy ? { sandbox: sandbox.policy } : {}),
    });
  modelAuth.onChange(() => void backend.recycle());
  // The subscription login a previous POST /auth/exchange stored: handed to the agents, refreshed before expiry.
  const oauth = new OAuthCredentialStore(
    c.DATA_DIR,
    () => oauthClientOf(config.current()),
    (token) => modelAuth.setOAuthToken(token),
    logger,
  );
  await oauth.load();
  const browser = new BrowserService(() => config.current(), logger, opts.browser);
  const storage = createStorageService(() => config.current(), logger, opts.storage);
  const engine = new EmbeddedRunEngine({
    backend,
    repository: new RunRepository(db),
    sessions,
    workspaces,
    logger,
    maxConcurrentRuns: c.MAX_CONCURRENT_RUNS,
    maxQueuedRuns: c.MAX_QUEUED_RUNS,
    maxQueuedRunsPerOwner: c.MAX_QUEUED_RUNS_PER_OWNER,
    defaultTimeoutMs: c.RUN_TIMEOUT_MS,
    maxPromptChars: c.MAX_PROMPT_CHARS,
    sandbox: {
      name: sandbox.name,
      isLoopbackOnly: sandbox.isLoopbackOnly,
      ...(sandbox.reason ? { reason: sandbox.reason } : {}),
    },
    ...(sandbox.isLoopbackOnly ? { admit: refuseProxiedCallers } : {}),
    guard: new KeyRunGuard(keys, usage, () => config.current().CLAUDE_MODEL, logger),
  });
  const webhooks = new WebhookService({
    db,
    engine,
    config: () => config.current(),
    logger,
    guard: opts.webhookNetGuard ?? defaultNetGuard,
    render: renderRun,
  });
  return {
    config,
    db,
    logger,
    keys,
    usage,
    workspaces,
    sessions,
    engine,
    backend,
    modelAuth,
    model: modelAuth,
    sandbox,
    agentGateway,
    oauth,
    browser,
    storage,
    webhooks,
  };
}

/** The warm-pool and live-process settings of a ClaudeBackend, from config. */
export function backendSettings(c: Config, dataDir: string) {
  return {
    agentDir: join(dataDir, 'agent'),
    poolSize: c.POOL_SIZE,
    maxLive: Math.max(c.POOL_SIZE, c.MAX_CONCURRENT_RUNS),
    liveMaxTurns: c.LIVE_PROCESS_MAX_TURNS,
    liveIdleMs: c.LIVE_PROCESS_IDLE_MS,
    liveMaxRssBytes: c.LIVE_PROCESS_MAX_RSS_MB * 2 ** 20,
    defaultModel: c.CLAUDE_MODEL,
    passThroughEnv: agentPassThroughEnv(),
  };
}

/** How agents are confined here, decided once at start-up. */
export interface SandboxDecision {
  policy: SandboxPolicy | undefined;
  name: 'bwrap' | 'none';
  /**
   * Unconfined only because nothing better works and the server listens on loopback: runs
   * are then refused to callers that came through a proxy (a tunnel or reverse proxy on
   * this host makes loopback public).
   */
  isLoopbackOnly: boolean;
  /** Why the sandbox is off, for /health and the start-up warning. */
  reason?: string;
}

const SANDBOX_FIX =
  'install bubblewrap and socat (apt-get install bubblewrap socat), or set AGENT_SANDBOX=none to accept the risk';

/**
 * AGENT_SANDBOX: `bwrap` requires the sandbox, `none` runs agents unconfined (the operator
 * accepted that), `auto` sandboxes when it can and otherwise fails closed: unconfined agents
 * only for a loopback HOST and unproxied callers, and no start at all on any other HOST.
 */
export function decideSandbox(c: Config, logger: Logger, gatewaySocketDir: string): SandboxDecision {
  if (c.AGENT_SANDBOX === 'none') {
    logger.warn('AGENT_SANDBOX=none: agents run unconfined and can read whatever this server can');
    return { policy: undefined, name: 'none', isLoopbackOnly: false, reason: 'AGENT_SANDBOX=none' };
  }
  const reason = sandboxUnavailableReason();
  if (reason === undefined) {
    return {
      policy: {
        hidden: [...new Set([resolve(c.DATA_DIR), realpathSync(c.DATA_DIR), '/root', '/home'])],
        masked: c.ENV_FILE ? [resolve(c.ENV_FILE)] : [],
        gatewaySocketDir,
        applySeccomp: applySeccompPath() ?? '',
      },
      name: 'bwrap',
      isLoopbackOnly: false,
    };
  }
  if (c.AGENT_SANDBOX === 'bwrap') throw new ConfigError('AGENT_SANDBOX', `${reason}`);
  if (!isLoopbackHost(c.HOST)) {
    throw new ConfigError(
      'AGENT_SANDBOX',
      `no working sandbox (${reason}) and HOST=${c.HOST} is not loopback: remote callers would run unconfined agents; ${SANDBOX_FIX}`,
    );
  }
  logger.warn(
    `NO SANDBOX: ${reason}. Agents run unconfined, for loopback callers only (proxied requests are refused); ${SANDBOX_FIX}`,
  );
  return { policy: undefined, name: 'none', isLoopbackOnly: true, reason };
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Orderly stop: no new runs, running ones cancelled (their processes killed), then the store closed. */
export async function closeDeps(deps: ServerDeps): Promise<void> {
  await deps.engine.drain();
  await deps.webhooks.close();
  deps.oauth.close();
  deps.storage.close();
  await deps.browser.close();
  await deps.backend.close();
  await deps.agentGateway.close();
  await deps.db.destroy();
}

/** A loopback-only unconfined server runs no agent for a caller that came through a proxy. */
function refuseProxiedCallers(): void {
  if (isProxiedCaller()) {
    throw new AppError(
      'unavailable',
      `Agents run unconfined on this server, so it serves runs only to local callers, and this request came through a proxy; ${SANDBOX_FIX}`,
    );
  }
}
