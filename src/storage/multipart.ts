import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ChecksumAlgorithm, createChecksum } from './checksums.ts';
import { detectContentType, isInformativeType, SNIFF_BYTES } from './content-type.ts';
import { type IngestChecks, ingestToTemp } from './ingest.ts';
import { assertValidKey, compareKeys } from './keys.ts';
import type { ObjectAttrs, ObjectMeta, ObjectStore, WriteCondition } from './object-store.ts';
import { StorageError } from './storage-error.ts';

interface UploadRecord {
  key: string;
  contentType: string | undefined;
  initiatedMs: number;
  attrs?: ObjectAttrs;
  /** x-amz-checksum-algorithm at creation: every part gets one, the object a composite of them. */
  checksumAlgorithm?: ChecksumAlgorithm;
}

/** An upload in progress, as ListMultipartUploads shows it. */
export interface UploadSummary {
  uploadId: string;
  key: string;
  initiatedMs: number;
}

/** S3's minimum size of every part but the last. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface PartRecord {
  partNumber: number;
  /** This copy's content file in the upload's dir: each upload of a part gets its own. */
  file: string;
  etag: string;
  size: number;
  lastModifiedMs: number;
  /** Checksums of this part's content, by algorithm (base64). */
  checksums?: Record<string, string>;
}

const UPLOAD_ID = /^[0-9a-f]{32}$/;

function noSuchUpload(): StorageError {
  return new StorageError(
    'not_found',
    'NoSuchUpload',
    'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
  );
}

/**
 * Multipart uploads: each part is staged as its own file under multipart/<uploadId>/;
 * completing concatenates them into one temp file that the store commits like any PUT.
 */
export class MultipartUploads {
  readonly #store: ObjectStore;

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  async create(
    bucket: string,
    key: string,
    contentType: string | undefined,
    attrs?: ObjectAttrs,
    checksumAlgorithm?: ChecksumAlgorithm,
  ): Promise<string> {
    assertValidKey(key);
    const uploadId = randomBytes(16).toString('hex');
    const dir = join(await this.#store.multipartDir(bucket), uploadId);
    await mkdir(dir);
    const record: UploadRecord = {
      key,
      contentType,
      initiatedMs: this.#store.clock.now(),
      attrs,
      checksumAlgorithm,
    };
    await writeFile(join(dir, 'upload.json'), JSON.stringify(record));
    return uploadId;
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    checks: IngestChecks,
  ): Promise<PartRecord> {
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10_000) {
      throw new StorageError(
        'invalid_request',
        'InvalidArgument',
        'Part number must be an integer between 1 and 10000',
      );
    }
    const { dir, record } = await this.#upload(bucket, key, uploadId);
    const file = await ingestToTemp(body, await this.#store.tempDir(bucket), {
      ...checks,
      computeChecksums: record.checksumAlgorithm ? [record.checksumAlgorithm] : undefined,
    });
    const part: PartRecord = {
      partNumber,
      file: `${partNumber}.${randomBytes(8).toString('hex')}`,
      etag: `"${file.md5Hex}"`,
      size: file.size,
      lastModifiedMs: this.#store.clock.now(),
      ...(Object.keys(file.checksums).length > 0 ? { checksums: file.checksums } : {}),
    };
    // A part may be sent again (a retry, or a client changing its mind): the last copy wins.
    // Each copy has its own content file and its record is swapped in by one rename, so the
    // record always names content of exactly its size, even when two copies race.
    const recordPath = join(dir, `${partNumber}.json`);
    const previous = await readPartRecord(recordPath);
    const recordTemp = join(dir, `${part.file}.tmp`);
    try {
      await rename(file.path, join(dir, part.file));
      await writeFile(recordTemp, JSON.stringify(part));
      await rename(recordTemp, recordPath);
    } catch (err) {
      await unlink(file.path).catch(() => {});
      await unlink(join(dir, part.file)).catch(() => {});
      await unlink(recordTemp).catch(() => {});
      throw err;
    }
    if (previous && previous.file !== part.file) await unlink(join(dir, previous.file)).catch(() => {});
    return part;
  }

  async listParts(bucket: string, key: string, uploadId: string): Promise<PartRecord[]> {
    const dir = await this.#uploadDir(bucket, key, uploadId);
    const parts: PartRecord[] = [];
    for (const name of await readdir(dir)) {
      if (!/^\d+\.json$/.test(name)) continue;
      const part = await readPartRecord(join(dir, name));
      if (part) parts.push(part);
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Every upload in progress in a bucket, in key then initiation order. */
  async list(bucket: string): Promise<UploadSummary[]> {
    const root = await this.#store.multipartDir(bucket);
    const out: UploadSummary[] = [];
    for (const uploadId of await readdir(root)) {
      if (!UPLOAD_ID.test(uploadId)) continue;
      try {
        const record = JSON.parse(
          await readFile(join(root, uploadId, 'upload.json'), 'utf8'),
        ) as UploadRecord;
        out.push({ uploadId, key: record.key, initiatedMs: record.initiatedMs });
      } catch {
        // completed or aborted meanwhile
      }
    }
    // Upload ids break ties, so pages by upload-id-marker see one total order.
    return out.sort(
      (a, b) =>
        compareKeys(a.key, b.key) ||
        a.initiatedMs - b.initiatedMs ||
        (a.uploadId < b.uploadId ? -1 : a.uploadId > b.uploadId ? 1 : 0),
    );
  }

  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    const dir = await this.#uploadDir(bucket, key, uploadId);
    await rm(dir, { recursive: true, force: true });
  }

  async complete(
    bucket: string,
    key: string,
    uploadId: string,
    requested: RequestedPart[],
    ttlMs: number | undefined,
    condition?: WriteCondition,
    /** Checksums the client sent for the whole object (composite `<base64>-<n>` values). */
    expectedChecksums: Partial<Record<ChecksumAlgorithm, string>> = {},
  ): Promise<ObjectMeta> {
    const { dir, record } = await this.#upload(bucket, key, uploadId);
    const stored = new Map((await this.listParts(bucket, key, uploadId)).map((p) => [p.partNumber, p]));
    if (requested.length === 0) {
      throw new StorageError('invalid_request', 'MalformedXML', 'CompleteMultipartUpload lists no parts');
    }
    const parts: PartRecord[] = [];
    let previous = 0;
    for (const want of requested) {
      if (want.partNumber <= previous) {
        throw new StorageError(
          'invalid_request',
          'InvalidPartOrder',
          'Parts must be listed in ascending order',
        );
      }
      previous = want.partNumber;
      const part = stored.get(want.partNumber);
      const isChecksumWrong = Object.entries(want.checksums ?? {}).some(
        ([algorithm, value]) => part?.checksums?.[algorithm] !== value,
      );
      if (!part || unquote(part.etag) !== unquote(want.etag) || isChecksumWrong) {
        throw new StorageError(
          'invalid_request',
          'InvalidPart',
          `Part ${want.partNumber} was not uploaded or its ETag differs`,
        );
      }
      parts.push(part);
    }
    const small = parts.slice(0, -1).find((p) => p.size < MIN_PART_BYTES);
    if (small) {
      throw new StorageError(
        'invalid_request',
        'EntityTooSmall',
        `Your proposed upload is smaller than the minimum allowed size: part ${small.partNumber} is ${small.size} bytes, every part but the last needs ${MIN_PART_BYTES}`,
      );
    }
    const checksums = compositeChecksums(record.checksumAlgorithm, parts);
    for (const [algorithm, value] of Object.entries(expectedChecksums)) {
      if (checksums[algorithm] !== undefined && checksums[algorithm] !== value) {
        throw new StorageError(
          'invalid_request',
          'BadDigest',
          `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
        );
      }
    }
    // Checked again atomically at commit; here it saves concatenating for nothing.
    condition?.(await this.#store.head(bucket, key));
    const tempPath = join(
      await this.#store.tempDir(bucket),
      `${uploadId}.${randomBytes(8).toString('hex')}.complete`,
    );
    const out = createWriteStream(tempPath);
    try {
      for (const part of parts) {
        await pipeline(createReadStream(join(dir, part.file)), out, { end: false });
      }
      await new Promise<void>((resolve, reject) =>
        out.end((err?: Error | null) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      out.destroy();
      await unlink(tempPath).catch(() => {});
      throw err;
    }
    // S3's multipart ETag: MD5 of the concatenated binary MD5s of the parts, then "-<count>".
    const md5s = Buffer.concat(parts.map((p) => Buffer.from(unquote(p.etag), 'hex')));
    const etag = `"${createHash('md5').update(md5s).digest('hex')}-${parts.length}"`;
    const contentType = isInformativeType(record.contentType)
      ? record.contentType
      : await detectContentType(await readHead(tempPath));
    const size = parts.reduce((n, p) => n + p.size, 0);
    const meta = await this.#store.commit(bucket, key, {
      tempPath,
      size,
      etag,
      contentType,
      ttlMs,
      attrs:
        Object.keys(checksums).length > 0
          ? { userMeta: {}, headers: {}, ...record.attrs, checksums }
          : record.attrs,
      partSizes: parts.map((p) => p.size),
      condition,
    });
    await rm(dir, { recursive: true, force: true });
    return meta;
  }

  async #uploadDir(bucket: string, key: string, uploadId: string): Promise<string> {
    return (await this.#upload(bucket, key, uploadId)).dir;
  }

  async #upload(
    bucket: string,
    key: string,
    uploadId: string,
  ): Promise<{ dir: string; record: UploadRecord }> {
    if (!UPLOAD_ID.test(uploadId)) throw noSuchUpload();
    const dir = join(await this.#store.multipartDir(bucket), uploadId);
    let record: UploadRecord;
    try {
      record = JSON.parse(await readFile(join(dir, 'upload.json'), 'utf8')) as UploadRecord;
    } catch {
      throw noSuchUpload();
    }
    if (record.key !== key) throw noSuchUpload();
    return { dir, record };
  }
}

/** One entry of a CompleteMultipartUpload body. */
export interface RequestedPart {
  partNumber: number;
  etag: string;
  /** Per-part checksums the client lists; each must match the stored part's. */
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
}

/**
 * S3's checksum of a multipart object: the checksum of the concatenated binary part
 * checksums, then `-<part count>`. Only when the upload declared an algorithm.
 */
function compositeChecksums(
  algorithm: ChecksumAlgorithm | undefined,
  parts: PartRecord[],
): Record<string, string> {
  if (!algorithm) return {};
  const sum = createChecksum(algorithm);
  for (const part of parts) {
    const value = part.checksums?.[algorithm];
    if (value === undefined) return {};
    sum.update(Buffer.from(value, 'base64'));
  }
  return { [algorithm]: `${sum.digest().toString('base64')}-${parts.length}` };
}

async function readPartRecord(path: string): Promise<PartRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(path, 'utf8')) as PartRecord;
    // Uploads begun before parts had their own files kept part N's content in the file "N".
    record.file ??= String(record.partNumber);
    return record;
  } catch {
    return undefined;
  }
}

function unquote(etag: string): string {
  return etag.trim().replace(/^"|"$/g, '').toLowerCase();
}

async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
