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
  /** The node (NODE_ID) that executed the run; null until it starts. */
  node: string | null;
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
}

export interface KvTable {
  key: string;
  value: string;
  updated_at: number;
}

export interface Database {
  runs: RunsTable;
  run_events: RunEventsTable;
  sessions: SessionsTable;
  api_keys: ApiKeysTable;
  kv: KvTable;
  migrations: { name: string; applied_at: Generated<number> };
}
