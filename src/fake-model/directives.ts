/**
 * The fake model's prompt language: `[[name:arg]]` markers in the user's text decide how it
 * answers, so a test states its scenario in the prompt and needs no side channel.
 */

export interface ToolDirective {
  name: string;
  input: Record<string, unknown>;
}

export interface Directives {
  /** In prompt order; one is called per model turn. */
  tools: ToolDirective[];
  sleepMs?: number;
  words?: number;
  errorStatus?: number;
  isRecall: boolean;
}

const MARKER = /\[\[(tool|sleep|words|error|recall)(?::([^\]]*(?:\][^\]][^\]]*)*))?\]\]/g;

export function parseDirectives(text: string): Directives {
  const directives: Directives = { tools: [], isRecall: false };
  for (const match of text.matchAll(MARKER)) {
    const kind = match[1];
    const arg = (match[2] ?? '').trim();
    if (kind === 'tool') {
      const tool = parseToolArg(arg);
      if (tool) directives.tools.push(tool);
    } else if (kind === 'sleep') {
      directives.sleepMs = nonNegativeInt(arg);
    } else if (kind === 'words') {
      directives.words = nonNegativeInt(arg);
    } else if (kind === 'error') {
      const status = nonNegativeInt(arg);
      if (status !== undefined && status >= 400 && status <= 599) directives.errorStatus = status;
    } else if (kind === 'recall') {
      directives.isRecall = true;
    }
  }
  return directives;
}

/** `NAME {json}`; a missing or unparsable input becomes `{}` so a typo still yields a visible tool call. */
function parseToolArg(arg: string): ToolDirective | undefined {
  const space = arg.search(/\s/);
  const name = space === -1 ? arg : arg.slice(0, space);
  if (!name) return undefined;
  const rest = space === -1 ? '' : arg.slice(space).trim();
  if (!rest) return { name, input: {} };
  try {
    const input: unknown = JSON.parse(rest);
    if (input && typeof input === 'object' && !Array.isArray(input)) {
      return { name, input: input as Record<string, unknown> };
    }
  } catch {
    // fall through: an unparsable input is passed on as-is so the failure shows in the tool result
  }
  return { name, input: { raw: rest } };
}

function nonNegativeInt(arg: string): number | undefined {
  if (!/^\d+$/.test(arg)) return undefined;
  return Number(arg);
}
