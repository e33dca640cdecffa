import { createHmac, timingSafeEqual } from 'node:crypto';
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
  const parts = decoded.split(':');
  if (parts.length !== 3) return undefined;
  const [userId = '', timestampText = '', macHex = ''] = parts;
  if (!isValidUserId(userId) || !/^\d{1,16}$/.test(timestampText) || !/^[0-9a-f]{64}$/i.test(macHex)) {
    return undefined;
  }
  const expected = createHmac('sha256', secret).update(`${userId}:${timestampText}`, 'utf8').digest();
  const given = Buffer.from(macHex, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  const age = nowMs - Number(timestampText);
  if (age > HMAC_TOKEN_TTL_MS || age < -60_000) return undefined;
  return { userId, isAdmin: false, via: 'hmac_token' };
}
