import { randomUUID } from 'node:crypto';
import type { Db } from '../db/open.ts';
import { AppError } from '../errors.ts';
import { envInfo, infoOf, type KeyRow, scopeOf } from './key-info.ts';
import {
  type CreateKeyInput,
  DEFAULT_ROTATE_GRACE_S,
  type KeyInfo,
  MAX_ROTATE_GRACE_S,
  type PatchKeyInput,
} from './key-input.ts';
import { isServiceId, isValidUserId, type Principal } from './principal.ts';
import { type KeyScope, RequestRateLimiter } from './scope.ts';
import { hashSecret, matchesHash, newApiKey } from './secrets.ts';

export interface EnvKey {
  userId: string;
  keyHash: string;
}

/**
 * API_KEYS is `key` (user `api`) or `user:key`, comma separated. Only the key part is
 * ever sent; the prefix names the user it stands for. ADMIN_API_KEYS has the same form
 * (user `admin` by default).
 */
export function parseApiKeys(spec: string | undefined, defaultUser = 'api', variable = 'API_KEYS'): EnvKey[] {
  if (!spec) return [];
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      const userId = colon > 0 ? entry.slice(0, colon) : defaultUser;
      const key = colon > 0 ? entry.slice(colon + 1) : entry;
      if (isServiceId(userId)) {
        throw new AppError(
          'invalid_request',
          `${variable} user "${userId}" is reserved for a built-in service`,
        );
      }
      if (!isValidUserId(userId) || key.length === 0) {
        throw new AppError('invalid_request', `${variable} entry for user "${userId}" is malformed`);
      }
      return { userId, keyHash: hashSecret(key) };
    });
}

/** The secret of a new or rotated key, shown once, and what the key is. */
export interface IssuedKey {
  id: string;
  key: string;
  info: KeyInfo;
}

const ENV_ID_PREFIX = { API_KEYS: 'env:', ADMIN_API_KEYS: 'admin-env:' } as const;

/**
 * Keys from API_KEYS / ADMIN_API_KEYS and keys stored in the database (the CLI and the
 * keys API are two front ends of this one class). The environment variables are read
 * through functions (the live config) and re-parsed whenever their text changes, so a
 * SIGHUP that removes a key revokes it at the next request. Stored keys are looked up by
 * their SHA-256 on every request: a revoked, expired or re-scoped key takes effect at once.
 */
export class KeyStore {
  #envKeys: EnvKey[] = [];
  #adminKeys: EnvKey[] = [];
  #envSpec: string | undefined;
  #adminSpec: string | undefined;
  /** Requests per minute per stored key, shared by every surface. */
  readonly limiter = new RequestRateLimiter();

  constructor(
    private readonly db: Db,
    private readonly apiKeys: () => string | undefined,
    private readonly adminApiKeys: () => string | undefined = () => undefined,
    private readonly clock: () => number = Date.now,
  ) {
    this.#envSpec = apiKeys();
    this.#envKeys = parseApiKeys(this.#envSpec);
    this.#adminSpec = adminApiKeys();
    this.#adminKeys = parseApiKeys(this.#adminSpec, 'admin', 'ADMIN_API_KEYS');
  }

  /**
   * Re-reads API_KEYS and ADMIN_API_KEYS now; throws when a new value is malformed. Fails
   * closed: until a valid value is loaded none of that variable's keys is accepted.
   */
  reload(): void {
    const spec = this.apiKeys();
    if (spec !== this.#envSpec) {
      this.#envSpec = spec;
      this.#envKeys = [];
      this.#envKeys = parseApiKeys(spec);
    }
    const admin = this.adminApiKeys();
    if (admin !== this.#adminSpec) {
      this.#adminSpec = admin;
      this.#adminKeys = [];
      this.#adminKeys = parseApiKeys(admin, 'admin', 'ADMIN_API_KEYS');
    }
  }

  /** The principal a secret stands for, or undefined. Every env key is compared, in constant time. */
  async verify(secret: string): Promise<Principal | undefined> {
    try {
      this.reload();
    } catch {
      // Malformed variable after a reload: its keys are not valid (the reload itself logged why).
    }
    let found: Principal | undefined;
    for (const k of this.#adminKeys) {
      if (matchesHash(secret, k.keyHash) && !found)
        found = { userId: k.userId, isAdmin: true, via: 'admin_key' };
    }
    for (const k of this.#envKeys) {
      if (matchesHash(secret, k.keyHash) && !found)
        found = { userId: k.userId, isAdmin: false, via: 'env_key' };
    }
    if (found) return found;
    const row = await this.#liveRowBySecret(secret);
    // A key stored for a service's name (before names were reserved) never acts as that service.
    if (!row || !isValidUserId(row.user_id)) return undefined;
    const scope = scopeOf(row);
    return {
      userId: row.user_id,
      // An admin key whose surfaces leave out `admin` is not an admin anywhere (docs/keys.md):
      // not on /metrics, /auth/*, nor over other users' runs and sessions.
      isAdmin: row.is_admin === 1 && (scope.surfaces === null || scope.surfaces.includes('admin')),
      via: 'stored_key',
      keyId: row.id,
      scope,
    };
  }

  /**
   * A live key by its secret: the current one, or the one a rotation replaced while its grace
   * period lasts. Looking a key up by its SHA-256 reveals nothing usable through timing.
   */
  async #liveRowBySecret(secret: string): Promise<KeyRow | undefined> {
    const hash = hashSecret(secret);
    const now = this.clock();
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where((eb) =>
        eb.or([
          eb('key_hash', '=', hash),
          eb.and([eb('prev_key_hash', '=', hash), eb('prev_key_expires_at', '>', now)]),
        ]),
      )
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row || (row.expires_at !== null && row.expires_at <= now)) return undefined;
    return row;
  }

  /** The scope of a live stored key (not revoked, not expired), for checks made after auth. */
  async liveScope(id: string): Promise<KeyScope | undefined> {
    const row = await this.#row(id);
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at <= this.clock()))
      return undefined;
    return scopeOf(row);
  }

  /** `agentgate keys create` and the tests' shorthand. */
  async create(userId: string, isAdmin: boolean): Promise<{ id: string; key: string }> {
    const issued = await this.createKey({ user: userId, admin: isAdmin });
    return { id: issued.id, key: issued.key };
  }

  async createKey(input: CreateKeyInput): Promise<IssuedKey> {
    const userId = input.user;
    if (isServiceId(userId)) {
      throw new AppError('invalid_request', `user "${userId}" is reserved for a built-in service`);
    }
    if (!isValidUserId(userId)) {
      throw new AppError('invalid_request', 'user must be 1-64 characters of letters, digits, _ . -');
    }
    const expiresAt = input.expiresAt === undefined ? null : Date.parse(input.expiresAt);
    const key = newApiKey();
    const id = randomUUID();
    const now = this.clock();
    await this.db
      .insertInto('api_keys')
      .values({
        id,
        user_id: userId,
        key_hash: hashSecret(key),
        is_admin: input.admin ? 1 : 0,
        created_at: now,
        revoked_at: null,
        name: input.name ?? null,
        tier: input.tier ?? 'full',
        surfaces: input.surfaces ? JSON.stringify(input.surfaces) : null,
        models: input.models ? JSON.stringify(input.models) : null,
        workspace_prefix: input.workspaces ?? null,
        rpm: input.rpm ?? null,
        max_concurrent_runs: input.maxConcurrentRuns ?? null,
        budget_usd: input.budgetUsd ?? null,
        budget_period: input.budgetPeriod ?? 'month',
        expires_at: expiresAt,
        metadata: input.metadata ? JSON.stringify(input.metadata) : null,
        prev_key_hash: null,
        prev_key_expires_at: null,
        updated_at: now,
      })
      .execute();
    return { id, key, info: await this.#infoOrThrow(id) };
  }

  /** Every key: stored ones (revoked included), then the read-only environment entries. */
  async list(): Promise<KeyInfo[]> {
    try {
      this.reload();
    } catch {
      // listed as they were last loaded
    }
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return [
      ...rows.map((r) => infoOf(r)),
      ...this.#envKeys.map((k, i) => envInfo(`${ENV_ID_PREFIX.API_KEYS}${i}`, k.userId, false, 'API_KEYS')),
      ...this.#adminKeys.map((k, i) =>
        envInfo(`${ENV_ID_PREFIX.ADMIN_API_KEYS}${i}`, k.userId, true, 'ADMIN_API_KEYS'),
      ),
    ];
  }

  async get(id: string): Promise<KeyInfo | undefined> {
    const row = await this.#row(id);
    if (row) return infoOf(row);
    return (await this.list()).find((k) => k.id === id && k.readOnly);
  }

  /** The stored key a secret is (current or in its grace period), for LiteLLM's `key` fields. */
  async idOfSecret(secret: string): Promise<string | undefined> {
    return (await this.#liveRowBySecret(secret))?.id;
  }

  /** Changes a stored key's scope; every field is checked before anything is written. */
  async update(id: string, patch: PatchKeyInput): Promise<KeyInfo> {
    const row = await this.#writableRow(id);
    if (row.revoked_at !== null) throw new AppError('conflict', `Key ${id} is revoked`);
    const set: Partial<KeyRow> = { updated_at: this.clock() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.admin !== undefined) set.is_admin = patch.admin ? 1 : 0;
    if (patch.tier !== undefined) set.tier = patch.tier;
    if (patch.surfaces !== undefined) set.surfaces = patch.surfaces ? JSON.stringify(patch.surfaces) : null;
    if (patch.models !== undefined) set.models = patch.models ? JSON.stringify(patch.models) : null;
    if (patch.workspaces !== undefined) set.workspace_prefix = patch.workspaces;
    if (patch.rpm !== undefined) set.rpm = patch.rpm;
    if (patch.maxConcurrentRuns !== undefined) set.max_concurrent_runs = patch.maxConcurrentRuns;
    if (patch.budgetUsd !== undefined) set.budget_usd = patch.budgetUsd;
    if (patch.budgetPeriod !== undefined) set.budget_period = patch.budgetPeriod;
    if (patch.expiresAt !== undefined)
      set.expires_at = patch.expiresAt === null ? null : Date.parse(patch.expiresAt);
    if (patch.metadata !== undefined) set.metadata = patch.metadata ? JSON.stringify(patch.metadata) : null;
    await this.db.updateTable('api_keys').set(set).where('id', '=', id).execute();
    return this.#infoOrThrow(id);
  }

  /** Revokes by key id; true when a live key was revoked. Its rotated-out secret dies with it. */
  async revoke(id: string): Promise<boolean> {
    if (isEnvId(id)) throw readOnlyError(id);
    const res = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: this.clock(), prev_key_expires_at: null })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  /**
   * A new secret for the same key (id, scope, usage and budget unchanged); the old secret
   * keeps working for `graceS` seconds so callers can roll the new one out.
   */
  async rotate(id: string, graceS = DEFAULT_ROTATE_GRACE_S): Promise<IssuedKey> {
    if (!Number.isInteger(graceS) || graceS < 0 || graceS > MAX_ROTATE_GRACE_S) {
      throw new AppError(
        'invalid_request',
        `gracePeriodS must be an integer from 0 to ${MAX_ROTATE_GRACE_S}`,
      );
    }
    const row = await this.#writableRow(id);
    if (row.revoked_at !== null) throw new AppError('conflict', `Key ${id} is revoked`);
    const key = newApiKey();
    const now = this.clock();
    await this.db
      .updateTable('api_keys')
      .set({
        key_hash: hashSecret(key),
        prev_key_hash: graceS > 0 ? row.key_hash : null,
        prev_key_expires_at: graceS > 0 ? now + graceS * 1000 : null,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
    return { id, key, info: await this.#infoOrThrow(id) };
  }

  async #row(id: string): Promise<KeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async #writableRow(id: string): Promise<KeyRow> {
    if (isEnvId(id)) throw readOnlyError(id);
    const row = await this.#row(id);
    if (!row) throw new AppError('not_found', `No key ${id}`);
    return row;
  }

  async #infoOrThrow(id: string): Promise<KeyInfo> {
    const row = await this.#row(id);
    if (!row) throw new AppError('not_found', `No key ${id}`);
    return infoOf(row);
  }
}

function isEnvId(id: string): boolean {
  return id.startsWith(ENV_ID_PREFIX.API_KEYS) || id.startsWith(ENV_ID_PREFIX.ADMIN_API_KEYS);
}

function readOnlyError(id: string): AppError {
  return new AppError(
    'forbidden',
    `Key ${id} comes from the environment and is read-only; edit the variable instead`,
  );
}
