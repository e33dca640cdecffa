import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { Usage } from '../../engine/events.ts';
import { AppError } from '../../errors.ts';
import { replyHeaders, SseWriter } from '../../http/sse.ts';
import type { AppDeps } from '../../http/surface.ts';
import { renderOpenAiError, runFailure } from './errors.ts';

/** What every chunk and completion of one response repeats. */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

export function newCompletionMeta(model: string): CompletionMeta {
  return { id: `chatcmpl-${randomUUID()}`, created: Math.floor(Date.now() / 1000), model };
}

export interface OpenAiUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Cached input is still input the prompt cost; OpenAI has one prompt count, so it is summed in. */
export function openAiUsage(u: Usage | undefined): OpenAiUsage {
  const prompt = (u?.inputTokens ?? 0) + (u?.cacheReadInputTokens ?? 0) + (u?.cacheCreationInputTokens ?? 0);
  const completion = u?.outputTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** stream:false — waits for the run and answers one chat.completion, or throws its failure. */
export async function completeRun(
  deps: AppDeps,
  runId: string,
  meta: CompletionMeta,
): Promise<Record<string, unknown>> {
  const record = await deps.engine.wait(runId);
  if (record.status !== 'succeeded') throw runFailure(record.status, record.error);
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: record.result?.text ?? '' },
        finish_reason: 'stop',
      },
    ],
    usage: openAiUsage(record.result?.usage),
  };
}

/**
 * stream:true — relays the run's events as chat.completion.chunk events as they happen:
 * a role chunk, one content chunk per text delta, the finish chunk, the usage chunk when
 * asked, then `[DONE]`. A failed run ends with an error event and `[DONE]`, never a hang.
 */
export async function streamRun(
  deps: AppDeps,
  reply: FastifyReply,
  runId: string,
  meta: CompletionMeta,
  isUsageWanted: boolean,
): Promise<void> {
  reply.hijack();
  const sse = new SseWriter(reply.raw, deps.config.current().SSE_HEARTBEAT_MS, replyHeaders(reply));
  try {
    await relay(deps, sse, runId, meta, isUsageWanted);
  } catch (err) {
    // Headers are sent: the failure can only be told inside the stream, never as a hang.
    reply.log.error({ err, runId }, 'stream relay failed');
    void deps.engine.cancel(runId);
    await sse.send(JSON.stringify(renderOpenAiError(new AppError('internal', 'The stream failed')).body));
    await sse.send('[DONE]');
  } finally {
    sse.end();
  }
}

async function relay(
  deps: AppDeps,
  sse: SseWriter,
  runId: string,
  meta: CompletionMeta,
  isUsageWanted: boolean,
): Promise<void> {
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): string =>
    JSON.stringify({
      id: meta.id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    });
  await sse.send(chunk({ role: 'assistant', content: '' }));
  let hasText = false;
  for await (const { event } of deps.engine.events(runId)) {
    if (sse.isClosed) break; // the run is being cancelled by the close; stop relaying
    if (event.type === 'text_delta' && event.text) {
      hasText = true;
      await sse.send(chunk({ content: event.text }));
    } else if (event.type === 'tool_use') {
      // Tool calls are the agent's own business; chat apps get a readable trace, not tool_calls.
      await sse.send(chunk({ content: `\n[tool: ${event.name}]\n` }));
    }
  }
  const record = await deps.engine.wait(runId);
  if (sse.isClosed) return;
  if (record.status === 'succeeded') {
    // An agent that answered without partial messages still answers.
    if (!hasText && record.result?.text) await sse.send(chunk({ content: record.result.text }));
    await sse.send(chunk({}, 'stop'));
    if (isUsageWanted) {
      await sse.send(
        JSON.stringify({
          id: meta.id,
          object: 'chat.completion.chunk',
          created: meta.created,
          model: meta.model,
          choices: [],
          usage: openAiUsage(record.result?.usage),
        }),
      );
    }
  } else {
    await sse.send(JSON.stringify(renderOpenAiError(runFailure(record.status, record.error)).body));
  }
  await sse.send('[DONE]');
}
