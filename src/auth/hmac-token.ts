import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { isValidUserId, type Principal } from './principal.ts';

/** How long a front end's signed token is accepted after it was minted. */
export const HMAC_TOKEN_TTL_MS = 5 * 60_000;

/** Mints a token the way claude-code-web does; used by tests and by anyone scripting a front end. */
export function signHmacToken(secret: string, userId: string, timestampMs: number): string {
  const payload = `${userId}:${timestampMs}`;
  const mac = createHmac('sha256', secret).update(payload, 'utf8').digest('hex');
  return Buffer.from(`${payload}:${mac}`, 'utf8').toString('base64');
}

/**
 * Verifies a NEXTAUTH_SECRET token: base64 of `username:timestampMs:hex(HMAC-SHA256(secret,
 * "username:timestampMs"))`, valid for five minutes (and up to a minute early, for clock skew
 * between the web front end and us). The MAC is compared in constant time.
 */
export function verifyHmacToken(
  token: string,
  secret: string | undefined,
  nowMs: number,
): Principal | undefined {
  if (!secret) return undefined;
  let decoded: string;
  try {
    decoded = Buffer.from(token, 'base64').toString('utf8');
  } catch {
    return undefined;
  }
  // The name may hold colons (an e-mail address does not, a display name may): the last two
  // fields are the timestamp and the MAC.
  const parts = decoded.split(':');
  if (parts.length < 3) return undefined;
  const macHex = parts.pop() ?? '';
  const timestampText = parts.pop() ?? '';
  const name = parts.join(':');
  if (name.length === 0 || name.length > MAX_NAME_CHARS) return undefined;
  if (!/^\d{1,16}$/.test(timestampText) || !/^[0-9a-f]{64}$/i.test(macHex)) return undefined;
  const expected = createHmac('sha256', secret).update(`${name}:${timestampText}`, 'utf8').digest();
  const given = Buffer.from(macHex, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const age = nowMs - Number(timestampText);
  if (age > HMAC_TOKEN_TTL_MS || age < -60_000) return undefined;
  return { userId: userIdForName(name), isAdmin: false, via: 'hmac_token' };
}

const MAX_NAME_CHARS = 512;
/** Names mapped below carry this prefix; a name that already has it is mapped too. */
const MAPPED_PREFIX = 'web.';

/**
 * claude-code-web signs `session.user.name || email`: "Jane Doe", "jane@example.com". A name
 * that is already a safe user id (and not a service's) is used as it is; any other becomes
 * `web.<readable part>.<16 hex of SHA-256 of the exact name>`. Plain names never start with
 * `web.` (those are mapped as well), and the digest keeps two different names apart — unlike
 * a bare sanitiser, under which "Jane Doe" and "jane_doe" would share a workspace.
 */
export function userIdForName(name: string): string {
  if (isValidUserId(name) && !name.startsWith(MAPPED_PREFIX)) return name;
  const readable =
    name
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, 40) || 'user';
  const digest = createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 16);
  return `${MAPPED_PREFIX}${readable}.${digest}`;
}
