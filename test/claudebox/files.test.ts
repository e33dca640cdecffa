import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../helpers/app.ts';
import { AUTH, rawRequest, run, startClaudeboxApp } from './claudebox-app.ts';

const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

function put(t: TestApp, path: string, body: BodyInit, headers: Record<string, string> = {}) {
  return fetch(`${t.url}/claudebox/files/${path}`, {
    method: 'PUT',
    headers: { ...AUTH, ...headers },
    body,
    duplex: 'half',
  } as RequestInit);
}

/** `total` bytes of a repeating pattern, produced chunk by chunk: never held in memory at once. */
function generatedBody(
  total: number,
  chunk = 1024 * 1024,
): { stream: ReadableStream<Uint8Array>; sha: () => string } {
  const hash = createHash('sha256');
  const block = Buffer.alloc(chunk);
  for (let i = 0; i < chunk; i++) block[i] = (i * 31) & 0xff;
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= total) return controller.close();
      const part = block.subarray(0, Math.min(chunk, total - sent));
      hash.update(part);
      sent += part.length;
      controller.enqueue(new Uint8Array(part));
    },
  });
  return { stream, sha: () => hash.digest('hex') };
}

describe('claudebox files API', () => {
  let t: TestApp;
  before(async () => {
    t = await startClaudeboxApp();
  });
  after(async () => {
    await t?.close();
  });

  it('round-trips text and binary files with detected types, lists and deletes them', async () => {
    assert.equal((await put(t, 'proj/notes/hello.txt', 'hello world\n')).status, 201);
    assert.equal((await put(t, 'proj/img/pixel.bin', PNG)).status, 201);
    const text = await fetch(`${t.url}/claudebox/files/proj/notes/hello.txt`, { headers: AUTH });
    assert.equal(text.status, 200);
    assert.match(String(text.headers.get('content-type')), /^text\/plain/);
    assert.equal(await text.text(), 'hello world\n');
    const img = await fetch(`${t.url}/claudebox/files/proj/img/pixel.bin`, { headers: AUTH });
    assert.equal(img.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await img.arrayBuffer()), PNG);
    const noise = Buffer.from([0x00, 0xff, 0xfe, 0x01, 0x80, 0x00]);
    await put(t, 'proj/noise', noise);
    const raw = await fetch(`${t.url}/claudebox/files/proj/noise`, { headers: AUTH });
    assert.equal(raw.headers.get('content-type'), 'application/octet-stream');

    const list = (await (await fetch(`${t.url}/claudebox/files/proj`, { headers: AUTH })).json()) as {
      files: Array<{ path: string; size: number; mtime: string }>;
    };
    assert.deepEqual(
      list.files.map((f) => [f.path, f.size]),
      [
        ['img/pixel.bin', PNG.length],
        ['noise', noise.length],
        ['notes/hello.txt', 12],
      ],
    );
    assert.ok(!Number.isNaN(Date.parse(list.files[0]?.mtime ?? '')));
    const root = (await (await fetch(`${t.url}/claudebox/files`, { headers: AUTH })).json()) as {
      workspaces: Array<{ name: string }>;
    };
    assert.ok(root.workspaces.some((w) => w.name === 'proj'));

    const del = await fetch(`${t.url}/claudebox/files/proj/notes/hello.txt`, {
      method: 'DELETE',
      headers: AUTH,
    });
    assert.equal(del.status, 200);
    const gone = await fetch(`${t.url}/claudebox/files/proj/notes/hello.txt`, { headers: AUTH });
    assert.equal(gone.status, 404);
    assert.equal(((await gone.json()) as { error: { code: string } }).error.code, 'not_found');
    const delAgain = await fetch(`${t.url}/claudebox/files/proj/notes/hello.txt`, {
      method: 'DELETE',
      headers: AUTH,
    });
    assert.equal(delAgain.status, 404);
    assert.equal((await fetch(`${t.url}/claudebox/files/no-such-ws`, { headers: AUTH })).status, 404);
    assert.equal((await fetch(`${t.url}/claudebox/files/proj/x`)).status, 401);
  });

  it('shares one directory with runs: what a run writes is listed, what is uploaded the run reads', async () => {
    await put(t, 'shared/input.txt', 'from-upload-77');
    const res = await run(t, {
      prompt: '[[tool:Bash {"command":"cat input.txt && echo made-by-run > made.txt"}]]',
      workspace: 'shared',
    });
    assert.match(String(res.json.result), /from-upload-77/);
    const made = await fetch(`${t.url}/claudebox/files/shared/made.txt`, { headers: AUTH });
    assert.equal(await made.text(), 'made-by-run\n');
  });

  it('streams a 200 MB upload and download without holding it', async () => {
    const size = 200 * 1024 * 1024;
    const body = generatedBody(size);
    const res = await put(t, 'big/blob.bin', body.stream);
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as { size: number }).size, size);
    const down = await fetch(`${t.url}/claudebox/files/big/blob.bin`, { headers: AUTH });
    assert.equal(down.headers.get('content-length'), String(size));
    const hash = createHash('sha256');
    for await (const chunk of down.body as unknown as AsyncIterable<Uint8Array>) hash.update(chunk);
    assert.equal(hash.digest('hex'), body.sha());
  });

  it('refuses uploads over FILES_MAX_BYTES, by Content-Length and while streaming', async () => {
    t.env.FILES_MAX_BYTES = String(1024 * 1024);
    t.deps.config.reload();
    try {
      await put(t, 'limits/keep.txt', 'previous version');
      const declared = await put(t, 'limits/keep.txt', Buffer.alloc(2 * 1024 * 1024));
      assert.equal(declared.status, 413);
      assert.equal(((await declared.json()) as { error: { code: string } }).error.code, 'payload_too_large');
      const streamed = await put(
        t,
        'limits/keep.txt',
        generatedBody(3 * 1024 * 1024, 64 * 1024).stream,
      ).catch((err: Error) => err);
      // The server answers 413 and closes the connection; a client still sending may see either.
      if (!(streamed instanceof Error)) assert.equal(streamed.status, 413);
      const kept = await fetch(`${t.url}/claudebox/files/limits/keep.txt`, { headers: AUTH });
      assert.equal(await kept.text(), 'previous version');
      const list = (await (await fetch(`${t.url}/claudebox/files/limits`, { headers: AUTH })).json()) as {
        files: Array<{ path: string }>;
      };
      assert.deepEqual(
        list.files.map((f) => f.path),
        ['keep.txt'],
        'no temp file is left behind',
      );
    } finally {
      t.env.FILES_MAX_BYTES = undefined;
      t.deps.config.reload();
    }
  });

  it('rejects the traversal corpus on every files route', async () => {
    await put(t, 'safe/ok.txt', 'ok');
    const outside = join(t.dataDir, 'outside-secret.txt');
    await writeFile(outside, 'secret');
    const wsDir = join(t.dataDir, 'workspaces', 'users', 'claudebox', 'safe');
    await symlink(outside, join(wsDir, 'link.txt'));
    await mkdir(join(t.dataDir, 'outside-dir'), { recursive: true });
    await symlink(join(t.dataDir, 'outside-dir'), join(wsDir, 'linkdir'));
    await symlink(
      join(t.dataDir, 'outside-dir'),
      join(t.dataDir, 'workspaces', 'users', 'claudebox', 'linkws'),
    );

    const filePaths = [
      'safe/../../other/ok.txt',
      'safe/%2e%2e/%2e%2e/x',
      'safe/..%2F..%2Fx',
      'safe/a%2Fb',
      'safe/a%5Cb',
      'safe//etc/passwd',
      'safe/a%00b',
      'safe/a\\b',
      '../safe/ok.txt',
      '%2e%2e/x',
      'safe/link.txt',
      'safe/linkdir/x.txt',
      'linkws/x.txt',
    ];
    for (const p of filePaths) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const res = await rawRequest(
          t,
          method,
          `/claudebox/files/${p}`,
          method === 'PUT' ? 'pwned' : undefined,
        );
        assert.ok(res.status === 400 || res.status === 404, `${method} ${p} → ${res.status} ${res.text}`);
        assert.match(res.text, /"error":\{"code":"(invalid_request|not_found)"/);
      }
    }
    for (const p of ['..', '%2e%2e', 'linkws', 'a%2Fb']) {
      const res = await rawRequest(t, 'GET', `/claudebox/files/${p}`);
      assert.ok(res.status === 400 || res.status === 404, `list ${p} → ${res.status}`);
    }
    assert.equal(await readFile(outside, 'utf8'), 'secret');
    const listed = (await (await fetch(`${t.url}/claudebox/files/safe`, { headers: AUTH })).json()) as {
      files: Array<{ path: string }>;
    };
    assert.deepEqual(
      listed.files.map((f) => f.path),
      ['ok.txt'],
      'links are never listed',
    );
  });
});
