import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '../errors.ts';

/**
 * The one tool-result shape of every hosted MCP server: a value as text (JSON unless it
 * already is a string), and failures as an MCP tool error the calling model can read and
 * act on, rather than a transport failure.
 */
export function toolText(value: unknown, opts: { isPretty?: boolean } = {}): CallToolResult {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, opts.isPretty ? 2 : undefined);
  return { content: [{ type: 'text', text }] };
}

export function toolError(text: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text }] };
}

/** Pretty JSON, as the claudebox tools answer. */
export function jsonText(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] };
}

export interface ToolCallOptions {
  /** How an AppError reads to the model (default `code: message`). */
  describe?: (err: AppError) => string;
  /** An unexpected error: rethrown (a JSON-RPC error; default) or reported as this text. */
  unexpected?: string;
}

/** Runs a tool body; an AppError (missing file, traversal, busy workspace, …) becomes a tool error. */
export async function toolCall(
  body: () => Promise<CallToolResult>,
  opts: ToolCallOptions = {},
): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof AppError)
      return toolError(opts.describe ? opts.describe(err) : `${err.code}: ${err.message}`);
    if (opts.unexpected === undefined) throw err;
    return toolError(opts.unexpected);
  }
}
