import type { FastifyRequest } from 'fastify';
import { credentialOf, secretsEqual } from '../../auth/secrets.ts';
import type { BucketConfig } from '../../config/index.ts';
import type { S3Target } from './request-target.ts';
import { hasQuery } from './request-target.ts';
import { s3Error } from './s3-errors.ts';
import { type Candidate, type ChunkSigning, verifyHeaderSignature, verifyQuerySignature } from './sigv4.ts';

export type Principal = { kind: 'master' } | { kind: 'bucket'; bucket: string } | { kind: 'anonymous' };

export interface Caller {
  principal: Principal;
  /** x-amz-content-sha256 of a header-signed request. */
  payloadHash: string | undefined;
  /** Set for header-signed requests: streaming uploads check their chunk signatures with it. */
  chunkSigning: ChunkSigning | undefined;
}

export interface KeyRing {
  masterKey: string | undefined;
  buckets: BucketConfig[];
}

/**
 * Which secrets an S3 access key id may sign with. The access key id is a bucket name and
 * its secret is that bucket's key; HYBRIDS3_MASTER_KEY is accepted as the secret for any
 * access key id (the operator's key opens everything, as with Bearer), and then the caller
 * is master, not the bucket.
 */
function candidatesFor(ring: KeyRing): (accessKeyId: string) => Candidate<Principal>[] {
  return (accessKeyId) => {
    const out: Candidate<Principal>[] = [];
    const bucket = ring.buckets.find((b) => b.name === accessKeyId);
    if (bucket?.key) out.push({ secret: bucket.key, principal: { kind: 'bucket', bucket: bucket.name } });
    if (ring.masterKey) out.push({ secret: ring.masterKey, principal: { kind: 'master' } });
    return out;
  };
}

/** Who is calling: SigV4 (header or presigned query), Bearer (REST) or nobody. */
export async function identify(
  req: FastifyRequest,
  target: S3Target,
  ring: KeyRing,
  nowMs: number,
): Promise<Caller> {
  const auth = req.headers.authorization;
  if (auth?.startsWith('AWS4-HMAC-SHA256')) {
    const v = await verifyHeaderSignature(req.method, target, req.headers, candidatesFor(ring), nowMs);
    return { principal: v.principal, payloadHash: v.payloadHash, chunkSigning: v.chunkSigning };
  }
  if (auth?.startsWith('AWS ')) {
    throw s3Error('InvalidRequest', 'Signature version 2 is not supported; use SigV4 (s3v4)', 400);
  }
  if (hasQuery(target, 'X-Amz-Signature')) {
    const principal = await verifyQuerySignature(req.method, target, req.headers, candidatesFor(ring), nowMs);
    return { principal, payloadHash: undefined, chunkSigning: undefined };
  }
  const token = credentialOf(req.headers);
  if (token === undefined)
    return { principal: { kind: 'anonymous' }, payloadHash: undefined, chunkSigning: undefined };
  return { principal: principalOfKey(token, ring), payloadHash: undefined, chunkSigning: undefined };
}

/** The principal a Bearer key (or MCP auth_key) stands for; a wrong key is refused, not downgraded. */
export function principalOfKey(token: string, ring: KeyRing): Principal {
  if (ring.masterKey && secretsEqual(token, ring.masterKey)) return { kind: 'master' };
  // Every bucket is compared, so timing does not reveal which bucket a key belongs to.
  let found: Principal | undefined;
  for (const b of ring.buckets) {
    if (b.key && secretsEqual(token, b.key) && !found) found = { kind: 'bucket', bucket: b.name };
  }
  if (found) return found;
  throw s3Error('AccessDenied', 'Invalid key', 403);
}

export function canWrite(principal: Principal, bucket: BucketConfig): boolean {
  return principal.kind === 'master' || (principal.kind === 'bucket' && principal.bucket === bucket.name);
}

/** Public buckets are readable by anyone; private ones by their key or master. */
export function canRead(principal: Principal, bucket: BucketConfig): boolean {
  return bucket.isPublic || canWrite(principal, bucket);
}

export function requireRead(principal: Principal, bucket: BucketConfig): void {
  if (!canRead(principal, bucket)) throw s3Error('AccessDenied', 'Access Denied', 403);
}

export function requireWrite(principal: Principal, bucket: BucketConfig): void {
  if (!canWrite(principal, bucket)) throw s3Error('AccessDenied', 'Access Denied', 403);
}

/** The buckets a principal may list in ListBuckets: all for master, its own for a bucket key. */
export function visibleBuckets(principal: Principal, buckets: BucketConfig[]): BucketConfig[] {
  if (principal.kind === 'anonymous') throw s3Error('AccessDenied', 'Access Denied', 403);
  return principal.kind === 'master' ? buckets : buckets.filter((b) => b.name === principal.bucket);
}
