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

  it('lists the six tools', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), [
      'delete_object',
      'get_object',
      'list_buckets',
      'list_objects',
      'presign_url',
      'put_object',
    ]);
  });

  it('put, list, get, presign and delete with auth_key', async () => {
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
      listed.map((o: { key: string }) => o.key),
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
      json(await call('list_buckets', { auth_key: KEYS.master })).map((b: { name: string }) => b.name),
      ['uploads', 'private'],
    );
    assert.equal((await call('list_buckets', { auth_key: 'wrong' })).isError, true);
    assert.equal((await call('get_object', { bucket: 'private', key: 'x' })).isError, true);
    assert.equal(
      (await call('put_object', { auth_key: KEYS.uploads, bucket: 'private', key: 'x', content: 'x' }))
        .isError,
      true,
    );
  });
});
