import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { runStampOf } from '../../auth/scope.ts';
import type { RunSpec } from '../../engine/spec.ts';
import { AppError } from '../../errors.ts';
import { clientGoneSignal } from '../../http/client-gone.ts';
import type { AppDeps } from '../../http/surface.ts';
import { userRoot, userWorkspace } from '../../workspaces/owners.ts';
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
 * POST /run → `{success, output, durationMs, timedOut}`. Without sessionId a one-shot run in
 * one of the user's one-shot slots, so one key's one-shot runs run side by side; with one,
 * the caller's named session, created on first use, in `users/<user>`: a user's session
 * runs queue behind each other there.
 */
export function registerRunRoute(scope: FastifyInstance, deps: AppDeps, memory: UserMemoryStore): void {
  scope.post('/run', async (req, reply) => {
    const c = deps.config.current();
    const body = parseOrThrow(
      runBodySchema(c.MAX_PROMPT_CHARS, c.RUN_TIMEOUT_MS * MAX_TIMEOUT_FACTOR),
      req.body,
    );
    const caller = callerOf(req);
    const { userId } = caller;
    const startedAt = Date.now();
    const userMemory = await memory.read(userId);
    const spec: Omit<RunSpec, 'workspace' | 'onBusy'> = {
      owner: userId,
      ...runStampOf(caller),
      prompt: body.prompt,
      ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {}),
      ...(userMemory ? { userMemory } : {}),
      ...(body.sessionId
        ? { session: { kind: RUN_SESSION_KIND, name: body.sessionId, mode: 'continue' } }
        : {}),
    };
    const signal = clientGoneSignal(req, reply);
    const run = body.sessionId
      ? await deps.engine.submit({ ...spec, workspace: userRoot(userId), onBusy: 'wait' }, { signal })
      : await submitOneShot(deps, userId, spec, signal);
    // The run's id, to follow it on /api/v1 (it goes out with the answer's headers).
    reply.header('x-run-id', run.id);
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

/**
 * A one-shot run takes the first free of the user's slot workspaces `users/<u>/oneshot-<n>`
 * (n < MAX_CONCURRENT_RUNS), so concurrent runs of one key each get a working directory of
 * their own, while a bot sending one request after another keeps landing in `oneshot-0`,
 * where its parked agent process (keyed by cwd) is reused. The engine's workspace lock
 * decides between two requests arriving together: the loser gets `conflict` and tries the
 * next slot. When every slot is taken the run queues on the slot with the fewest runs
 * waiting, as the original queues behind a busy pool. A slot keeps its files between runs
 * (the original's anonymous workers share one directory too); there are at most
 * MAX_CONCURRENT_RUNS of them per user, so they never pile up.
 */
async function submitOneShot(
  deps: AppDeps,
  userId: string,
  spec: Omit<RunSpec, 'workspace' | 'onBusy'>,
  signal: AbortSignal,
): Promise<{ id: string }> {
  const slots = Math.max(1, deps.config.current().MAX_CONCURRENT_RUNS);
  const slotName = (n: number) => userWorkspace(userId, `${ONESHOT_SLOT_PREFIX}${n}`);
  const active = await deps.engine.list({
    state: 'active',
    owner: userId,
    workspacePrefix: `${userRoot(userId)}/`,
  });
  const load = new Map<string, number>();
  for (const r of active) load.set(r.workspace, (load.get(r.workspace) ?? 0) + 1);
  for (let n = 0; n < slots; n += 1) {
    const workspace = slotName(n);
    if (load.has(workspace)) continue;
    try {
      return await deps.engine.submit({ ...spec, workspace, onBusy: 'conflict' }, { signal });
    } catch (err) {
      if (err instanceof AppError && err.code === 'conflict') continue;
      throw err;
    }
  }
  let leastLoaded = 0;
  for (let n = 1; n < slots; n += 1) {
    if ((load.get(slotName(n)) ?? 0) < (load.get(slotName(leastLoaded)) ?? 0)) leastLoaded = n;
  }
  return deps.engine.submit({ ...spec, workspace: slotName(leastLoaded), onBusy: 'wait' }, { signal });
}

/** The name of a user's one-shot slot workspaces: `oneshot-0`, `oneshot-1`, … */
export const ONESHOT_SLOT_PREFIX = 'oneshot-';
