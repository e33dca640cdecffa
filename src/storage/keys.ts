import { createHash } from 'node:crypto';
import { AppError } from '../errors.ts';

/** S3's limit: a key is at most 1024 bytes of UTF-8. */
export const MAX_KEY_BYTES = 1024;

/**
 * An object key never becomes a path. S3 keys may hold `..`, `//`, a leading `/`, NUL,
 * backslashes or 1024 bytes — none of which a filesystem path can carry safely or at
 * all (names are limited to 255 bytes). So each object's sidecar is named by the SHA-256
 * of its key and its content by a random id: whatever bytes a key contains, the files
 * stay directly inside the bucket's directory. The key itself lives in the sidecar.
 */
export function keyFileId(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function assertValidKey(key: string): void {
  if (key.length === 0) throw new AppError('invalid_request', 'Object key must not be empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new AppError('invalid_request', `Object key is longer than ${MAX_KEY_BYTES} bytes`);
  }
  // A lone surrogate cannot round-trip through UTF-8: two keys would share one file id.
  if (/\p{Cs}/u.test(key)) throw new AppError('invalid_request', 'Object key is not valid UTF-8');
}

/** S3 lists keys in UTF-8 byte order, which differs from JS string order above U+D7FF. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
