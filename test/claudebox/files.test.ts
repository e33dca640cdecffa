import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestApp } from '../helpers/app.ts';
import {
  assertHostDirIntact,
  isHostPasswd,
  makeHostDir,
  repeatConcurrently,
  startSymlinkSwapper,
} from '../workspaces/symlink-swapper.ts';
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

  it('never follows a directory swapped for a link to /etc mid-request (1,000 GETs, lists)', async () => {
    const mine = 'workspace copy, not the host\n';
    assert.equal((await put(t, 'race/dd/passwd', mine)).status, 201);
    const hostPasswd = await readFile('/etc/passwd', 'utf8');
    const isHost = (text: string) => isHostPasswd(text, hostPasswd);
    const swapper = startSymlinkSwapper({
      workspaceDir: join(t.dataDir, 'workspaces/users/claudebox/race'),
      name: 'dd',
      target: '/etc',
    });
    let hits = 0;
    let served = 0;
    let swaps = 0;
    const statuses = new Set<number>();
    try {
      await repeatConcurrently(1000, 4, async (i) => {
        const res = await fetch(`${t.url}/claudebox/files/race/dd/passwd`, { headers: AUTH });
        const text = await res.text();
        statuses.add(res.status);
        if (isHost(text)) hits++;
        else if (res.status === 200 && text === mine) served++;
        if (i % 10 === 0) {
          const list = await fetch(`${t.url}/claudebox/files/race`, { headers: AUTH });
          const body = await list.text();
          if (isHost(body)) hits++;
          if (list.status === 200) {
            for (const f of (JSON.parse(body) as { files: Array<{ path: string }> }).files) {
              if (!['dd/passwd', 'dd.parked/passwd'].includes(f.path)) hits++;
            }
          }
        }
      });
    } finally {
      swaps = await swapper.stop();
    }
    assert.ok(swaps > 0, 'the swap loop ran');
    assert.equal(hits, 0, 'no response carried host content or host file names');
    assert.ok(served > 0, 'reads that met the real directory were served');
    // 400: a link met on the way; 404: `dd` missing at that instant; 409: `dd` moved mid-call.
    for (const status of statuses) assert.ok([200, 400, 404, 409].includes(status), `status ${status}`);
  });

  /**
   * `dd` in workspace `ws` swaps with a link to a host directory holding canary.txt and
   * victim.txt while `request` runs 1,000 times, 4 at a time; the host directory must come out
   * exactly as it went in. Returns how many requests answered `okStatus`.
   */
  async function underSwaps(
    ws: string,
    okStatus: number,
    allowed: number[],
    request: (i: number) => Promise<Response>,
  ): Promise<number> {
    const host = join(t.dataDir, `host-${ws}`);
    await makeHostDir(host);
    assert.equal((await put(t, `${ws}/dd/victim.txt`, 'workspace victim')).status, 201);
    const swapper = startSymlinkSwapper({
      workspaceDir: join(t.dataDir, 'workspaces/users/claudebox', ws),
      name: 'dd',
      target: host,
      restore: { file: 'victim.txt', text: 'workspace victim' },
    });
    let swaps = 0;
    let ok = 0;
    const statuses = new Set<number>();
    try {
      await repeatConcurrently(1000, 4, async (i) => {
        const res = await request(i);
        await res.arrayBuffer();
        statuses.add(res.status);
        if (res.status === okStatus) ok++;
      });
    } finally {
      swaps = await swapper.stop();
    }
    assert.ok(swaps > 0, 'the swap loop ran');
    await assertHostDirIntact(host);
    for (const status of statuses) assert.ok([okStatus, ...allowed].includes(status), `status ${status}`);
    return ok;
  }

  it('never writes outside through a directory swapped for a link mid-PUT', async () => {
    const written = await underSwaps('race-put', 201, [400, 404, 409], (i) =>
      put(t, 'race-put/dd/canary.txt', `pwned ${i}`),
    );
    assert.ok(written > 0, 'writes that met the real directory went through');
  });

  it('never deletes outside through a directory swapped for a link mid-DELETE', async () => {
    const deleted = await underSwaps('race-delete', 200, [400, 404, 409], () =>
      fetch(`${t.url}/claudebox/files/race-delete/dd/victim.txt`, { method: 'DELETE', headers: AUTH }),
    );
    assert.ok(deleted > 0, 'deletes that met the real directory went through');
  });
});
