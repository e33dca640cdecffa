import { randomUUID } from 'node:crypto';
import type { Db } from '../db/open.ts';
import { AppError } from '../errors.ts';
import { isServiceId, isValidUserId, type Principal } from './principal.ts';
import { hashSecret, matchesHash, newApiKey } from './secrets.ts';

export interface EnvKey {
  userId: string;
  keyHash: string;
}

/**
 * API_KEYS is `key` (user `api`) or `user:key`, comma separated. Only the key part is
 * ever sent; the prefix names the user it stands for.
 */
export function parseApiKeys(spec: string | undefined): EnvKey[] {
  if (!spec) return [];
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      const userId = colon > 0 ? entry.slice(0, colon) : 'api';
      const key = colon > 0 ? entry.slice(colon + 1) : entry;
      if (isServiceId(userId)) {
        throw new AppError('invalid_request', `API_KEYS user "${userId}" is reserved for a built-in service`);
      }
      if (!isValidUserId(userId) || key.length === 0) {
        throw new AppError('invalid_request', `API_KEYS entry for user "${userId}" is malformed`);
      }
      return { userId, keyHash: hashSecret(key) };
    });
}

export interface StoredKeyInfo {
  id: string;
  userId: string;
  isAdmin: boolean;
  createdAt: number;
  revokedAt: number | null;
}

/**
 * Keys from API_KEYS and keys created with `agentgate keys create`, side by side. API_KEYS
 * is read through `apiKeys()` (the live config) and re-parsed whenever its text changes, so
 * a SIGHUP that removes a key revokes it at the next request.
 */
export class KeyStore {
  #envKeys: EnvKey[];
  #envSpec: string | undefined;

  constructor(
    private readonly db: Db,
    private readonly apiKeys: () => string | undefined,
  ) {
    this.#envSpec = apiKeys();
    this.#envKeys = parseApiKeys(this.#envSpec);
  }

  /**
   * Re-reads API_KEYS now; throws when the new value is malformed. Fails closed: until a
   * valid value is loaded no API_KEYS key is accepted (stored keys still are).
   */
  reload(): void {
    const spec = this.apiKeys();
    if (spec === this.#envSpec) return;
    this.#envSpec = spec;
    this.#envKeys = [];
    this.#envKeys = parseApiKeys(spec);
  }

  /** The principal a secret stands for, or undefined. Every env key is compared, in constant time. */
  async verify(secret: string): Promise<Principal | undefined> {
    try {
      this.reload();
    } catch {
      // Malformed API_KEYS after a reload: no env key is valid (the reload itself logged why).
    }
    let found: Principal | undefined;
    for (const k of this.#envKeys) {
      if (matchesHash(secret, k.keyHash) && !found)
        found = { userId: k.userId, isAdmin: false, via: 'env_key' };
    }
    if (found) return found;
    // Looking a key up by its SHA-256 reveals nothing usable about the key through timing.
    const row = await this.db
      .selectFrom('api_keys')
      .select(['user_id', 'is_admin'])
      .where('key_hash', '=', hashSecret(secret))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    // A key stored for a service's name (before names were reserved) never acts as that service.
    if (!row || !isValidUserId(row.user_id)) return undefined;
    return { userId: row.user_id, isAdmin: row.is_admin === 1, via: 'stored_key' };
  }

  async create(userId: string, isAdmin: boolean): Promise<{ id: string; key: string }> {
    if (isServiceId(userId)) {
      throw new AppError('invalid_request', `user "${userId}" is reserved for a built-in service`);
    }
    if (!isValidUserId(userId)) {
      throw new AppError('invalid_request', 'user must be 1-64 characters of letters, digits, _ . -');
    }
    const key = newApiKey();
    const id = randomUUID();
    await this.db
      .insertInto('api_keys')
      .values({
        id,
        user_id: userId,
        key_hash: hashSecret(key),
        is_admin: isAdmin ? 1 : 0,
        created_at: Date.now(),
        revoked_at: null,
      })
      .execute();
    return { id, key };
  }

  async list(): Promise<StoredKeyInfo[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      userId: r.user_id,
      isAdmin: r.is_admin === 1,
      createdAt: r.created_at,
      revokedAt: r.revoked_at,
    }));
  }

  /** Revokes by key id; true when a live key was revoked. */
  async revoke(id: string): Promise<boolean> {
    const res = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: Date.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }
}
