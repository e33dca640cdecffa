import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allSurfaces } from '../../src/surfaces/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

const ADMIN = 'adm-tier-secret-0123456789';

// biome-ignore lint/suspicious/noExplicitAny: tests read loosely shaped JSON answers
type Json = any;

async function call(t: TestApp, method: string, path: string, key: string, body?: unknown) {
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: (await res.json()) as Json };
}

/** A prompt that makes the fake model call one tool. */
const tool = (name: string, input: unknown) => `[[tool:${name} ${JSON.stringify(input)}]]`;

describe('Runs API: a run takes its key tier and scope, never more', { timeout: 300_000 }, () => {
  let t: TestApp;
  let editKey: string;
  before(async () => {
    t = await startTestApp({ surfaces: allSurfaces, env: { ADMIN_API_KEYS: `root:${ADMIN}` } });
    const created = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'erin', tier: 'edit' });
    assert.equal(created.status, 201);
    editKey = created.json.key;
  });
  after(async () => t?.close());

  const settled = async (id: string) => {
    await waitFor(async () => {
      const s = (await call(t, 'GET', `/api/v1/runs/${id}`, editKey)).json.status;
      return s !== 'queued' && s !== 'running';
    }, 60_000);
    return (await call(t, 'GET', `/api/v1/runs/${id}`, editKey)).json;
  };

  it('an edit key asking for full is refused, and no run starts (attack replay)', async () => {
    const before = (await call(t, 'GET', '/api/v1/runs', editKey)).json.runs.length;
    const res = await call(t, 'POST', '/api/v1/runs', editKey, { prompt: 'x', tier: 'full' });
    assert.equal(res.status, 403);
    assert.equal(res.json.error.code, 'forbidden');
    assert.match(res.json.error.message, /edit/);
    assert.equal((await call(t, 'GET', '/api/v1/runs', editKey)).json.runs.length, before);
  });

  it("a run without a tier runs at the key's; a lower one can be asked for and holds", async () => {
    const plain = await call(t, 'POST', '/api/v1/runs', editKey, { prompt: 'hello', workspace: 'tiers' });
    assert.equal(plain.status, 202);
    assert.equal((await settled(plain.json.id)).tier, 'edit');

    const dir = join(t.dataDir, 'workspaces/users/erin/tiers');
    const observe = await call(t, 'POST', '/api/v1/runs', editKey, {
      prompt: tool('Write', { file_path: join(dir, 'pwned.txt'), content: 'x' }),
      workspace: 'tiers',
      tier: 'observe',
    });
    assert.equal(observe.status, 202);
    const done = await settled(observe.json.id);
    assert.equal(done.tier, 'observe');
    assert.equal(existsSync(join(dir, 'pwned.txt')), false, 'an observe run wrote a file');
  });

  it("a key bound to a workspace prefix neither lists, reads, follows nor cancels its user's other runs (attack replay)", async () => {
    const wide = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'frank' });
    const narrow = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'frank', workspaces: 'proj-' });
    assert.equal(narrow.status, 201);
    const payroll = await call(t, 'POST', '/api/v1/runs', wide.json.key, {
      prompt: '[[sleep:3000]] salaries',
      workspace: 'payroll',
    });
    assert.equal(payroll.status, 202);
    const mine = await call(t, 'POST', '/api/v1/runs', narrow.json.key, {
      prompt: 'hi',
      workspace: 'proj-a',
    });
    assert.equal(mine.status, 202);
    const listed = (await call(t, 'GET', '/api/v1/runs', narrow.json.key)).json.runs.map((r: Json) => r.id);
    assert.deepEqual(listed, [mine.json.id], 'only the prefix’s runs are listed');
    const id = payroll.json.id;
    assert.equal((await call(t, 'GET', `/api/v1/runs/${id}`, narrow.json.key)).status, 404);
    assert.equal((await call(t, 'GET', `/api/v1/runs/${id}/events`, narrow.json.key)).status, 404);
    assert.equal((await call(t, 'POST', `/api/v1/runs/${id}/cancel`, narrow.json.key)).status, 404);
    const still = (await call(t, 'GET', `/api/v1/runs/${id}`, wide.json.key)).json;
    assert.notEqual(still.status, 'cancelled', 'the narrow key could not cancel it');
    assert.equal((await call(t, 'GET', `/api/v1/runs/${mine.json.id}`, narrow.json.key)).status, 200);
  });
});
