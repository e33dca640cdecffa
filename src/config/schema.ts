import { z } from 'zod';
import { duration, flag, int, optionalString, url } from './env.ts';

/**
 * Every environment variable agentgate reads, keyed by its name. The README's table is
 * written from this list: keep the two in step.
 */
export const envSchema = z.object({
  // server
  PORT: int(8080, 0, 65535),
  HOST: z.string().default('127.0.0.1'),
  DATA_DIR: z.string().default('./data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ENV_FILE: optionalString,
  // HTTP timeouts: a slow or silent client cannot hold a connection for ever
  HEADERS_TIMEOUT_MS: int(30_000, 1000),
  REQUEST_TIMEOUT_MS: int(600_000, 1000),
  KEEP_ALIVE_TIMEOUT_MS: int(72_000, 1000),
  // run engine
  POOL_SIZE: int(1, 0, 64),
  MAX_CONCURRENT_RUNS: int(4, 1, 256),
  MAX_QUEUED_RUNS: int(64, 0, 100_000),
  MAX_QUEUED_RUNS_PER_OWNER: int(16, 0, 100_000),
  RUN_TIMEOUT_MS: int(120_000, 1000),
  MAX_PROMPT_CHARS: int(200_000, 1),
  LIVE_PROCESS_MAX_TURNS: int(50, 1),
  LIVE_PROCESS_IDLE_MS: int(10_000, 1000),
  LIVE_PROCESS_MAX_RSS_MB: int(1024, 0),
  AGENT_SANDBOX: z.enum(['auto', 'bwrap', 'none']).default('auto'),
  // Sandboxed agents' only way out is the server's egress proxy: any public address (open)
  // or only AGENT_EGRESS_ALLOW's domains and their subdomains (allowlist).
  AGENT_EGRESS: z.enum(['open', 'allowlist']).default('open'),
  AGENT_EGRESS_ALLOW: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((d) => d.trim().toLowerCase().replace(/^\*\./, '').replace(/\.$/, ''))
        .filter(Boolean),
    ),
  // model
  CLAUDE_MODEL: z.string().default('claude-sonnet-4-6'),
  ANTHROPIC_API_KEY: optionalString,
  ANTHROPIC_BASE_URL: url(),
  CLAUDE_CODE_OAUTH_TOKEN: optionalString,
  USE_CLAUDE_API_KEY: flag(false),
  FAKE_MODEL: flag(false),
  // Z.ai's Anthropic-compatible endpoint for the GLM models (unset key: no GLM models)
  ZAI_API_KEY: optionalString,
  ZAI_BASE_URL: url('https://api.z.ai/api/anthropic'),
  // claude-code-api surface
  API_KEYS: optionalString,
  // admin keys (the keys API, usage): same form as API_KEYS, user `admin` by default
  ADMIN_API_KEYS: optionalString,
  NEXTAUTH_SECRET: optionalString,
  OAUTH_AUTHORIZE_URL: url('https://claude.ai/oauth/authorize'),
  OAUTH_TOKEN_URL: url('https://console.anthropic.com/v1/oauth/token'),
  OAUTH_CLIENT_ID: z.string().default('9d1c250a-e61b-44d9-88ed-5944d1962f5e'),
  OAUTH_REDIRECT_URI: url('https://console.anthropic.com/oauth/code/callback'),
  OAUTH_SCOPES: z.string().default('org:create_api_key user:profile user:inference'),
  // claudebox surface
  CLAUDEBOX_API_TOKEN: optionalString,
  CLAUDEBOX_ZAI_API_TOKEN: optionalString,
  FILES_MAX_BYTES: int(5 * 1024 ** 3, 1),
  // OpenAI surfaces
  CLAUDEOPS_CHAT_API_KEY: optionalString,
  CLAUDEOPS_CHAT_MAX_SESSIONS: int(1, 1),
  LITELLM_MASTER_KEY: optionalString,
  SSE_HEARTBEAT_MS: int(15_000, 100),
  // Runs API webhooks (signed with WEBHOOK_SECRET; unset: runs cannot ask for one)
  WEBHOOK_SECRET: optionalString,
  WEBHOOK_ALLOW_PRIVATE: flag(false),
  WEBHOOK_TIMEOUT_MS: int(10_000, 100),
  WEBHOOK_RETRY_BASE_MS: int(10_000, 10),
  WEBHOOK_RETRY_FOR_MS: int(86_400_000, 1000),
  // MCP endpoints: DNS-rebinding protection (loopback names are always allowed)
  MCP_ALLOWED_HOSTS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  MCP_ALLOWED_ORIGINS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim().toLowerCase().replace(/\/+$/, ''))
        .filter(Boolean),
    ),
  // storage (hybrids3)
  HYBRIDS3_MASTER_KEY: optionalString,
  HYBRIDS3_BUCKETS: z.string().default('uploads:public'),
  HYBRIDS3_SWEEP_INTERVAL: duration(60_000),
  HYBRIDS3_MAX_OBJECT_BYTES: int(5 * 1024 ** 4, 1),
  // browser
  STEALTHY_AUTO_BROWSE_AUTH_TOKEN: optionalString,
  STEALTHY_AUTO_BROWSE_NUM_REPLICAS: int(5, 1, 64),
  STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE: flag(false),
  STEALTHY_AUTO_BROWSE_ACTION_TIMEOUT_MS: int(30_000, 100),
  STEALTHY_AUTO_BROWSE_QUEUE_MAX: int(32, 0),
  // V8 heap cap per page (renderer), MB: a page that outgrows it crashes and its replica is replaced.
  STEALTHY_AUTO_BROWSE_MAX_HEAP_MB: int(256, 32, 16_384),
  CHROMIUM_PATH: z.string().default('/usr/bin/chromium'),
});

export type Env = z.infer<typeof envSchema>;
