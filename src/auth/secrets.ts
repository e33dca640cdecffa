import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Only hashes of keys are kept, in memory and in the store. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Constant-time equality of two secrets of any length (compares their hashes). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** Constant-time check of a secret against a stored hex hash. */
export function matchesHash(given: string, expectedHashHex: string): boolean {
  const a = Buffer.from(hashSecret(given), 'hex');
  const b = Buffer.from(expectedHashHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export function newApiKey(): string {
  return `agk_${randomBytes(24).toString('base64url')}`;
}

/** The credential of a request: `Authorization: Bearer …` or, failing that, `x-api-key`. */
export function credentialOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  const authValue = Array.isArray(auth) ? auth[0] : auth;
  if (authValue) {
    const m = /^Bearer\s+(.+)$/i.exec(authValue.trim());
    if (m?.[1]) return m[1].trim();
  }
  const key = headers['x-api-key'];
  const keyValue = Array.isArray(key) ? key[0] : key;
  return keyValue?.trim() || undefined;
}
