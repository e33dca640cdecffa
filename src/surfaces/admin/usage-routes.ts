import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Principal } from '../../auth/principal.ts';
import { periodStartMs } from '../../auth/scope.ts';
import { AppError } from '../../errors.ts';
import { authenticatedCaller, authenticateFirst } from '../../http/auth-first.ts';
import type { AppDeps } from '../../http/surface.ts';
import { USAGE_GROUPS, type UsageTotals } from '../../usage/ledger.ts';
import { authenticateAdmin, authenticateAnyKey } from './auth.ts';

/** A time bound: an ISO-8601 date or date-time (UTC), or epoch milliseconds. */
const instant = z
  .string()
  .max(40)
  .transform((v, ctx) => {
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: 'custom', message: 'must be an ISO-8601 date/time or epoch milliseconds' });
      return z.NEVER;
    }
    return ms;
  });

const usageQuery = z
  .object({ groupBy: z.enum(USAGE_GROUPS).default('key'), from: instant.optional(), to: instant.optional() })
  .strict();

const totalsSchema = z.object({
  group: z.string(),
  runs: z.number(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  cacheReadTokens: z.number(),
  cacheWriteTokens: z.number(),
  costUsd: z.number(),
});

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/** GET /admin/usage (every key, grouped) and GET /usage (the caller's own key). */
export function registerUsageRoutes(scope: FastifyInstance, deps: AppDeps): void {
  const r = scope.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/admin/usage',
    {
      onRequest: authenticateFirst((req) => authenticateAdmin(deps, req)),
      schema: {
        querystring: usageQuery,
        response: {
          200: z.object({
            groupBy: z.enum(USAGE_GROUPS),
            from: z.string().nullable(),
            to: z.string().nullable(),
            rows: z.array(totalsSchema),
          }),
        },
      },
    },
    async (req) => {
      const { groupBy, from, to } = req.query;
      if (from !== undefined && to !== undefined && from > to) {
        throw new AppError('invalid_request', 'from must not be after to');
      }
      const rows: UsageTotals[] = await deps.usage.totals(groupBy, {
        ...(from !== undefined ? { fromMs: from } : {}),
        ...(to !== undefined ? { toMs: to } : {}),
      });
      return { groupBy, from: iso(from), to: iso(to), rows };
    },
  );

  r.get(
    '/usage',
    {
      onRequest: authenticateFirst((req) => authenticateAnyKey(deps, req)),
      schema: {
        querystring: usageQuery
          .omit({ groupBy: true })
          .extend({ groupBy: z.enum(['model', 'day']).default('model') }),
      },
    },
    async (req) => {
      const principal = authenticatedCaller<Principal>(req);
      const { groupBy, from, to } = req.query;
      // A stored key sees its own usage; an environment key (no id) its user's.
      const own = principal.keyId ? { keyId: principal.keyId } : { userId: principal.userId };
      const range = {
        ...(from !== undefined ? { fromMs: from } : {}),
        ...(to !== undefined ? { toMs: to } : {}),
      };
      const scope = principal.scope;
      const budget =
        scope && principal.keyId && scope.budgetUsd !== null
          ? {
              budgetUsd: scope.budgetUsd,
              budgetPeriod: scope.budgetPeriod,
              spentUsd: await deps.usage.spentUsd(
                principal.keyId,
                periodStartMs(scope.budgetPeriod, Date.now()),
              ),
            }
          : null;
      return {
        keyId: principal.keyId ?? null,
        user: principal.userId,
        groupBy,
        from: iso(from),
        to: iso(to),
        budget,
        rows: await deps.usage.totals(groupBy, { ...own, ...range }),
      };
    },
  );
}
