import { XMLParser } from 'fast-xml-parser';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isValidToken } from '../../storage/listing.ts';
import type { ObjectMeta } from '../../storage/object-store.ts';
import { type Caller, requireRead, requireWrite, visibleBuckets } from './access.ts';
import type { S3Call, StorageContext } from './context.ts';
import { readSmallBody } from './request-body.ts';
import { hasQuery, queryValue } from './request-target.ts';
import { s3Error } from './s3-errors.ts';
import { el, isoTime, xmlDocument } from './xml.ts';

/** The REST API's JSON form, for callers that ask for it; S3 clients get XML. */
function wantsJson(req: FastifyRequest, query: [string, string][]): boolean {
  if (query.some(([n, v]) => n === 'format' && v === 'json')) return true;
  return /\bapplication\/json\b/.test(String(req.headers.accept ?? ''));
}

const STARTED = Date.now();

export function listBuckets(
  ctx: StorageContext,
  req: FastifyRequest,
  reply: FastifyReply,
  caller: Caller,
  query: [string, string][],
): FastifyReply {
  const buckets = visibleBuckets(caller.principal, ctx.config().buckets);
  if (wantsJson(req, query)) {
    return reply.send({
      buckets: buckets.map((b) => ({ name: b.name, public: b.isPublic, ttlMs: b.ttlMs ?? null })),
    });
  }
  reply.header('content-type', 'application/xml');
  return reply.send(
    xmlDocument('ListAllMyBucketsResult', [
      el('Owner', [el('ID', 'agentgate'), el('DisplayName', 'agentgate')]),
      el(
        'Buckets',
        buckets.map((b) => el('Bucket', [el('Name', b.name), el('CreationDate', isoTime(STARTED))])),
      ),
    ]),
  );
}

function intParam(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw s3Error('InvalidArgument', 'max-keys must be a non-negative integer', 400);
  return Math.min(n, max);
}

/** ListObjectsV2 (list-type=2), V1 (marker) or the REST JSON form; a page holds at most 1000. */
export async function listObjects(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireRead(call.caller.principal, call.bucket);
  const t = call.target;
  const isV2 = queryValue(t, 'list-type') === '2';
  const prefix = queryValue(t, 'prefix') ?? '';
  const delimiter = queryValue(t, 'delimiter') ?? '';
  const maxKeys = intParam(queryValue(t, 'max-keys'), 1000, 1000);
  const token = queryValue(t, 'continuation-token');
  // An empty token is no token (S3 echoes it back empty).
  if (token !== undefined && token !== '' && !isValidToken(token)) {
    throw s3Error('InvalidArgument', 'The continuation token provided is incorrect', 400);
  }
  const startAfter = (isV2 ? queryValue(t, 'start-after') : queryValue(t, 'marker')) ?? '';
  const page = await ctx.store.list(call.bucket.name, {
    prefix,
    delimiter,
    maxKeys,
    startAfter,
    continuationToken: token || undefined,
  });
  const { reply } = call;
  if (wantsJson(call.req, t.query)) {
    return reply.send({
      bucket: call.bucket.name,
      prefix,
      objects: page.objects.map((m) => ({
        key: m.key,
        size: m.size,
        etag: m.etag,
        contentType: m.contentType,
        lastModified: isoTime(m.lastModifiedMs),
      })),
      commonPrefixes: page.commonPrefixes,
      isTruncated: page.isTruncated,
      nextContinuationToken: page.nextToken ?? null,
    });
  }
  // boto3 asks for encoding-type=url so that any key survives XML; it decodes them back.
  const isUrlEncoded = queryValue(t, 'encoding-type') === 'url';
  const enc = (s: string) => (isUrlEncoded ? encodeURIComponent(s).replace(/%2F/g, '/') : s);
  // V1 always names the owner; V2 only when asked (fetch-owner=true).
  const hasOwner = !isV2 || queryValue(t, 'fetch-owner') === 'true';
  const owner = el('Owner', [el('ID', 'agentgate'), el('DisplayName', 'agentgate')]);
  const contents = page.objects.map((m: ObjectMeta) =>
    el('Contents', [
      el('Key', enc(m.key)),
      el('LastModified', isoTime(m.lastModifiedMs)),
      el('ETag', m.etag),
      el('Size', m.size),
      el('StorageClass', 'STANDARD'),
      ...(hasOwner ? [owner] : []),
    ]),
  );
  const prefixes = page.commonPrefixes.map((p) => el('CommonPrefixes', [el('Prefix', enc(p))]));
  // V1 leaves Prefix unencoded (botocore decodes Delimiter, Marker and keys there, not Prefix).
  const common = [el('Name', call.bucket.name), el('Prefix', isV2 ? enc(prefix) : prefix)];
  if (delimiter) common.push(el('Delimiter', enc(delimiter)));
  common.push(el('MaxKeys', maxKeys));
  if (isUrlEncoded) common.push(el('EncodingType', 'url'));
  common.push(el('IsTruncated', page.isTruncated));
  const paging: string[] = isV2
    ? [
        el('KeyCount', page.objects.length + page.commonPrefixes.length),
        ...(token !== undefined ? [el('ContinuationToken', token)] : []),
        ...(page.nextToken ? [el('NextContinuationToken', page.nextToken)] : []),
        ...(startAfter ? [el('StartAfter', enc(startAfter))] : []),
      ]
    : [
        el('Marker', enc(startAfter)),
        ...(page.isTruncated && page.lastItem !== undefined ? [el('NextMarker', enc(page.lastItem))] : []),
      ];
  reply.header('content-type', 'application/xml');
  return reply.send(xmlDocument('ListBucketResult', [...common, ...paging, ...contents, ...prefixes]));
}

export function headBucket(call: S3Call): FastifyReply {
  requireRead(call.caller.principal, call.bucket);
  call.reply.header('x-amz-bucket-region', 'us-east-1');
  return call.reply.status(200).send();
}

/** Empty LocationConstraint means us-east-1, which is what every client should sign for. */
export function getBucketLocation(call: S3Call): FastifyReply {
  requireRead(call.caller.principal, call.bucket);
  call.reply.header('content-type', 'application/xml');
  return call.reply.send(xmlDocument('LocationConstraint', []));
}

const xml = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  isArray: (name) => name === 'Object' || name === 'Part',
});

export function parseXmlBody(text: string): Record<string, unknown> {
  try {
    return xml.parse(text) as Record<string, unknown>;
  } catch {
    throw s3Error('MalformedXML', 'The XML you provided was not well-formed', 400);
  }
}

/** S3's limit on the keys of one DeleteObjects request. */
const MAX_DELETE_KEYS = 1000;

/** DeleteObjects (POST ?delete): each key is deleted; absent keys count as deleted, as in S3. */
export async function deleteObjects(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  const doc = parseXmlBody(await readSmallBody(call.req, call.caller));
  const del = doc.Delete as { Object?: { Key?: string }[]; Quiet?: string } | undefined;
  if (!del?.Object) throw s3Error('MalformedXML', 'The XML you provided was not well-formed', 400);
  if (del.Object.length > MAX_DELETE_KEYS) {
    throw s3Error(
      'MalformedXML',
      `The XML you provided was not well-formed or did not validate against our published schema: at most ${MAX_DELETE_KEYS} keys per request`,
      400,
    );
  }
  const isQuiet = String(del.Quiet).trim() === 'true';
  const results: string[] = [];
  for (const obj of del.Object) {
    const key = String(obj.Key ?? '');
    try {
      await ctx.store.delete(call.bucket.name, key);
      if (!isQuiet) results.push(el('Deleted', [el('Key', key)]));
    } catch (err) {
      results.push(
        el('Error', [el('Key', key), el('Code', 'InternalError'), el('Message', (err as Error).message)]),
      );
    }
  }
  call.reply.header('content-type', 'application/xml');
  return call.reply.send(xmlDocument('DeleteResult', results));
}

/** Buckets are configured, not created: PUT of an existing bucket is the S3 "already yours" case. */
export function createBucket(call: S3Call): FastifyReply {
  requireWrite(call.caller.principal, call.bucket);
  if (hasQuery(call.target, 'acl') || hasQuery(call.target, 'policy')) {
    throw s3Error('NotImplemented', 'Bucket settings come from HYBRIDS3_BUCKETS', 501);
  }
  throw s3Error(
    'BucketAlreadyOwnedByYou',
    'Buckets are configured by HYBRIDS3_BUCKETS and this one exists',
    409,
  );
}
