import type { FastifyReply, FastifyRequest } from 'fastify';
import { credentialOf } from '../../auth/secrets.ts';
import type { BucketConfig } from '../../config/index.ts';
import { AppError } from '../../errors.ts';
import { type Principal, principalOfKey, requireWrite } from './access.ts';
import type { StorageContext } from './context.ts';
import { encodeKeyPath, parseTarget, queryValue, STORAGE_PREFIX } from './request-target.ts';
import { keyRingOf } from './s3-router.ts';
import { MAX_PRESIGN_S, presignGet } from './sigv4.ts';

export const DEFAULT_PRESIGN_S = 3600;

/**
 * A GET URL for one object: plain for a public bucket (anyone may read it anyway, so it
 * never expires), SigV4 query-signed for a private one. It is built on the Host the
 * caller used, so it works from wherever the caller reached this server.
 */
export async function presignUrl(opts: {
  ctx: StorageContext;
  principal: Principal;
  bucket: BucketConfig;
  key: string;
  expiresS: number;
  host: string;
  protocol: string;
}): Promise<{ url: string; expires: number | null }> {
  requireWrite(opts.principal, opts.bucket);
  const path = `${STORAGE_PREFIX}/${opts.bucket.name}/${encodeKeyPath(opts.key)}`;
  if (opts.bucket.isPublic) return { url: `${opts.protocol}://${opts.host}${path}`, expires: null };
  // A master caller signs with the master key; the verifier accepts it for any access key id.
  const secret = opts.principal.kind === 'bucket' ? opts.bucket.key : opts.ctx.config().HYBRIDS3_MASTER_KEY;
  if (!secret) throw new AppError('forbidden', 'No key to sign with');
  const url = await presignGet({
    host: opts.host,
    protocol: opts.protocol,
    path,
    accessKeyId: opts.bucket.name,
    secret,
    expiresS: opts.expiresS,
    now: new Date(opts.ctx.store.clock.now()),
  });
  return { url, expires: opts.expiresS };
}

export function parseExpires(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_PRESIGN_S;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PRESIGN_S) {
    throw new AppError('invalid_request', `expires must be an integer from 1 to ${MAX_PRESIGN_S} seconds`);
  }
  return n;
}

/** POST /storage/presign/<bucket>/<key>?expires=S with the bucket's key or the master key. */
export async function handlePresign(
  ctx: StorageContext,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const rawUrl = req.raw.url ?? '';
  const target = parseTarget(`${STORAGE_PREFIX}${rawUrl.slice(`${STORAGE_PREFIX}/presign`.length)}`);
  const token = credentialOf(req.headers);
  if (token === undefined)
    throw new AppError('unauthorized', 'Authorization: Bearer <bucket key or master key> is required');
  const principal = principalOfKey(token, keyRingOf(ctx));
  const bucket = ctx.config().buckets.find((b) => b.name === target.bucket);
  if (!bucket) throw new AppError('not_found', `No bucket named ${target.bucket ?? ''}`);
  if (target.key === undefined)
    throw new AppError('invalid_request', 'Give the object as /storage/presign/<bucket>/<key>');
  const result = await presignUrl({
    ctx,
    principal,
    bucket,
    key: target.key,
    expiresS: parseExpires(queryValue(target, 'expires')),
    host: req.headers.host ?? 'localhost',
    protocol: req.protocol,
  });
  return reply.send(result);
}
