import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { TestApp } from '../helpers/app.ts';
import { KEYS, s3ClientFor, startStorageApp } from './storage-app.ts';

/** The HTTP status of an SDK failure (304 and 412 come back as errors). */
async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (err) {
    if (err instanceof S3ServiceException) return err.$metadata.httpStatusCode ?? -1;
    throw err;
  }
}

describe('storage conditional requests and metadata (aws-sdk v3)', () => {
  let app: TestApp;
  let s3: S3Client;
  const Bucket = 'private';
  before(async () => {
    app = await startStorageApp();
    s3 = s3ClientFor(app.url, 'private', KEYS.private);
  });
  after(async () => {
    s3.destroy();
    await app.close();
  });

  it('GET and HEAD honour If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since', async () => {
    const Key = 'cond.txt';
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'conditional' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    const modified = head.LastModified?.getTime() ?? 0;
    const before = new Date(modified - 60_000);
    const later = new Date(modified + 60_000);
    const get = (extra: Record<string, unknown>) => s3.send(new GetObjectCommand({ Bucket, Key, ...extra }));

    assert.equal(await statusOf(get({ IfMatch: ETag })), 200);
    assert.equal(await statusOf(get({ IfMatch: '"0123456789abcdef0123456789abcdef"' })), 412);
    await assert.rejects(get({ IfMatch: '"nope"' }), { name: 'PreconditionFailed' });
    assert.equal(await statusOf(get({ IfNoneMatch: ETag })), 304);
    assert.equal(await statusOf(get({ IfNoneMatch: '"other"' })), 200);
    assert.equal(await statusOf(get({ IfModifiedSince: later })), 304);
    assert.equal(await statusOf(get({ IfModifiedSince: before })), 200);
    assert.equal(await statusOf(get({ IfUnmodifiedSince: before })), 412);
    assert.equal(await statusOf(get({ IfUnmodifiedSince: later })), 200);
    // If-Match wins over a failing If-Unmodified-Since; If-None-Match over If-Modified-Since.
    assert.equal(await statusOf(get({ IfMatch: ETag, IfUnmodifiedSince: before })), 200);
    assert.equal(await statusOf(get({ IfNoneMatch: '"other"', IfModifiedSince: later })), 200);

    const headOf = (extra: Record<string, unknown>) =>
      s3.send(new HeadObjectCommand({ Bucket, Key, ...extra }));
    assert.equal(await statusOf(headOf({ IfNoneMatch: ETag })), 304);
    assert.equal(await statusOf(headOf({ IfMatch: '"nope"' })), 412);
    assert.equal(await statusOf(headOf({ IfModifiedSince: later })), 304);

    // A 304 carries the validators and no body.
    const raw = await fetch(`${app.url}/storage/private/${Key}`, {
      headers: { authorization: `Bearer ${KEYS.private}`, 'if-none-match': ETag ?? '' },
    });
    assert.equal(raw.status, 304);
    assert.equal(raw.headers.get('etag'), ETag);
    assert.equal(await raw.text(), '');
  });

  it('PutObject and CompleteMultipartUpload honour If-None-Match: * and If-Match', async () => {
    const Key = 'cond-put.txt';
    const first = await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'one', IfNoneMatch: '*' }));
    assert.ok(first.ETag);
    await assert.rejects(s3.send(new PutObjectCommand({ Bucket, Key, Body: 'two', IfNoneMatch: '*' })), {
      name: 'PreconditionFailed',
    });
    await assert.rejects(s3.send(new PutObjectCommand({ Bucket, Key, Body: 'two', IfMatch: '"stale"' })), {
      name: 'PreconditionFailed',
    });
    const read = async () =>
      (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString() ?? Promise.resolve('');
    assert.equal(await read(), 'one', 'refused writes changed nothing');
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'three', IfMatch: first.ETag }));
    assert.equal(await read(), 'three');
    assert.equal(
      await statusOf(s3.send(new PutObjectCommand({ Bucket, Key: 'absent.txt', Body: 'x', IfMatch: '"a"' }))),
      404,
    );

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    const part = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'mp' }));
    await assert.rejects(
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key,
          UploadId,
          IfNoneMatch: '*',
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
        }),
      ),
      { name: 'PreconditionFailed' },
    );
    assert.equal(await read(), 'three');
  });

  it('CopyObject honours x-amz-copy-source-if-*', async () => {
    const { ETag } = await s3.send(new PutObjectCommand({ Bucket, Key: 'src.txt', Body: 'source' }));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'src.txt' }));
    const modified = head.LastModified?.getTime() ?? 0;
    const copy = (extra: Record<string, unknown>) =>
      s3.send(new CopyObjectCommand({ Bucket, Key: 'dst.txt', CopySource: 'private/src.txt', ...extra }));
    assert.equal(await statusOf(copy({ CopySourceIfMatch: '"nope"' })), 412);
    assert.equal(await statusOf(copy({ CopySourceIfNoneMatch: ETag })), 412);
    assert.equal(await statusOf(copy({ CopySourceIfModifiedSince: new Date(modified + 60_000) })), 412);
    assert.equal(await statusOf(copy({ CopySourceIfUnmodifiedSince: new Date(modified - 60_000) })), 412);
    assert.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket, Key: 'dst.txt' }))), 404);
    assert.equal(await statusOf(copy({ CopySourceIfMatch: ETag })), 200);
    assert.equal(await statusOf(s3.send(new HeadObjectCommand({ Bucket, Key: 'dst.txt' }))), 200);
  });

  it('x-amz-meta-* and the standard headers are stored and served; overwrite replaces them', async () => {
    const Key = 'meta.txt';
    const expires = new Date('2030-01-02T03:04:05Z');
    await s3.send(
      new PutObjectCommand({
        Bucket,
        Key,
        Body: 'meta',
        ContentType: 'text/x-meta',
        Metadata: { color: 'blue', empty: '', accent: 'caf\u00e9' },
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment; filename="m.txt"',
        ContentEncoding: 'identity',
        ContentLanguage: 'de-DE',
        Expires: expires,
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    // Node's client sends the value UTF-8 encoded and reads headers as latin1: the bytes round-trip.
    const accent = Buffer.from(head.Metadata?.accent ?? '', 'latin1').toString('utf8');
    assert.equal(accent, 'caf\u00e9');
    assert.deepEqual({ ...head.Metadata, accent }, { color: 'blue', empty: '', accent: 'caf\u00e9' });
    assert.equal(head.ContentType, 'text/x-meta');
    assert.equal(head.CacheControl, 'max-age=60');
    assert.equal(head.ContentDisposition, 'attachment; filename="m.txt"');
    assert.equal(head.ContentEncoding, 'identity');
    assert.equal(head.ContentLanguage, 'de-DE');
    assert.equal(head.Expires?.getTime(), expires.getTime());
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    assert.equal(got.Metadata?.color, 'blue');
    assert.equal(got.CacheControl, 'max-age=60');
    await got.Body?.transformToString();

    await s3.send(new PutObjectCommand({ Bucket, Key, Body: 'again', Metadata: { color: '' } }));
    const again = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    assert.deepEqual(again.Metadata, { color: '' });
    assert.equal(again.CacheControl, undefined);
  });

  it('response-* overrides apply to signed requests', async () => {
    const got = await s3.send(
      new GetObjectCommand({
        Bucket,
        Key: 'meta.txt',
        ResponseContentType: 'text/csv',
        ResponseCacheControl: 'no-store',
        ResponseContentDisposition: 'inline',
        ResponseContentLanguage: 'fr',
        ResponseExpires: new Date('2031-01-01T00:00:00Z'),
      }),
    );
    assert.equal(got.ContentType, 'text/csv');
    assert.equal(got.CacheControl, 'no-store');
    assert.equal(got.ContentDisposition, 'inline');
    assert.equal(got.ContentLanguage, 'fr');
    assert.equal(got.Expires?.toISOString(), '2031-01-01T00:00:00.000Z');
    assert.equal(await got.Body?.transformToString(), 'again');
  });

  it('CopyObject copies metadata, replaces it with REPLACE, and refuses a no-op copy onto itself', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'orig.txt',
        Body: 'original',
        ContentType: 'text/x-orig',
        Metadata: { owner: 'alice' },
        CacheControl: 'max-age=5',
      }),
    );
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'copied.txt', CopySource: 'private/orig.txt' }));
    const copied = await s3.send(new HeadObjectCommand({ Bucket, Key: 'copied.txt' }));
    assert.deepEqual(copied.Metadata, { owner: 'alice' });
    assert.equal(copied.ContentType, 'text/x-orig');
    assert.equal(copied.CacheControl, 'max-age=5');

    await assert.rejects(
      s3.send(new CopyObjectCommand({ Bucket, Key: 'orig.txt', CopySource: 'private/orig.txt' })),
      { name: 'InvalidRequest' },
    );
    await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'orig.txt',
        CopySource: 'private/orig.txt',
        MetadataDirective: 'REPLACE',
        ContentType: 'text/x-new',
        Metadata: { owner: 'bob', extra: 'yes' },
      }),
    );
    const replaced = await s3.send(new GetObjectCommand({ Bucket, Key: 'orig.txt' }));
    assert.deepEqual(replaced.Metadata, { owner: 'bob', extra: 'yes' });
    assert.equal(replaced.ContentType, 'text/x-new');
    assert.equal(replaced.CacheControl, undefined);
    assert.equal(await replaced.Body?.transformToString(), 'original', 'the content is unchanged');
  });

  it('multipart uploads keep the metadata given at creation; aws-chunked is not a stored encoding', async () => {
    const Key = 'mp-meta.bin';
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({
        Bucket,
        Key,
        ContentType: 'application/x-mp',
        Metadata: { stage: 'final' },
        ContentDisposition: 'attachment',
      }),
    );
    const part = await s3.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: 'tiny' }));
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key }));
    assert.equal(head.ContentType, 'application/x-mp');
    assert.deepEqual(head.Metadata, { stage: 'final' });
    assert.equal(head.ContentDisposition, 'attachment');

    const res = await fetch(`${app.url}/storage/private/chunked-enc.txt`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${KEYS.private}`,
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '5',
      },
      body: '5\r\nhello\r\n0\r\n\r\n',
    });
    assert.equal(res.status, 200, await res.text());
    const chunkedHead = await s3.send(new HeadObjectCommand({ Bucket, Key: 'chunked-enc.txt' }));
    assert.equal(chunkedHead.ContentEncoding, undefined);
    assert.equal(chunkedHead.ContentLength, 5);
  });
});
