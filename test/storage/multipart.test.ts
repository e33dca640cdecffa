import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { TestApp } from '../helpers/app.ts';
import { KEYS, s3ClientFor, startStorageApp } from './storage-app.ts';

const MiB = 1024 * 1024;

async function failure(promise: Promise<unknown>): Promise<{ status: number; name: string }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof S3ServiceException)
      return { status: err.$metadata.httpStatusCode ?? -1, name: err.name };
    throw err;
  }
  return { status: 200, name: 'none' };
}

describe('storage multipart: part sizes, listing uploads, partNumber reads, UploadPartCopy', () => {
  let app: TestApp;
  let s3: S3Client;
  const Bucket = 'private';
  const part1 = randomBytes(5 * MiB);
  const part2 = randomBytes(1000);
  before(async () => {
    app = await startStorageApp();
    s3 = s3ClientFor(app.url, 'private', KEYS.private);
  });
  after(async () => {
    s3.destroy();
    await app.close();
  });

  async function multipart(Key: string, parts: Buffer[]): Promise<string | undefined> {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const done: { PartNumber: number; ETag?: string }[] = [];
    for (const [i, Body] of parts.entries()) {
      const r = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body }));
      done.push({ PartNumber: i + 1, ETag: r.ETag });
    }
    const complete = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: done } }),
    );
    return complete.ETag;
  }

  it('a part under 5 MiB that is not the last is EntityTooSmall at completion', async () => {
    const Key = 'small-parts.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const a = await s3.send(
      new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'a'.repeat(100) }),
    );
    const b = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: 'b' }));
    const refused = await failure(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 1, ETag: a.ETag },
              { PartNumber: 2, ETag: b.ETag },
            ],
          },
        }),
      ),
    );
    assert.deepEqual(refused, { status: 400, name: 'EntityTooSmall' });
    assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key })))).status, 404);
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
  });

  it('ListMultipartUploads: uploads in progress, by prefix, delimiter and page', async () => {
    const started: [string, string][] = [];
    for (const Key of ['lmu/b', 'lmu/a', 'lmu/dir/c', 'lmu/a']) {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
      started.push([Key, UploadId ?? '']);
    }
    const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'lmu/' }));
    assert.deepEqual(
      listed.Uploads?.map((u) => u.Key),
      ['lmu/a', 'lmu/a', 'lmu/b', 'lmu/dir/c'],
    );
    assert.deepEqual(new Set(listed.Uploads?.map((u) => u.UploadId)), new Set(started.map(([, id]) => id)));
    assert.ok(listed.Uploads?.[0]?.Initiated instanceof Date);

    const rolled = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'lmu/', Delimiter: '/' }));
    assert.deepEqual(
      rolled.Uploads?.map((u) => u.Key),
      ['lmu/a', 'lmu/a', 'lmu/b'],
    );
    assert.deepEqual(
      rolled.CommonPrefixes?.map((p) => p.Prefix),
      ['lmu/dir/'],
    );

    // One a page, by key and upload-id markers: every upload once, in the same order.
    const paged: string[] = [];
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await s3.send(
        new ListMultipartUploadsCommand({ Bucket, Prefix: 'lmu/', MaxUploads: 1, KeyMarker, UploadIdMarker }),
      );
      paged.push(...(page.Uploads ?? []).map((u) => u.UploadId ?? ''));
      if (!page.IsTruncated) break;
      KeyMarker = page.NextKeyMarker;
      UploadIdMarker = page.NextUploadIdMarker;
    }
    assert.deepEqual(
      paged,
      listed.Uploads?.map((u) => u.UploadId),
    );

    for (const [Key, UploadId] of started)
      await s3.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
    const after = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: 'lmu/' }));
    assert.equal(after.Uploads, undefined);
  });

  it('GET and HEAD by partNumber read one part of a multipart object, or all of a simple one', async () => {
    const etag = await multipart('parts.bin', [part1, part2]);
    const md5s = Buffer.concat([part1, part2].map((p) => createHash('md5').update(p).digest()));
    assert.equal(etag, `"${createHash('md5').update(md5s).digest('hex')}-2"`);

    const second = await s3.send(new GetObjectCommand({ Bucket, Key: 'parts.bin', PartNumber: 2 }));
    assert.equal(second.PartsCount, 2);
    assert.equal(second.ContentLength, part2.length);
    assert.equal(
      second.ContentRange,
      `bytes ${part1.length}-${part1.length + part2.length - 1}/${part1.length + part2.length}`,
    );
    assert.ok(Buffer.from((await second.Body?.transformToByteArray()) ?? []).equals(part2));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'parts.bin', PartNumber: 1 }));
    assert.equal(head.ContentLength, part1.length);
    assert.equal(head.PartsCount, 2);
    assert.deepEqual(
      await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'parts.bin', PartNumber: 3 }))),
      {
        status: 400,
        name: 'InvalidPart',
      },
    );

    await s3.send(new PutObjectCommand({ Bucket, Key: 'simple.txt', Body: 'body' }));
    const whole = await s3.send(new GetObjectCommand({ Bucket, Key: 'simple.txt', PartNumber: 1 }));
    assert.equal(await whole.Body?.transformToString(), 'body');
    assert.equal(
      (await failure(s3.send(new GetObjectCommand({ Bucket, Key: 'simple.txt', PartNumber: 2 })))).name,
      'InvalidPart',
    );
  });

  it('a SHA-256 multipart upload: per-part checksums and the composite checksum (s3-tests values)', async () => {
    const Key = 'mp-sha256';
    const created = await s3.send(
      new CreateMultipartUploadCommand({ Bucket, Key, ChecksumAlgorithm: 'SHA256' }),
    );
    assert.equal(created.ChecksumAlgorithm, 'SHA256');
    const { UploadId } = created;
    const part = await s3.send(
      new UploadPartCommand({
        Bucket,
        Key,
        UploadId,
        PartNumber: 1,
        Body: 'A'.repeat(1024),
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    assert.equal(part.ChecksumSHA256, 'arcu6553sHVAiX4MjW0j7I7vD4w6R+Gz9Ok0Q9lTa+0=');
    const listed = await s3.send(new ListPartsCommand({ Bucket, Key, UploadId }));
    assert.equal(listed.Parts?.[0]?.ChecksumSHA256, part.ChecksumSHA256);
    const Parts = [{ PartNumber: 1, ETag: part.ETag, ChecksumSHA256: part.ChecksumSHA256 }];
    const bad = await failure(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          ChecksumSHA256: 'bad',
          MultipartUpload: { Parts },
        }),
      ),
    );
    assert.deepEqual(bad, { status: 400, name: 'BadDigest' });
    const wrongPart = await failure(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          MultipartUpload: {
            Parts: [{ ...Parts[0], ChecksumSHA256: createHash('sha256').update('x').digest('base64') }],
          },
        }),
      ),
    );
    assert.equal(wrongPart.name, 'InvalidPart');
    const composite = 'Ok6Cs5b96ux6+MWQkJO7UBT5sKPBeXBLwvj/hK89smg=-1';
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        ChecksumSHA256: composite,
        MultipartUpload: { Parts },
      }),
    );
    assert.equal(done.ChecksumSHA256, composite);
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
    assert.equal(head.ChecksumSHA256, composite);
  });

  it('UploadPartCopy copies whole objects and byte ranges; bad ranges are refused', async () => {
    const source = Buffer.concat([part1, part2]);
    await s3.send(new PutObjectCommand({ Bucket, Key: 'copy-src.bin', Body: source }));
    const Key = 'copy-dst.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const copyPart = (PartNumber: number, CopySourceRange?: string) =>
      s3.send(
        new UploadPartCopyCommand({
          Bucket,
          Key,
          UploadId,
          PartNumber,
          CopySource: 'private/copy-src.bin',
          CopySourceRange,
        }),
      );
    const first = await copyPart(1, `bytes=0-${5 * MiB - 1}`);
    const second = await copyPart(2);
    const third = await copyPart(3, `bytes=${5 * MiB}-${source.length - 1}`);
    for (const range of ['bytes=0-', 'bytes=-1', 'bytes=hello-world', 'bytes=5-2', 'bytes=0-2,3-5']) {
      assert.deepEqual(await failure(copyPart(4, range)), { status: 400, name: 'InvalidArgument' }, range);
    }
    const beyond = await failure(copyPart(4, `bytes=0-${source.length}`));
    assert.deepEqual(beyond, { status: 400, name: 'InvalidArgument' });
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: first.CopyPartResult?.ETag },
            { PartNumber: 2, ETag: second.CopyPartResult?.ETag },
            { PartNumber: 3, ETag: third.CopyPartResult?.ETag },
          ],
        },
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    const body = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    assert.ok(body.equals(Buffer.concat([part1, source, part2])));
  });
});
