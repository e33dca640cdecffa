import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import { type IncomingMessage, request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  ListPartsCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { TestApp } from '../helpers/app.ts';
import { KEYS, s3ClientFor, startStorageApp } from './storage-app.ts';

const auth = { authorization: `Bearer ${KEYS.private}` };
const MiB = 1024 * 1024;

/** A GET whose response headers arrive but whose body is never read (as s3-tests does). */
function unreadGet(url: string): Promise<{ res: IncomingMessage; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: auth }, (res) => {
      res.pause();
      resolve({ res, close: () => req.destroy() });
    });
    req.on('error', () => {});
    req.setTimeout(60_000, () => reject(new Error('GET never answered')));
    req.end();
  });
}

/** Descriptors this process holds on a bucket's content files. */
async function openContentFds(dataDir: string, bucket: string): Promise<number> {
  const dir = join(dataDir, 'storage', bucket, 'data');
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(dir)) count++;
  }
  return count;
}

describe('storage locks: no request keeps a key locked after it ends', () => {
  let app: TestApp;
  let s3: S3Client;
  before(async () => {
    // A short lock wait: a leaked lock fails these tests in seconds (503) instead of 30 s.
    app = await startStorageApp({ locks: { waitMs: 2000 } });
    s3 = s3ClientFor(app.url, 'private', KEYS.private);
  });
  after(async () => {
    s3.destroy();
    await app.close();
  });

  it('a re-sent part reads back as its last copy; an unread GET does not block PUT or DELETE', async () => {
    const key = 'resent.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'private', Key: key }));
    const first = Buffer.alloc(5 * MiB, 'a');
    const last = Buffer.alloc(5 * MiB + 123, 'b');
    const tail = Buffer.alloc(1000, 'c');
    const send = (PartNumber: number, Body: Buffer) =>
      s3.send(new UploadPartCommand({ Bucket: 'private', Key: key, UploadId, PartNumber, Body }));
    await send(1, first);
    const p1 = await send(1, last);
    const p2 = await send(2, tail);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'private',
        Key: key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    const url = `${app.url}/storage/private/${key}`;
    const got = await fetch(url, { headers: auth });
    assert.equal(got.status, 200);
    const body = Buffer.from(await got.arrayBuffer());
    assert.equal(body.length, last.length + tail.length);
    assert.ok(body.equals(Buffer.concat([last, tail])), 'the object is the last copy of part 1, then part 2');

    // A client that reads the headers and never the body (the s3-tests sequence).
    const stalled = await unreadGet(url);
    assert.equal(stalled.res.statusCode, 200);
    try {
      const put = await fetch(url, { method: 'PUT', headers: auth, body: 'replaced' });
      assert.equal(put.status, 200, await put.text());
      assert.equal(await (await fetch(url, { headers: auth })).text(), 'replaced');
      const del = await fetch(url, { method: 'DELETE', headers: auth });
      assert.equal(del.status, 204);
      assert.equal((await fetch(url, { headers: auth })).status, 404);
    } finally {
      stalled.close();
    }
  });

  it('racing copies of one part: the object matches the part record that won', async () => {
    const key = 'race.bin';
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'private', Key: key }));
    const copies = [Buffer.alloc(MiB, 'x'), Buffer.alloc(2 * MiB, 'y'), Buffer.alloc(3 * MiB, 'z')];
    await Promise.all(
      copies.map((Body) =>
        s3.send(new UploadPartCommand({ Bucket: 'private', Key: key, UploadId, PartNumber: 1, Body })),
      ),
    );
    const listed = await s3.send(new ListPartsCommand({ Bucket: 'private', Key: key, UploadId }));
    assert.equal(listed.Parts?.length, 1);
    const winner = listed.Parts?.[0];
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'private',
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: winner?.ETag }] },
      }),
    );
    const body = Buffer.from(
      await (await fetch(`${app.url}/storage/private/${key}`, { headers: auth })).arrayBuffer(),
    );
    assert.equal(body.length, winner?.Size);
    assert.equal(`"${createHash('md5').update(body).digest('hex')}"`, winner?.ETag);
  });

  it('a client gone mid-GET leaves the key writable and no descriptor open', async () => {
    const url = `${app.url}/storage/private/big.bin`;
    const put = await fetch(url, {
      method: 'PUT',
      headers: auth,
      body: new Uint8Array(Buffer.alloc(16 * MiB, 7)),
    });
    assert.equal(put.status, 200);
    await new Promise<void>((resolve, reject) => {
      const req = request(url, { headers: auth }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => {
        if (!req.destroyed) reject(err);
      });
      req.end();
    });
    let fds = -1;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      fds = await openContentFds(app.dataDir, 'private');
      if (fds === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(fds, 0, 'the abandoned read closed its file');
    const again = await fetch(url, { method: 'PUT', headers: auth, body: 'small' });
    assert.equal(again.status, 200);
    assert.equal((await fetch(url, { method: 'DELETE', headers: auth })).status, 204);
  });
});
