import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { TestApp } from '../helpers/app.ts';
import { KEYS, s3ClientFor, startStorageApp } from './storage-app.ts';

/** A request whose path goes out exactly as written (fetch would resolve `..`). */
function rawRequest(
  url: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ hostname, port, method, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

describe('storage security: signatures, presign expiry, clock skew, traversal', () => {
  let app: TestApp;
  let offsetMs = 0;
  before(async () => {
    app = await startStorageApp({ clock: { now: () => Date.now() + offsetMs } });
  });
  after(() => app.close());

  it('a wrong secret is SignatureDoesNotMatch; a forged Authorization header is refused', async () => {
    const wrong = s3ClientFor(app.url, 'private', 'not-the-key');
    await assert.rejects(wrong.send(new ListObjectsV2Command({ Bucket: 'private' })), {
      name: 'SignatureDoesNotMatch',
    });
    wrong.destroy();
    const forged = await fetch(`${app.url}/storage/private?list-type=2`, {
      headers: {
        authorization:
          'AWS4-HMAC-SHA256 Credential=private/20240101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=deadbeef',
        'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    });
    assert.equal(forged.status, 403);
    assert.match(await forged.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    const wrongBearer = await fetch(`${app.url}/storage/private`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrongBearer.status, 403);
    assert.match(await wrongBearer.text(), /<Code>AccessDenied<\/Code>/);
  });

  it('a body that does not match its signed SHA-256 is refused and not stored', async () => {
    const s3 = s3ClientFor(app.url, 'private', KEYS.private);
    s3.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body?: unknown };
        // Swap the body after signing: the signed x-amz-content-sha256 no longer matches.
        if (typeof req.body === 'string' || req.body instanceof Uint8Array) req.body = 'tampered!';
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'tamper' },
    );
    await assert.rejects(
      s3.send(
        new PutObjectCommand({
          Bucket: 'private',
          Key: 'tamper.txt',
          Body: 'original!',
          ChecksumAlgorithm: undefined,
        }),
      ),
    );
    s3.destroy();
    const check = await fetch(`${app.url}/storage/private/tamper.txt`, {
      headers: { authorization: `Bearer ${KEYS.private}` },
    });
    assert.equal(check.status, 404);
  });

  it('a skewed client clock gets RequestTimeTooSkewed', async () => {
    offsetMs = 60 * 60_000;
    try {
      const s3 = new S3Client({
        endpoint: `${app.url}/storage`,
        forcePathStyle: true,
        region: 'us-east-1',
        credentials: { accessKeyId: 'private', secretAccessKey: KEYS.private },
        maxAttempts: 1,
      });
      await assert.rejects(s3.send(new ListObjectsV2Command({ Bucket: 'private' })), {
        name: 'RequestTimeTooSkewed',
      });
      s3.destroy();
    } finally {
      offsetMs = 0;
    }
  });

  it('an expired presigned URL is refused', async () => {
    const s3 = s3ClientFor(app.url, 'private', KEYS.private);
    await s3.send(new PutObjectCommand({ Bucket: 'private', Key: 'soon.txt', Body: 'x' }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'private', Key: 'soon.txt' }), {
      expiresIn: 60,
    });
    assert.equal((await fetch(url)).status, 200);
    offsetMs = 61_000;
    try {
      const res = await fetch(url);
      assert.equal(res.status, 403);
      assert.match(await res.text(), /expired/);
    } finally {
      offsetMs = 0;
    }
    const rest = await fetch(`${app.url}/storage/presign/private/soon.txt?expires=1`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.private}` },
    });
    const { url: short } = (await rest.json()) as { url: string };
    offsetMs = 2_000;
    try {
      assert.equal((await fetch(short)).status, 403);
    } finally {
      offsetMs = 0;
    }
    s3.destroy();
  });

  it('keys with .., //, encoded slashes and a leading / stay inside the bucket', async () => {
    const auth = { authorization: `Bearer ${KEYS.uploads}` };
    const paths = [
      '/storage/uploads/../../../escape-1',
      '/storage/uploads/..%2F..%2F..%2Fescape-2',
      '/storage/uploads/%2E%2E/%2E%2E/escape-3',
      '/storage/uploads//etc/passwd',
      '/storage/uploads/a/../../../../escape-4',
      '/storage/uploads/%00nul%5C..%5Cwin',
    ];
    for (const path of paths) {
      const put = await rawRequest(app.url, 'PUT', path, auth, `content of ${path}`);
      assert.equal(put.status, 200, `${path}: ${put.body}`);
      const get = await rawRequest(app.url, 'GET', path, {});
      assert.equal(get.body, `content of ${path}`);
    }
    for (const file of await filesUnder(app.dataDir)) {
      const rel = relative(app.dataDir, file);
      assert.ok(!rel.startsWith('..'), rel);
      assert.ok(
        rel.startsWith(join('storage', 'uploads')) ||
          rel.startsWith(join('storage', 'private')) ||
          !rel.includes('escape'),
        rel,
      );
    }
    const s3 = s3ClientFor(app.url, 'uploads', KEYS.uploads);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'uploads' }));
    const keys = listed.Contents?.map((c) => c.Key) ?? [];
    assert.ok(keys.includes('../../../escape-1'), keys.join(','));
    assert.ok(keys.includes('/etc/passwd'));
    s3.destroy();
  });
});
