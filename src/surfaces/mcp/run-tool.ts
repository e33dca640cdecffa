import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Principal } from '../../auth/principal.ts';
import type { AppDeps } from '../../http/surface.ts';
import { toolCall } from '../../mcp/tool-result.ts';
import type { ClaudeboxInstance } from '../claudebox/instances.ts';
import { runOptionsShape, toRunSpec } from '../claudebox/run-request.ts';
import { progressMessageOf, renderResult } from '../claudebox/run-response.ts';

/** Streamed text is batched into progress notifications no more often than this. */
const PROGRESS_EVERY_MS = 200;

/**
 * claude_run: /claudebox/run as a tool. The request's abort signal (notifications/cancelled,
 * or the client going away) is the run's signal, so a cancelled call kills the agent.
 */
export function registerRunTool(
  server: McpServer,
  deps: AppDeps,
  principal: Principal,
  instance: ClaudeboxInstance,
): void {
  const { prompt, workspace, model, appendSystemPrompt, noContinue, resume, jsonSchema, effort } =
    runOptionsShape;
  server.registerTool(
    'claude_run',
    {
      description:
        'Run a prompt through Claude Code in a workspace (its own directory and conversation, continued by default). ' +
        'Returns the final answer as text and the result fields (sessionId, numTurns, cost, usage) as structured content. ' +
        'Fails at once if the workspace already has a run.',
      inputSchema: { prompt, workspace, model, appendSystemPrompt, noContinue, resume, jsonSchema, effort },
    },
    (args, extra) =>
      toolCall(async () => {
        const spec = toRunSpec(principal, args, deps.config.current(), instance);
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
        return {
          isError: out.isError,
          content: [{ type: 'text', text: out.result }],
          structuredContent: { ...out },
        };
      }),
  );
}
