import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { TestApp } from '../helpers/app.ts';
import { KEYS, startStorageApp } from './storage-app.ts';

type TextResult = { content: { type: string; text: string }[]; isError?: boolean };

describe('storage MCP at /storage/mcp/', () => {
  let app: TestApp;
  let client: Client;
  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as TextResult;
  const json = (r: TextResult) => JSON.parse(r.content[0]?.text ?? 'null');

  before(async () => {
    app = await startStorageApp();
    client = new Client({ name: 'storage-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${app.url}/storage/mcp/`)));
  });
  after(async () => {
    await client.close();
    await app.close();
  });

  it('lists the original seven tools and the two older names', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [
      'delete_object',
      'download_object',
      'get_object',
      'list_buckets',
      'list_objects',
      'object_info',
      'presign_url',
      'put_object',
      'upload_object',
    ]);
    const required = (name: string) =>
      ((tools.find((t) => t.name === name)?.inputSchema.required ?? []) as string[]).sort();
    assert.deepEqual(required('upload_object'), ['auth_key', 'bucket', 'content', 'key']);
    assert.deepEqual(required('download_object'), ['bucket', 'key']);
    assert.deepEqual(required('object_info'), ['bucket', 'key']);
    assert.deepEqual(required('list_objects'), ['bucket']);
    assert.deepEqual(required('presign_url'), ['auth_key', 'bucket', 'key']);
  });

  it('upload, download, info, list, presign and delete under the original names and shapes', async () => {
    const up = json(
      await call('upload_object', {
        bucket: 'private',
        key: 'o/notes.txt',
        content: 'héllo',
        auth_key: KEYS.private,
      }),
    );
    assert.equal(up.ok, true);
    assert.equal(up.size, Buffer.byteLength('héllo'));
    assert.match(up.content_type, /^text\/plain/);
    assert.match(up.etag, /^"[0-9a-f]{32}"$/);

    // MIME detected from the bytes (PNG magic) and, for text, from the key's extension.
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
    const pngUp = json(
      await call('upload_object', {
        bucket: 'uploads',
        key: 'o/pic',
        content: png.toString('base64'),
        encoding: 'base64',
        auth_key: KEYS.uploads,
      }),
    );
    assert.equal(pngUp.content_type, 'image/png');
    const jsonUp = json(
      await call('upload_object', {
        bucket: 'uploads',
        key: 'o/d.json',
        content: '{"a":1}',
        auth_key: KEYS.uploads,
      }),
    );
    assert.equal(jsonUp.content_type, 'application/json');
    const given = json(
      await call('upload_object', {
        bucket: 'uploads',
        key: 'o/x.json',
        content: 'plain',
        content_type: 'text/x-mine',
        auth_key: KEYS.uploads,
      }),
    );
    assert.equal(given.content_type, 'text/x-mine');
    assert.equal(
      (
        await call('upload_object', {
          bucket: 'uploads',
          key: 'o/bad',
          content: '@@@',
          encoding: 'base64',
          auth_key: KEYS.uploads,
        })
      ).isError,
      true,
    );

    const text = json(
      await call('download_object', { bucket: 'private', key: 'o/notes.txt', auth_key: KEYS.private }),
    );
    assert.deepEqual([text.ok, text.content, text.encoding, text.size], [true, 'héllo', 'utf-8', up.size]);
    const asB64 = json(
      await call('download_object', {
        bucket: 'private',
        key: 'o/notes.txt',
        auth_key: KEYS.private,
        encoding: 'base64',
      }),
    );
    assert.equal(Buffer.from(asB64.content, 'base64').toString('utf8'), 'héllo');
    // Bytes that are not UTF-8 come back as base64 even when text was asked for; public: no key.
    const pic = json(await call('download_object', { bucket: 'uploads', key: 'o/pic' }));
    assert.equal(pic.encoding, 'base64');
    assert.deepEqual(Buffer.from(pic.content, 'base64'), png);
    assert.equal((await call('download_object', { bucket: 'private', key: 'o/notes.txt' })).isError, true);

    const info = json(await call('object_info', { bucket: 'uploads', key: 'o/pic' }));
    assert.deepEqual(
      [info.ok, info.size, info.content_type, info.etag],
      [true, png.length, 'image/png', pngUp.etag],
    );
    assert.ok(Date.parse(info.expires_at) > Date.now(), 'uploads objects expire (bucket TTL)');
    assert.ok(Date.parse(info.uploaded_at) <= Date.now());
    const privInfo = json(
      await call('object_info', { bucket: 'private', key: 'o/notes.txt', auth_key: KEYS.private }),
    );
    assert.equal(privInfo.expires_at, null);
    assert.equal((await call('object_info', { bucket: 'private', key: 'o/notes.txt' })).isError, true);
    assert.equal((await call('object_info', { bucket: 'uploads', key: 'o/none' })).isError, true);

    const listed = json(await call('list_objects', { bucket: 'uploads', prefix: 'o/' }));
    assert.equal(listed.ok, true);
    assert.equal(listed.bucket, 'uploads');
    assert.equal(listed.count, 3);
    assert.deepEqual(
      listed.objects.map((o: { key: string; content_type: string }) => [o.key, o.content_type]),
      [
        ['o/d.json', 'application/json'],
        ['o/pic', 'image/png'],
        ['o/x.json', 'text/x-mine'],
      ],
    );
    assert.equal(json(await call('list_objects', { bucket: 'uploads', prefix: 'o/', max_keys: 1 })).count, 1);
    assert.equal((await call('list_objects', { bucket: 'uploads', max_keys: 1001 })).isError, true);

    const pub = json(await call('presign_url', { bucket: 'uploads', key: 'o/pic', auth_key: KEYS.uploads }));
    assert.deepEqual([pub.ok, pub.expires], [true, null]);
    const priv = json(
      await call('presign_url', { bucket: 'private', key: 'o/notes.txt', auth_key: KEYS.private }),
    );
    assert.equal(priv.expires, 3600);
    assert.equal(await (await fetch(priv.url)).text(), 'héllo');

    const buckets = json(await call('list_buckets', { auth_key: KEYS.uploads }));
    assert.deepEqual(
      buckets.buckets.map((b: { name: string; public: boolean }) => [b.name, b.public]),
      [['uploads', true]],
    );
    assert.equal(typeof buckets.buckets[0].ttl_seconds, 'number');

    assert.equal((await call('delete_object', { bucket: 'uploads', key: 'o/pic' })).isError, true);
    assert.equal(
      json(await call('delete_object', { bucket: 'uploads', key: 'o/pic', auth_key: KEYS.uploads })).ok,
      true,
    );
    assert.equal((await call('object_info', { bucket: 'uploads', key: 'o/pic' })).isError, true);
  });

  it('download_object refuses an object over 50 MB, naming the way to get it', async () => {
    const put = await fetch(`${app.url}/storage/uploads/big.bin`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${KEYS.uploads}` },
      body: Buffer.alloc(50 * 1024 * 1024 + 1),
    });
    assert.equal(put.status, 200);
    const big = await call('download_object', { bucket: 'uploads', key: 'big.bin' });
    assert.equal(big.isError, true);
    assert.match(big.content[0]?.text ?? '', /52428800/);
    assert.equal(
      json(await call('object_info', { bucket: 'uploads', key: 'big.bin' })).size,
      50 * 1024 * 1024 + 1,
    );
    await call('delete_object', { bucket: 'uploads', key: 'big.bin', auth_key: KEYS.uploads });
  });

  it('the older names put_object/get_object still work, with their first answers', async () => {
    const put = await call('put_object', {
      auth_key: KEYS.private,
      bucket: 'private',
      key: 'm/hello.txt',
      content: 'hi mcp',
    });
    assert.equal(put.isError, undefined);
    assert.match(json(put).contentType, /^text\/plain/);
    const listed = json(
      await call('list_objects', { auth_key: KEYS.private, bucket: 'private', prefix: 'm/' }),
    );
    assert.deepEqual(
      listed.objects.map((o: { key: string }) => o.key),
      ['m/hello.txt'],
    );
    const got = json(
      await call('get_object', { auth_key: KEYS.private, bucket: 'private', key: 'm/hello.txt' }),
    );
    assert.equal(got.content, 'hi mcp');
    const signed = json(
      await call('presign_url', {
        auth_key: KEYS.private,
        bucket: 'private',
        key: 'm/hello.txt',
        expires: 120,
      }),
    );
    assert.equal(signed.expires, 120);
    assert.equal(await (await fetch(signed.url)).text(), 'hi mcp');
    const bin = await call('put_object', {
      auth_key: KEYS.uploads,
      bucket: 'uploads',
      key: 'm/bin',
      content: Buffer.from([0, 1, 2, 255]).toString('base64'),
      encoding: 'base64',
    });
    assert.equal(bin.isError, undefined);
    const binGot = json(await call('get_object', { bucket: 'uploads', key: 'm/bin' }));
    assert.equal(binGot.encoding, 'base64');
    assert.deepEqual([...Buffer.from(binGot.content, 'base64')], [0, 1, 2, 255]);
    await call('delete_object', { auth_key: KEYS.private, bucket: 'private', key: 'm/hello.txt' });
    const gone = await call('get_object', { auth_key: KEYS.private, bucket: 'private', key: 'm/hello.txt' });
    assert.equal(gone.isError, true);
  });

  it('list_buckets by key; a wrong or missing key is refused', async () => {
    assert.deepEqual(
      json(await call('list_buckets', { auth_key: KEYS.master })).buckets.map(
        (b: { name: string }) => b.name,
      ),
      ['uploads', 'private'],
    );
    assert.equal((await call('list_buckets', { auth_key: 'wrong' })).isError, true);
    assert.equal((await call('list_buckets', { auth_key: '' })).isError, true);
    assert.equal((await call('get_object', { bucket: 'private', key: 'x' })).isError, true);
    assert.equal(
      (await call('put_object', { auth_key: KEYS.uploads, bucket: 'private', key: 'x', content: 'x' }))
        .isError,
      true,
    );
  });
});
