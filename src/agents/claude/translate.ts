import type { ContentBlock, RunEvent, RunResult, Usage } from '../../engine/events.ts';

/**
 * Translating Claude Code's SDK messages into RunEvents: a pure function of one message,
 * tested on streams recorded from the real binary (test/fixtures/sdk/*.jsonl).
 *
 * Messages are typed loosely on purpose: the SDK's union has ~40 members and grows each
 * release; we read the few fields we need and ignore the rest.
 */
type Json = Record<string, unknown>;

function asObject(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export function usageOf(raw: unknown): Usage {
  const u = asObject(raw) ?? {};
  return {
    inputTokens: num(u.input_tokens),
    outputTokens: num(u.output_tokens),
    cacheReadInputTokens: num(u.cache_read_input_tokens),
    cacheCreationInputTokens: num(u.cache_creation_input_tokens),
  };
}

function blocksOf(content: unknown): ContentBlock[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) return [];
  const blocks: ContentBlock[] = [];
  for (const raw of content) {
    const b = asObject(raw);
    if (!b) continue;
    if (b.type === 'text' && typeof b.text === 'string') blocks.push({ type: 'text', text: b.text });
    else if (b.type === 'thinking' && typeof b.thinking === 'string')
      blocks.push({ type: 'thinking', thinking: b.thinking });
    else if (b.type === 'tool_use')
      blocks.push({ type: 'tool_use', id: String(b.id ?? ''), name: String(b.name ?? ''), input: b.input });
    else if (b.type === 'tool_result')
      blocks.push({
        type: 'tool_result',
        toolUseId: String(b.tool_use_id ?? ''),
        isError: b.is_error === true,
        content: b.content,
      });
  }
  return blocks;
}

/** Turns a `result` SDK message into our RunResult (cost is as reported; callers may rebase it). */
export function resultOf(msg: Json): RunResult {
  const structured = msg.structured_output;
  const text =
    typeof msg.result === 'string' && msg.result !== ''
      ? msg.result
      : structured !== undefined
        ? JSON.stringify(structured)
        : Array.isArray(msg.errors)
          ? msg.errors.join('\n')
          : '';
  return {
    subtype: String(msg.subtype ?? 'success'),
    isError: msg.is_error === true || msg.subtype !== 'success',
    text,
    ...(structured !== undefined ? { structuredOutput: structured } : {}),
    numTurns: num(msg.num_turns),
    durationMs: num(msg.duration_ms),
    totalCostUsd: num(msg.total_cost_usd),
    sessionId: typeof msg.session_id === 'string' ? msg.session_id : undefined,
    usage: usageOf(msg.usage),
  };
}

/**
 * One SDK message → zero or more RunEvents. Subagent traffic (parent_tool_use_id set) is
 * not the main conversation and is left out of text deltas and messages.
 */
export function translateSdkMessage(raw: unknown): RunEvent[] {
  const msg = asObject(raw);
  if (!msg) return [];
  const isSubagent = typeof msg.parent_tool_use_id === 'string';
  switch (msg.type) {
    case 'system': {
      if (msg.subtype === 'init' && typeof msg.session_id === 'string') {
        return [
          {
            type: 'session',
            sessionId: msg.session_id,
            ...(typeof msg.model === 'string' ? { model: msg.model } : {}),
          },
        ];
      }
      return [];
    }
    case 'stream_event': {
      if (isSubagent) return [];
      const ev = asObject(msg.event);
      const delta = asObject(ev?.delta);
      if (
        ev?.type === 'content_block_delta' &&
        delta?.type === 'text_delta' &&
        typeof delta.text === 'string'
      ) {
        return delta.text === '' ? [] : [{ type: 'text_delta', text: delta.text }];
      }
      return [];
    }
    case 'assistant': {
      if (isSubagent) return [];
      const content = blocksOf(asObject(msg.message)?.content);
      if (content.length === 0) return [];
      const events: RunEvent[] = [{ type: 'message', role: 'assistant', content }];
      for (const b of content) {
        if (b.type === 'tool_use') events.push({ type: 'tool_use', id: b.id, name: b.name, input: b.input });
      }
      return events;
    }
    case 'user': {
      if (isSubagent) return [];
      const results = blocksOf(asObject(msg.message)?.content).filter((b) => b.type === 'tool_result');
      if (results.length === 0) return [];
      const events: RunEvent[] = [{ type: 'message', role: 'tool_result', content: results }];
      for (const b of results) {
        if (b.type === 'tool_result')
          events.push({
            type: 'tool_result',
            toolUseId: b.toolUseId,
            isError: b.isError,
            content: b.content,
          });
      }
      return events;
    }
    case 'result':
      return [{ type: 'result', result: resultOf(msg) }];
    default:
      return [];
  }
}
