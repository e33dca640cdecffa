import type { FastifyReply } from 'fastify';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, isChecksumAlgorithm } from '../../storage/checksums.ts';
import { compareKeys } from '../../storage/keys.ts';
import type { UploadSummary } from '../../storage/multipart.ts';
import { requireWrite } from './access.ts';
import { parseXmlBody } from './bucket-routes.ts';
import type { S3Call, StorageContext } from './context.ts';
import { uploadPartCopy } from './copy-routes.ts';
import { attrsFromRequest } from './object-attrs.ts';
import { writeCondition } from './preconditions.ts';
import { headerOf, readSmallBody, requireContentLength, uploadBody } from './request-body.ts';
import { queryValue } from './request-target.ts';
import { s3Error } from './s3-errors.ts';
import { el, isoTime, xmlDocument } from './xml.ts';

function sendXml(call: S3Call, root: string, children: string[]): FastifyReply {
  call.reply.header('content-type', 'application/xml');
  return call.reply.status(200).send(xmlDocument(root, children));
}

function uploadIdOf(call: S3Call): string {
  return queryValue(call.target, 'uploadId') ?? '';
}

export async function createMultipartUpload(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  const algorithmText = headerOf(call.req, 'x-amz-checksum-algorithm')?.toLowerCase();
  if (algorithmText !== undefined && !isChecksumAlgorithm(algorithmText)) {
    throw s3Error('InvalidRequest', 'Checksum algorithm provided is unsupported.', 400);
  }
  const uploadId = await ctx.uploads.create(
    call.bucket.name,
    call.key,
    headerOf(call.req, 'content-type'),
    attrsFromRequest(call.req),
    algorithmText,
  );
  if (algorithmText) call.reply.header('x-amz-checksum-algorithm', algorithmText.toUpperCase());
  return sendXml(call, 'InitiateMultipartUploadResult', [
    el('Bucket', call.bucket.name),
    el('Key', call.key),
    el('UploadId', uploadId),
  ]);
}

export async function uploadPart(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  if (headerOf(call.req, 'x-amz-copy-source')) return uploadPartCopy(ctx, call);
  requireContentLength(call.req);
  const { body, checks } = uploadBody(call.req, call.caller, ctx.config().HYBRIDS3_MAX_OBJECT_BYTES);
  const part = await ctx.uploads.uploadPart(
    call.bucket.name,
    call.key,
    uploadIdOf(call),
    Number(queryValue(call.target, 'partNumber')),
    body,
    checks,
  );
  call.reply.header('etag', part.etag);
  for (const [algorithm, value] of Object.entries(part.checksums ?? {})) {
    call.reply.header(`x-amz-checksum-${algorithm}`, value);
  }
  return call.reply.status(200).send();
}

export async function completeMultipartUpload(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  const condition = writeCondition(call.req.headers);
  const doc = parseXmlBody(await readSmallBody(call.req, call.caller));
  const parts = (doc.CompleteMultipartUpload as { Part?: Record<string, unknown>[] } | undefined)?.Part;
  if (!parts) throw s3Error('MalformedXML', 'The XML you provided was not well-formed', 400);
  const expected: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = headerOf(call.req, `x-amz-checksum-${algorithm}`);
    if (value !== undefined) expected[algorithm] = value;
  }
  const meta = await ctx.uploads.complete(
    call.bucket.name,
    call.key,
    uploadIdOf(call),
    parts.map((p) => ({
      partNumber: Number(p.PartNumber),
      etag: String(p.ETag ?? ''),
      checksums: checksumsOfElement(p),
    })),
    call.bucket.ttlMs,
    condition,
    expected,
  );
  return sendXml(call, 'CompleteMultipartUploadResult', [
    el('Location', `${call.req.protocol}://${call.req.headers.host ?? ''}${call.target.rawPath}`),
    el('Bucket', call.bucket.name),
    el('Key', call.key),
    el('ETag', meta.etag),
    ...checksumElements(meta.attrs?.checksums),
  ]);
}

/** `ChecksumSHA256` and friends, as S3 names them in XML. */
function checksumElementName(algorithm: string): string {
  return `Checksum${algorithm.toUpperCase()}`;
}

function checksumElements(checksums: Record<string, string> | undefined): string[] {
  return Object.entries(checksums ?? {}).map(([algorithm, value]) =>
    el(checksumElementName(algorithm), value),
  );
}

function checksumsOfElement(part: Record<string, unknown>): Partial<Record<ChecksumAlgorithm, string>> {
  const out: Partial<Record<ChecksumAlgorithm, string>> = {};
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = part[checksumElementName(algorithm)];
    if (value !== undefined) out[algorithm] = String(value).trim();
  }
  return out;
}

export async function abortMultipartUpload(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  await ctx.uploads.abort(call.bucket.name, call.key, uploadIdOf(call));
  return call.reply.status(204).send();
}

export async function listParts(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  const parts = await ctx.uploads.listParts(call.bucket.name, call.key, uploadIdOf(call));
  return sendXml(call, 'ListPartsResult', [
    el('Bucket', call.bucket.name),
    el('Key', call.key),
    el('UploadId', uploadIdOf(call)),
    el('IsTruncated', false),
    ...parts.map((p) =>
      el('Part', [
        el('PartNumber', p.partNumber),
        el('LastModified', isoTime(p.lastModifiedMs)),
        el('ETag', p.etag),
        el('Size', p.size),
        ...checksumElements(p.checksums),
      ]),
    ),
  ]);
}

/** The common prefix a key rolls up into under a delimiter, if any. */
function rollUp(key: string, prefix: string, delimiter: string): string | undefined {
  if (delimiter === '') return undefined;
  const at = key.indexOf(delimiter, prefix.length);
  return at >= 0 ? key.slice(0, at + delimiter.length) : undefined;
}

/**
 * ListMultipartUploads (GET ?uploads): uploads in progress in key, then initiation, order;
 * `prefix`, `delimiter` (CommonPrefixes), `max-uploads`, and `key-marker` with
 * `upload-id-marker` to page (a marker that is a rolled-up prefix skips the whole prefix).
 */
export async function listMultipartUploads(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  const q = (name: string) => queryValue(call.target, name) ?? '';
  const prefix = q('prefix');
  const delimiter = q('delimiter');
  const maxText = queryValue(call.target, 'max-uploads');
  const maxUploads = maxText === undefined ? 1000 : Math.min(1000, Number(maxText));
  if (!Number.isInteger(maxUploads) || maxUploads < 0) {
    throw s3Error('InvalidArgument', 'max-uploads must be a non-negative integer', 400);
  }
  const keyMarker = q('key-marker');
  const uploadIdMarker = keyMarker === '' ? '' : q('upload-id-marker');
  const all = await ctx.uploads.list(call.bucket.name);
  let i = 0;
  if (keyMarker !== '') {
    const at =
      uploadIdMarker === '' ? -1 : all.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker);
    i = at >= 0 ? at + 1 : all.findIndex((u) => compareKeys(u.key, keyMarker) > 0);
    if (i < 0) i = all.length;
  }
  const skipPrefix =
    keyMarker !== '' && keyMarker.startsWith(prefix) && rollUp(keyMarker, prefix, delimiter) === keyMarker
      ? keyMarker
      : undefined;
  const uploads: UploadSummary[] = [];
  const prefixes: string[] = [];
  let next: { key: string; uploadId: string } | undefined;
  let isTruncated = false;
  for (; i < all.length; i++) {
    const u = all[i] as UploadSummary;
    if (!u.key.startsWith(prefix) || (skipPrefix !== undefined && u.key.startsWith(skipPrefix))) continue;
    const rolled = rollUp(u.key, prefix, delimiter);
    if (rolled !== undefined && prefixes[prefixes.length - 1] === rolled) continue;
    if (uploads.length + prefixes.length >= maxUploads) {
      isTruncated = true;
      break;
    }
    if (rolled !== undefined) {
      prefixes.push(rolled);
      next = { key: rolled, uploadId: '' };
    } else {
      uploads.push(u);
      next = { key: u.key, uploadId: u.uploadId };
    }
  }
  const owner = [el('ID', 'agentgate'), el('DisplayName', 'agentgate')];
  return sendXml(call, 'ListMultipartUploadsResult', [
    el('Bucket', call.bucket.name),
    el('KeyMarker', keyMarker),
    el('UploadIdMarker', uploadIdMarker),
    ...(isTruncated && next ? [el('NextKeyMarker', next.key), el('NextUploadIdMarker', next.uploadId)] : []),
    el('Prefix', prefix),
    ...(delimiter ? [el('Delimiter', delimiter)] : []),
    el('MaxUploads', maxUploads),
    el('IsTruncated', isTruncated),
    ...uploads.map((u) =>
      el('Upload', [
        el('Key', u.key),
        el('UploadId', u.uploadId),
        el('Initiator', owner),
        el('Owner', owner),
        el('StorageClass', 'STANDARD'),
        el('Initiated', isoTime(u.initiatedMs)),
      ]),
    ),
    ...prefixes.map((p) => el('CommonPrefixes', [el('Prefix', p)])),
  ]);
}
