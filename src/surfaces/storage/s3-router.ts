import type { FastifyReply, FastifyRequest } from 'fastify';
import { identify, type KeyRing } from './access.ts';
import {
  createBucket,
  deleteObjects,
  getBucketLocation,
  headBucket,
  listBuckets,
  listObjects,
} from './bucket-routes.ts';
import type { S3Call, StorageContext } from './context.ts';
import {
  abortMultipartUpload,
  completeMultipartUpload,
  createMultipartUpload,
  listMultipartUploads,
  listParts,
  uploadPart,
} from './multipart-routes.ts';
import { deleteObject, getObject, putObject } from './object-routes.ts';
import { hasQuery, parseTarget } from './request-target.ts';
import { s3Error } from './s3-errors.ts';

export function keyRingOf(ctx: StorageContext): KeyRing {
  const config = ctx.config();
  return { masterKey: config.HYBRIDS3_MASTER_KEY, buckets: config.buckets };
}

/**
 * Every S3-shaped request under /storage: the REST routes of the seed are the same paths
 * (Bearer instead of SigV4), so one dispatcher serves both, by method and query.
 */
export async function handleS3(
  ctx: StorageContext,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const target = parseTarget(req.raw.url ?? '/');
  const caller = await identify(req, target, keyRingOf(ctx), ctx.store.clock.now());
  if (target.bucket === undefined) {
    if (req.method !== 'GET') throw s3Error('MethodNotAllowed', 'The specified method is not allowed', 405);
    return listBuckets(ctx, req, reply, caller, target.query);
  }
  const bucket = ctx.config().buckets.find((b) => b.name === target.bucket);
  if (!bucket) throw s3Error('NoSuchBucket', 'The specified bucket does not exist', 404);
  const call: S3Call = { req, reply, target, caller, bucket, key: target.key ?? '' };
  const q = (name: string) => hasQuery(target, name);
  if (target.key === undefined) {
    switch (req.method) {
      case 'GET':
        if (q('location')) return getBucketLocation(call);
        if (q('uploads')) return listMultipartUploads(ctx, call);
        return listObjects(ctx, call);
      case 'HEAD':
        return headBucket(call);
      case 'POST':
        if (q('delete')) return deleteObjects(ctx, call);
        break;
      case 'PUT':
        return createBucket(call);
    }
    throw s3Error('MethodNotAllowed', 'The specified method is not allowed against this resource', 405);
  }
  switch (req.method) {
    case 'GET':
      if (q('uploadId')) return listParts(ctx, call);
      return getObject(ctx, call);
    case 'HEAD':
      return getObject(ctx, call);
    case 'PUT':
      if (q('uploadId')) return uploadPart(ctx, call);
      return putObject(ctx, call);
    case 'POST':
      if (q('uploads')) return createMultipartUpload(ctx, call);
      if (q('uploadId')) return completeMultipartUpload(ctx, call);
      break;
    case 'DELETE':
      if (q('uploadId')) return abortMultipartUpload(ctx, call);
      return deleteObject(ctx, call);
  }
  throw s3Error('MethodNotAllowed', 'The specified method is not allowed against this resource', 405);
}
