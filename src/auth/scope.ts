import type { RunSpec } from '../engine/spec.ts';
import { AppError } from '../errors.ts';
import { userRoot, workspaceOfUser } from '../workspaces/owners.ts';
import type { Principal } from './principal.ts';

/**
 * The rules of a key's scope, in one place: every surface's auth calls `admitCaller` (is
 * this surface in scope, is the key under its rpm), and the run guard calls `assertModel`
 * and `assertWorkspace` for every run a key starts.
 */

/** The surfaces a key may be limited to. `api` is the native /api/v1 surface. */
export const SURFACE_NAMES = [
  'claude-code-api',
  'claudebox',
  'openai',
  'mcp',
  'storage',
  'browser',
  'admin',
  'api',
] as const;
export type SurfaceName = (typeof SURFACE_NAMES)[number];

/** Permission tiers (enforced by the tiers branch): read-only tools, + file edits, everything. */
export const TIERS = ['observe', 'edit', 'full'] as const;
export type Tier = (typeof TIERS)[number];

export const BUDGET_PERIODS = ['day', 'month', 'total'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

/** What a stored key may do. `null` means unrestricted. */
export interface KeyScope {
  tier: Tier;
  surfaces: SurfaceName[] | null;
  /** Globs (`*` any run of characters, `?` one) over model names. */
  models: string[] | null;
  /** A prefix every workspace the key names must start with (the caller's own name for it). */
  workspaces: string | null;
  rpm: number | null;
  maxConcurrentRuns: number | null;
  budgetUsd: number | null;
  budgetPeriod: BudgetPeriod;
}

/** How long a rate-limited caller is told to wait when no better estimate exists. */
const CONCURRENCY_RETRY_AFTER_S = 5;

/** Requests per minute, per key: a sliding window of the last minute's request times. */
export class RequestRateLimiter {
  readonly #windows = new Map<string, number[]>();

  /** Counts one request; undefined when it is allowed, else the seconds until one is. */
  take(keyId: string, rpm: number, nowMs: number): number | undefined {
    const since = nowMs - 60_000;
    const times = (this.#windows.get(keyId) ?? []).filter((t) => t > since);
    if (times.length >= rpm) {
      this.#windows.set(keyId, times);
      const oldest = times[0] ?? nowMs;
      return Math.max(1, Math.ceil((oldest + 60_000 - nowMs) / 1000));
    }
    times.push(nowMs);
    this.#windows.set(keyId, times);
    if (this.#windows.size > 10_000) this.#prune(since);
    return undefined;
  }

  #prune(since: number): void {
    for (const [id, times] of this.#windows) {
      if ((times.at(-1) ?? 0) <= since) this.#windows.delete(id);
    }
  }
}

/** Is `surface` in the principal's scope? Refuses with `forbidden` when not. */
export function assertSurface(principal: Principal, surface: SurfaceName): void {
  const allowed = principal.scope?.surfaces;
  if (allowed && !allowed.includes(surface)) {
    throw new AppError('forbidden', `This key may not use the ${surface} surface`);
  }
}

/**
 * Every surface's auth calls this once it knows the caller: the surface must be in the
 * key's scope and the key under its requests-per-minute limit (429 with Retry-After).
 */
export function admitCaller(
  limiter: RequestRateLimiter,
  principal: Principal,
  surface: SurfaceName,
  nowMs = Date.now(),
): Principal {
  assertSurface(principal, surface);
  return admitRate(limiter, principal, nowMs);
}

/** Counts one request against the key's requests-per-minute limit; 429 with Retry-After past it. */
export function admitRate(limiter: RequestRateLimiter, principal: Principal, nowMs = Date.now()): Principal {
  const rpm = principal.scope?.rpm;
  if (principal.keyId && rpm) {
    const retryAfterS = limiter.take(principal.keyId, rpm, nowMs);
    if (retryAfterS !== undefined) {
      throw new AppError(
        'busy',
        `Rate limit exceeded: this key allows ${rpm} requests per minute`,
        retryAfterS,
      );
    }
  }
  return principal;
}

/** `*` matches any run of characters, `?` one; everything else literally, whole name. */
export function globMatches(glob: string, name: string): boolean {
  const pattern = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`).test(name);
}

export function isModelAllowed(scope: KeyScope | undefined, model: string): boolean {
  const globs = scope?.models;
  return !globs || globs.some((g) => globMatches(g, model));
}

export function assertModel(scope: KeyScope | undefined, model: string): void {
  if (!isModelAllowed(scope, model)) {
    throw new AppError('forbidden', `This key may not use model ${model}`);
  }
}

/**
 * The workspace prefix applies to the caller's own name for a workspace (`proj-1`, not
 * `users/alice/proj-1`); a user's root itself (claude-code-api sessions) has the name "".
 */
export function assertWorkspace(scope: KeyScope | undefined, owner: string, engineWorkspace: string): void {
  const prefix = scope?.workspaces;
  if (!prefix) return;
  const name = engineWorkspace === userRoot(owner) ? '' : workspaceOfUser(owner, engineWorkspace);
  if (name === undefined || !name.startsWith(prefix)) {
    throw new AppError('forbidden', `This key may use only workspaces starting with "${prefix}"`);
  }
}

/** Whether a key may see a workspace of its user by the caller's own name for it (listings). */
export function isWorkspaceInScope(scope: KeyScope | undefined, name: string): boolean {
  const prefix = scope?.workspaces;
  return !prefix || name.startsWith(prefix);
}

/** What every run-starting path copies from its principal onto the RunSpec. */
export function runStampOf(principal: Principal): Pick<RunSpec, 'keyId' | 'tier'> {
  return {
    ...(principal.keyId ? { keyId: principal.keyId } : {}),
    ...(principal.scope ? { tier: principal.scope.tier } : {}),
  };
}

/** When the current budget period began (UTC): today's midnight, the 1st of the month, or ever. */
export function periodStartMs(period: BudgetPeriod, nowMs: number): number {
  const d = new Date(nowMs);
  if (period === 'day') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  if (period === 'month') return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return 0;
}

export function concurrencyRefusal(limit: number): AppError {
  return new AppError(
    'busy',
    `This key may run at most ${limit} run${limit === 1 ? '' : 's'} at once`,
    CONCURRENCY_RETRY_AFTER_S,
  );
}
