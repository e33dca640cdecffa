import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../helpers/app.ts';
import { KEYS, startStorageApp } from './storage-app.ts';

// The seed's curl examples, sent as fetch calls with the same method, headers and body.
describe('storage REST routes (seed curls)', () => {
  let app: TestApp;
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  before(async () => {
    app = await startStorageApp();
  });
  after(() => app.close());

  it('GET /storage/health answers {"status":"ok"} with request id and nosniff', async () => {
    const res = await fetch(`${app.url}/storage/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: 'ok' });
    assert.ok(res.headers.get('x-request-id'));
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  it('PUT, GET, HEAD, list and DELETE an object with the bucket key', async () => {
    const png = Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a1e2b9a00000000049454e44ae426082',
      'hex',
    );
    const put = await fetch(`${app.url}/storage/uploads/photo.jpg`, {
      method: 'PUT',
      headers: bearer(KEYS.uploads),
      body: png,
    });
    assert.equal(put.status, 200);
    const etag = put.headers.get('etag');
    assert.match(etag ?? '', /^"[0-9a-f]{32}"$/);
    assert.equal(put.headers.get('x-content-type-options'), 'nosniff');

    // Public bucket: no auth to read; type detected from the bytes (no Content-Type given).
    const get = await fetch(`${app.url}/storage/uploads/photo.jpg`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-type'), 'image/png');
    assert.equal(get.headers.get('etag'), etag);
    assert.equal(get.headers.get('content-length'), String(png.length));
    assert.ok(get.headers.get('last-modified'));
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), png);

    const head = await fetch(`${app.url}/storage/uploads/photo.jpg`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(png.length));
    assert.equal(head.headers.get('etag'), etag);

    const list = await fetch(`${app.url}/storage/uploads?prefix=photo&max-keys=10`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(list.status, 200);
    const listed = (await list.json()) as { objects: { key: string; size: number }[] };
    assert.deepEqual(
      listed.objects.map((o) => o.key),
      ['photo.jpg'],
    );

    const xmlList = await fetch(`${app.url}/storage/uploads?prefix=photo`);
    assert.match(await xmlList.text(), /<Key>photo\.jpg<\/Key>/);

    const del = await fetch(`${app.url}/storage/uploads/photo.jpg`, {
      method: 'DELETE',
      headers: bearer(KEYS.uploads),
    });
    assert.equal(del.status, 204);
    const again = await fetch(`${app.url}/storage/uploads/photo.jpg`, {
      method: 'DELETE',
      headers: bearer(KEYS.uploads),
    });
    assert.equal(again.status, 204, 'DELETE is 204 even when absent');
    const gone = await fetch(`${app.url}/storage/uploads/photo.jpg`);
    assert.equal(gone.status, 404);
    assert.match(await gone.text(), /<Code>NoSuchKey<\/Code>/);
  });

  it('text without a Content-Type is text/plain; a given type is kept', async () => {
    await fetch(`${app.url}/storage/uploads/notes`, {
      method: 'PUT',
      headers: bearer(KEYS.uploads),
      body: 'hello world',
    });
    const res = await fetch(`${app.url}/storage/uploads/notes`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    await fetch(`${app.url}/storage/uploads/data.json`, {
      method: 'PUT',
      headers: { ...bearer(KEYS.uploads), 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(
      (await fetch(`${app.url}/storage/uploads/data.json`)).headers.get('content-type'),
      'application/json',
    );
  });

  it('writes need the bucket or master key; private reads need a key', async () => {
    const anon = await fetch(`${app.url}/storage/uploads/x`, { method: 'PUT', body: 'x' });
    assert.equal(anon.status, 403);
    const otherKey = await fetch(`${app.url}/storage/uploads/x`, {
      method: 'PUT',
      headers: bearer(KEYS.private),
      body: 'x',
    });
    assert.equal(otherKey.status, 403);
    const master = await fetch(`${app.url}/storage/private/doc.txt`, {
      method: 'PUT',
      headers: bearer(KEYS.master),
      body: 'secret',
    });
    assert.equal(master.status, 200);
    assert.equal((await fetch(`${app.url}/storage/private/doc.txt`)).status, 403);
    assert.equal((await fetch(`${app.url}/storage/private`)).status, 403);
    const own = await fetch(`${app.url}/storage/private/doc.txt`, { headers: bearer(KEYS.private) });
    assert.equal(await own.text(), 'secret');
  });

  it('GET /storage/ lists buckets: master sees all, a bucket key its own', async () => {
    const all = await fetch(`${app.url}/storage/`, {
      headers: { ...bearer(KEYS.master), accept: 'application/json' },
    });
    const allBody = (await all.json()) as { buckets: { name: string }[] };
    assert.deepEqual(
      allBody.buckets.map((b) => b.name),
      ['uploads', 'private'],
    );
    const own = await fetch(`${app.url}/storage/`, {
      headers: { ...bearer(KEYS.uploads), accept: 'application/json' },
    });
    assert.deepEqual(
      ((await own.json()) as { buckets: { name: string }[] }).buckets.map((b) => b.name),
      ['uploads'],
    );
    const xml = await fetch(`${app.url}/storage`, { headers: bearer(KEYS.master) });
    assert.match(await xml.text(), /<Name>private<\/Name>/);
    assert.equal((await fetch(`${app.url}/storage/`)).status, 403);
  });

  it('POST /storage/presign: plain URL for a public bucket, signed URL for a private one', async () => {
    // curl -X POST ".../storage/presign/uploads/photo.jpg?expires=3600" -H "Authorization: Bearer $HYBRIDS3_UPLOADS_KEY"
    const pub = await fetch(`${app.url}/storage/presign/uploads/photo.jpg?expires=3600`, {
      method: 'POST',
      headers: bearer(KEYS.uploads),
    });
    assert.equal(pub.status, 200);
    assert.deepEqual(await pub.json(), { url: `${app.url}/storage/uploads/photo.jpg`, expires: null });

    await fetch(`${app.url}/storage/private/doc.pdf`, {
      method: 'PUT',
      headers: bearer(KEYS.private),
      body: '%PDF-1.4 x',
    });
    const priv = await fetch(`${app.url}/storage/presign/private/doc.pdf`, {
      method: 'POST',
      headers: bearer(KEYS.private),
    });
    const signed = (await priv.json()) as { url: string; expires: number };
    assert.equal(signed.expires, 3600);
    assert.match(
      signed.url,
      /^http:\/\/127\.0\.0\.1:\d+\/storage\/private\/doc\.pdf\?X-Amz-Algorithm=AWS4-HMAC-SHA256&.*X-Amz-Signature=/,
    );
    const got = await fetch(signed.url);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), '%PDF-1.4 x');
    const tampered = await fetch(signed.url.replace('doc.pdf', 'doc.pdX'));
    assert.equal(tampered.status, 403);

    const tooLong = await fetch(`${app.url}/storage/presign/private/doc.pdf?expires=604801`, {
      method: 'POST',
      headers: bearer(KEYS.private),
    });
    assert.equal(tooLong.status, 400);
    const noAuth = await fetch(`${app.url}/storage/presign/private/doc.pdf`, { method: 'POST' });
    assert.equal(noAuth.status, 401);
  });

  it('Range GET answers 206 with Content-Range', async () => {
    await fetch(`${app.url}/storage/uploads/range.txt`, {
      method: 'PUT',
      headers: bearer(KEYS.uploads),
      body: '0123456789',
    });
    const res = await fetch(`${app.url}/storage/uploads/range.txt`, { headers: { range: 'bytes=2-5' } });
    assert.equal(res.status, 206);
    assert.equal(res.headers.get('content-range'), 'bytes 2-5/10');
    assert.equal(await res.text(), '2345');
    const suffix = await fetch(`${app.url}/storage/uploads/range.txt`, { headers: { range: 'bytes=-3' } });
    assert.equal(await suffix.text(), '789');
    const bad = await fetch(`${app.url}/storage/uploads/range.txt`, { headers: { range: 'bytes=20-' } });
    assert.equal(bad.status, 416);
  });
});
