import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { RunSpec } from '../../engine/spec.ts';
import { clientGoneSignal } from '../../http/client-gone.ts';
import type { AppDeps } from '../../http/surface.ts';
import { userRoot } from '../../workspaces/owners.ts';
import { callerOf } from './caller.ts';
import { parseOrThrow } from './request-body.ts';
import type { UserMemoryStore } from './user-memory.ts';

/** A caller may ask for up to ten times the server's default run timeout, never unbounded. */
export const MAX_TIMEOUT_FACTOR = 10;

/** The session namespace of /run: user A's "s1" and a claudebox workspace never collide. */
export const RUN_SESSION_KIND = 'run';

/** Built once per limits (zod compiles a schema on first use; rebuilding it per request costs ~1 ms). */
let cachedSchema: { key: string; schema: ReturnType<typeof buildRunBodySchema> } | undefined;

function runBodySchema(maxPromptChars: number, maxTimeoutMs: number) {
  const key = `${maxPromptChars}:${maxTimeoutMs}`;
  if (cachedSchema?.key !== key)
    cachedSchema = { key, schema: buildRunBodySchema(maxPromptChars, maxTimeoutMs) };
  return cachedSchema.schema;
}

function buildRunBodySchema(maxPromptChars: number, maxTimeoutMs: number) {
  return z.object({
    prompt: z
      .string({ error: 'prompt is required' })
      .min(1, 'prompt is required')
      .max(maxPromptChars, `prompt is longer than ${maxPromptChars} characters`),
    sessionId: z.string().min(1).max(200).optional(),
    timeoutMs: z
      .number({ error: 'timeoutMs must be a number of milliseconds' })
      .int('timeoutMs must be an integer')
      .min(1000, 'timeoutMs must be at least 1000')
      .max(maxTimeoutMs, `timeoutMs must be at most ${maxTimeoutMs}`)
      .optional(),
  });
}

/**
 * POST /run → `{success, output, durationMs, timedOut}`. Without sessionId a one-shot run;
 * with one, the caller's named session, created on first use. Runs of one user share the
 * `users/<user>` workspace, so that user's concurrent requests queue behind each other.
 */
export function registerRunRoute(scope: FastifyInstance, deps: AppDeps, memory: UserMemoryStore): void {
  scope.post('/run', async (req, reply) => {
    const c = deps.config.current();
    const body = parseOrThrow(
      runBodySchema(c.MAX_PROMPT_CHARS, c.RUN_TIMEOUT_MS * MAX_TIMEOUT_FACTOR),
      req.body,
    );
    const { userId } = callerOf(req);
    const startedAt = Date.now();
    const userMemory = await memory.read(userId);
    const spec: RunSpec = {
      owner: userId,
      workspace: userRoot(userId),
      prompt: body.prompt,
      onBusy: 'wait',
      ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {}),
      ...(userMemory ? { userMemory } : {}),
      ...(body.sessionId
        ? { session: { kind: RUN_SESSION_KIND, name: body.sessionId, mode: 'continue' } }
        : {}),
    };
    const run = await deps.engine.submit(spec, { signal: clientGoneSignal(req, reply) });
    const record = await deps.engine.wait(run.id);
    const timedOut = record.status === 'timed_out';
    return reply.send({
      success: record.status === 'succeeded',
      output: record.result?.text ?? '',
      durationMs: Date.now() - startedAt,
      timedOut,
      ...(record.status !== 'succeeded' && record.error ? { error: record.error } : {}),
    });
  });
}
