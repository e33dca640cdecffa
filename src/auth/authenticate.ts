import type { KeyStore } from './key-store.ts';
import type { Principal } from './principal.ts';
import { secretsEqual } from './secrets.ts';

/** A surface's own shared secret (CLAUDEBOX_API_TOKEN, …) and whom it stands for. */
export interface SurfaceToken {
  secret: string | undefined;
  principal: Principal;
}

/**
 * Resolves a presented secret: a surface's own tokens first (every one compared in
 * constant time, so timing says nothing about which matched), then API_KEYS and stored keys.
 */
export async function authenticate(
  keys: KeyStore,
  secret: string | undefined,
  surfaceTokens: readonly SurfaceToken[] = [],
): Promise<Principal | undefined> {
  if (!secret) return undefined;
  let match: Principal | undefined;
  for (const t of surfaceTokens) {
    if (t.secret !== undefined && secretsEqual(secret, t.secret) && !match) match = t.principal;
  }
  return match ?? keys.verify(secret);
}
