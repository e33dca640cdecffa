import type { RunEvent } from '../runs/events.ts';

export type Effort = 'low' | 'medium' | 'high' | 'max';

/** What a backend needs to run one prompt; resolved by the RunService from a RunSpec. */
export interface AgentRunRequest {
  runId: string;
  owner: string;
  /** Absolute working directory (already resolved and created by WorkspaceFs). */
  cwd: string;
  prompt: string;
  model?: string;
  /** Replaces the agent's whole system prompt. */
  systemPrompt?: string;
  appendSystemPrompt?: string;
  /** A JSON Schema the final answer must match (structured output). */
  jsonSchema?: Record<string, unknown>;
  effort?: Effort;
  /** The agent session to continue; undefined starts a fresh one. */
  resumeSessionId?: string;
  /** Resume into a new session id instead of appending to the resumed one. */
  forkSession?: boolean;
  /** The owner's CLAUDE.md, loaded as user memory. */
  userMemory?: string;
  /** Extra MCP servers (HTTP) the agent may use for this run. */
  mcpServers?: Record<string, { type: 'http'; url: string; headers?: Record<string, string> }>;
}

export interface PoolState {
  size: number;
  idle: number;
  busy: number;
  warming: number;
  /** Live processes parked for reuse by a later run of the same owner and settings. */
  live: number;
}

/**
 * An agent implementation. `start` yields the run's events and ends after exactly one
 * `result` or `error` event; aborting the signal must stop the agent and every process
 * it started before the iterator finishes.
 */
export interface AgentBackend {
  readonly name: string;
  start(req: AgentRunRequest, signal: AbortSignal): AsyncIterable<RunEvent>;
  poolState(): PoolState;
  /** Starts the warm pool; resolves once the first spares are ready or failed. */
  warm(): Promise<void>;
  /** Replaces every idle process (credentials changed); busy ones are not reused after their run. */
  recycle(): Promise<void>;
  close(): Promise<void>;
}
