import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { TestApp } from '../helpers/app.ts';
import { KEYS, s3ClientFor, startStorageApp } from './storage-app.ts';

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex');

/** Signs a request by hand so a test controls exactly which headers the signature covers. */
async function signByHand(opts: {
  url: string;
  method: string;
  headers: Record<string, string>;
  secret: string;
  accessKeyId: string;
}): Promise<Record<string, string>> {
  const u = new URL(opts.url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secret },
    region: 'us-east-1',
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    // Otherwise the signer adds (and signs) x-amz-content-sha256 itself.
    applyChecksum: false,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: opts.method,
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: u.pathname,
      headers: opts.headers,
    }),
  );
  return signed.headers as Record<string, string>;
}

/** A STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload built by hand; `tamper` edits chunk signatures. */
async function signedChunkedPut(
  url: string,
  chunks: Buffer[],
  tamper: (signature: string, index: number) => string = (s) => s,
): Promise<Response> {
  const u = new URL(url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: 'private', secretAccessKey: KEYS.private },
    region: 'us-east-1',
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const signingDate = new Date();
  const decodedLength = chunks.reduce((n, c) => n + c.length, 0);
  const signed = await signer.sign(
    new HttpRequest({
      method: 'PUT',
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: u.pathname,
      headers: {
        host: u.host,
        'content-encoding': 'aws-chunked',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'x-amz-decoded-content-length': String(decodedLength),
      },
    }),
    { signingDate },
  );
  const headers = signed.headers as Record<string, string>;
  const longDate = headers['x-amz-date'] ?? '';
  const scope = `${longDate.slice(0, 8)}/us-east-1/s3/aws4_request`;
  let previous = /Signature=([0-9a-f]+)/.exec(headers.authorization ?? '')?.[1] ?? '';
  const framed: Buffer[] = [];
  for (const [i, chunk] of [...chunks, Buffer.alloc(0)].entries()) {
    const stringToSign = [
      'AWS4-HMAC-SHA256-PAYLOAD',
      longDate,
      scope,
      previous,
      EMPTY_SHA256,
      createHash('sha256').update(chunk).digest('hex'),
    ].join('\n');
    previous = await signer.sign(stringToSign, { signingDate });
    framed.push(Buffer.from(`${chunk.length.toString(16)};chunk-signature=${tamper(previous, i)}\r\n`));
    framed.push(chunk, Buffer.from('\r\n'));
  }
  return fetch(url, { method: 'PUT', headers, body: new Uint8Array(Buffer.concat(framed)) });
}

describe('storage: only signed x-amz-* headers are obeyed; overrides need auth', () => {
  let app: TestApp;
  before(async () => {
    app = await startStorageApp();
    const payroll = await fetch(`${app.url}/storage/private/payroll.csv`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${KEYS.private}` },
      body: 'name,salary\nalice,1000000\n',
    });
    assert.equal(payroll.status, 200);
  });
  after(() => app.close());

  it('a presigned PUT plus an unsigned x-amz-copy-source does not copy (AccessDenied)', async () => {
    // The operator (master key) hands out an upload URL for one public object.
    const master = s3ClientFor(app.url, 'uploads', KEYS.master);
    const url = await getSignedUrl(
      master,
      new PutObjectCommand({ Bucket: 'uploads', Key: 'uploads/avatar.png' }),
      {
        expiresIn: 600,
      },
    );
    master.destroy();
    const attack = await fetch(url, {
      method: 'PUT',
      headers: { 'x-amz-copy-source': '/private/payroll.csv' },
    });
    assert.equal(attack.status, 403);
    const text = await attack.text();
    assert.match(text, /<Code>AccessDenied<\/Code>/);
    assert.match(text, /x-amz-copy-source/);
    const leaked = await fetch(`${app.url}/storage/uploads/uploads/avatar.png`);
    assert.equal(leaked.status, 404, 'nothing was copied into the public bucket');

    const extras: Record<string, string>[] = [
      { 'x-amz-meta-owner': 'attacker' },
      { 'x-amz-metadata-directive': 'REPLACE' },
      { 'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER' },
    ];
    for (const extra of extras) {
      const res = await fetch(url, { method: 'PUT', headers: extra, body: 'x' });
      assert.equal(res.status, 403, JSON.stringify(extra));
    }
    // The URL itself still works as intended.
    const honest = await fetch(url, { method: 'PUT', body: 'a picture' });
    assert.equal(honest.status, 200);
    assert.equal(await (await fetch(`${app.url}/storage/uploads/uploads/avatar.png`)).text(), 'a picture');
  });

  it('a header-signed request with an unsigned x-amz-copy-source is refused', async () => {
    const url = `${app.url}/storage/uploads/copied.csv`;
    const headers = await signByHand({
      url,
      method: 'PUT',
      headers: { host: new URL(url).host, 'x-amz-content-sha256': EMPTY_SHA256 },
      accessKeyId: 'uploads',
      secret: KEYS.master,
    });
    const res = await fetch(url, {
      method: 'PUT',
      headers: { ...headers, 'x-amz-copy-source': '/private/payroll.csv' },
    });
    assert.equal(res.status, 403);
    assert.equal((await fetch(url)).status, 404);
  });

  it('header auth without a signed x-amz-content-sha256 cannot smuggle a body', async () => {
    const url = `${app.url}/storage/private/smuggled.txt`;
    // Signed over an empty payload and without the payload-hash header: the body is not covered.
    const headers = await signByHand({
      url,
      method: 'PUT',
      headers: { host: new URL(url).host },
      accessKeyId: 'private',
      secret: KEYS.private,
    });
    assert.equal(headers['x-amz-content-sha256'], undefined);
    const res = await fetch(url, { method: 'PUT', headers, body: 'swapped in by an attacker' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /x-amz-content-sha256/);
    const check = await fetch(url, { headers: { authorization: `Bearer ${KEYS.private}` } });
    assert.equal(check.status, 404);
  });

  it('header auth without a signed Host is refused', async () => {
    const url = `${app.url}/storage/private/payroll.csv`;
    const headers = await signByHand({
      url,
      method: 'GET',
      headers: { 'x-amz-content-sha256': EMPTY_SHA256 },
      accessKeyId: 'private',
      secret: KEYS.private,
    });
    assert.doesNotMatch(headers.authorization ?? '', /SignedHeaders=[^,]*host/);
    const res = await fetch(url, { headers });
    assert.equal(res.status, 403);
    assert.doesNotMatch(await res.text(), /alice/);
    // The same request with Host signed is served.
    const good = await signByHand({
      url,
      method: 'GET',
      headers: { host: new URL(url).host, 'x-amz-content-sha256': EMPTY_SHA256 },
      accessKeyId: 'private',
      secret: KEYS.private,
    });
    const ok = await fetch(url, { headers: good });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /alice/);
  });

  it('X-Amz-Date decides the signing time: a bad Date header is ignored, a bad X-Amz-Date is refused', async () => {
    const url = `${app.url}/storage/private/payroll.csv`;
    const headers = await signByHand({
      url,
      method: 'GET',
      headers: { host: new URL(url).host, 'x-amz-content-sha256': EMPTY_SHA256 },
      accessKeyId: 'private',
      secret: KEYS.private,
    });
    for (const date of ['Bad Date', '', 'Mon, 01 Jan 1900 00:00:00 GMT']) {
      const res = await fetch(url, { headers: { ...headers, date } });
      assert.equal(res.status, 200, date);
    }
    for (const amzDate of ['Bad Date', '', '19000101T000000Z']) {
      const res = await fetch(url, { headers: { ...headers, 'x-amz-date': amzDate } });
      assert.equal(res.status, 403, amzDate);
      assert.doesNotMatch(await res.text(), /alice/);
    }
  });

  it('signed aws-chunked uploads: a valid chain is stored, one altered chunk signature is not', async () => {
    const chunks = [Buffer.alloc(70_000, 'a'), Buffer.alloc(1234, 'b')];
    const url = `${app.url}/storage/private/chunked.bin`;
    const good = await signedChunkedPut(url, chunks);
    assert.equal(good.status, 200, await good.text());
    const auth = { authorization: `Bearer ${KEYS.private}` };
    const stored = Buffer.from(await (await fetch(url, { headers: auth })).arrayBuffer());
    assert.ok(stored.equals(Buffer.concat(chunks)));

    const flip = (sig: string) => `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
    const badUrl = `${app.url}/storage/private/chunked-bad.bin`;
    const bad = await signedChunkedPut(badUrl, chunks, (sig, i) => (i === 1 ? flip(sig) : sig));
    assert.equal(bad.status, 403);
    assert.match(await bad.text(), /SignatureDoesNotMatch/);
    assert.equal((await fetch(badUrl, { headers: auth })).status, 404);
  });

  it('anonymous response-* overrides are refused; an authenticated caller may use them', async () => {
    const put = await fetch(`${app.url}/storage/uploads/note.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${KEYS.uploads}`, 'content-type': 'text/plain' },
      body: '<script>alert(document.cookie)</script>',
    });
    assert.equal(put.status, 200);
    const anonymous = await fetch(`${app.url}/storage/uploads/note.txt?response-content-type=text/html`);
    assert.equal(anonymous.status, 400);
    assert.notEqual(anonymous.headers.get('content-type'), 'text/html');
    assert.doesNotMatch(await anonymous.text(), /<script>/);
    const anonymousHead = await fetch(
      `${app.url}/storage/uploads/note.txt?response-content-disposition=inline`,
      { method: 'HEAD' },
    );
    assert.equal(anonymousHead.status, 400);
    const plain = await fetch(`${app.url}/storage/uploads/note.txt`);
    assert.equal(plain.headers.get('content-type'), 'text/plain');
    const signed = await fetch(`${app.url}/storage/uploads/note.txt?response-content-type=text/csv`, {
      headers: { authorization: `Bearer ${KEYS.uploads}` },
    });
    assert.equal(signed.status, 200);
    assert.equal(signed.headers.get('content-type'), 'text/csv');
  });
});
