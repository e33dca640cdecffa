import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ChecksumAlgorithm, createChecksum } from './checksums.ts';
import { SNIFF_BYTES } from './content-type.ts';
import { StorageError } from './storage-error.ts';

export interface IngestChecks {
  maxBytes: number;
  /** Hex SHA-256 the client signed (x-amz-content-sha256); the upload fails if it differs. */
  sha256Hex?: string;
  /** Base64 MD5 from Content-MD5; the upload fails if it differs. */
  md5Base64?: string;
  /** Base64 x-amz-checksum-* values by algorithm; the upload fails if one differs. */
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
  /** Algorithms to compute without a value to check (a multipart upload's declared algorithm). */
  computeChecksums?: ChecksumAlgorithm[];
  /** Checksums the body's framing verified itself (aws-chunked trailers), read once it has ended. */
  trailerChecksums?: () => Record<string, string>;
}

export interface IngestedFile {
  path: string;
  size: number;
  md5Hex: string;
  /** The first bytes, for content-type detection. */
  head: Buffer;
  /** The checksums the client asked for, verified (base64, by algorithm). */
  checksums: Record<string, string>;
}

function digestMismatch(
  s3Code: 'BadDigest' | 'XAmzContentSHA256Mismatch',
  message = 'The content does not match the digest the client sent',
): StorageError {
  return new StorageError('invalid_request', s3Code, message);
}

/**
 * Streams a body into a new temp file, hashing as it goes, so an object is never held in
 * memory and nothing is visible until the caller renames the file into place. On any
 * failure the temp file is removed: a failed upload leaves the old version untouched.
 */
export async function ingestToTemp(
  source: Readable,
  tmpDir: string,
  checks: IngestChecks,
): Promise<IngestedFile> {
  const path = join(tmpDir, `${randomUUID()}.part`);
  const md5 = createHash('md5');
  const sha256 = checks.sha256Hex ? createHash('sha256') : undefined;
  const wanted = new Map(Object.entries(checks.checksums ?? {}) as [ChecksumAlgorithm, string | undefined][]);
  for (const algorithm of checks.computeChecksums ?? [])
    if (!wanted.has(algorithm)) wanted.set(algorithm, undefined);
  const running = [...wanted].map(([algorithm, expected]) => ({
    algorithm,
    expected,
    sum: createChecksum(algorithm),
  }));
  const headParts: Buffer[] = [];
  let headBytes = 0;
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > checks.maxBytes) {
        done(
          new StorageError(
            'payload_too_large',
            'EntityTooLarge',
            `Objects are limited to ${checks.maxBytes} bytes`,
            400,
          ),
        );
        return;
      }
      md5.update(chunk);
      sha256?.update(chunk);
      for (const r of running) r.sum.update(chunk);
      if (headBytes < SNIFF_BYTES) {
        const part = chunk.subarray(0, SNIFF_BYTES - headBytes);
        headParts.push(Buffer.from(part));
        headBytes += part.length;
      }
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(path, { flags: 'wx' }));
    if (sha256 && sha256.digest('hex') !== checks.sha256Hex?.toLowerCase()) {
      throw digestMismatch('XAmzContentSHA256Mismatch');
    }
    const checksums: Record<string, string> = { ...checks.trailerChecksums?.() };
    for (const r of running) {
      const actual = r.sum.digest().toString('base64');
      // A trailer may already have verified this algorithm; its value is the same digest.
      checksums[r.algorithm] ??= actual;
      if (r.expected !== undefined && actual !== r.expected) {
        throw digestMismatch(
          'BadDigest',
          `The ${r.algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
        );
      }
    }
    const md5Digest = md5.digest();
    if (checks.md5Base64 !== undefined && md5Digest.toString('base64') !== checks.md5Base64) {
      throw digestMismatch('BadDigest');
    }
    return { path, size, md5Hex: md5Digest.toString('hex'), head: Buffer.concat(headParts), checksums };
  } catch (err) {
    await unlink(path).catch(() => {});
    throw err;
  }
}
