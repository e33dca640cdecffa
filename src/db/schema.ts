import type { Generated } from 'kysely';

/** Table shapes as stored. JSON columns hold text; timestamps are epoch milliseconds. */
export interface RunsTable {
  id: string;
  owner: string;
  workspace: string;
  /** agentgate session record this run continues or created, if any. */
  session_id: string | null;
  /** The agent's session id this run ran in, once known. */
  agent_session_id: string | null;
  spec: string;
  status: string;
  result: string | null;
  error: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** The sandbox the run's agent ran under (`bwrap` or `none`); null for runs from before it was recorded. */
  sandbox: string | null;
}

export interface RunEventsTable {
  run_id: string;
  seq: number;
  type: string;
  data: string;
  created_at: number;
}

export interface SessionsTable {
  id: string;
  owner: string;
  /** Which surface namespace the name belongs to (e.g. `run` for /run, `workspace` for claudebox). */
  kind: string;
  name: string;
  workspace: string;
  /** The agent's own session id, once its first run started. */
  agent_session_id: string | null;
  created_at: number;
  updated_at: number;
}

export interface ApiKeysTable {
  id: string;
  user_id: string;
  key_hash: string;
  is_admin: number;
  created_at: number;
  revoked_at: number | null;
  name: string | null;
  /** `observe|edit|full`; null means full. */
  tier: string | null;
  /** JSON arrays; null means every surface / every model. */
  surfaces: string | null;
  models: string | null;
  workspace_prefix: string | null;
  rpm: number | null;
  max_concurrent_runs: number | null;
  budget_usd: number | null;
  /** `day|month|total`. */
  budget_period: string | null;
  expires_at: number | null;
  /** JSON object (LiteLLM's `metadata`). */
  metadata: string | null;
  /** A rotated key's previous hash, accepted until prev_key_expires_at. */
  prev_key_hash: string | null;
  prev_key_expires_at: number | null;
  updated_at: number | null;
}

export interface RunUsageTable {
  run_id: string;
  key_id: string | null;
  user_id: string;
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number;
  model_calls: number;
  source: string;
  status: string;
  created_at: number;
}

export interface KvTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface WebhooksTable {
  id: string;
  run_id: string;
  url: string;
  /** waiting | pending | delivered | failed */
  state: string;
  attempt_count: number;
  next_attempt_at: number | null;
  /** Retries stop after this (the run's end + WEBHOOK_RETRY_FOR_MS). */
  deliver_until: number | null;
  created_at: number;
}

export interface WebhookAttemptsTable {
  webhook_id: string;
  attempt: number;
  at: number;
  http_status: number | null;
  error: string | null;
  /** The first characters of the target's answer, never more. */
  response_excerpt: string | null;
  duration_ms: number;
}

export interface Database {
  runs: RunsTable;
  run_events: RunEventsTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  run_usage: RunUsageTable;
  kv: KvTable;
  webhooks: WebhooksTable;
  webhook_attempts: WebhookAttemptsTable;
  migrations: { name: string; applied_at: Generated<number> };
}
