import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { BucketConfig } from '../../config/index.ts';
import type { ObjectAttrs } from '../../storage/object-store.ts';
import { requireRead } from './access.ts';
import type { S3Call, StorageContext } from './context.ts';
import { attrsFromRequest } from './object-attrs.ts';
import { COPY_SOURCE_CONDITIONS, checkConditions } from './preconditions.ts';
import { headerOf } from './request-body.ts';
import { queryValue } from './request-target.ts';
import { s3Error } from './s3-errors.ts';
import { el, isoTime, xmlDocument } from './xml.ts';

/** `x-amz-copy-source: [/]bucket/key[?versionId=…]`, URL-encoded; the caller must be able to read it. */
function copySourceOf(ctx: StorageContext, call: S3Call): { bucket: BucketConfig; key: string } {
  const source = (headerOf(call.req, 'x-amz-copy-source') ?? '').split('?')[0]?.replace(/^\//, '') ?? '';
  const slash = source.indexOf('/');
  let bucketName: string;
  let key: string;
  try {
    bucketName = decodeURIComponent(source.slice(0, slash));
    key = decodeURIComponent(source.slice(slash + 1));
  } catch {
    throw s3Error('InvalidArgument', 'x-amz-copy-source is not valid', 400);
  }
  if (slash <= 0 || key === '')
    throw s3Error('InvalidArgument', 'x-amz-copy-source must be /bucket/key', 400);
  const bucket = ctx.config().buckets.find((b) => b.name === bucketName);
  if (!bucket) throw s3Error('NoSuchBucket', 'The specified bucket does not exist', 404);
  requireRead(call.caller.principal, bucket);
  return { bucket, key };
}

function sendXml(call: S3Call, root: string, children: string[]): FastifyReply {
  call.reply.header('content-type', 'application/xml');
  return call.reply.status(200).send(xmlDocument(root, children));
}

/**
 * CopyObject. The metadata comes from the source (COPY, the default) or from this request
 * (REPLACE); copying an object onto itself is allowed only to replace its metadata, as in S3.
 */
export async function copyObject(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  const source = copySourceOf(ctx, call);
  const directive = (headerOf(call.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw s3Error('InvalidArgument', 'Unknown metadata directive.', 400);
  }
  if (source.bucket.name === call.bucket.name && source.key === call.key && directive !== 'REPLACE') {
    throw s3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
      400,
    );
  }
  const replaced = directive === 'REPLACE' ? attrsFromRequest(call.req) : undefined;
  const { meta: srcMeta, stream } = await ctx.store.open(source.bucket.name, source.key, (m) => {
    checkConditions(call.req.headers, COPY_SOURCE_CONDITIONS, m, 'failed');
    return undefined;
  });
  let attrs: ObjectAttrs | undefined = replaced;
  if (!attrs && srcMeta.attrs) attrs = { userMeta: srcMeta.attrs.userMeta, headers: srcMeta.attrs.headers };
  const meta = await putOrDestroy(stream, () =>
    ctx.store.put(call.bucket.name, call.key, stream, {
      contentType: replaced ? headerOf(call.req, 'content-type') : srcMeta.contentType,
      ttlMs: call.bucket.ttlMs,
      checks: { maxBytes: Number.MAX_SAFE_INTEGER },
      attrs,
    }),
  );
  return sendXml(call, 'CopyObjectResult', [
    el('LastModified', isoTime(meta.lastModifiedMs)),
    el('ETag', meta.etag),
  ]);
}

async function putOrDestroy<T>(stream: Readable, put: () => Promise<T>): Promise<T> {
  try {
    return await put();
  } catch (err) {
    stream.destroy();
    throw err;
  }
}

/** `bytes=first-last`, both inclusive and inside the source: nothing else is a copy range. */
function parseCopyRange(text: string, size: number): { start: number; end: number } {
  const m = /^bytes=(\d+)-(\d+)$/.exec(text.trim());
  const start = Number(m?.[1]);
  const end = Number(m?.[2]);
  if (!m || start > end) {
    throw s3Error(
      'InvalidArgument',
      'The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy',
      400,
    );
  }
  // S3 answers a range past the source's end 400 InvalidArgument here (not GetObject's 416).
  if (end >= size) {
    throw s3Error('InvalidArgument', `Range specified is not valid for source object of size: ${size}`, 400);
  }
  return { start, end };
}

/** UploadPartCopy: a part's content is (a byte range of) an existing object. */
export async function uploadPartCopy(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  const source = copySourceOf(ctx, call);
  const rangeText = headerOf(call.req, 'x-amz-copy-source-range');
  const { stream } = await ctx.store.open(source.bucket.name, source.key, (m) => {
    checkConditions(call.req.headers, COPY_SOURCE_CONDITIONS, m, 'failed');
    return rangeText === undefined ? undefined : parseCopyRange(rangeText, m.size);
  });
  const part = await putOrDestroy(stream, () =>
    ctx.uploads.uploadPart(
      call.bucket.name,
      call.key,
      queryValue(call.target, 'uploadId') ?? '',
      Number(queryValue(call.target, 'partNumber')),
      stream,
      { maxBytes: ctx.config().HYBRIDS3_MAX_OBJECT_BYTES },
    ),
  );
  return sendXml(call, 'CopyPartResult', [
    el('LastModified', isoTime(part.lastModifiedMs)),
    el('ETag', part.etag),
  ]);
}
