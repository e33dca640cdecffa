import { envSchema } from './schema.ts';

type VariableName = keyof typeof envSchema.shape;

/**
 * One line of meaning per variable of the schema, for `.env.example`. A variable may instead
 * carry it in the schema (`.describe('…')`), which wins; test/config/env-example.test.ts fails
 * for a variable with neither.
 */
const variableMeaning: { readonly [K in VariableName]?: string } = {
  PORT: 'listen port',
  HOST: 'listen address (0.0.0.0 to expose)',
  DATA_DIR: 'SQLite store, workspaces, agent homes, storage buckets (0700; files in it 0600)',
  DATABASE_URL:
    'postgres://user:password@host:5432/db puts all state (runs, events, sessions, keys) in PostgreSQL; unset: SQLite in DATA_DIR',
  LOG_LEVEL: 'pino level (silent … trace); secrets are redacted',
  ENV_FILE:
    'the dotenv file read at start-up and on SIGHUP (default: ./.env when it exists); real environment variables win over it',
  HEADERS_TIMEOUT_MS: 'time a client has to send its request headers (at most REQUEST_TIMEOUT_MS)',
  REQUEST_TIMEOUT_MS: 'time a client has to send its whole request, body included (large uploads need it)',
  KEEP_ALIVE_TIMEOUT_MS: 'an idle keep-alive connection is closed after this',
  POOL_SIZE: 'pre-started Claude Code processes',
  MAX_CONCURRENT_RUNS: 'runs executing at once',
  MAX_QUEUED_RUNS: 'runs waiting; more are refused with 429',
  MAX_QUEUED_RUNS_PER_OWNER:
    "runs one owner may have waiting; more are refused with 429 while others' still queue",
  RUN_TIMEOUT_MS: 'default per-run timeout',
  MAX_PROMPT_CHARS: 'longest accepted prompt',
  LIVE_PROCESS_MAX_TURNS: 'turns before a live process is recycled',
  LIVE_PROCESS_IDLE_MS:
    'idle time before a live process beyond the POOL_SIZE most recently used is stopped (an idle server shrinks to the pool)',
  LIVE_PROCESS_MAX_RSS_MB:
    "a live process whose tree's resident memory exceeds this after a run is recycled (never during one); 0: no limit",
  AGENT_SANDBOX:
    'bwrap: sandbox every agent (required); auto: sandbox when bubblewrap and socat work, else unconfined for loopback unproxied callers only; none: unconfined',
  REDIS_URL:
    'redis://… : run as one node of a cluster (queue on BullMQ, live events on Redis Streams; DATA_DIR shared by every node); unset: embedded',
  NODE_ID:
    "this node's name, recorded on every run it executes and shown by /health (default: host name and port)",
  RUN_LEASE_MS:
    "cluster: a running run's lease, renewed while it lives; a node silent this long has its runs failed with node_lost",
  AGENT_EGRESS: "sandboxed agents' way out: open (any public address) or allowlist",
  AGENT_EGRESS_ALLOW: 'with allowlist: comma-separated domains agents may reach (subdomains included)',
  CLAUDE_MODEL: 'default model',
  ANTHROPIC_API_KEY: 'model API key',
  ANTHROPIC_BASE_URL: 'model endpoint (a proxy, or the fake model)',
  CLAUDE_CODE_OAUTH_TOKEN: 'a ready OAuth token for the agents',
  USE_CLAUDE_API_KEY: '1: use ANTHROPIC_API_KEY even when an OAuth login exists',
  FAKE_MODEL: '1: use the built-in fake model even with credentials',
  ZAI_API_KEY:
    'Z.ai API key for the GLM models (claudebox-glm-*, /claudebox-zai/); unset → they are not offered',
  ZAI_BASE_URL: "Z.ai's Anthropic-compatible endpoint the GLM runs' Claude Code talks to",
  API_KEYS: 'key (user api) or user:key, comma separated (claude-code-api)',
  ADMIN_API_KEYS:
    'admin keys (keys API, usage, every surface): key (user admin) or user:key, comma separated',
  NEXTAUTH_SECRET: 'HMAC secret for web front-end tokens (claude-code-api)',
  OAUTH_AUTHORIZE_URL: 'Claude OAuth authorize endpoint',
  OAUTH_TOKEN_URL: 'Claude OAuth token endpoint',
  OAUTH_CLIENT_ID: "the Claude CLI's public client id",
  OAUTH_REDIRECT_URI: 'OAuth redirect URI',
  OAUTH_SCOPES: 'OAuth scopes',
  CLAUDEBOX_API_TOKEN: 'Bearer token of the claudebox surface',
  CLAUDEBOX_ZAI_API_TOKEN: 'Bearer token of the /claudebox-zai/ (GLM) instance, user claudebox-zai',
  FILES_MAX_BYTES: 'largest upload through the files API (413 above)',
  CLAUDEOPS_CHAT_API_KEY: 'Bearer key of the claude-ops chat model; unset → 503 (rotatable)',
  CLAUDEOPS_CHAT_MAX_SESSIONS: 'concurrent claude-ops sessions before 429',
  LITELLM_MASTER_KEY:
    'Bearer key of the gateway paths (/chat/completions, /models, /mcp/); also an admin key (keys API)',
  SSE_HEARTBEAT_MS: 'SSE comment heartbeat interval',
  WEBHOOK_SECRET:
    'HMAC-SHA256 secret that signs run webhooks (X-Agentgate-Signature); unset: webhookUrl is refused',
  WEBHOOK_ALLOW_PRIVATE: '1: allow webhook targets on loopback and private networks',
  WEBHOOK_TIMEOUT_MS: 'timeout of one webhook delivery attempt',
  WEBHOOK_RETRY_BASE_MS: 'first webhook retry delay; doubles per attempt, at most an hour',
  WEBHOOK_RETRY_FOR_MS: 'how long a failing webhook is retried after its run ended (default a day)',
  MCP_ALLOWED_HOSTS:
    'Host names (any port) or host:port the MCP endpoints answer besides loopback, comma separated; others get 403',
  MCP_ALLOWED_ORIGINS:
    'browser Origins (scheme://host[:port]) allowed on the MCP endpoints besides loopback ones, comma separated; others get 403',
  HYBRIDS3_MASTER_KEY: 'storage master key (sees every bucket)',
  HYBRIDS3_BUCKETS:
    "buckets, name:public or name:private, comma separated; each bucket's key is HYBRIDS3_<NAME>_KEY and its TTL HYBRIDS3_<NAME>_TTL (e.g. HYBRIDS3_UPLOADS_KEY, HYBRIDS3_UPLOADS_TTL, default 168h for uploads)",
  HYBRIDS3_SWEEP_INTERVAL: 'how often expired objects are deleted',
  HYBRIDS3_MAX_OBJECT_BYTES: 'largest object',
  STEALTHY_AUTO_BROWSE_AUTH_TOKEN:
    'Bearer token of the browser surface (unset: only keys: API_KEYS, ADMIN_API_KEYS, stored keys)',
  STEALTHY_AUTO_BROWSE_NUM_REPLICAS: 'isolated browser replicas',
  STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE: '1: allow navigation to loopback and private networks',
  STEALTHY_AUTO_BROWSE_ACTION_TIMEOUT_MS: 'timeout of each browser action',
  STEALTHY_AUTO_BROWSE_QUEUE_MAX: 'requests waiting per replica',
  STEALTHY_AUTO_BROWSE_MAX_HEAP_MB: 'JavaScript heap cap per page',
  CHROMIUM_PATH: 'the browser binary',
};

/** The variable's one line of meaning, or undefined when it has none yet. */
export function meaningOf(name: string): string | undefined {
  const schema = (envSchema.shape as Record<string, { description?: string } | undefined>)[name];
  return schema?.description ?? variableMeaning[name as VariableName];
}

/** Defaults whose environment text differs from the parsed value (durations parse to ms). */
export const defaultText: { readonly [K in VariableName]?: string } = {
  HYBRIDS3_SWEEP_INTERVAL: '60s',
};

/**
 * Variables only `compose.yaml` reads (from the same .env): the optional cloudflared tunnel
 * of the seed's deployment. agentgate itself ignores them.
 */
export const composeVariables: readonly { name: string; defaultValue: string; meaning: string }[] = [
  {
    name: 'AGENTGATE_PORT',
    defaultValue: '8080',
    meaning: "the host's loopback port compose publishes the server on",
  },
  {
    name: 'CLOUDFLARED',
    defaultValue: '0',
    meaning: '1: start the cloudflared tunnel service (docker compose)',
  },
  {
    name: 'CLOUDFLARED_CONFIG',
    defaultValue: '',
    meaning: "absolute path of a named tunnel's config.yml; unset: a quick *.trycloudflare.com tunnel",
  },
  {
    name: 'CLOUDFLARED_CREDS',
    defaultValue: '',
    meaning: "absolute path of the named tunnel's credentials.json",
  },
];
