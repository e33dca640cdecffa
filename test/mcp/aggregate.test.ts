import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { browserSurface } from '../../src/surfaces/browser/index.ts';
import { makeMcpSurface } from '../../src/surfaces/mcp/index.ts';
import { storageSurface } from '../../src/surfaces/storage/index.ts';
import { type FixtureServer, startFixtureServer } from '../browser/fixture-server.ts';
import { MASTER, TOKEN } from '../claudebox/claudebox-app.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { skipWithout } from '../helpers/system-parts.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The gateway's /mcp/ (seed 002's "MCP server (all tools)"): every served MCP server's tools
 * under LiteLLM's `<server>-<tool>` names, each call reaching its own server with the same
 * authorisation and ownership as that server's own endpoint.
 */
const BROWSER_TOKEN = 'agg-browser-token';
const STORAGE = { master: 'agg-hybrids3-master', private: 'agg-private-key' };
const USERS = { alice: 'sk-agg-alice', bob: 'sk-agg-bob' };
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

type Content = Array<{ type: string; text?: string }>;

async function connect(t: TestApp, path: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'aggregate-test', version: '1.0.0' });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${t.url}${path}`), { requestInit: { headers } }),
  );
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>) {
  const res = await client.callTool({ name, arguments: args });
  return { isError: res.isError === true, text: String((res.content as Content)[0]?.text ?? '') };
}

async function callJson(client: Client, name: string, args: Record<string, unknown>) {
  const res = await call(client, name, args);
  assert.equal(res.isError, false, `${name}: ${res.text}`);
  return JSON.parse(res.text) as Record<string, unknown>;
}

const toolsOf = async (client: Client): Promise<Tool[]> => (await client.listTools()).tools;

const sessionIdOf = (client: Client): string => {
  const id = (client.transport as StreamableHTTPClientTransport).sessionId;
  assert.ok(id);
  return id;
};

describe('the gateway /mcp/ aggregates every served MCP server', { timeout: 180_000 }, () => {
  let t: TestApp;
  let fixture: FixtureServer;
  before(async () => {
    t = await startTestApp({
      surfaces: [makeMcpSurface(), browserSurface, storageSurface],
      env: {
        LITELLM_MASTER_KEY: MASTER,
        CLAUDEBOX_API_TOKEN: TOKEN,
        API_KEYS: `alice:${USERS.alice},bob:${USERS.bob}`,
        HYBRIDS3_MASTER_KEY: STORAGE.master,
        HYBRIDS3_BUCKETS: 'uploads:public,private:private',
        HYBRIDS3_PRIVATE_KEY: STORAGE.private,
        STEALTHY_AUTO_BROWSE_AUTH_TOKEN: BROWSER_TOKEN,
        STEALTHY_AUTO_BROWSE_NUM_REPLICAS: '1',
        STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE: '1',
        STEALTHY_AUTO_BROWSE_ACTION_TIMEOUT_MS: '10000',
        CHROMIUM_PATH,
      },
    });
    fixture = await startFixtureServer();
  });
  after(async () => {
    await t?.close();
    await fixture?.close();
  });

  it('lists each server’s own tools, definitions unchanged, as <server>-<tool>; names unique', async () => {
    const gateway = await connect(t, '/mcp/', MASTER);
    const all = await toolsOf(gateway);
    const names = all.map((x) => x.name);
    assert.equal(new Set(names).size, names.length, 'tool names are unique');
    for (const [server, path, token] of [
      ['claudebox', '/claudebox/mcp/', TOKEN],
      ['hybrids3', '/storage/mcp/', undefined],
      ['stealthy_auto_browse', '/stealthy-auto-browse/mcp/', BROWSER_TOKEN],
    ] as const) {
      const own = await connect(t, path, token);
      for (const tool of await toolsOf(own)) {
        const listed = all.find((x) => x.name === `${server}-${tool.name}`);
        assert.ok(listed, `${server}-${tool.name} is listed`);
        assert.deepEqual(listed.inputSchema, tool.inputSchema, `${tool.name}'s schema`);
        assert.equal(listed.description, tool.description);
      }
      await own.close();
    }
    for (const name of [
      'claudebox-claude_run',
      'claudebox-read_file',
      'hybrids3-upload_object',
      'hybrids3-download_object',
      'hybrids3-object_info',
      'stealthy_auto_browse-run_script',
      'stealthy_auto_browse-goto',
      'stealthy_auto_browse-get_text',
    ]) {
      assert.ok(names.includes(name), `missing ${name}`);
    }
    // Every name is a served server's: nothing unprefixed, no Z.ai instance without Z.ai configured.
    for (const name of names) assert.match(name, /^(claudebox|hybrids3|stealthy_auto_browse)-[a-z_]+$/);
    // A stored key gets the same list.
    const alice = await connect(t, '/mcp/', USERS.alice);
    assert.deepEqual((await toolsOf(alice)).map((x) => x.name).sort(), [...names].sort());
    await Promise.all([gateway.close(), alice.close()]);
  });

  it('refuses callers without the master key or a stored key, whatever other server’s credential they hold', async () => {
    for (const token of [undefined, 'wrong-token', TOKEN, BROWSER_TOKEN, STORAGE.master, STORAGE.private]) {
      await assert.rejects(connect(t, '/mcp/', token), /401|nauthorized|invalid/i, `token ${token}`);
      await assert.rejects(connect(t, '/mcp', token), /401|nauthorized|invalid/i, `token ${token}`);
    }
    // A tools/list without a session is refused before anything runs, too.
    const res = await fetch(`${t.url}/mcp/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    assert.equal(res.status, 401);
    assert.doesNotMatch(await res.text(), /hybrids3|claude_run/);
  });

  it('storage tools: upload then download through /mcp/, authorised by auth_key alone', async () => {
    const gateway = await connect(t, '/mcp/', MASTER);
    const up = await callJson(gateway, 'hybrids3-upload_object', {
      bucket: 'private',
      key: 'agg/notes.txt',
      content: 'through the aggregate',
      auth_key: STORAGE.private,
    });
    assert.equal(up.ok, true);
    const down = await callJson(gateway, 'hybrids3-download_object', {
      bucket: 'private',
      key: 'agg/notes.txt',
      auth_key: STORAGE.private,
    });
    assert.equal(down.content, 'through the aggregate');
    assert.match(String(down.content_type), /^text\/plain/);
    // The same object through storage's own endpoint: one store, one set of tools.
    const own = await connect(t, '/storage/mcp/');
    const direct = await callJson(own, 'download_object', {
      bucket: 'private',
      key: 'agg/notes.txt',
      auth_key: STORAGE.master,
    });
    assert.equal(direct.content, 'through the aggregate');

    // The attack: /mcp/'s own credential (or none) is no storage key. Each is refused, changing nothing.
    for (const auth_key of [undefined, MASTER, 'wrong']) {
      const args = { bucket: 'private', key: 'agg/notes.txt', ...(auth_key ? { auth_key } : {}) };
      const read = await call(gateway, 'hybrids3-download_object', args);
      assert.equal(read.isError, true, `download with ${auth_key}: ${read.text}`);
      assert.doesNotMatch(read.text, /through the aggregate/);
      const write = await call(gateway, 'hybrids3-upload_object', { ...args, content: 'overwritten' });
      assert.equal(write.isError, true, `upload with ${auth_key}: ${write.text}`);
      const gone = await call(gateway, 'hybrids3-delete_object', { ...args, auth_key: auth_key ?? '' });
      assert.equal(gone.isError, true, `delete with ${auth_key}: ${gone.text}`);
    }
    const listed = await call(gateway, 'hybrids3-list_buckets', { auth_key: MASTER });
    assert.equal(listed.isError, true, listed.text);
    const still = await callJson(own, 'download_object', {
      bucket: 'private',
      key: 'agg/notes.txt',
      auth_key: STORAGE.private,
    });
    assert.equal(still.content, 'through the aggregate');
    await Promise.all([gateway.close(), own.close()]);
  });

  it('claudebox tools act for the same owner as on claudebox’s endpoint: the master key for claudebox, a key for its user', async () => {
    const gateway = await connect(t, '/mcp/', MASTER);
    const alice = await connect(t, '/mcp/', USERS.alice);
    const box = await connect(t, '/claudebox/mcp/', TOKEN);
    const written = await call(gateway, 'claudebox-write_file', {
      workspace: 'agg',
      path: 'a.txt',
      content: 'box',
    });
    assert.equal(written.isError, false, written.text);
    assert.equal((await call(box, 'read_file', { workspace: 'agg', path: 'a.txt' })).text, 'box');
    // Alice's workspace `agg` is hers alone: she does not see claudebox's file, nor it hers.
    const hers = await call(alice, 'claudebox-read_file', { workspace: 'agg', path: 'a.txt' });
    assert.equal(hers.isError, true, hers.text);
    await call(alice, 'claudebox-write_file', { workspace: 'agg', path: 'b.txt', content: 'alice' });
    assert.equal((await call(box, 'read_file', { workspace: 'agg', path: 'b.txt' })).isError, true);
    await Promise.all([gateway.close(), alice.close(), box.close()]);
  });

  it('an aggregate session is its opener’s and /mcp/’s alone', async () => {
    const alice = await connect(t, '/mcp/', MASTER);
    const sid = sessionIdOf(alice);
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
    const post = (path: string, token: string) =>
      fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': sid,
          'mcp-protocol-version': '2025-06-18',
        },
        body: list,
      });
    // The claudebox token stands for the same principal, but its endpoint does not know /mcp/'s sessions.
    const crossed = await post('/claudebox/mcp/', TOKEN);
    assert.equal(crossed.status, 404);
    assert.doesNotMatch(await crossed.text(), /hybrids3|stealthy/);
    const other = await post('/mcp/', USERS.bob);
    assert.equal(other.status, 404);
    const own = await post('/mcp/', MASTER);
    assert.equal(own.status, 200);
    assert.match(await own.text(), /hybrids3-upload_object/);
    await alice.close();
  });

  it('browser tools: one replica per aggregate session, owned by the caller, released when it ends', {
    skip: skipWithout('chromium'),
  }, async () => {
    const alice = await connect(t, '/mcp/', USERS.alice);
    const nav = await callJson(alice, 'stealthy_auto_browse-goto', { url: `${fixture.url}/` });
    assert.equal(nav.title, 'Fixture Home');
    const text = await callJson(alice, 'stealthy_auto_browse-get_text', {});
    assert.match(String(text.text), /Hello fixture/);
    const replicas = () => t.deps.browser.pool.replicas;
    assert.deepEqual(
      replicas().map((r) => r.owner),
      ['user:alice'],
    );
    // Bob's session gets a page of its own (the one replica, handed over with its state dropped).
    const bob = await connect(t, '/mcp/', USERS.bob);
    const bobText = await callJson(bob, 'stealthy_auto_browse-run_script', {
      steps: [{ action: 'goto', url: `${fixture.url}/page2` }, { action: 'get_text' }],
    });
    assert.match(JSON.stringify(bobText), /Second page/);
    assert.doesNotMatch(JSON.stringify(bobText), /Hello fixture/);
    assert.deepEqual(
      replicas().map((r) => r.owner),
      ['user:bob'],
    );
    await (bob.transport as StreamableHTTPClientTransport).terminateSession();
    await waitFor(() => replicas().every((r) => r.owner === undefined));
    await Promise.all([alice.close(), bob.close()]);
  });
});

describe('a service that is not served contributes no tools to /mcp/', { timeout: 60_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces: [makeMcpSurface()],
      env: { LITELLM_MASTER_KEY: MASTER, ZAI_API_KEY: 'zai-test-key' },
    });
  });
  after(async () => {
    await t?.close();
  });

  it('without the storage and browser surfaces: only the claudebox instances, Z.ai once configured', async () => {
    const gateway = await connect(t, '/mcp/', MASTER);
    const names = (await toolsOf(gateway)).map((x) => x.name);
    assert.ok(names.length > 0);
    for (const name of names) assert.match(name, /^(claudebox|claudebox_zai)-/);
    assert.ok(names.includes('claudebox-claude_run'));
    assert.ok(names.includes('claudebox_zai-claude_run'));
    assert.ok(!names.some((n) => n.startsWith('hybrids3-') || n.startsWith('stealthy_auto_browse-')));
    await gateway.close();
  });
});
