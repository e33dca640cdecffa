import type { Principal } from '../../auth/principal.ts';
import { assertWorkspace, runStampOf } from '../../auth/scope.ts';
import type { RunRecord } from '../../engine/record.ts';
import type { RunSpec } from '../../engine/spec.ts';
import { RUN_TIERS, type RunTier } from '../../engine/tier.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';
import { parseWorkspaceName } from '../../workspaces/names.ts';
import { userWorkspace } from '../../workspaces/owners.ts';
import { type ApiScope, callerOf, canSeeRun } from './auth.ts';
import { decodeCursor, encodeCursor, renderDelivery, renderRun, renderSummary } from './render.ts';
import {
  type CreateRunBody,
  createdRunSchema,
  createRunBodySchema,
  errorBodySchema,
  listRunsQuerySchema,
  runListSchema,
  runParamsSchema,
  runSchema,
  webhookListSchema,
} from './schemas.ts';

/** The session namespace of the Runs API: a caller's `sessionId` names never meet /run's or claudebox's. */
export const API_SESSION_KIND = 'api';

const DEFAULT_WORKSPACE = 'default';

/** A caller may ask for up to ten times the server's default run timeout, as on /run. */
const MAX_TIMEOUT_FACTOR = 10;

const errors = { 400: errorBodySchema, 401: errorBodySchema, 404: errorBodySchema };

/** A prompt of MAX_PROMPT_CHARS characters, JSON-escaped, fits (as on the OpenAI routes). */
const CREATE_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

/**
 * Where the run's webhook goes: the request's `webhookUrl`. A key's default webhook (key
 * settings, issue 17) is the fallback to add here.
 */
function webhookUrlFor(_caller: Principal, body: CreateRunBody): string | undefined {
  return body.webhookUrl;
}

/** The run when the caller may see it; otherwise not_found, whether it exists or not. */
export async function visibleRun(deps: AppDeps, caller: Principal, id: string): Promise<RunRecord> {
  const record = await deps.engine.get(id);
  if (!record || !canSeeRun(caller, record)) throw new AppError('not_found', `No run ${id}`);
  return record;
}

export function registerRunRoutes(scope: ApiScope, deps: AppDeps): void {
  scope.post(
    '/runs',
    {
      bodyLimit: CREATE_BODY_LIMIT_BYTES,
      schema: {
        summary: 'Start a run; answers at once (202) while the run goes on',
        tags: ['runs'],
        body: createRunBodySchema,
        response: { 202: createdRunSchema, ...errors, 429: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (req, reply) => {
      const caller = callerOf(req);
      const spec = toRunSpec(deps, caller, req.body);
      const webhookUrl = webhookUrlFor(caller, req.body);
      // Checked before the run exists, so a refused target changes nothing.
      if (webhookUrl !== undefined) await deps.webhooks.check(webhookUrl);
      // No signal: the run goes on without the caller (that is the point of this API).
      const { id } = await deps.engine.submit(spec);
      reply.header('x-run-id', id);
      if (webhookUrl !== undefined) {
        try {
          await deps.webhooks.register(id, webhookUrl);
        } catch (err) {
          await deps.engine.cancel(id);
          throw err;
        }
      }
      const record = await deps.engine.get(id);
      return reply.status(202).send({
        id,
        status: record?.status === 'running' ? 'running' : 'queued',
        workspace: spec.workspace.slice(`users/${caller.userId}/`.length),
        createdAt: new Date(record?.createdAt ?? Date.now()).toISOString(),
      });
    },
  );

  scope.get(
    '/runs',
    {
      schema: {
        summary: "The caller's runs, newest first (an admin key: every run)",
        tags: ['runs'],
        querystring: listRunsQuerySchema,
        response: { 200: runListSchema, ...errors },
      },
    },
    async (req) => {
      const caller = callerOf(req);
      const q = req.query;
      if (q.owner !== undefined && !caller.isAdmin && q.owner !== caller.userId) {
        // Another owner's runs are simply not the caller's: an empty page, as for any filter.
        return { runs: [], nextCursor: null };
      }
      const owner = caller.isAdmin ? q.owner : caller.userId;
      if (q.workspace !== undefined) parseWorkspaceName(q.workspace);
      // A key bound to a workspace prefix lists only those of its user's runs.
      const prefix = caller.isAdmin ? undefined : caller.scope?.workspaces;
      const runs = await deps.engine.list({
        state: 'any',
        ...(owner !== undefined ? { owner } : {}),
        ...(prefix ? { workspacePrefix: userWorkspace(caller.userId, prefix) } : {}),
        ...(q.workspace !== undefined
          ? { workspace: userWorkspace(owner ?? caller.userId, q.workspace) }
          : {}),
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(q.cursor !== undefined ? { before: decodeCursor(q.cursor) } : {}),
        limit: q.limit + 1,
      });
      const page = runs.slice(0, q.limit);
      const last = page.at(-1);
      return {
        runs: page.map(renderSummary),
        nextCursor:
          runs.length > q.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
      };
    },
  );

  scope.get(
    '/runs/:id',
    {
      schema: {
        summary: 'One run: status, result, usage, cost, timings, sandbox, tier, error',
        tags: ['runs'],
        params: runParamsSchema,
        response: { 200: runSchema, ...errors },
      },
    },
    async (req) => renderRun(await visibleRun(deps, callerOf(req), req.params.id)),
  );

  scope.post(
    '/runs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a run; answers once it has settled and its processes are gone',
        description: 'A run that already finished is answered as it is.',
        tags: ['runs'],
        params: runParamsSchema,
        response: { 200: runSchema, ...errors },
      },
    },
    async (req) => {
      const record = await visibleRun(deps, callerOf(req), req.params.id);
      await deps.engine.cancel(record.id, { wait: true });
      return renderRun((await deps.engine.get(record.id)) ?? record);
    },
  );

  scope.get(
    '/runs/:id/webhooks',
    {
      schema: {
        summary: "The run's webhook deliveries and their attempts",
        tags: ['runs'],
        params: runParamsSchema,
        response: { 200: webhookListSchema, ...errors },
      },
    },
    async (req) => {
      const record = await visibleRun(deps, callerOf(req), req.params.id);
      return { deliveries: (await deps.webhooks.list(record.id)).map(renderDelivery) };
    },
  );
}

/**
 * A run's tier: the one asked for, which may be lower than the key's but never higher (an
 * `observe` key asking for `full` is refused, not quietly lowered).
 */
function runTier(keyTier: RunTier, asked: RunTier | undefined): RunTier {
  if (asked === undefined) return keyTier;
  if (RUN_TIERS.indexOf(asked) > RUN_TIERS.indexOf(keyTier)) {
    throw new AppError('forbidden', `This key runs at most at the "${keyTier}" tier, not "${asked}"`);
  }
  return asked;
}

function toRunSpec(deps: AppDeps, caller: Principal, body: CreateRunBody): RunSpec {
  const c = deps.config.current();
  if (body.prompt.length > c.MAX_PROMPT_CHARS) {
    throw new AppError('invalid_request', `prompt is longer than ${c.MAX_PROMPT_CHARS} characters`);
  }
  const maxTimeoutMs = c.RUN_TIMEOUT_MS * MAX_TIMEOUT_FACTOR;
  if (body.timeoutMs !== undefined && body.timeoutMs > maxTimeoutMs) {
    throw new AppError('invalid_request', `timeoutMs must be at most ${maxTimeoutMs}`);
  }
  const stamp = runStampOf(caller);
  const tier = runTier(stamp.tier ?? 'full', body.tier);
  const name = body.workspace ?? DEFAULT_WORKSPACE;
  parseWorkspaceName(name); // the error names the caller's workspace, not the prefixed one
  const workspace = userWorkspace(caller.userId, name);
  assertWorkspace(caller.scope, caller.userId, workspace);
  return {
    ...stamp,
    tier,
    surface: 'api',
    owner: caller.userId,
    workspace,
    prompt: body.prompt,
    ...(body.model !== undefined ? { model: body.model } : {}),
    ...(body.systemPrompt !== undefined ? { systemPrompt: body.systemPrompt } : {}),
    ...(body.appendSystemPrompt !== undefined ? { appendSystemPrompt: body.appendSystemPrompt } : {}),
    ...(body.jsonSchema !== undefined ? { jsonSchema: body.jsonSchema } : {}),
    ...(body.effort !== undefined ? { effort: body.effort } : {}),
    ...(body.timeoutMs !== undefined ? { timeoutMs: body.timeoutMs } : {}),
    ...(body.sessionId !== undefined
      ? { session: { kind: API_SESSION_KIND, name: body.sessionId, mode: 'continue' as const } }
      : {}),
    onBusy: 'wait',
  };
}
