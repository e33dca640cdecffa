import { z } from 'zod';
import { BUDGET_PERIODS, SURFACE_NAMES, TIERS } from './scope.ts';

/**
 * The shapes of key requests, shared by the HTTP API (/admin/keys, the LiteLLM aliases)
 * and the CLI (`agentgate keys …`): both parse into these, then call the one KeyStore.
 */

/** Seconds a rotated key's old secret keeps working unless the request says otherwise. */
export const DEFAULT_ROTATE_GRACE_S = 3600;
/** At most a week: a grace period is for rolling a secret out, not a second key. */
export const MAX_ROTATE_GRACE_S = 7 * 24 * 3600;

const positiveInt = z.number().int().positive().max(1_000_000);
const model = z.string().min(1).max(200);

/** Scope and limit fields; in a PATCH each may be null to lift the restriction. */
const scopeFields = {
  name: z.string().max(200),
  admin: z.boolean(),
  tier: z.enum(TIERS),
  surfaces: z.array(z.enum(SURFACE_NAMES)).max(SURFACE_NAMES.length),
  models: z.array(model).max(100),
  workspaces: z.string().min(1).max(200),
  rpm: positiveInt,
  maxConcurrentRuns: positiveInt,
  budgetUsd: z.number().nonnegative().max(1e9),
  budgetPeriod: z.enum(BUDGET_PERIODS),
  expiresAt: z.iso.datetime({ offset: true }),
  metadata: z.record(z.string(), z.unknown()),
};

export const createKeySchema = z
  .object({
    user: z.string().min(1).max(64),
    name: scopeFields.name.optional(),
    admin: scopeFields.admin.optional(),
    tier: scopeFields.tier.optional(),
    surfaces: scopeFields.surfaces.optional(),
    models: scopeFields.models.optional(),
    workspaces: scopeFields.workspaces.optional(),
    rpm: scopeFields.rpm.optional(),
    maxConcurrentRuns: scopeFields.maxConcurrentRuns.optional(),
    budgetUsd: scopeFields.budgetUsd.optional(),
    budgetPeriod: scopeFields.budgetPeriod.optional(),
    expiresAt: scopeFields.expiresAt.optional(),
    metadata: scopeFields.metadata.optional(),
  })
  .strict();
export type CreateKeyInput = z.infer<typeof createKeySchema>;

/** The user a key stands for is its identity: a PATCH cannot move a key to another user. */
export const patchKeySchema = z
  .object({
    name: scopeFields.name.nullable().optional(),
    admin: scopeFields.admin.optional(),
    tier: scopeFields.tier.optional(),
    surfaces: scopeFields.surfaces.nullable().optional(),
    models: scopeFields.models.nullable().optional(),
    workspaces: scopeFields.workspaces.nullable().optional(),
    rpm: scopeFields.rpm.nullable().optional(),
    maxConcurrentRuns: scopeFields.maxConcurrentRuns.nullable().optional(),
    budgetUsd: scopeFields.budgetUsd.nullable().optional(),
    budgetPeriod: scopeFields.budgetPeriod.optional(),
    expiresAt: scopeFields.expiresAt.nullable().optional(),
    metadata: scopeFields.metadata.nullable().optional(),
  })
  .strict();
export type PatchKeyInput = z.infer<typeof patchKeySchema>;

export const rotateKeySchema = z
  .object({ gracePeriodS: z.number().int().min(0).max(MAX_ROTATE_GRACE_S).optional() })
  .strict();

/** A key as listed and shown: never its secret, never its hash. */
export const keyInfoSchema = z.object({
  id: z.string(),
  user: z.string(),
  name: z.string().nullable(),
  admin: z.boolean(),
  tier: z.enum(TIERS),
  surfaces: z.array(z.enum(SURFACE_NAMES)).nullable(),
  models: z.array(z.string()).nullable(),
  workspaces: z.string().nullable(),
  rpm: z.number().nullable(),
  maxConcurrentRuns: z.number().nullable(),
  budgetUsd: z.number().nullable(),
  budgetPeriod: z.enum(BUDGET_PERIODS),
  expiresAt: z.string().nullable(),
  createdAt: z.string().nullable(),
  updatedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  /** Until when the secret replaced by the last rotation still works. */
  previousKeyValidUntil: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()).nullable(),
  /** `stored` keys are managed here; `API_KEYS`/`ADMIN_API_KEYS` entries are read-only. */
  source: z.enum(['stored', 'API_KEYS', 'ADMIN_API_KEYS']),
  readOnly: z.boolean(),
});
export type KeyInfo = z.infer<typeof keyInfoSchema>;

/** Turns a zod failure into one readable line naming the fields. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}
