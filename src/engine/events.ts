/**
 * The engine's lingua franca: every agent's native stream is translated into these, and
 * every surface renders them in its own protocol.
 */
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
}

export interface RunResult {
  /** The agent's own result subtype: `success`, `error_during_execution`, … or ours (`cancelled`, `timed_out`). */
  subtype: string;
  isError: boolean;
  /** The final text (for a structured-output run, the JSON text of the structured output). */
  text: string;
  /** Structured output when the run asked for a JSON schema, exactly as the agent produced it. */
  structuredOutput?: unknown;
  numTurns: number;
  durationMs: number;
  totalCostUsd: number;
  sessionId: string | undefined;
  usage: Usage;
}

/** One model call of a run, as the server's model relay saw it (model, HTTP status, tokens). */
export interface ModelCall {
  model: string;
  status: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
}

/** Content blocks of a message, kept as the agent produced them (tool inputs/results byte for byte). */
export type ContentBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; toolUseId: string; isError: boolean; content: unknown };

export type RunEvent =
  | { type: 'status'; status: RunStatus; detail?: string }
  | { type: 'session'; sessionId: string; model?: string }
  | { type: 'text_delta'; text: string }
  | { type: 'message'; role: 'assistant' | 'tool_result'; content: ContentBlock[] }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: 'tool_result'; toolUseId: string; isError: boolean; content: unknown }
  | { type: 'model_call'; call: ModelCall }
  | { type: 'result'; result: RunResult }
  | { type: 'error'; code: string; message: string };

export interface StoredEvent {
  seq: number;
  event: RunEvent;
}

export const ZERO_USAGE: Usage = {
  inputTokens: 0,
  outputTokens: 0,
  cacheReadInputTokens: 0,
  cacheCreationInputTokens: 0,
};
