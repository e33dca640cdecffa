import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { TestApp } from '../helpers/app.ts';
import { KEYS, s3ClientFor, startStorageApp } from './storage-app.ts';

const auth = { authorization: `Bearer ${KEYS.private}` };

/** An HTTP/1.1 request written byte for byte (no client adds a Content-Length). */
function rawHttp(url: string, head: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(head));
    const parts: Buffer[] = [];
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer')));
    socket.on('data', (d: Buffer) => parts.push(d));
    socket.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    socket.on('error', reject);
  });
}

describe('storage integrity headers, errors and listing edge cases', () => {
  let app: TestApp;
  let s3: S3Client;
  let offsetMs = 0;
  const Bucket = 'private';
  before(async () => {
    app = await startStorageApp({ clock: { now: () => Date.now() + offsetMs } });
    s3 = s3ClientFor(app.url, 'private', KEYS.private);
  });
  after(async () => {
    s3.destroy();
    await app.close();
  });

  it('an Expect other than 100-continue is ignored, as S3 does (Node alone would answer 417)', async () => {
    const url = new URL(`${app.url}/storage/private/expect.txt`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        url,
        { method: 'PUT', headers: { ...auth, expect: '200', 'content-length': '3' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('abc');
    });
    assert.equal(status, 200);
    assert.equal(await (await fetch(url, { headers: auth })).text(), 'abc');
  });

  it('Content-MD5 that is not 16 bytes of base64 is InvalidDigest; a wrong one is BadDigest', async () => {
    const url = `${app.url}/storage/private/md5.txt`;
    for (const md5 of ['not base64!', 'AAAA', '', 'YWJjZA==']) {
      const res = await fetch(url, { method: 'PUT', headers: { ...auth, 'content-md5': md5 }, body: 'abc' });
      assert.equal(res.status, 400, md5);
      assert.match(await res.text(), /<Code>InvalidDigest<\/Code>/, md5);
    }
    const wrong = createHash('md5').update('other').digest('base64');
    const bad = await fetch(url, { method: 'PUT', headers: { ...auth, 'content-md5': wrong }, body: 'abc' });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /<Code>BadDigest<\/Code>/);
    assert.equal((await fetch(url, { headers: auth })).status, 404, 'nothing was stored');
    const right = createHash('md5').update('abc').digest('base64');
    const good = await fetch(url, { method: 'PUT', headers: { ...auth, 'content-md5': right }, body: 'abc' });
    assert.equal(good.status, 200);
  });

  it('x-amz-checksum-sha256 is verified, stored and returned with checksum mode', async () => {
    const put = await s3.send(
      new PutObjectCommand({ Bucket, Key: 'sum.txt', Body: 'checked content', ChecksumAlgorithm: 'SHA256' }),
    );
    const expected = createHash('sha256').update('checked content').digest('base64');
    assert.equal(put.ChecksumSHA256, expected);
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'sum.txt', ChecksumMode: 'ENABLED' }));
    assert.equal(got.ChecksumSHA256, expected);
    assert.equal(await got.Body?.transformToString(), 'checked content');

    const liar = await fetch(`${app.url}/storage/private/sum-bad.txt`, {
      method: 'PUT',
      headers: { ...auth, 'x-amz-checksum-sha256': expected },
      body: 'different content',
    });
    assert.equal(liar.status, 400);
    assert.match(await liar.text(), /<Code>BadDigest<\/Code>/);
    assert.equal((await fetch(`${app.url}/storage/private/sum-bad.txt`, { headers: auth })).status, 404);
    const malformed = await fetch(`${app.url}/storage/private/sum-bad.txt`, {
      method: 'PUT',
      headers: { ...auth, 'x-amz-checksum-sha256': 'short' },
      body: 'x',
    });
    assert.equal(malformed.status, 400);
  });

  it('CRC32C and CRC64NVME checksums are verified and returned', async () => {
    const put = await s3.send(
      new PutObjectCommand({ Bucket, Key: 'crc32c.txt', Body: '123456789', ChecksumAlgorithm: 'CRC32C' }),
    );
    assert.equal(put.ChecksumCRC32C, Buffer.from('e3069283', 'hex').toString('base64'));
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'crc32c.txt', ChecksumMode: 'ENABLED' }));
    assert.equal(head.ChecksumCRC32C, put.ChecksumCRC32C);

    // CRC-64/NVME's check value: the CRC of "123456789".
    const crc64 = Buffer.from('ae8b14860a799888', 'hex').toString('base64');
    const url = `${app.url}/storage/private/crc64.txt`;
    const wrong = await fetch(url, {
      method: 'PUT',
      headers: { ...auth, 'x-amz-checksum-crc64nvme': crc64 },
      body: '123456780',
    });
    assert.equal(wrong.status, 400);
    assert.match(await wrong.text(), /<Code>BadDigest<\/Code>/);
    const right = await fetch(url, {
      method: 'PUT',
      headers: { ...auth, 'x-amz-checksum-crc64nvme': crc64 },
      body: '123456789',
    });
    assert.equal(right.status, 200);
    assert.equal(right.headers.get('x-amz-checksum-crc64nvme'), crc64);
    const got = await fetch(url, { headers: { ...auth, 'x-amz-checksum-mode': 'ENABLED' } });
    assert.equal(got.headers.get('x-amz-checksum-crc64nvme'), crc64);
  });

  it('aws-chunked trailer checksums (SHA-256, CRC32) are verified and stored', async () => {
    const content = Buffer.alloc(200_000, 'q');
    await s3.send(
      new PutObjectCommand({
        Bucket,
        Key: 'trailer.bin',
        Body: Readable.from([content.subarray(0, 70_000), content.subarray(70_000)]),
        ContentLength: content.length,
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'trailer.bin', ChecksumMode: 'ENABLED' }));
    assert.equal(got.ChecksumSHA256, createHash('sha256').update(content).digest('base64'));
    await got.Body?.transformToByteArray();

    const framed = (trailer: string) => `5\r\nhello\r\n0\r\n${trailer}\r\n\r\n`;
    const wrongSha = createHash('sha256').update('other').digest('base64');
    const bad = await fetch(`${app.url}/storage/private/trailer-bad.txt`, {
      method: 'PUT',
      headers: {
        ...auth,
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'x-amz-trailer': 'x-amz-checksum-sha256',
        'x-amz-decoded-content-length': '5',
      },
      body: framed(`x-amz-checksum-sha256:${wrongSha}`),
    });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /<Code>BadDigest<\/Code>/);
    assert.equal((await fetch(`${app.url}/storage/private/trailer-bad.txt`, { headers: auth })).status, 404);
  });

  it('an upload without Content-Length (and not chunked) is 411 MissingContentLength', async () => {
    const { host } = new URL(app.url);
    const answer = await rawHttp(
      app.url,
      `PUT /storage/private/nolength.txt HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${auth.authorization}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(answer, /^HTTP\/1\.1 411 /);
    assert.match(answer, /<Code>MissingContentLength<\/Code>/);
  });

  it('an empty Content-Type is no type: the upload is stored and its type detected', async () => {
    const { host } = new URL(app.url);
    const answer = await rawHttp(
      app.url,
      `PUT /storage/private/empty-type.txt HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${auth.authorization}\r\nContent-Type: \r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`,
    );
    assert.match(answer, /^HTTP\/1\.1 200 /);
    const got = await fetch(`${app.url}/storage/private/empty-type.txt`, { headers: auth });
    assert.equal(await got.text(), 'hello');
    assert.match(got.headers.get('content-type') ?? '', /^text\/plain/);
  });

  it('an empty or missing Authorization is anonymous: private reads and all writes are AccessDenied', async () => {
    const url = `${app.url}/storage/private/keep-out.txt`;
    await fetch(url, { method: 'PUT', headers: auth, body: 'private' });
    for (const headers of [{ authorization: '' }, {}] as Record<string, string>[]) {
      const get = await fetch(url, { headers });
      assert.equal(get.status, 403);
      assert.match(await get.text(), /<Code>AccessDenied<\/Code>/);
      const put = await fetch(url, { method: 'PUT', headers, body: 'overwritten' });
      assert.equal(put.status, 403);
    }
    assert.equal(await (await fetch(url, { headers: auth })).text(), 'private');
  });

  it('every XML error carries the RequestId of its x-amz-request-id header', async () => {
    const res = await fetch(`${app.url}/storage/private/absent.txt`, { headers: auth });
    assert.equal(res.status, 404);
    const id = res.headers.get('x-amz-request-id');
    assert.ok(id);
    assert.match(await res.text(), new RegExp(`<RequestId>${id}</RequestId>`));
    const err = await s3.send(new GetObjectCommand({ Bucket, Key: 'absent.txt' })).catch((e: unknown) => e);
    assert.ok(err instanceof S3ServiceException);
    assert.ok(err.$metadata.requestId);
    assert.equal((err as S3ServiceException & { RequestId?: string }).RequestId, err.$metadata.requestId);
  });

  it('DeleteObjects with more than 1000 keys is MalformedXML and deletes nothing', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'keep-0', Body: 'x' }));
    const Objects = Array.from({ length: 1001 }, (_, i) => ({ Key: `keep-${i}` }));
    await assert.rejects(s3.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects } })), {
      name: 'MalformedXML',
    });
    assert.equal((await fetch(`${app.url}/storage/private/keep-0`, { headers: auth })).status, 200);
  });

  it('presigned URLs with X-Amz-Expires 0, negative or over a week are refused; an expired PUT too', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'presigned.txt', Body: 'secret' }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'presigned.txt' }), {
      expiresIn: 600,
    });
    assert.equal((await fetch(url)).status, 200);
    for (const expires of ['0', '-7', '604801']) {
      const res = await fetch(url.replace(/X-Amz-Expires=\d+/, `X-Amz-Expires=${expires}`));
      assert.equal(res.status, 403, expires);
      const text = await res.text();
      assert.match(text, /X-Amz-Expires/, expires);
      assert.doesNotMatch(text, /secret/);
    }
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: 'late.txt' }), {
      expiresIn: 60,
    });
    offsetMs = 120_000;
    try {
      const late = await fetch(putUrl, { method: 'PUT', body: 'too late' });
      assert.equal(late.status, 403);
      assert.match(await late.text(), /expired/);
    } finally {
      offsetMs = 0;
    }
    assert.equal((await fetch(`${app.url}/storage/private/late.txt`, { headers: auth })).status, 404);
  });

  it('listing: max-keys=0, delimiter with prefix, other delimiters, empty token, fetch-owner', async () => {
    const Bucket = 'uploads';
    const up = s3ClientFor(app.url, 'uploads', KEYS.uploads);
    try {
      for (const Key of [
        'asdf',
        'boo/bar',
        'boo/baz/xyzzy',
        'cquux/thud',
        'cquux/bla',
        '_under1/x',
        '_obj1_',
      ]) {
        await up.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
      }
      const zero = await up.send(new ListObjectsV2Command({ Bucket, MaxKeys: 0 }));
      assert.equal(zero.KeyCount, 0);
      assert.equal(zero.IsTruncated, false);
      assert.equal(zero.Contents, undefined);

      const boo = await up.send(new ListObjectsV2Command({ Bucket, Prefix: 'boo/', Delimiter: '/' }));
      assert.deepEqual(
        boo.Contents?.map((c) => c.Key),
        ['boo/bar'],
      );
      assert.deepEqual(
        boo.CommonPrefixes?.map((p) => p.Prefix),
        ['boo/baz/'],
      );

      // V1, one item a page: keys and rolled-up prefixes page in order.
      const seen: string[] = [];
      let Marker: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await up.send(new ListObjectsCommand({ Bucket, Delimiter: '/', MaxKeys: 1, Marker }));
        seen.push(...(page.Contents ?? []).map((c) => `k:${c.Key}`));
        seen.push(...(page.CommonPrefixes ?? []).map((p) => `p:${p.Prefix}`));
        if (!page.IsTruncated) break;
        Marker = page.NextMarker;
      }
      assert.deepEqual(seen, ['k:_obj1_', 'p:_under1/', 'k:asdf', 'p:boo/', 'p:cquux/']);

      const underscore = await up.send(new ListObjectsV2Command({ Bucket, Delimiter: '_' }));
      assert.deepEqual(
        underscore.CommonPrefixes?.map((p) => p.Prefix),
        ['_'],
      );
      const alt = await up.send(new ListObjectsV2Command({ Bucket, Delimiter: 'a', Prefix: 'boo/' }));
      assert.deepEqual(
        alt.CommonPrefixes?.map((p) => p.Prefix),
        ['boo/ba'],
      );

      const empty = await up.send(new ListObjectsV2Command({ Bucket, ContinuationToken: '' }));
      assert.equal(empty.KeyCount, 7);
      const owned = await up.send(new ListObjectsV2Command({ Bucket, FetchOwner: true, MaxKeys: 1 }));
      assert.ok(owned.Contents?.[0]?.Owner?.ID);
      const unowned = await up.send(new ListObjectsV2Command({ Bucket, MaxKeys: 1 }));
      assert.equal(unowned.Contents?.[0]?.Owner, undefined);
    } finally {
      up.destroy();
    }
  });
});
