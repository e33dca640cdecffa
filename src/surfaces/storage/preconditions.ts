import type { IncomingHttpHeaders } from 'node:http';
import type { ObjectMeta } from '../../storage/object-store.ts';
import type { StorageError } from '../../storage/storage-error.ts';
import { s3Error } from './s3-errors.ts';

/** The four conditional headers, under the names a request uses for them. */
export interface ConditionHeaders {
  ifMatch: string;
  ifNoneMatch: string;
  ifModifiedSince: string;
  ifUnmodifiedSince: string;
}

export const READ_CONDITIONS: ConditionHeaders = {
  ifMatch: 'if-match',
  ifNoneMatch: 'if-none-match',
  ifModifiedSince: 'if-modified-since',
  ifUnmodifiedSince: 'if-unmodified-since',
};

/** CopyObject and UploadPartCopy test their source with these. */
export const COPY_SOURCE_CONDITIONS: ConditionHeaders = {
  ifMatch: 'x-amz-copy-source-if-match',
  ifNoneMatch: 'x-amz-copy-source-if-none-match',
  ifModifiedSince: 'x-amz-copy-source-if-modified-since',
  ifUnmodifiedSince: 'x-amz-copy-source-if-unmodified-since',
};

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

function unquote(tag: string): string {
  return tag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** Whether an If-Match / If-None-Match list names this ETag (`*` names any). */
function listMatches(list: string, etag: string): boolean {
  const want = unquote(etag);
  return list.split(',').some((t) => t.trim() === '*' || unquote(t) === want);
}

/** An HTTP date, or undefined when absent or unparseable (such a header is ignored). */
function dateOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function preconditionFailed(): StorageError {
  return s3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
}

/** A 304: rendered without a body, with the version's ETag and Last-Modified. */
export class NotModified extends Error {
  constructor(readonly meta: ObjectMeta) {
    super('Not Modified');
  }
}

/**
 * RFC 7232's order, which S3 follows: If-Match (else If-Unmodified-Since) fails with 412;
 * then If-None-Match (else If-Modified-Since) gives 304 for reads and 412 for copies.
 * Last-Modified has a one-second resolution, as do the dates compared with it.
 */
export function checkConditions(
  headers: IncomingHttpHeaders,
  names: ConditionHeaders,
  meta: ObjectMeta,
  onNotModified: 'not-modified' | 'failed',
): void {
  const ifMatch = header(headers, names.ifMatch);
  const ifNoneMatch = header(headers, names.ifNoneMatch);
  const lastModified = Math.floor(meta.lastModifiedMs / 1000) * 1000;
  if (ifMatch !== undefined) {
    if (!listMatches(ifMatch, meta.etag)) throw preconditionFailed();
  } else {
    const since = dateOf(header(headers, names.ifUnmodifiedSince));
    if (since !== undefined && lastModified > since) throw preconditionFailed();
  }
  let isNotModified = false;
  if (ifNoneMatch !== undefined) {
    isNotModified = listMatches(ifNoneMatch, meta.etag);
  } else {
    const since = dateOf(header(headers, names.ifModifiedSince));
    isNotModified = since !== undefined && lastModified <= since;
  }
  if (isNotModified) {
    if (onNotModified === 'failed') throw preconditionFailed();
    throw new NotModified(meta);
  }
}

/**
 * If-Match / If-None-Match on a write (PutObject, CompleteMultipartUpload), judged against
 * the key's current version under its write lock: `If-None-Match: *` writes only a new key,
 * `If-Match` only over the named version (404 when there is none, as S3 answers).
 */
export function writeCondition(
  headers: IncomingHttpHeaders,
): ((current: ObjectMeta | undefined) => void) | undefined {
  const ifMatch = header(headers, 'if-match');
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return (current) => {
    if (ifMatch !== undefined) {
      if (!current) throw s3Error('NoSuchKey', 'The specified key does not exist.', 404);
      if (!listMatches(ifMatch, current.etag)) throw preconditionFailed();
    }
    if (ifNoneMatch !== undefined && current && listMatches(ifNoneMatch, current.etag)) {
      throw preconditionFailed();
    }
  };
}
