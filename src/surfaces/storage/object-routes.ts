import type { FastifyReply } from 'fastify';
import type { ObjectMeta } from '../../storage/object-store.ts';
import { requireRead, requireWrite } from './access.ts';
import type { S3Call, StorageContext } from './context.ts';
import { headerOf, uploadBody } from './request-body.ts';
import { queryValue } from './request-target.ts';
import { s3Error } from './s3-errors.ts';
import { el, isoTime, xmlDocument } from './xml.ts';

function setObjectHeaders(reply: FastifyReply, call: S3Call, meta: ObjectMeta): void {
  reply.header('etag', meta.etag);
  reply.header('last-modified', new Date(meta.lastModifiedMs).toUTCString());
  reply.header('accept-ranges', 'bytes');
  reply.header('content-type', queryValue(call.target, 'response-content-type') ?? meta.contentType);
  const disposition = queryValue(call.target, 'response-content-disposition');
  if (disposition) reply.header('content-disposition', disposition);
  if (meta.expiresAtMs !== null) reply.header('x-amz-expiration', new Date(meta.expiresAtMs).toUTCString());
}

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` (one range; S3 ignores multi-range requests). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable();
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw unsatisfiable();
  return { start, end };
}

function unsatisfiable() {
  return s3Error('InvalidRange', 'The requested range is not satisfiable', 416);
}

/**
 * response-* query parameters rewrite the headers of the answer (a stored text served as
 * text/html on this origin): S3 honours them only for authenticated requests.
 */
function refuseAnonymousOverrides(call: S3Call): void {
  if (call.caller.principal.kind !== 'anonymous') return;
  if (call.target.query.some(([name]) => name.startsWith('response-'))) {
    throw s3Error(
      'InvalidRequest',
      'Request specific response headers cannot be used for anonymous GET requests.',
      400,
    );
  }
}

export async function getObject(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireRead(call.caller.principal, call.bucket);
  refuseAnonymousOverrides(call);
  const { reply } = call;
  if (call.req.method === 'HEAD') {
    const meta = await ctx.store.head(call.bucket.name, call.key);
    if (!meta) throw s3Error('NoSuchKey', 'The specified key does not exist.', 404);
    setObjectHeaders(reply, call, meta);
    reply.header('content-length', String(meta.size));
    return reply.status(200).send();
  }
  const opened = await ctx.store.open(call.bucket.name, call.key, (meta) =>
    parseRange(headerOf(call.req, 'range'), meta.size),
  );
  const { meta, range, stream } = opened;
  setObjectHeaders(reply, call, meta);
  if (range) {
    reply.status(206);
    reply.header('content-range', `bytes ${range.start}-${range.end}/${meta.size}`);
    reply.header('content-length', String(range.end - range.start + 1));
  } else {
    reply.status(200);
    reply.header('content-length', String(meta.size));
  }
  return reply.send(stream);
}

export async function putObject(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  if (headerOf(call.req, 'x-amz-copy-source')) return copyObject(ctx, call);
  const { body, checks } = uploadBody(call.req, call.caller, ctx.config().HYBRIDS3_MAX_OBJECT_BYTES);
  const meta = await ctx.store.put(call.bucket.name, call.key, body, {
    contentType: headerOf(call.req, 'content-type'),
    ttlMs: call.bucket.ttlMs,
    checks,
  });
  call.reply.header('etag', meta.etag);
  return call.reply.status(200).send();
}

/** CopyObject: `x-amz-copy-source: /bucket/key` (URL-encoded); needs read on the source. */
async function copyObject(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  const source = (headerOf(call.req, 'x-amz-copy-source') ?? '').split('?')[0]?.replace(/^\//, '') ?? '';
  const slash = source.indexOf('/');
  let srcBucketName: string;
  let srcKey: string;
  try {
    srcBucketName = decodeURIComponent(source.slice(0, slash));
    srcKey = decodeURIComponent(source.slice(slash + 1));
  } catch {
    throw s3Error('InvalidArgument', 'x-amz-copy-source is not valid', 400);
  }
  if (slash <= 0 || srcKey === '')
    throw s3Error('InvalidArgument', 'x-amz-copy-source must be /bucket/key', 400);
  const srcBucket = ctx.config().buckets.find((b) => b.name === srcBucketName);
  if (!srcBucket) throw s3Error('NoSuchBucket', 'The specified bucket does not exist', 404);
  requireRead(call.caller.principal, srcBucket);
  const { meta: srcMeta, stream } = await ctx.store.open(srcBucket.name, srcKey);
  const isReplace = headerOf(call.req, 'x-amz-metadata-directive')?.toUpperCase() === 'REPLACE';
  const meta = await ctx.store.put(call.bucket.name, call.key, stream, {
    contentType: isReplace ? headerOf(call.req, 'content-type') : srcMeta.contentType,
    ttlMs: call.bucket.ttlMs,
    checks: { maxBytes: Number.MAX_SAFE_INTEGER },
  });
  call.reply.header('content-type', 'application/xml');
  return call.reply
    .status(200)
    .send(
      xmlDocument('CopyObjectResult', [
        el('LastModified', isoTime(meta.lastModifiedMs)),
        el('ETag', meta.etag),
      ]),
    );
}

/** DELETE is 204 whether or not the key existed, as in S3. */
export async function deleteObject(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  await ctx.store.delete(call.bucket.name, call.key);
  return call.reply.status(204).send();
}
