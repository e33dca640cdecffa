import type { Selectable } from 'kysely';
import type { ApiKeysTable } from '../db/schema.ts';
import type { KeyInfo } from './key-input.ts';
import {
  BUDGET_PERIODS,
  type BudgetPeriod,
  type KeyScope,
  SURFACE_NAMES,
  type SurfaceName,
  TIERS,
  type Tier,
} from './scope.ts';

/** A stored key's row (no secret; the hash never leaves the key store). */
export type KeyRow = Selectable<ApiKeysTable>;

function parseList<T extends string>(text: string | null, allowed: readonly T[] | undefined): T[] | null {
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as unknown;
    if (!Array.isArray(v)) return [];
    // An unknown value (written by a newer version) grants nothing.
    return v.filter((x): x is T => typeof x === 'string' && (!allowed || allowed.includes(x as T)));
  } catch {
    return [];
  }
}

export function scopeOf(row: KeyRow): KeyScope {
  return {
    tier: (TIERS as readonly string[]).includes(row.tier ?? '') ? (row.tier as Tier) : 'full',
    surfaces: parseList<SurfaceName>(row.surfaces, SURFACE_NAMES),
    models: parseList<string>(row.models, undefined),
    workspaces: row.workspace_prefix,
    rpm: row.rpm,
    maxConcurrentRuns: row.max_concurrent_runs,
    budgetUsd: row.budget_usd,
    budgetPeriod: (BUDGET_PERIODS as readonly string[]).includes(row.budget_period ?? '')
      ? (row.budget_period as BudgetPeriod)
      : 'month',
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function infoOf(row: KeyRow): KeyInfo {
  const scope = scopeOf(row);
  let metadata: Record<string, unknown> | null = null;
  try {
    metadata = row.metadata ? (JSON.parse(row.metadata) as Record<string, unknown>) : null;
  } catch {
    metadata = null;
  }
  return {
    id: row.id,
    user: row.user_id,
    name: row.name,
    admin: row.is_admin === 1,
    tier: scope.tier,
    surfaces: scope.surfaces,
    models: scope.models,
    workspaces: scope.workspaces,
    rpm: scope.rpm,
    maxConcurrentRuns: scope.maxConcurrentRuns,
    budgetUsd: scope.budgetUsd,
    budgetPeriod: scope.budgetPeriod,
    expiresAt: iso(row.expires_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    revokedAt: iso(row.revoked_at),
    previousKeyValidUntil:
      row.prev_key_expires_at !== null && row.prev_key_expires_at > Date.now()
        ? iso(row.prev_key_expires_at)
        : null,
    metadata,
    source: 'stored',
    readOnly: false,
  };
}

export function envInfo(
  id: string,
  userId: string,
  isAdmin: boolean,
  source: 'API_KEYS' | 'ADMIN_API_KEYS',
): KeyInfo {
  return {
    id,
    user: userId,
    name: source,
    admin: isAdmin,
    tier: 'full',
    surfaces: null,
    models: null,
    workspaces: null,
    rpm: null,
    maxConcurrentRuns: null,
    budgetUsd: null,
    budgetPeriod: 'month',
    expiresAt: null,
    createdAt: null,
    updatedAt: null,
    revokedAt: null,
    previousKeyValidUntil: null,
    metadata: null,
    source,
    readOnly: true,
  };
}
