import type { ContentBlock, RunEvent, StoredEvent } from '../../engine/events.ts';
import type { RunRecord } from '../../engine/record.ts';
import { AppError } from '../../errors.ts';

/** The seed's result object (claude -p --output-format json, camel-cased). */
export interface ClaudeboxResult {
  type: 'result';
  subtype: string;
  isError: boolean;
  result: string;
  numTurns: number;
  durationMs: number;
  totalCostUsd: number;
  sessionId: string | undefined;
  usage: { inputTokens: number; outputTokens: number; cacheReadInputTokens: number };
  turns?: Turn[];
}

type TurnBlock =
  | Exclude<ContentBlock, { type: 'tool_result' }>
  | { type: 'toolResult'; toolUseId: string; isError: boolean; content: unknown };

export interface Turn {
  role: 'assistant' | 'tool_result';
  content: TurnBlock[];
}

/**
 * A finished run as the seed renders it. For a jsonSchema run `result` is the JSON text of
 * the structured output, exactly what the seed's CLI printed there. A run that ended
 * without any result (it never started) is an error, not an empty success.
 */
export function renderResult(record: RunRecord): ClaudeboxResult {
  const r = record.result;
  if (!r) throw new AppError('internal', record.error ?? `The run ${record.status} without a result`);
  return {
    type: 'result',
    subtype: r.subtype,
    isError: r.isError,
    result: r.structuredOutput !== undefined ? JSON.stringify(r.structuredOutput) : r.text,
    numTurns: r.numTurns,
    durationMs: r.durationMs,
    totalCostUsd: r.totalCostUsd,
    sessionId: r.sessionId,
    usage: {
      inputTokens: r.usage.inputTokens,
      outputTokens: r.usage.outputTokens,
      cacheReadInputTokens: r.usage.cacheReadInputTokens,
    },
  };
}

/**
 * json-verbose turns from the run's `message` events. Only our own envelope is renamed
 * (tool_result → toolResult with toolUseId/isError); tool inputs and result content are
 * the agent's values untouched.
 */
export function turnsOf(events: readonly StoredEvent[]): Turn[] {
  const turns: Turn[] = [];
  for (const { event } of events) {
    if (event.type !== 'message') continue;
    turns.push({ role: event.role, content: event.content.map(turnBlock) });
  }
  return turns;
}

function turnBlock(b: ContentBlock): TurnBlock {
  if (b.type !== 'tool_result') return b;
  return { type: 'toolResult', toolUseId: b.toolUseId, isError: b.isError, content: b.content };
}

/** Text a progress report can show for one event (tool calls and streamed text). */
export function progressMessageOf(event: RunEvent): string | undefined {
  if (event.type === 'tool_use') return `tool ${event.name}`;
  if (event.type === 'text_delta') return event.text;
  if (event.type === 'status') return event.status;
  return undefined;
}
