import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { CHECKSUM_ALGORITHMS, CHECKSUM_BYTES, type ChecksumAlgorithm } from '../../storage/checksums.ts';
import type { IngestChecks } from '../../storage/ingest.ts';
import type { Caller } from './access.ts';
import { AwsChunkedDecoder } from './aws-chunked.ts';
import { s3Error } from './s3-errors.ts';

/**
 * The decoded body of an upload and the checks it must pass. Streaming payloads
 * (x-amz-content-sha256: STREAMING-…) are aws-chunked and decoded on the fly; a hex
 * payload hash and Content-MD5 are checked after the last byte, before anything commits.
 */
export function uploadBody(
  req: FastifyRequest,
  caller: Caller,
  maxBytes: number,
  /** Off for request documents (their x-amz-checksum-* describe the object, e.g. on completion). */
  hasContentChecksums = true,
): { body: Readable; checks: IngestChecks } {
  const payloadHash = caller.payloadHash ?? headerOf(req, 'x-amz-content-sha256');
  const checks: IngestChecks = { maxBytes };
  const md5 = contentMd5Of(req);
  if (md5 !== undefined) checks.md5Base64 = md5;
  const checksums = hasContentChecksums ? checksumsOf(req) : undefined;
  if (checksums) checks.checksums = checksums;
  if (payloadHash && /^[0-9a-f]{64}$/i.test(payloadHash)) checks.sha256Hex = payloadHash;
  const raw = req.raw as Readable;
  if (!payloadHash?.startsWith('STREAMING-')) return { body: raw, checks };
  const decodedLengthText = headerOf(req, 'x-amz-decoded-content-length');
  const decodedLength = decodedLengthText === undefined ? undefined : Number(decodedLengthText);
  if (decodedLength !== undefined && decodedLength > maxBytes) {
    throw s3Error('EntityTooLarge', `Objects are limited to ${maxBytes} bytes`, 400);
  }
  const isSigned = payloadHash.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
  if (isSigned && !caller.chunkSigning) {
    throw s3Error('InvalidRequest', 'A signed streaming payload needs a SigV4 Authorization header', 400);
  }
  const decoder = new AwsChunkedDecoder({
    signing: isSigned ? caller.chunkSigning : undefined,
    decodedLength: Number.isSafeInteger(decodedLength) ? decodedLength : undefined,
    trailer: headerOf(req, 'x-amz-trailer'),
  });
  checks.trailerChecksums = () => decoder.verifiedChecksums;
  raw.on('error', (err) => decoder.destroy(err));
  raw.pipe(decoder);
  return { body: decoder, checks };
}

/** Content-MD5 must be the base64 of 16 bytes: anything else is InvalidDigest, before the body is read. */
function contentMd5Of(req: FastifyRequest): string | undefined {
  const value = headerOf(req, 'content-md5');
  if (value === undefined) return undefined;
  const text = value.trim();
  if (!/^[A-Za-z0-9+/]{22}==$/.test(text)) {
    throw s3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.', 400);
  }
  return text;
}

/** x-amz-checksum-* sent as headers (trailer checksums are the decoder's), each well-formed. */
function checksumsOf(req: FastifyRequest): Partial<Record<ChecksumAlgorithm, string>> | undefined {
  let out: Partial<Record<ChecksumAlgorithm, string>> | undefined;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = headerOf(req, `x-amz-checksum-${algorithm}`);
    if (value === undefined) continue;
    if (
      Buffer.from(value, 'base64').length !== CHECKSUM_BYTES[algorithm] ||
      !/^[A-Za-z0-9+/]+=*$/.test(value)
    ) {
      throw s3Error('InvalidRequest', `Value for x-amz-checksum-${algorithm} header is invalid.`, 400);
    }
    out = { ...out, [algorithm]: value };
  }
  return out;
}

/** S3 needs the length of an upload up front (or a chunked transfer of it): else 411. */
export function requireContentLength(req: FastifyRequest): void {
  if (headerOf(req, 'content-length') === undefined && headerOf(req, 'transfer-encoding') === undefined) {
    throw s3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.', 411);
  }
}

/** Reads a small request body (XML of DeleteObjects, CompleteMultipartUpload) into memory. */
export async function readSmallBody(
  req: FastifyRequest,
  caller: Caller,
  limitBytes = 4 * 1024 * 1024,
): Promise<string> {
  const { body } = uploadBody(req, caller, limitBytes, false);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw s3Error('MaxMessageLengthExceeded', 'The request body is too large', 400);
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts).toString('utf8');
}

export function headerOf(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
