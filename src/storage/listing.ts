import { compareKeys } from './keys.ts';

export interface ListQuery {
  prefix: string;
  delimiter: string;
  /** Per page; S3 caps a page at 1000, a bucket has no cap. */
  maxKeys: number;
  /** Exclusive lower bound (ListObjectsV2 start-after, V1 marker). */
  startAfter: string;
  /** Opaque token from a previous page's nextToken. */
  continuationToken: string | undefined;
}

export interface ListPage {
  keys: string[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** The token for the next page when truncated. */
  nextToken: string | undefined;
  /** The last key or prefix of this page (V1's NextMarker). */
  lastItem: string | undefined;
}

/**
 * A token says whether the page ended on a key or on a rolled-up prefix: after a prefix
 * the next page skips every key under it, after a key only that key (a key may itself end
 * with the delimiter, e.g. a "folder/" marker).
 */
function encodeToken(kind: 'k' | 'p', item: string): string {
  return Buffer.from(`${kind}${item}`, 'utf8').toString('base64url');
}

function decodeToken(token: string): { kind: 'k' | 'p'; item: string } | undefined {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  const kind = text[0];
  if (kind !== 'k' && kind !== 'p') return undefined;
  return { kind, item: text.slice(1) };
}

export function isValidToken(token: string): boolean {
  return decodeToken(token) !== undefined;
}

/** First index whose key sorts after `bound`. */
function firstAfter(sorted: readonly string[], bound: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid] as string, bound) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose key sorts at or after `bound`. */
function firstAtOrAfter(sorted: readonly string[], bound: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid] as string, bound) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The common prefix a key rolls up into under this query's delimiter, if any. */
function rollUp(key: string, q: ListQuery): string | undefined {
  if (q.delimiter === '' || !key.startsWith(q.prefix)) return undefined;
  const at = key.indexOf(q.delimiter, q.prefix.length);
  return at >= 0 ? key.slice(0, at + q.delimiter.length) : undefined;
}

/** One page of a ListObjects over keys sorted in S3 order. */
export function listPage(sorted: readonly string[], q: ListQuery): ListPage {
  // max-keys=0 asks for nothing: an empty page that is not truncated, as S3 answers.
  if (q.maxKeys === 0) {
    return { keys: [], commonPrefixes: [], isTruncated: false, nextToken: undefined, lastItem: undefined };
  }
  const token = q.continuationToken === undefined ? undefined : decodeToken(q.continuationToken);
  let bound = q.startAfter;
  if (token && compareKeys(token.item, bound) > 0) bound = token.item;
  let i = bound === '' ? 0 : firstAfter(sorted, bound);
  if (q.prefix !== '') i = Math.max(i, firstAtOrAfter(sorted, q.prefix));
  let skipPrefix = token?.kind === 'p' ? token.item : undefined;
  // A V1 NextMarker that is a rolled-up prefix means the same as a prefix token: the next
  // page starts after every key under it (else the prefix would come back forever).
  if (skipPrefix === undefined && bound === q.startAfter && rollUp(q.startAfter, q) === q.startAfter) {
    skipPrefix = q.startAfter;
  }

  const keys: string[] = [];
  const commonPrefixes: string[] = [];
  let last: { kind: 'k' | 'p'; item: string } | undefined;
  let isTruncated = false;
  for (; i < sorted.length; i++) {
    const key = sorted[i] as string;
    if (!key.startsWith(q.prefix)) {
      if (compareKeys(key, q.prefix) > 0) break;
      continue;
    }
    if (skipPrefix !== undefined && key.startsWith(skipPrefix)) continue;
    const rolledUp = rollUp(key, q);
    if (rolledUp !== undefined && last?.kind === 'p' && last.item === rolledUp) continue;
    if (keys.length + commonPrefixes.length >= q.maxKeys) {
      isTruncated = true;
      break;
    }
    if (rolledUp !== undefined) {
      commonPrefixes.push(rolledUp);
      last = { kind: 'p', item: rolledUp };
    } else {
      keys.push(key);
      last = { kind: 'k', item: key };
    }
  }
  return {
    keys,
    commonPrefixes,
    isTruncated,
    nextToken: isTruncated && last ? encodeToken(last.kind, last.item) : undefined,
    lastItem: last?.item,
  };
}
