import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signHmacToken } from '../../src/auth/hmac-token.ts';
import { parseApiKeys } from '../../src/auth/key-store.ts';
import { hashSecret } from '../../src/auth/secrets.ts';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import { openAiSurface } from '../../src/surfaces/openai/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { call, surfaces } from './client.ts';

const SECRET = 'identities-nextauth-secret';
const BOX_TOKEN = 'claudebox-token';

/**
 * Issue 13.5: service identities (claudebox, claudebox-zai, claude-ops, …) are not user ids.
 * A credential naming a service must not run as it, in its workspaces, on its sessions.
 */
describe('service identities and user ids never share a namespace', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces: [...surfaces, claudeboxSurface, openAiSurface],
      env: { NEXTAUTH_SECRET: SECRET, CLAUDEBOX_API_TOKEN: BOX_TOKEN, API_KEYS: 'alice:sk-alice' },
    });
    // What claudebox keeps in its workspaces: what an impostor would be after.
    const ws = join(t.dataDir, 'workspaces', 'users', 'claudebox', 'private');
    await mkdir(ws, { recursive: true });
    await writeFile(join(ws, 'notes.txt'), 'claudebox secret');
  });
  after(async () => t.close());

  const runsOf = async (owner: string) =>
    (await t.deps.db.selectFrom('runs').select('id').where('owner', '=', owner).execute()).length;

  it('an HMAC token for user "claudebox" (or claude-ops, any case) never acts as the service', async () => {
    for (const user of ['claudebox', 'claudebox-zai', 'claude-ops', 'stealthy-auto-browse', 'ClaudeBox']) {
      const token = signHmacToken(SECRET, user, Date.now());
      const r = await call(t.url, 'POST', '/run', {
        bearer: token,
        body: { prompt: '[[tool:Bash {"command":"cat private/notes.txt 2>&1; pwd"}]]' },
      });
      // claude-code-web may sign any display name: a service's name maps to a user of its
      // own (web.<name>.<digest>), with its own empty workspace.
      assert.equal(r.status, 200, `${user}: ${JSON.stringify(r.body)}`);
      const output = String((r.body as { output?: string }).output);
      assert.doesNotMatch(output, /claudebox secret/, user);
      assert.match(output, /users\/web\.[a-z_]+\.[0-9a-f]{16}/, user);
    }
    assert.equal(await runsOf('claudebox'), 0);
    assert.equal(await runsOf('ClaudeBox'), 0);
    // A real user's token still works.
    const ok = await call(t.url, 'POST', '/run', {
      bearer: signHmacToken(SECRET, 'webuser', Date.now()),
      body: { prompt: 'hi' },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  it("claude-code-web's display names and e-mail addresses are each a user of their own", async () => {
    const names = ['Jane Doe', 'jane@example.com', 'jane_doe', 'Jane: the second', 'web.jane_doe', 'alice'];
    const owners = new Set<string>();
    for (const name of names) {
      const r = await call(t.url, 'POST', '/run', {
        bearer: signHmacToken(SECRET, name, Date.now()),
        body: { prompt: '[[tool:Bash {"command":"pwd"}]]' },
      });
      assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.body)}`);
      const dir = /users\/([^/\s]+)/.exec(String((r.body as { output?: string }).output))?.[1] ?? '';
      assert.ok(dir, name);
      owners.add(dir);
    }
    assert.equal(owners.size, names.length, `two names shared a user: ${[...owners].join(', ')}`);
    // Every web name lives under web.: one who calls themself "alice" is not the key user alice.
    for (const owner of owners) assert.match(owner, /^web\.[a-z0-9_]+\.[0-9a-f]{16}$/, owner);
    // The same name always maps to the same user (its sessions continue).
    const again = await call(t.url, 'POST', '/run', {
      bearer: signHmacToken(SECRET, 'Jane Doe', Date.now()),
      body: { prompt: '[[tool:Bash {"command":"pwd"}]]' },
    });
    const dir = /users\/([^/\s]+)/.exec(String((again.body as { output?: string }).output))?.[1];
    assert.ok(dir && owners.has(dir));
  });

  it('a key stored for a service name (before names were reserved) opens nothing', async () => {
    const key = `agk_${randomUUID()}`;
    await t.deps.db
      .insertInto('api_keys')
      .values({
        id: randomUUID(),
        user_id: 'claudebox',
        key_hash: hashSecret(key),
        is_admin: 0,
        created_at: Date.now(),
        revoked_at: null,
      })
      .execute();
    assert.equal((await call(t.url, 'POST', '/run', { key, body: { prompt: 'hi' } })).status, 401);
    assert.equal((await call(t.url, 'GET', '/status', { key })).status, 401);
    const box = await fetch(`${t.url}/claudebox/status`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(box.status, 401);
    assert.equal(await runsOf('claudebox'), 0);
  });

  it('no key can be created, or configured, for a service name', async () => {
    await assert.rejects(t.deps.keys.create('claude-ops', true), /reserved/);
    await assert.rejects(t.deps.keys.create('CLAUDEBOX', false), /reserved/);
    assert.throws(() => parseApiKeys('alice:sk-a,claudebox:sk-impostor'), /reserved for a built-in service/);
  });

  it('the service itself still works with its own token', async () => {
    const res = await fetch(`${t.url}/claudebox/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOX_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'hello', workspace: 'private' }),
    });
    assert.equal(res.status, 200);
    assert.equal(await runsOf('claudebox'), 1);
  });
});
