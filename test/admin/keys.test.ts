import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { allSurfaces } from '../../src/surfaces/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { call, type Json } from './admin-client.ts';

const ADMIN = 'adm-secret-0123456789';
const MASTER = 'sk-litellm-master-0123456789';
const ENV_KEY = 'sk-env-user-0123456789';

/** One cheap authenticated request per surface that takes stored keys: its status says whether the key got in. */
const PROBES: ReadonlyArray<[string, string, string]> = [
  ['claude-code-api', 'GET', '/status'],
  ['claudebox', 'GET', '/claudebox/status'],
  ['openai', 'GET', '/models'],
  ['mcp', 'DELETE', '/mcp/'],
  ['browser', 'GET', '/stealthy-auto-browse/state'],
  ['usage', 'GET', '/usage'],
  ['api', 'GET', '/api/v1/runs'],
];

async function probeAll(t: TestApp, key: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, method, path] of PROBES) out[name] = (await call(t, method, path, key)).status;
  return out;
}

function isIn(status: number): boolean {
  return status !== 401 && status !== 403;
}

async function createKey(t: TestApp, body: Record<string, unknown>): Promise<{ id: string; key: string }> {
  const r = await call(t, 'POST', '/admin/keys', ADMIN, body);
  assert.equal(r.status, 201, r.text);
  return { id: r.body.id, key: r.body.key };
}

describe('control plane: scoped keys over HTTP', { timeout: 600_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces: allSurfaces,
      env: {
        ADMIN_API_KEYS: `root:${ADMIN}`,
        LITELLM_MASTER_KEY: MASTER,
        API_KEYS: `envuser:${ENV_KEY}`,
        MAX_CONCURRENT_RUNS: '3',
      },
    });
  });
  after(async () => {
    await t?.close();
  });

  it('lifecycle: create → use → patch scope → refused → rotate (grace) → revoke → refused everywhere', async () => {
    const created = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'alice', name: 'ci' });
    assert.equal(created.status, 201, created.text);
    const { id, key } = created.body;
    assert.match(key, /^agk_/);
    assert.equal(created.body.tier, 'full');
    assert.equal(created.body.surfaces, null);

    const listed = await call(t, 'GET', '/admin/keys', ADMIN);
    assert.equal(listed.status, 200);
    assert.ok(!listed.text.includes(key), 'the list never carries a secret');
    const mine = listed.body.keys.find((k: Json) => k.id === id);
    assert.equal(mine.user, 'alice');
    assert.equal(mine.key, undefined);
    const envEntries = listed.body.keys.filter((k: Json) => k.readOnly);
    assert.deepEqual(envEntries.map((k: Json) => [k.user, k.source, k.admin]).sort(), [
      ['envuser', 'API_KEYS', false],
      ['root', 'ADMIN_API_KEYS', true],
    ]);
    assert.ok(!listed.text.includes(ENV_KEY) && !listed.text.includes(ADMIN));
    // Read-only entries refuse changes.
    const envId = envEntries[0].id;
    assert.equal((await call(t, 'PATCH', `/admin/keys/${envId}`, ADMIN, { rpm: 1 })).status, 403);
    assert.equal((await call(t, 'DELETE', `/admin/keys/${envId}`, ADMIN)).status, 403);

    // Use: a run on claude-code-api, and every surface lets it in.
    const run = await call(t, 'POST', '/run', key, { prompt: 'hello from alice' });
    assert.equal(run.body.success, true, run.text);
    assert.match(run.body.output, /Echo: hello from alice/);
    const record = (await t.deps.engine.list({ state: 'finished', owner: 'alice' }))[0];
    const full = record && (await t.deps.engine.get(record.id));
    assert.equal(full?.spec.keyId, id, 'the run is stamped with its key');
    assert.equal(full?.spec.tier, 'full');
    for (const [surface, status] of Object.entries(await probeAll(t, key))) {
      assert.ok(isIn(status), `${surface} let a valid key in (got ${status})`);
    }

    // Patch the scope: claudebox only → refused on claude-code-api, in its shape.
    const patched = await call(t, 'PATCH', `/admin/keys/${id}`, ADMIN, { surfaces: ['claudebox'] });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(patched.body.surfaces, ['claudebox']);
    const refused = await call(t, 'POST', '/run', key, { prompt: 'not allowed' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.success, false);
    assert.match(refused.body.error, /claude-code-api/);
    assert.ok(isIn((await call(t, 'GET', '/claudebox/status', key)).status));

    // Bad input changes nothing.
    const bad = await call(t, 'PATCH', `/admin/keys/${id}`, ADMIN, { surfaces: ['nope'], rpm: 5 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'invalid_request');
    const escalate = await call(t, 'PATCH', `/admin/keys/${id}`, ADMIN, { user: 'root' });
    assert.equal(escalate.status, 400, 'a key cannot be moved to another user');
    const after1 = await call(t, 'GET', `/admin/keys/${id}`, ADMIN);
    assert.equal(after1.body.rpm, null);
    assert.equal(after1.body.user, 'alice');
    assert.deepEqual(after1.body.surfaces, ['claudebox']);

    // Rotate with a one-second grace: both secrets work, then only the new one.
    await call(t, 'PATCH', `/admin/keys/${id}`, ADMIN, { surfaces: null });
    const rotated = await call(t, 'POST', `/admin/keys/${id}/rotate`, ADMIN, { gracePeriodS: 1 });
    assert.equal(rotated.status, 200, rotated.text);
    const newKey = rotated.body.key;
    assert.notEqual(newKey, key);
    assert.equal(rotated.body.id, id);
    assert.ok(rotated.body.previousKeyValidUntil);
    assert.equal((await call(t, 'GET', '/status', newKey)).status, 200);
    // The old secret works within the grace period (checked right away) and stops after it.
    await waitFor(async () => (await call(t, 'GET', '/status', key)).status === 401, 20_000, 200);
    assert.equal((await call(t, 'GET', '/status', newKey)).status, 200);

    // Revoke: refused on every surface at once.
    const revoked = await call(t, 'DELETE', `/admin/keys/${id}`, ADMIN);
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.revokedAt);
    for (const [surface, status] of Object.entries(await probeAll(t, newKey))) {
      assert.equal(status, 401, `${surface} refuses a revoked key`);
    }
    assert.equal((await call(t, 'POST', '/run', newKey, { prompt: 'x' })).status, 401);
  });

  it('the rotated-out secret works during its grace period', async () => {
    const { id, key } = await createKey(t, { user: 'grace' });
    const rotated = await call(t, 'POST', `/admin/keys/${id}/rotate`, ADMIN, {});
    assert.equal(rotated.status, 200);
    // Default grace: an hour (documented), so the old key still works now.
    assert.equal((await call(t, 'GET', '/status', key)).status, 200);
    assert.equal((await call(t, 'GET', '/status', rotated.body.key)).status, 200);
    const noGrace = await call(t, 'POST', `/admin/keys/${id}/rotate`, ADMIN, { gracePeriodS: 0 });
    assert.equal((await call(t, 'GET', '/status', rotated.body.key)).status, 401);
    assert.equal((await call(t, 'GET', '/status', noGrace.body.key)).status, 200);
    assert.equal(
      (await call(t, 'POST', `/admin/keys/${id}/rotate`, ADMIN, { gracePeriodS: -1 })).status,
      400,
    );
  });

  it('rotate takes no body at all (curl -X POST …/rotate): the default grace period', async () => {
    const { id, key } = await createKey(t, { user: 'nobody-body' });
    const rotated = await call(t, 'POST', `/admin/keys/${id}/rotate`, ADMIN);
    assert.equal(rotated.status, 200, rotated.text);
    assert.match(rotated.body.key, /^agk_/);
    assert.ok(rotated.body.previousKeyValidUntil, 'the default grace period applies');
    assert.equal((await call(t, 'GET', '/status', key)).status, 200);
    assert.equal((await call(t, 'GET', '/status', rotated.body.key)).status, 200);
  });

  it('scope refusals on each surface, each in its own shape', async () => {
    const { key } = await createKey(t, { user: 'bob', surfaces: ['claudebox'] });
    const status = await probeAll(t, key);
    assert.ok(isIn(status.claudebox ?? 0));
    for (const surface of ['claude-code-api', 'openai', 'mcp', 'browser', 'api'] as const) {
      assert.equal(status[surface], 403, `${surface} refuses a key scoped to claudebox`);
    }
    const openai = await call(t, 'GET', '/models', key);
    assert.equal(openai.body.error.type, 'permission_error');
    const mcp = await call(t, 'DELETE', '/mcp/', key);
    assert.equal(mcp.body.error.code, 'forbidden');

    // Models: globs over the model a run asks for.
    const haikuOnly = await createKey(t, { user: 'bob', models: ['*haiku*'] });
    const wrongModel = await call(t, 'POST', '/claudebox/run', haikuOnly.key, {
      prompt: 'x',
      model: 'sonnet',
    });
    assert.equal(wrongModel.status, 403, wrongModel.text);
    assert.match(wrongModel.body.error.message, /model sonnet/);

    // Workspaces: a prefix of the caller's own workspace names (runs and files alike).
    const proj = await createKey(t, { user: 'bob', workspaces: 'proj-' });
    const outside = await call(t, 'POST', '/claudebox/run', proj.key, { prompt: 'x', workspace: 'other' });
    assert.equal(outside.status, 403);
    assert.equal((await call(t, 'GET', '/claudebox/files/other', proj.key)).status, 403);
    const inside = await call(t, 'POST', '/claudebox/run', proj.key, {
      prompt: 'inside',
      workspace: 'proj-a',
    });
    assert.equal(inside.status, 200, inside.text);
  });

  it('rpm: over the limit is 429 with Retry-After, in OpenAI shape for the openai package', async () => {
    const { key } = await createKey(t, { user: 'carol', rpm: 2 });
    assert.equal((await call(t, 'GET', '/status', key)).status, 200);
    assert.equal((await call(t, 'GET', '/claudebox/status', key)).status, 200);
    const third = await call(t, 'GET', '/status', key);
    assert.equal(third.status, 429);
    assert.ok(Number(third.headers.get('retry-after')) >= 1);
    assert.equal(third.body.success, false);

    const one = await createKey(t, { user: 'carol', rpm: 1 });
    const client = new OpenAI({ apiKey: one.key, baseURL: `${t.url}/claudebox/openai/v1`, maxRetries: 0 });
    await client.models.list();
    await assert.rejects(client.models.list(), (err: unknown) => {
      assert.ok(err instanceof OpenAI.RateLimitError, String(err));
      assert.equal(err.status, 429);
      assert.equal((err.error as Json)?.type, 'rate_limit_error');
      assert.ok(Number(err.headers?.get('retry-after')) >= 1);
      return true;
    });
  });

  it('maxConcurrentRuns: a second run while one runs is 429 with Retry-After', async () => {
    const { key } = await createKey(t, { user: 'dave', maxConcurrentRuns: 1 });
    const first = call(t, 'POST', '/claudebox/run', key, { prompt: '[[sleep:4000]] slow', workspace: 'w1' });
    await waitFor(
      async () => (await t.deps.engine.list({ state: 'active', owner: 'dave' })).length === 1,
      30_000,
    );
    const second = await call(t, 'POST', '/claudebox/run', key, { prompt: 'quick', workspace: 'w2' });
    assert.equal(second.status, 429, second.text);
    assert.ok(Number(second.headers.get('retry-after')) >= 1);
    assert.match(second.body.error.message, /at most 1 run/);
    assert.equal((await first).status, 200);
    // Once it finished, the slot is free again.
    const third = await call(t, 'POST', '/claudebox/run', key, { prompt: 'again', workspace: 'w2' });
    assert.equal(third.status, 200, third.text);
  });

  it('revoking a key cancels its running runs', async () => {
    const { id, key } = await createKey(t, { user: 'henry' });
    const pending = call(t, 'POST', '/claudebox/run', key, {
      prompt: '[[sleep:8000]] long',
      workspace: 'rv',
    });
    await waitFor(
      async () => (await t.deps.engine.list({ state: 'active', owner: 'henry' })).length === 1,
      30_000,
    );
    const [active] = await t.deps.engine.list({ state: 'active', owner: 'henry' });
    assert.equal((await call(t, 'DELETE', `/admin/keys/${id}`, ADMIN)).status, 200);
    const record = await t.deps.engine.wait(active?.id ?? '');
    assert.equal(record.status, 'cancelled');
    await pending;
  });

  it('usage rows match what the fake model was asked', async () => {
    const { id, key } = await createKey(t, { user: 'erin' });
    const before = t.fake.requests().length;
    const run = await call(t, 'POST', '/run', key, { prompt: 'count my tokens' });
    assert.equal(run.body.success, true, run.text);
    const asked = t.fake
      .requests()
      .slice(before)
      .filter((r) => r.path === '/v1/messages');
    assert.ok(asked.length >= 1);
    const rows = await t.deps.usage.rows({ keyId: id });
    assert.ok(rows.length >= 1, 'the run recorded usage');
    const total = rows.reduce(
      (s, r) => ({
        calls: s.calls + r.modelCalls,
        input: s.input + r.inputTokens,
        out: s.out + r.outputTokens,
      }),
      { calls: 0, input: 0, out: 0 },
    );
    assert.equal(total.calls, asked.length);
    const { estimateInputTokens } = await import('../../src/fake-model/responder.ts');
    const expectedInput = asked.reduce((s, r) => s + estimateInputTokens(r.body as never), 0);
    assert.equal(total.input, expectedInput);
    assert.ok(total.out > 0);
    const models = new Set(asked.map((r) => (r.body as Json).model));
    assert.deepEqual(new Set(rows.map((r) => r.model)), models);
    for (const r of rows) {
      assert.equal(r.source, 'relay');
      assert.equal(r.userId, 'erin');
      // Sonnet list price: $3 in, $15 out per million tokens.
      if (r.model.includes('sonnet')) {
        assert.ok(Math.abs(r.costUsd - (r.inputTokens * 3 + r.outputTokens * 15) / 1e6) < 1e-12);
      }
    }
    const own = await call(t, 'GET', '/usage', key);
    assert.equal(own.status, 200);
    assert.equal(own.body.keyId, id);
    assert.equal(
      own.body.rows.reduce((s: number, r: Json) => s + r.inputTokens, 0),
      expectedInput,
    );
    const byUser = await call(t, 'GET', '/admin/usage?groupBy=user', ADMIN);
    assert.equal(byUser.status, 200);
    assert.equal(byUser.body.rows.find((r: Json) => r.group === 'erin')?.inputTokens, expectedInput);
    const byKey = await call(t, 'GET', '/admin/usage?groupBy=key&from=2000-01-01', ADMIN);
    assert.ok(byKey.body.rows.some((r: Json) => r.group === id));
    const future = await call(t, 'GET', `/admin/usage?groupBy=day&from=${Date.now() + 86_400_000}`, ADMIN);
    assert.deepEqual(future.body.rows, []);
    assert.equal((await call(t, 'GET', '/admin/usage?groupBy=planet', ADMIN)).status, 400);
    assert.equal((await call(t, 'GET', '/admin/usage', key)).status, 403);
  });

  it('a spent budget refuses the next run: 402 on claude-code-api and claudebox, 429 insufficient_quota on OpenAI', async () => {
    const { key } = await createKey(t, { user: 'frank', budgetUsd: 0.000001, budgetPeriod: 'day' });
    // Under budget at its start, so this run starts; its first call spends the budget.
    await call(t, 'POST', '/run', key, { prompt: 'spend' });
    const next = await call(t, 'POST', '/run', key, { prompt: 'again' });
    assert.equal(next.status, 402, next.text);
    assert.equal(next.body.success, false);
    assert.match(next.body.error, /budget/);
    const box = await call(t, 'POST', '/claudebox/run', key, { prompt: 'again' });
    assert.equal(box.status, 402);
    assert.equal(box.body.error.code, 'over_budget');
    const client = new OpenAI({ apiKey: key, baseURL: `${t.url}/claudebox/openai/v1`, maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({
        model: 'claudebox-sonnet',
        messages: [{ role: 'user', content: 'hi' }],
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenAI.RateLimitError, String(err));
        assert.equal((err.error as Json)?.type, 'insufficient_quota');
        assert.equal(err.code, 'insufficient_quota');
        return true;
      },
    );
    const own = await call(t, 'GET', '/usage', key);
    assert.ok(own.body.budget.spentUsd >= 0.000001);
  });

  it('a running run that crosses its budget stops after that model call', async () => {
    const { id, key } = await createKey(t, { user: 'gina', budgetUsd: 0.000001, budgetPeriod: 'total' });
    const before = t.fake.requests().length;
    const r = await call(t, 'POST', '/claudebox/run', key, {
      prompt: '[[tool:Bash {"command":"sleep 3; echo done > crossed.txt"}]]',
      workspace: 'budget',
    });
    const runId = r.headers.get('x-run-id') ?? '';
    const record = await t.deps.engine.wait(runId);
    assert.equal(record.status, 'failed');
    assert.match(record.error ?? '', /budget/);
    const asked = t.fake
      .requests()
      .slice(before)
      .filter((q) => q.path === '/v1/messages' && JSON.stringify(q.body).includes('crossed.txt'));
    // The tool_use answer came back; the call carrying the tool's result never went out.
    assert.equal(asked.length, 1, `model calls: ${asked.length}`);
    const rows = await t.deps.usage.rows({ keyId: id });
    assert.ok(rows.reduce((s, u) => s + u.costUsd, 0) > 0.000001);
  });
});

describe('control plane: LiteLLM key routes and attack replays', { timeout: 300_000 }, () => {
  let t: TestApp;
  let logText = '';
  before(async () => {
    const logs = new PassThrough();
    logs.on('data', (chunk: Buffer) => {
      logText += chunk.toString('utf8');
    });
    t = await startTestApp({
      surfaces: allSurfaces,
      env: {
        ADMIN_API_KEYS: ADMIN,
        LITELLM_MASTER_KEY: MASTER,
        API_KEYS: `envuser:${ENV_KEY}`,
        LOG_LEVEL: 'debug',
      },
      logDestination: logs,
    });
  });
  after(async () => {
    await t?.close();
  });

  it('LiteLLM aliases: /key/generate, /key/info, /key/update, /spend/logs, /key/delete', async () => {
    const gen = await call(t, 'POST', '/key/generate', MASTER, {
      models: ['claude-*'],
      max_budget: 10,
      budget_duration: '30d',
      rpm_limit: 100,
      max_parallel_requests: 2,
      duration: '1h',
      metadata: { team: 'eng' },
      user_id: 'lite',
      key_alias: 'scripts',
      tpm_limit: 1000,
    });
    assert.equal(gen.status, 200, gen.text);
    const { key, token } = gen.body;
    assert.match(key, /^agk_/);
    assert.ok(Date.parse(gen.body.expires) > Date.now());
    assert.deepEqual(gen.body.models, ['claude-*']);
    assert.equal(gen.body.max_budget, 10);
    assert.equal(gen.body.budget_duration, '30d');
    assert.equal(gen.body.user_id, 'lite');

    const info = await call(t, 'GET', `/key/info?key=${encodeURIComponent(key)}`, MASTER);
    assert.equal(info.status, 200, info.text);
    assert.equal(info.body.info.rpm_limit, 100);
    assert.equal(info.body.info.max_parallel_requests, 2);
    assert.deepEqual(info.body.info.metadata, { team: 'eng' });
    assert.equal(info.body.info.spend, 0);
    // The same key through the native API.
    const native = await call(t, 'GET', `/admin/keys/${token}`, ADMIN);
    assert.equal(native.body.budgetPeriod, 'month');
    assert.equal(native.body.rpm, 100);

    const upd = await call(t, 'POST', '/key/update', MASTER, { key, max_budget: 5, budget_duration: '1d' });
    assert.equal(upd.status, 200, upd.text);
    assert.equal(upd.body.max_budget, 5);
    assert.equal((await call(t, 'GET', `/admin/keys/${token}`, ADMIN)).body.budgetPeriod, 'day');
    const badUpd = await call(t, 'POST', '/key/update', MASTER, { key, max_budget: -1 });
    assert.equal(badUpd.status, 400);
    assert.equal(badUpd.body.error.code, '400');
    assert.equal((await call(t, 'GET', `/admin/keys/${token}`, ADMIN)).body.budgetUsd, 5);

    const run = await call(t, 'POST', '/run', key, { prompt: 'litellm key at work' });
    assert.equal(run.body.success, true, run.text);
    const logs = await call(t, 'GET', `/spend/logs?api_key=${encodeURIComponent(key)}`, MASTER);
    assert.equal(logs.status, 200, logs.text);
    assert.ok(Array.isArray(logs.body) && logs.body.length >= 1);
    assert.equal(logs.body[0].api_key, token);
    assert.equal(logs.body[0].user, 'lite');
    assert.ok(logs.body[0].total_tokens > 0);
    assert.ok(!logs.text.includes(key));

    // One unknown key in the list: nothing is deleted.
    const partial = await call(t, 'POST', '/key/delete', MASTER, { keys: [key, 'agk_nope'] });
    assert.equal(partial.status, 404);
    assert.equal((await call(t, 'GET', '/status', key)).status, 200);
    const del = await call(t, 'POST', '/key/delete', MASTER, { keys: [key] });
    assert.deepEqual(del.body, { deleted_keys: [key] });
    assert.equal((await call(t, 'GET', '/status', key)).status, 401);

    const badGen = await call(t, 'POST', '/key/generate', MASTER, { budget_duration: '7w' });
    assert.equal(badGen.status, 400);
    assert.equal(typeof badGen.body.error.message, 'string');
  });

  it('attack: a non-admin key cannot reach /admin or /key routes, nor escalate via PATCH', async () => {
    const admin = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'mallory' });
    const { id, key } = admin.body;
    const countBefore = (await call(t, 'GET', '/admin/keys', ADMIN)).body.keys.length;
    for (const credential of [key, ENV_KEY]) {
      assert.equal((await call(t, 'GET', '/admin/keys', credential)).status, 403);
      assert.equal(
        (await call(t, 'POST', '/admin/keys', credential, { user: 'mallory', admin: true })).status,
        403,
      );
      assert.equal((await call(t, 'PATCH', `/admin/keys/${id}`, credential, { admin: true })).status, 403);
      assert.equal((await call(t, 'POST', `/admin/keys/${id}/rotate`, credential, {})).status, 403);
      assert.equal((await call(t, 'DELETE', `/admin/keys/${id}`, credential)).status, 403);
      assert.equal((await call(t, 'GET', '/admin/usage', credential)).status, 403);
      const gen = await call(t, 'POST', '/key/generate', credential, { user_id: 'mallory' });
      assert.equal(gen.status, 403);
      assert.equal(gen.body.error.type, 'auth_error');
      assert.equal((await call(t, 'GET', `/key/info?key=${key}`, credential)).status, 403);
      assert.equal((await call(t, 'POST', '/key/update', credential, { key, max_budget: 1e6 })).status, 403);
      assert.equal((await call(t, 'GET', '/spend/logs', credential)).status, 403);
    }
    // /usage shows the caller's own key only: naming another key or user is refused.
    assert.equal((await call(t, 'GET', `/usage?keyId=${id}`, ENV_KEY)).status, 400);
    assert.equal((await call(t, 'GET', '/usage?userId=root', key)).status, 400);
    assert.equal((await call(t, 'GET', '/admin/keys')).status, 401);
    assert.equal((await call(t, 'GET', '/admin/keys', 'agk_wrong')).status, 401);
    const after = await call(t, 'GET', `/admin/keys/${id}`, ADMIN);
    assert.equal(after.body.admin, false);
    assert.equal((await call(t, 'GET', '/admin/keys', ADMIN)).body.keys.length, countBefore);
    // An admin key limited to other surfaces is not an admin here.
    const boxAdmin = await call(t, 'POST', '/admin/keys', ADMIN, {
      user: 'ops',
      admin: true,
      surfaces: ['claudebox'],
    });
    assert.equal((await call(t, 'GET', '/admin/keys', boxAdmin.body.key)).status, 403);
    const fullAdmin = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'ops', admin: true });
    assert.equal((await call(t, 'GET', '/admin/keys', fullAdmin.body.key)).status, 200);
  });

  it('attack: an expired or revoked key is refused everywhere', async () => {
    const expired = await call(t, 'POST', '/admin/keys', ADMIN, {
      user: 'old',
      expiresAt: new Date(Date.now() - 1000).toISOString(),
      admin: true,
    });
    assert.equal(expired.status, 201);
    for (const [surface, status] of Object.entries(await probeAll(t, expired.body.key))) {
      assert.equal(status, 401, `${surface} refuses an expired key`);
    }
    assert.equal((await call(t, 'GET', '/admin/keys', expired.body.key)).status, 401);
    const live = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'old' });
    assert.equal((await call(t, 'POST', '/key/delete', MASTER, { keys: [live.body.id] })).status, 200);
    for (const [surface, status] of Object.entries(await probeAll(t, live.body.key))) {
      assert.equal(status, 401, `${surface} refuses a revoked key`);
    }
  });

  it('secrets never appear in lists, info, the database or the logs', async () => {
    const created = await call(t, 'POST', '/admin/keys', ADMIN, { user: 'quiet' });
    const { id, key } = created.body;
    const rotated = await call(t, 'POST', `/admin/keys/${id}/rotate`, ADMIN, { gracePeriodS: 60 });
    const texts = [
      (await call(t, 'GET', '/admin/keys', ADMIN)).text,
      (await call(t, 'GET', `/admin/keys/${id}`, ADMIN)).text,
      (await call(t, 'GET', `/key/info?key=${id}`, MASTER)).text,
      (await call(t, 'GET', `/key/info?key=${encodeURIComponent(key)}`, MASTER)).text.replaceAll(key, ''),
      (await call(t, 'GET', `/spend/logs?api_key=${encodeURIComponent(key)}`, MASTER)).text,
      (await call(t, 'GET', '/usage', key)).text,
    ];
    // A bad body that names a key is refused without echoing it.
    texts.push((await call(t, 'POST', '/key/update', MASTER, { key, rpm_limit: 'lots' })).text);
    await call(t, 'GET', '/status', rotated.body.key);
    await call(t, 'GET', '/status', 'agk_not-a-key');
    assert.match(logText, /key created/, 'the server logged (the capture works)');
    assert.match(logText, /key rotated/);
    for (const secret of [key, rotated.body.key, ADMIN, MASTER, 'agk_not-a-key']) {
      assert.ok(!logText.includes(secret), 'no secret in the logs');
    }
    const { hashSecret } = await import('../../src/auth/secrets.ts');
    for (const text of texts) {
      assert.ok(!text.includes(key), 'no secret in an answer');
      assert.ok(!text.includes(hashSecret(key)), 'no hash in an answer');
      assert.ok(!text.includes(ADMIN) && !text.includes(MASTER) && !text.includes(ENV_KEY));
    }
    const rows = await t.deps.db.selectFrom('api_keys').selectAll().execute();
    assert.ok(!JSON.stringify(rows).includes(key), 'only the hash is stored');
    const { loggableUrl } = await import('../../src/logger.ts');
    assert.ok(!loggableUrl(`/key/info?key=${key}`).includes(key));
    assert.ok(!loggableUrl(`/spend/logs?api_key=${key}`).includes(key));
  });

  it('constant-time checks: admin and env keys are compared by hash with timingSafeEqual, never ===', async () => {
    const { readFile } = await import('node:fs/promises');
    for (const file of ['src/auth/key-store.ts', 'src/auth/authenticate.ts', 'src/surfaces/admin/auth.ts']) {
      const text = await readFile(file, 'utf8');
      assert.ok(!/(secret|key)\s*===|===\s*(secret|key)\b/.test(text), `${file} compares a secret with ===`);
    }
    const { authenticate } = await import('../../src/auth/authenticate.ts');
    // Near misses (same length, one character off) are refused; the exact key is accepted.
    assert.equal(await authenticate(t.deps.keys, `${ADMIN.slice(0, -1)}X`), undefined);
    assert.equal((await authenticate(t.deps.keys, ADMIN))?.isAdmin, true);
  });
});
