import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CreateKeyInput, KeyInfo, PatchKeyInput } from '../../auth/key-input.ts';
import { type BudgetPeriod, periodStartMs } from '../../auth/scope.ts';
import { AppError } from '../../errors.ts';
import { authenticateFirst } from '../../http/auth-first.ts';
import type { AppDeps } from '../../http/surface.ts';
import { authenticateAdmin } from './auth.ts';
import { revokeKey } from './revoke.ts';

/**
 * LiteLLM's key-management routes, for the scripts aigate users already have: thin
 * translations onto the same KeyStore as /admin/keys. Fields agentgate has no use for
 * (team_id, tpm_limit, aliases, …) are accepted and ignored, as LiteLLM ignores what a
 * deployment does not use; fields it has are checked as strictly as on /admin/keys.
 */

/**
 * The user a key belongs to when a LiteLLM script names none: one of its own. In LiteLLM
 * such keys share nothing; here a user is a set of workspaces, sessions and runs, so a
 * shared default user would let every such key read every other's files.
 */
export function litellmDefaultUser(): string {
  return `litellm.${randomUUID()}`;
}

const duration = z.string().regex(/^\d+(s|m|h|d|mo)$/, 'must look like 30s, 30m, 24h, 30d or 1mo');

const keyFields = {
  models: z.array(z.string().min(1).max(200)).max(100).optional(),
  max_budget: z.number().nonnegative().nullable().optional(),
  budget_duration: duration.nullable().optional(),
  rpm_limit: z.number().int().positive().nullable().optional(),
  max_parallel_requests: z.number().int().positive().nullable().optional(),
  duration: duration.nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
  key_alias: z.string().max(200).nullable().optional(),
  key_name: z.string().max(200).nullable().optional(),
};

const generateBody = z.object({ ...keyFields, user_id: z.string().min(1).max(64).optional() });
const updateBody = z.object({ key: z.string().min(1).max(500), ...keyFields });
const deleteBody = z.object({ keys: z.array(z.string().min(1).max(500)).min(1).max(100) });
const infoQuery = z.object({ key: z.string().min(1).max(500) });
const spendQuery = z.object({
  api_key: z.string().max(500).optional(),
  user_id: z.string().max(64).optional(),
  start_date: z.string().max(40).optional(),
  end_date: z.string().max(40).optional(),
});

function durationMs(text: string): number {
  const m = /^(\d+)(s|m|h|d|mo)$/.exec(text);
  const n = Number(m?.[1] ?? 0);
  const unit =
    { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, mo: 30 * 86_400_000 }[m?.[2] ?? 's'] ?? 1000;
  return n * unit;
}

/** agentgate budgets reset per UTC day or month, or never: LiteLLM durations map onto those. */
function budgetPeriodOf(budgetDuration: string | null | undefined): BudgetPeriod {
  if (!budgetDuration) return 'total';
  if (['1d', '24h'].includes(budgetDuration)) return 'day';
  if (['30d', '31d', '1mo'].includes(budgetDuration)) return 'month';
  throw new AppError('invalid_request', 'budget_duration must be 1d (a UTC day) or 30d/1mo (a UTC month)');
}

function durationOf(period: BudgetPeriod): string | null {
  return period === 'day' ? '1d' : period === 'month' ? '30d' : null;
}

type KeyFields = z.infer<z.ZodObject<typeof keyFields>>;

function scopeFieldsOf(b: KeyFields, nowMs: number): PatchKeyInput {
  const out: PatchKeyInput = {};
  if (b.models !== undefined) out.models = b.models.length === 0 ? null : b.models; // [] = all models, as in LiteLLM
  if (b.max_budget !== undefined) {
    out.budgetUsd = b.max_budget;
    out.budgetPeriod = budgetPeriodOf(b.budget_duration);
  } else if (b.budget_duration !== undefined) out.budgetPeriod = budgetPeriodOf(b.budget_duration);
  if (b.rpm_limit !== undefined) out.rpm = b.rpm_limit;
  if (b.max_parallel_requests !== undefined) out.maxConcurrentRuns = b.max_parallel_requests;
  if (b.duration !== undefined) {
    out.expiresAt = b.duration === null ? null : new Date(nowMs + durationMs(b.duration)).toISOString();
  }
  if (b.metadata !== undefined) out.metadata = b.metadata;
  const name = b.key_alias ?? b.key_name;
  if (name !== undefined) out.name = name;
  return out;
}

/** A key in LiteLLM's words (plus agentgate's own fields, under their own names). */
async function litellmInfo(deps: AppDeps, info: KeyInfo): Promise<Record<string, unknown>> {
  const spend = await deps.usage.spentUsd(info.id, periodStartMs(info.budgetPeriod, Date.now()));
  return {
    token: info.id,
    key_name: info.name,
    key_alias: info.name,
    user_id: info.user,
    models: info.models ?? [],
    max_budget: info.budgetUsd,
    budget_duration: durationOf(info.budgetPeriod),
    rpm_limit: info.rpm,
    max_parallel_requests: info.maxConcurrentRuns,
    expires: info.expiresAt,
    metadata: info.metadata ?? {},
    spend,
    created_at: info.createdAt,
    updated_at: info.updatedAt,
    blocked: info.revokedAt !== null,
    tier: info.tier,
    surfaces: info.surfaces,
    workspaces: info.workspaces,
  };
}

/** A LiteLLM `key` field: the secret itself (`sk-…`/`agk_…`) or the key's id (`token`). */
async function keyIdOf(deps: AppDeps, key: string): Promise<string> {
  const bySecret = await deps.keys.idOfSecret(key);
  if (bySecret) return bySecret;
  const info = await deps.keys.get(key);
  if (info) return info.id;
  throw new AppError('not_found', 'No such key');
}

function dateBound(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) throw new AppError('invalid_request', `${name} must be a date (YYYY-MM-DD)`);
  return ms;
}

export function registerLiteLlmRoutes(scope: FastifyInstance, deps: AppDeps): void {
  const r = scope.withTypeProvider<ZodTypeProvider>();
  const onRequest = authenticateFirst((req) => authenticateAdmin(deps, req));

  r.post('/key/generate', { onRequest, schema: { body: generateBody } }, async (req) => {
    const b = req.body;
    const scopeFields = scopeFieldsOf(b, Date.now());
    const input: CreateKeyInput = { user: b.user_id ?? litellmDefaultUser() };
    if (scopeFields.models) input.models = scopeFields.models;
    if (scopeFields.budgetUsd !== undefined && scopeFields.budgetUsd !== null)
      input.budgetUsd = scopeFields.budgetUsd;
    if (scopeFields.budgetPeriod) input.budgetPeriod = scopeFields.budgetPeriod;
    if (scopeFields.rpm) input.rpm = scopeFields.rpm;
    if (scopeFields.maxConcurrentRuns) input.maxConcurrentRuns = scopeFields.maxConcurrentRuns;
    if (scopeFields.expiresAt) input.expiresAt = scopeFields.expiresAt;
    if (scopeFields.metadata) input.metadata = scopeFields.metadata;
    if (scopeFields.name) input.name = scopeFields.name;
    const issued = await deps.keys.createKey(input);
    return { key: issued.key, ...(await litellmInfo(deps, issued.info)) };
  });

  r.get('/key/info', { onRequest, schema: { querystring: infoQuery } }, async (req) => {
    const id = await keyIdOf(deps, req.query.key);
    const info = await deps.keys.get(id);
    if (!info) throw new AppError('not_found', 'No such key');
    // LiteLLM echoes the `key` it was asked about; it is the caller's own input.
    return { key: req.query.key, info: await litellmInfo(deps, info) };
  });

  r.post('/key/update', { onRequest, schema: { body: updateBody } }, async (req) => {
    const id = await keyIdOf(deps, req.body.key);
    const info = await deps.keys.update(id, scopeFieldsOf(req.body, Date.now()));
    return { key: req.body.key, ...(await litellmInfo(deps, info)) };
  });

  r.post('/key/delete', { onRequest, schema: { body: deleteBody } }, async (req) => {
    // Every key is resolved and checked before any is revoked: one unknown or read-only
    // (API_KEYS / ADMIN_API_KEYS) key deletes nothing.
    const ids = [];
    for (const key of req.body.keys) {
      const id = await keyIdOf(deps, key);
      if ((await deps.keys.get(id))?.readOnly)
        throw new AppError('forbidden', `Key ${id} comes from the environment and is read-only`);
      ids.push(id);
    }
    for (const id of ids) await revokeKey(deps, id, req.log);
    return { deleted_keys: req.body.keys };
  });

  r.get('/spend/logs', { onRequest, schema: { querystring: spendQuery } }, async (req) => {
    const q = req.query;
    const fromMs = dateBound(q.start_date, 'start_date');
    const endMs = dateBound(q.end_date, 'end_date');
    // A bare date as end_date includes that whole day, as LiteLLM's does.
    const toMs =
      endMs !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(q.end_date ?? '') ? endMs + 86_400_000 : endMs;
    const keyId = q.api_key ? await keyIdOf(deps, q.api_key) : undefined;
    const rows = await deps.usage.rows({
      ...(fromMs !== undefined ? { fromMs } : {}),
      ...(toMs !== undefined ? { toMs } : {}),
      ...(keyId ? { keyId } : {}),
      ...(q.user_id ? { userId: q.user_id } : {}),
    });
    const runs = new Map<string, { startedAt?: number; finishedAt?: number }>();
    return Promise.all(
      rows.map(async (u) => {
        let times = runs.get(u.runId);
        if (!times) {
          const rec = await deps.engine.get(u.runId);
          times = {
            ...(rec?.startedAt ? { startedAt: rec.startedAt } : {}),
            ...(rec?.finishedAt ? { finishedAt: rec.finishedAt } : {}),
          };
          runs.set(u.runId, times);
        }
        return {
          request_id: u.runId,
          call_type: 'agent_run',
          api_key: u.keyId,
          user: u.userId,
          model: u.model,
          spend: u.costUsd,
          prompt_tokens: u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens,
          completion_tokens: u.outputTokens,
          total_tokens: u.inputTokens + u.cacheReadTokens + u.cacheWriteTokens + u.outputTokens,
          cache_read_input_tokens: u.cacheReadTokens,
          cache_creation_input_tokens: u.cacheWriteTokens,
          startTime: new Date(times.startedAt ?? u.createdAt).toISOString(),
          endTime: new Date(times.finishedAt ?? u.createdAt).toISOString(),
          status: u.status === 'succeeded' ? 'success' : 'failure',
          metadata: { status: u.status, model_calls: u.modelCalls, usage_source: u.source },
        };
      }),
    );
  });
}
