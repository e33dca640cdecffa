import type { ModelCall, RunEvent } from '../engine/events.ts';
import type { PoolState } from '../engine/port.ts';
import type { RunSpec } from '../engine/spec.ts';

export type { PoolState } from '../engine/port.ts';
export type { Effort, ModelProvider } from '../engine/spec.ts';

/** What a backend needs to run one prompt: the run's spec, resolved by the run engine. */
export type AgentRunRequest = Pick<
  RunSpec,
  | 'owner'
  | 'prompt'
  | 'images'
  | 'model'
  | 'provider'
  | 'systemPrompt'
  | 'appendSystemPrompt'
  | 'jsonSchema'
  | 'effort'
  | 'forkSession'
  | 'userMemory'
  | 'mcpServers'
> & {
  runId: string;
  /** Absolute working directory (already resolved and created by WorkspaceFs). */
  cwd: string;
  /** Absolute root of all the owner's workspaces (`users/<owner>`), when the workspace lies below it. */
  ownerRoot?: string;
  /** The agent session to continue (from the named session or an explicit resume); undefined starts fresh. */
  resumeSessionId?: string;
  /**
   * The caller may continue this run's conversation (a named session, a resumed one): the
   * backend keeps it in the process after the run instead of resetting the process at once.
   */
  keepsConversation?: boolean;
  /** Called as each of the run's model calls completes (the relay's count), not only at the end. */
  onModelCall?: (call: ModelCall) => void;
};

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
