import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { type Principal, WEB_USER_PREFIX } from './principal.ts';

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
const MAPPED_PREFIX = WEB_USER_PREFIX;

/**
 * claude-code-web signs `session.user.name || email`: "Jane Doe", "jane@example.com" — names
 * the web user chooses. Every one maps to `web.<readable part>.<16 hex of SHA-256 of the
 * exact name>`, a namespace no key may use (isValidUserId refuses `web.`): a web user who
 * calls themself "alice" never becomes the API key user alice, and two different names
 * never share a workspace (the original's sanitiser folded "Jane Doe" and "jane_doe"
 * together).
 */
export function userIdForName(name: string): string {
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
