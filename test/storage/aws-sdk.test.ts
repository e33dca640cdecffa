import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { TestApp } from '../helpers/app.ts';
import { KEYS, s3ClientFor, startStorageApp } from './storage-app.ts';

describe('storage with @aws-sdk/client-s3 (path-style)', () => {
  let app: TestApp;
  let s3: S3Client;
  let priv: S3Client;
  before(async () => {
    app = await startStorageApp();
    s3 = s3ClientFor(app.url, 'uploads', KEYS.uploads);
    priv = s3ClientFor(app.url, 'private', KEYS.private);
  });
  after(async () => {
    s3.destroy();
    priv.destroy();
    await app.close();
  });

  it('put, head, get, range, copy, list and delete', async () => {
    const put = await s3.send(
      new PutObjectCommand({ Bucket: 'uploads', Key: 'dir/a b+c.txt', Body: 'hello aws' }),
    );
    assert.equal(put.ETag, `"${createHash('md5').update('hello aws').digest('hex')}"`);

    const head = await s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'dir/a b+c.txt' }));
    assert.equal(head.ContentLength, 9);
    assert.equal(head.ETag, put.ETag);

    const got = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'dir/a b+c.txt' }));
    assert.equal(await got.Body?.transformToString(), 'hello aws');

    const ranged = await s3.send(
      new GetObjectCommand({ Bucket: 'uploads', Key: 'dir/a b+c.txt', Range: 'bytes=6-8' }),
    );
    assert.equal(ranged.ContentRange, 'bytes 6-8/9');
    assert.equal(await ranged.Body?.transformToString(), 'aws');

    const copied = await s3.send(
      new CopyObjectCommand({ Bucket: 'uploads', Key: 'copy.txt', CopySource: 'uploads/dir/a%20b%2Bc.txt' }),
    );
    assert.equal(copied.CopyObjectResult?.ETag, put.ETag);
    const copy = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'copy.txt' }));
    assert.equal(await copy.Body?.transformToString(), 'hello aws');

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'uploads', Delimiter: '/' }));
    assert.deepEqual(
      listed.Contents?.map((c) => c.Key),
      ['copy.txt'],
    );
    assert.deepEqual(
      listed.CommonPrefixes?.map((p) => p.Prefix),
      ['dir/'],
    );

    await s3.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: 'copy.txt' }));
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'copy.txt' })), {
      name: 'NoSuchKey',
    });
  });

  it('a streamed body (aws-chunked with a CRC32 trailer) round-trips', async () => {
    const data = Buffer.alloc(300_000, 7);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'uploads',
        Key: 'stream.bin',
        Body: Readable.from([data]),
        ContentLength: data.length,
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'stream.bin' }));
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), data);
  });

  it('lists more than 1000 keys page by page, and DeleteObjects removes them', async () => {
    const keys = Array.from({ length: 1105 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) {
      await Promise.all(
        keys
          .slice(i, i + 50)
          .map((Key) => s3.send(new PutObjectCommand({ Bucket: 'uploads', Key, Body: 'x' }))),
      );
    }
    const seen: string[] = [];
    for await (const page of paginateListObjectsV2(
      { client: s3, pageSize: 400 },
      { Bucket: 'uploads', Prefix: 'many/' },
    )) {
      for (const c of page.Contents ?? []) seen.push(c.Key ?? '');
    }
    assert.deepEqual(seen, keys);
    for (let i = 0; i < keys.length; i += 1000) {
      const res = await s3.send(
        new DeleteObjectsCommand({
          Bucket: 'uploads',
          Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) },
        }),
      );
      assert.equal(res.Errors, undefined);
    }
    const after = await s3.send(new ListObjectsV2Command({ Bucket: 'uploads', Prefix: 'many/' }));
    assert.equal(after.KeyCount, 0);
  });

  it('multipart Upload of a >8 MB body gets the md5-of-parts ETag', async () => {
    const partSize = 5 * 1024 * 1024;
    const data = Buffer.alloc(9 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4096) data[i] = i % 251;
    const upload = new Upload({
      client: s3,
      params: { Bucket: 'uploads', Key: 'big.bin', Body: data },
      partSize,
    });
    const done = await upload.done();
    const partMd5s = [data.subarray(0, partSize), data.subarray(partSize)].map((p) =>
      createHash('md5').update(p).digest(),
    );
    const expected = `"${createHash('md5').update(Buffer.concat(partMd5s)).digest('hex')}-2"`;
    assert.equal(done.ETag, expected);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'uploads', Key: 'big.bin' }));
    assert.equal(got.ContentLength, data.length);
    const body = Buffer.from(await got.Body!.transformToByteArray());
    assert.ok(body.equals(data));
  });

  it('buckets: ListBuckets, HeadBucket, GetBucketLocation, NoSuchBucket', async () => {
    const mine = await s3.send(new ListBucketsCommand({}));
    assert.deepEqual(
      mine.Buckets?.map((b) => b.Name),
      ['uploads'],
    );
    await s3.send(new HeadBucketCommand({ Bucket: 'uploads' }));
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'uploads' }));
    assert.ok(!loc.LocationConstraint);
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'nope', Key: 'x' })), {
      name: 'NoSuchBucket',
    });
  });

  it('a presigned URL from s3-request-presigner works for GET and PUT on a private bucket', async () => {
    await priv.send(new PutObjectCommand({ Bucket: 'private', Key: 'p/doc.txt', Body: 'private text' }));
    const url = await getSignedUrl(priv, new GetObjectCommand({ Bucket: 'private', Key: 'p/doc.txt' }), {
      expiresIn: 600,
    });
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'private text');
    const putUrl = await getSignedUrl(priv, new PutObjectCommand({ Bucket: 'private', Key: 'p/up.txt' }), {
      expiresIn: 600,
    });
    const put = await fetch(putUrl, { method: 'PUT', body: 'via presigned put' });
    assert.equal(put.status, 200);
    const back = await priv.send(new GetObjectCommand({ Bucket: 'private', Key: 'p/up.txt' }));
    assert.equal(await back.Body?.transformToString(), 'via presigned put');
  });

  it('a bucket key cannot touch another bucket; the master key can', async () => {
    await assert.rejects(s3.send(new GetObjectCommand({ Bucket: 'private', Key: 'p/doc.txt' })), {
      name: 'AccessDenied',
    });
    const master = s3ClientFor(app.url, 'private', KEYS.master);
    const got = await master.send(new GetObjectCommand({ Bucket: 'private', Key: 'p/doc.txt' }));
    assert.equal(await got.Body?.transformToString(), 'private text');
    master.destroy();
  });
});
