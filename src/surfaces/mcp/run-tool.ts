import type { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';
import type { ToolSink } from '../../mcp/catalog.ts';
import { toolCall } from '../../mcp/tool-result.ts';
import type { ClaudeboxInstance } from '../claudebox/instances.ts';
import { type RunOptions, runOptionsShape, toRunSpec } from '../claudebox/run-request.ts';
import { type ClaudeboxResult, progressMessageOf, renderResult } from '../claudebox/run-response.ts';

/** Streamed text is batched into progress notifications no more often than this. */
const PROGRESS_EVERY_MS = 200;

/**
 * claude_run's parameters under the original's names (snake_case), with the camelCase
 * names agentgate first shipped kept as aliases. Giving both spellings of one parameter
 * with different values is refused rather than guessed.
 */
const ORIGINAL_TO_ALIAS = {
  system_prompt: 'systemPrompt',
  append_system_prompt: 'appendSystemPrompt',
  json_schema: 'jsonSchema',
  no_continue: 'noContinue',
} as const;

const o = runOptionsShape;
export const claudeRunInputShape = {
  prompt: o.prompt,
  workspace: o.workspace,
  model: o.model,
  system_prompt: o.systemPrompt,
  append_system_prompt: o.appendSystemPrompt,
  json_schema: o.jsonSchema,
  effort: o.effort,
  no_continue: o.noContinue,
  resume: o.resume,
  systemPrompt: o.systemPrompt.describe('Alias of system_prompt'),
  appendSystemPrompt: o.appendSystemPrompt.describe('Alias of append_system_prompt'),
  jsonSchema: o.jsonSchema.describe('Alias of json_schema'),
  noContinue: o.noContinue.describe('Alias of no_continue'),
};

type ClaudeRunArgs = z.infer<z.ZodObject<typeof claudeRunInputShape>>;

/** The tool's arguments as the run options /claudebox/run takes. */
export function runOptionsOf(args: ClaudeRunArgs): RunOptions {
  const out: Record<string, unknown> = {
    prompt: args.prompt,
    workspace: args.workspace,
    model: args.model,
    effort: args.effort,
    resume: args.resume,
  };
  for (const [original, alias] of Object.entries(ORIGINAL_TO_ALIAS) as Array<
    [keyof typeof ORIGINAL_TO_ALIAS, (typeof ORIGINAL_TO_ALIAS)[keyof typeof ORIGINAL_TO_ALIAS]]
  >) {
    const a = args[original];
    const b = args[alias];
    if (a !== undefined && b !== undefined && a !== b) {
      throw new AppError('invalid_request', `${original} and its alias ${alias} disagree; give one`);
    }
    out[alias] = a ?? b;
  }
  return out as RunOptions;
}

/**
 * The run's result with the original's field names (result, session_id, usage in tokens,
 * total_cost_usd, …) next to agentgate's camelCase ones, which earlier clients read.
 */
export function claudeRunResult(out: ClaudeboxResult): Record<string, unknown> {
  return {
    ...out,
    is_error: out.isError,
    num_turns: out.numTurns,
    duration_ms: out.durationMs,
    total_cost_usd: out.totalCostUsd,
    session_id: out.sessionId,
    usage: {
      ...out.usage,
      input_tokens: out.usage.inputTokens,
      output_tokens: out.usage.outputTokens,
      cache_read_input_tokens: out.usage.cacheReadInputTokens,
    },
  };
}

/** The run's facts besides its answer, under the original's names. */
function runFactsOf(result: Record<string, unknown>): Record<string, unknown> {
  const { session_id, usage, total_cost_usd, num_turns, duration_ms, is_error, subtype } = result;
  const u = usage as Record<string, unknown>;
  return {
    session_id,
    usage: {
      input_tokens: u.input_tokens,
      output_tokens: u.output_tokens,
      cache_read_input_tokens: u.cache_read_input_tokens,
    },
    total_cost_usd,
    num_turns,
    duration_ms,
    is_error,
    subtype,
  };
}

/**
 * claude_run: /claudebox/run as a tool. The request's abort signal (notifications/cancelled,
 * or the client going away) is the run's signal, so a cancelled call kills the agent.
 */
export function registerRunTool(
  server: ToolSink,
  deps: AppDeps,
  principal: Principal,
  instance: ClaudeboxInstance,
): void {
  server.registerTool(
    'claude_run',
    {
      description:
        'Run a prompt through Claude Code in a workspace (its own directory and conversation, continued by default). ' +
        'Returns the final answer as text, then a JSON text of session_id, usage (tokens), total_cost_usd and num_turns; the whole result is also structured content. ' +
        'Fails at once if the workspace already has a run.',
      inputSchema: claudeRunInputShape,
    },
    (args, extra) =>
      toolCall(async () => {
        const spec = {
          ...toRunSpec(principal, runOptionsOf(args), deps.config.current(), instance),
          surface: 'mcp',
        };
        const run = await deps.engine.submit(spec, { signal: extra.signal });
        const progressToken = extra._meta?.progressToken;
        if (progressToken !== undefined) {
          let progress = 0;
          let pending = '';
          let lastSentAt = 0;
          for await (const { event } of deps.engine.events(run.id)) {
            const message = progressMessageOf(event);
            if (message === undefined) continue;
            pending += event.type === 'text_delta' ? message : `[${message}]`;
            if (Date.now() - lastSentAt < PROGRESS_EVERY_MS && event.type === 'text_delta') continue;
            progress += 1;
            lastSentAt = Date.now();
            await extra
              .sendNotification({
                method: 'notifications/progress',
                params: { progressToken, progress, message: pending.slice(-2000) },
              })
              .catch(() => {}); // a client that stopped listening must not fail the run
            pending = '';
          }
        }
        const out = renderResult(await deps.engine.wait(run.id));
        const result = claudeRunResult(out);
        return {
          isError: out.isError,
          // The answer first; then the run's facts for clients that only pass text on (LiteLLM).
          content: [
            { type: 'text', text: out.result },
            { type: 'text', text: JSON.stringify(runFactsOf(result)) },
          ],
          structuredContent: result,
        };
      }),
  );
}
