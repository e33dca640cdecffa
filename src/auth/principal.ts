import type { KeyScope } from './scope.ts';

/** Who is calling: the user id comes only from the credential, never from a request body. */
export interface Principal {
  userId: string;
  isAdmin: boolean;
  /** Which credential proved it, for logs and /status (never the secret itself). */
  via: 'env_key' | 'stored_key' | 'hmac_token' | 'surface_token' | 'admin_key';
  /** The stored key's id (stored keys only): runs, usage and limits are counted against it. */
  keyId?: string;
  /** What the key may do; undefined is full scope (API_KEYS, service tokens, signed web users). */
  scope?: KeyScope;
}

const USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The identities the server's own surfaces act as (a claudebox instance's token, the
 * claude-ops chat key, the browser token). Their runs, sessions and workspaces are keyed by
 * these names, so no user may have one: otherwise a key or a signed front-end token for
 * user `claudebox` would continue claudebox's conversations in its workspaces.
 */
export const SERVICE_IDS = ['claudebox', 'claudebox-zai', 'claude-ops', 'stealthy-auto-browse'] as const;

export type ServiceId = (typeof SERVICE_IDS)[number];

/** Compared without case, so `ClaudeBox` cannot pass for the service in a log or a listing either. */
export function isServiceId(id: string): boolean {
  return (SERVICE_IDS as readonly string[]).includes(id.toLowerCase());
}

/** The principal a surface's own token stands for. */
export function servicePrincipal(id: ServiceId): Principal {
  return { userId: id, isAdmin: false, via: 'surface_token' };
}

/** User ids become directory names (`users/<id>`), so they are held to safe characters. */
export function isSafeUserId(id: string): boolean {
  return USER_ID.test(id) && id !== '.' && id !== '..';
}

/** Users signed in through a web front end (NEXTAUTH tokens) live under this prefix, theirs alone. */
export const WEB_USER_PREFIX = 'web.';

/** A name a key (API_KEYS, stored key) may stand for: safe, no service's, not a web user's. */
export function isValidUserId(id: string): boolean {
  return isSafeUserId(id) && !isServiceId(id) && !id.toLowerCase().startsWith(WEB_USER_PREFIX);
}
