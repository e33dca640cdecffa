import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { allSurfaces } from '../../src/surfaces/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { call } from './admin-client.ts';

/**
 * Attack replays against the control plane (keys, LiteLLM aliases, scopes): each test
 * is an attack that worked before its fix.
 */

const ADMIN = 'adm-red-team-0123456789';
const MASTER = 'sk-litellm-master-red-team-0123';

describe('control plane attack replays', { timeout: 300_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces: allSurfaces,
      env: { ADMIN_API_KEYS: `root:${ADMIN}`, LITELLM_MASTER_KEY: MASTER },
    });
  });
  after(async () => {
    await t?.close();
  });

  it('attack: an admin-flagged key whose surfaces leave out `admin` is an admin nowhere', async () => {
    const created = await call(t, 'POST', '/admin/keys', ADMIN, {
      user: 'mallory',
      admin: true,
      surfaces: ['claude-code-api', 'api'],
    });
    assert.equal(created.status, 201, created.text);
    const key: string = created.body.key;
    // Its own surface refuses the admin routes already…
    assert.equal((await call(t, 'GET', '/admin/keys', key)).status, 403);
    // …and it must not replace the server-wide model login on claude-code-api either.
    const login = await call(t, 'POST', '/auth/login', key, {});
    assert.equal(login.status, 403, login.text);
    const principal = await t.deps.keys.verify(key);
    assert.equal(principal?.isAdmin, false);
    // An admin key with the admin surface (or no surface list) still is one.
    const real = await call(t, 'POST', '/admin/keys', ADMIN, {
      user: 'ops',
      admin: true,
      surfaces: ['admin', 'api'],
    });
    assert.equal((await t.deps.keys.verify(real.body.key))?.isAdmin, true);
  });

  it('attack: two keys from /key/generate without user_id do not share one user’s files', async () => {
    const gen = async () => {
      const r = await call(t, 'POST', '/key/generate', MASTER, { models: ['*haiku*'] });
      assert.equal(r.status, 200, r.text);
      return r.body as { key: string; user_id: string };
    };
    const tenantA = await gen();
    const tenantB = await gen();
    assert.notEqual(tenantA.user_id, tenantB.user_id);
    const put = await fetch(`${t.url}/claudebox/files/proj/secret.txt`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${tenantA.key}` },
      body: 'tenant A only',
    });
    assert.equal(put.status, 201);
    const read = await call(t, 'GET', '/claudebox/files/proj/secret.txt', tenantB.key);
    assert.equal(read.status, 404, read.text);
    assert.doesNotMatch(read.text, /tenant A only/);
    // An explicit user_id still names the user (a script that wants keys to share says so).
    const named = await call(t, 'POST', '/key/generate', MASTER, { user_id: 'acme' });
    assert.equal(named.body.user_id, 'acme');
  });

  it('attack: a run of an observe key cannot start at a wider tier than the key has now', async () => {
    const created = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'tina', tier: 'full' });
    const keyId: string = created.body.id;
    const narrowed = await call(t, 'PATCH', `/admin/keys/${keyId}`, ADMIN, { tier: 'observe' });
    assert.equal(narrowed.status, 200, narrowed.text);
    // A spec stamped when the key was still `full` (an MCP session opened before the PATCH),
    // or one a surface forgot to stamp (unset runs `full`): the engine refuses both.
    for (const tier of ['full', undefined] as const) {
      await assert.rejects(
        t.deps.engine.submit({
          owner: 'tina',
          keyId,
          ...(tier ? { tier } : {}),
          workspace: 'users/tina/w',
          prompt: '[[tool:Bash touch pwned]]',
          onBusy: 'conflict',
        }),
        (err: Error & { code?: string }) => err.code === 'forbidden' && /observe/.test(err.message),
      );
    }
    // At its own tier it still runs.
    const ok = await t.deps.engine.submit({
      owner: 'tina',
      keyId,
      tier: 'observe',
      workspace: 'users/tina/w',
      prompt: 'hello',
      onBusy: 'conflict',
    });
    assert.equal((await t.deps.engine.wait(ok.id)).status, 'succeeded');
  });

  it('attack: another key of the same user cannot drive an MCP session opened with a wider key', async () => {
    const wide = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'uma', tier: 'full' });
    const narrow = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'uma', tier: 'observe' });
    const mcp = (key: string, body: unknown, sessionId?: string) =>
      fetch(`${t.url}/claudebox/mcp/`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
          ...(sessionId ? { 'mcp-session-id': sessionId } : {}),
        },
        body: JSON.stringify(body),
      });
    const init = await mcp(wide.body.key, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'rt', version: '1' } },
    });
    assert.equal(init.status, 200);
    const sessionId = init.headers.get('mcp-session-id') ?? '';
    assert.ok(sessionId);
    await init.text();
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    // The session's own key may use it…
    const own = await mcp(wide.body.key, list, sessionId);
    assert.equal(own.status, 200);
    await own.text();
    // …the observe key of the same user may not (its tools would run as the full key).
    const stolen = await mcp(narrow.body.key, list, sessionId);
    assert.equal(stolen.status, 404, await stolen.text());
    // A PATCH that narrows the key retires its open sessions: they were built for the old scope.
    await call(t, 'PATCH', `/admin/keys/${wide.body.id}`, ADMIN, { workspaces: 'proj-' });
    const stale = await mcp(wide.body.key, list, sessionId);
    assert.equal(stale.status, 404, await stale.text());
  });

  it('attack: /key/delete with a read-only environment key among its keys revokes nothing', async () => {
    const victim = await call(t, 'POST', '/key/generate', MASTER, {});
    const del = await call(t, 'POST', '/key/delete', MASTER, { keys: [victim.body.token, 'admin-env:0'] });
    assert.equal(del.status, 403, del.text);
    const info = await call(t, 'GET', `/key/info?key=${victim.body.token}`, MASTER);
    assert.equal(info.body.info.blocked, false, 'a refused delete must change nothing');
    assert.ok(await t.deps.keys.verify(victim.body.key));
  });

  it('attack: a key limited to a workspace prefix is not shown its user’s other workspaces', async () => {
    const wide = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'vera' });
    const narrow = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'vera', workspaces: 'proj-' });
    for (const ws of ['payroll-2027', 'proj-a']) {
      const put = await fetch(`${t.url}/claudebox/files/${ws}/f.txt`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${wide.body.key}` },
        body: 'x',
      });
      assert.equal(put.status, 201);
    }
    const names = async (key: string) =>
      ((await call(t, 'GET', '/claudebox/files', key)).body.workspaces as Array<{ name: string }>).map(
        (w) => w.name,
      );
    assert.deepEqual((await names(wide.body.key)).sort(), ['payroll-2027', 'proj-a']);
    assert.deepEqual(await names(narrow.body.key), ['proj-a']);
    // The MCP file tools list the same way.
    const client = new Client({ name: 'red-team', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/claudebox/mcp/`), {
        requestInit: { headers: { authorization: `Bearer ${narrow.body.key}` } },
      }),
    );
    try {
      const res = await client.callTool({ name: 'list_files', arguments: {} });
      const text = String((res.content as Array<{ text?: string }>)[0]?.text);
      assert.deepEqual(
        (JSON.parse(text).workspaces as Array<{ name: string }>).map((w) => w.name),
        ['proj-a'],
      );
    } finally {
      await client.close();
    }
  });

  it('attack: runs queued before a budget is spent get no model call once it is', async () => {
    const created = await call(t, 'POST', '/admin/keys', ADMIN, {
      user: 'wade',
      budgetUsd: 0.000001,
      budgetPeriod: 'total',
    });
    const keyId: string = created.body.id;
    const spec = (prompt: string) => ({
      owner: 'wade',
      keyId,
      tier: 'full' as const,
      workspace: 'users/wade/w',
      prompt,
      onBusy: 'wait' as const,
    });
    // Submitted together: both are admitted while nothing is spent; one waits for the
    // workspace while the other's first model call spends the whole budget.
    const markers = ['run-marker-one-7f3a', 'run-marker-two-9c1e'];
    const runs = await Promise.all(markers.map((m) => t.deps.engine.submit(spec(m))));
    const records = await Promise.all(runs.map((r) => t.deps.engine.wait(r.id)));
    const calls = markers.map(
      (m) =>
        t.fake.requests().filter((q) => q.path === '/v1/messages' && JSON.stringify(q.body).includes(m))
          .length,
    );
    for (const r of records) {
      assert.equal(r.status, 'failed');
      assert.match(r.error ?? '', /budget/);
    }
    // The one that ran reached the model; the one that waited never did.
    assert.deepEqual(
      [...calls].sort(),
      [0, 1],
      `model calls per run: ${calls.join(', ')}; errors: ${records.map((r) => r.error).join(' | ')}`,
    );
    const waited = records[calls.indexOf(0)];
    assert.match(waited?.error ?? '', /did not start/);
  });

  it('attack: a key limited to a workspace prefix cannot read runs of its user’s other workspaces', async () => {
    const wide = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'yara' });
    const narrow = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'yara', workspaces: 'proj-' });
    const run = await fetch(`${t.url}/claudebox/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${wide.body.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'payroll figures', workspace: 'payroll' }),
    });
    assert.equal(run.status, 200);
    await run.text();
    const runId = run.headers.get('x-run-id') ?? '';
    assert.equal((await call(t, 'GET', `/claudebox/runs/${runId}`, wide.body.key)).status, 200);
    const stolen = await call(t, 'GET', `/claudebox/runs/${runId}`, narrow.body.key);
    assert.equal(stolen.status, 404, stolen.text);
    const status = await call(t, 'GET', '/claudebox/status', narrow.body.key);
    assert.equal(status.status, 200);
    assert.doesNotMatch(status.text, new RegExp(`payroll|${runId}`));
    const own = await call(t, 'GET', '/claudebox/status', wide.body.key);
    assert.match(own.text, new RegExp(runId));
  });

  it('attack: a run queued at full tier does not start after its key is narrowed to observe', async () => {
    const created = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'zack', tier: 'full' });
    const keyId: string = created.body.id;
    const spec = (prompt: string) => ({
      owner: 'zack',
      keyId,
      tier: 'full' as const,
      workspace: 'users/zack/w',
      prompt,
      onBusy: 'wait' as const,
    });
    const holder = await t.deps.engine.submit(spec('[[tool:Bash {"command":"sleep 2"}]]'));
    const queued = await t.deps.engine.submit(spec('[[tool:Bash {"command":"touch narrowed-marker-5b2d"}]]'));
    const narrowed = await call(t, 'PATCH', `/admin/keys/${keyId}`, ADMIN, { tier: 'observe' });
    assert.equal(narrowed.status, 200);
    await t.deps.engine.wait(holder.id);
    const record = await t.deps.engine.wait(queued.id);
    assert.equal(record.status, 'failed');
    assert.match(record.error ?? '', /tier is observe/);
    const asked = t.fake
      .requests()
      .filter((q) => q.path === '/v1/messages' && JSON.stringify(q.body).includes('narrowed-marker-5b2d'));
    assert.equal(asked.length, 0, 'the queued run must not reach the model');
  });
});
