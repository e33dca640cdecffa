import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { AppError } from '../../errors.ts';

/**
 * Runs a tool body and turns an AppError (missing file, traversal, busy workspace, …) into
 * an MCP tool error the calling model can read and act on, rather than a transport failure.
 */
export async function toolCall(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { isError: true, content: [{ type: 'text', text: `${err.code}: ${err.message}` }] };
  }
}

export function jsonText(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] };
}
