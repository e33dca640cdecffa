import { StorageError } from '../../storage/storage-error.ts';

/** Where the storage surface is mounted; S3 clients use it as their endpoint's path. */
export const STORAGE_PREFIX = '/storage';

export interface S3Target {
  /** The path exactly as sent (still percent-encoded): what SigV4 signs. */
  rawPath: string;
  /** Decoded query parameters in the order sent; a parameter may repeat. */
  query: [string, string][];
  bucket: string | undefined;
  key: string | undefined;
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new StorageError('invalid_request', 'InvalidURI', `Could not parse the ${what}`);
  }
}

/**
 * Splits a raw request URL into bucket and key without any normalisation: `..`, `//`
 * and encoded slashes stay part of the key, exactly as S3 treats them (the store never
 * turns a key into a path, see storage/keys.ts).
 */
export function parseTarget(rawUrl: string): S3Target {
  const q = rawUrl.indexOf('?');
  const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const rawQuery = q >= 0 ? rawUrl.slice(q + 1) : '';
  const query: [string, string][] = [];
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq >= 0 ? pair.slice(0, eq) : pair;
    const value = eq >= 0 ? pair.slice(eq + 1) : '';
    query.push([decode(name.replace(/\+/g, ' '), 'query'), decode(value.replace(/\+/g, ' '), 'query')]);
  }
  const rest = rawPath.slice(STORAGE_PREFIX.length).replace(/^\//, '');
  if (rest === '') return { rawPath, query, bucket: undefined, key: undefined };
  const slash = rest.indexOf('/');
  const bucket = decode(slash >= 0 ? rest.slice(0, slash) : rest, 'bucket name');
  const rawKey = slash >= 0 ? rest.slice(slash + 1) : '';
  return { rawPath, query, bucket, key: rawKey === '' ? undefined : decode(rawKey, 'key') };
}

export function queryValue(target: S3Target, name: string): string | undefined {
  return target.query.find(([n]) => n === name)?.[1];
}

export function hasQuery(target: S3Target, name: string): boolean {
  return target.query.some(([n]) => n === name);
}

/** Percent-encodes a key for a URL path the way S3 clients do: every byte but unreserved and `/`. */
export function encodeKeyPath(key: string): string {
  return key
    .split('/')
    .map((seg) =>
      encodeURIComponent(seg).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`),
    )
    .join('/');
}
