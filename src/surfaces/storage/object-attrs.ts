import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ObjectAttrs, ObjectMeta } from '../../storage/object-store.ts';
import { queryValue, type S3Target } from './request-target.ts';
import { s3Error } from './s3-errors.ts';

/** Response headers an upload may set and every read serves back, as S3 does. */
const STORED_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
] as const;

/** S3's limit on the user metadata of one object (names and values, in bytes). */
const MAX_USER_META_BYTES = 2048;

/** response-<header> query parameters of an authenticated GET/HEAD override these headers. */
const OVERRIDES = [
  'content-type',
  'content-language',
  'expires',
  'cache-control',
  'content-disposition',
  'content-encoding',
] as const;

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The metadata an upload's headers carry: x-amz-meta-* (empty values kept) and the
 * standard headers S3 stores. `aws-chunked` is a transfer framing, never the object's encoding.
 */
export function attrsFromRequest(req: FastifyRequest): ObjectAttrs {
  const userMeta: Record<string, string> = {};
  let metaBytes = 0;
  for (const [name, raw] of Object.entries(req.headers)) {
    if (!name.startsWith('x-amz-meta-')) continue;
    const value = single(raw) ?? '';
    const short = name.slice('x-amz-meta-'.length);
    userMeta[short] = value;
    metaBytes += Buffer.byteLength(short, 'latin1') + Buffer.byteLength(value, 'latin1');
  }
  if (metaBytes > MAX_USER_META_BYTES) {
    throw s3Error(
      'MetadataTooLarge',
      `Your metadata headers exceed the maximum allowed metadata size (${MAX_USER_META_BYTES} bytes)`,
      400,
    );
  }
  const headers: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    let value = single(req.headers[name]);
    if (value === undefined) continue;
    if (name === 'content-encoding') {
      value = value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '' && v.toLowerCase() !== 'aws-chunked')
        .join(', ');
      if (value === '') continue;
    }
    headers[name] = value;
  }
  return { userMeta, headers };
}

/**
 * A header value Node can send: metadata arrives as latin1 text (the raw bytes) and goes
 * back the same; control characters are sent RFC 2047-encoded, as S3 does.
 */
function sendable(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is being detected
  if (!/[\u0000-\u0008\u000a-\u001f\u007f]|[^\u0000-\u00ff]/.test(value)) return value;
  const isLatin1 = [...value].every((c) => (c.codePointAt(0) ?? 0) <= 0xff);
  const bytes = Buffer.from(value, isLatin1 ? 'latin1' : 'utf8');
  let encoded = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    encoded += /[A-Za-z0-9!*+\-/]/.test(c) ? c : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return `=?UTF-8?Q?${encoded}?=`;
}

/** Every header a GET or HEAD of this version answers with (before any Range/partNumber). */
export function setObjectHeaders(
  reply: FastifyReply,
  target: S3Target,
  meta: ObjectMeta,
  wantsChecksums: boolean,
): void {
  reply.header('etag', meta.etag);
  reply.header('last-modified', new Date(meta.lastModifiedMs).toUTCString());
  reply.header('accept-ranges', 'bytes');
  const stored: Record<string, string> = { 'content-type': meta.contentType, ...meta.attrs?.headers };
  for (const name of OVERRIDES) {
    const override = queryValue(target, `response-${name}`);
    if (override !== undefined) stored[name] = override;
  }
  for (const [name, value] of Object.entries(stored)) reply.header(name, sendable(value));
  for (const [name, value] of Object.entries(meta.attrs?.userMeta ?? {})) {
    reply.header(`x-amz-meta-${name}`, sendable(value));
  }
  if (wantsChecksums) {
    for (const [algorithm, value] of Object.entries(meta.attrs?.checksums ?? {})) {
      reply.header(`x-amz-checksum-${algorithm}`, value);
    }
  }
  if (meta.expiresAtMs !== null) reply.header('x-amz-expiration', new Date(meta.expiresAtMs).toUTCString());
}
