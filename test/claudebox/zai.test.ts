import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import type { RecordedRequest } from '../../src/fake-model/recorder.ts';
import { credentialDigest } from '../../src/fake-model/recorder.ts';
import { type FakeModel, startFakeModel } from '../../src/fake-model/server.ts';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import { mcpSurface } from '../../src/surfaces/mcp/index.ts';
import { openAiSurface } from '../../src/surfaces/openai/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { agentProcessesUnder } from '../helpers/processes.ts';

const BOX = 'box-token';
const ZAI = 'zai-instance-token';
const MASTER = 'litellm-master';
/** A marker value: it must reach the agent's env and nothing else a caller can see. */
const ZAI_KEY = 'zai-secret-key-5f0c1e7a';

type Json = Record<string, unknown>;

/** The /v1/messages calls a fake model received (Claude Code may call other paths too). */
function messageCalls(fake: FakeModel): Array<RecordedRequest & { body: Json }> {
  return fake.requests().filter((r) => r.path === '/v1/messages') as Array<RecordedRequest & { body: Json }>;
}

describe('GLM models through Z.ai and the /claudebox-zai/ instance', () => {
  let zai: FakeModel;
  let t: TestApp;
  /** Every HTTP body this suite received, to prove the Z.ai key is never in one. */
  const seen: string[] = [];

  const call = async (path: string, token: string, init: RequestInit = {}) => {
    const res = await fetch(`${t.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    });
    const text = await res.text();
    seen.push(text, JSON.stringify([...res.headers]));
    return { status: res.status, text, json: (text ? JSON.parse(text) : {}) as Json };
  };
  const runAt = (prefix: string, token: string, body: Json) =>
    call(`${prefix}/run`, token, { method: 'POST', body: JSON.stringify(body) });

  before(async () => {
    // A second fake model stands in for Z.ai; the app's own fake model is the "Anthropic" one.
    zai = await startFakeModel();
    t = await startTestApp({
      surfaces: [openAiSurface, claudeboxSurface, mcpSurface],
      env: {
        CLAUDEBOX_API_TOKEN: BOX,
        CLAUDEBOX_ZAI_API_TOKEN: ZAI,
        LITELLM_MASTER_KEY: MASTER,
        ZAI_API_KEY: ZAI_KEY,
        ZAI_BASE_URL: zai.url,
      },
    });
  });
  after(async () => {
    await t.close();
    await zai.close();
    for (const body of seen) assert.ok(!body.includes(ZAI_KEY), 'the Z.ai key leaked into a response');
  });

  it('serves claudebox-glm-4.7 to the openai client from the Z.ai endpoint only', async () => {
    zai.clearRequests();
    t.fake.clearRequests();
    const client = new OpenAI({ apiKey: ZAI, baseURL: `${t.url}/claudebox-zai/openai/v1` });
    const answer = await client.chat.completions.create({
      model: 'claudebox-glm-4.7',
      messages: [{ role: 'user', content: 'glm question' }],
    });
    seen.push(JSON.stringify(answer));
    assert.match(answer.choices[0]?.message.content ?? '', /^Echo: .*glm question$/s);
    const calls = messageCalls(zai);
    assert.ok(calls.length > 0, 'the Z.ai endpoint got the model call');
    assert.ok(calls.every((c) => c.body.model === 'glm-4.7'));
    // The key travels as x-api-key (the recorder redacts it), never as an OAuth bearer.
    assert.equal(calls[0]?.headers['x-api-key'], '[redacted]');
    assert.equal(
      calls[0]?.credentialDigests['x-api-key'],
      credentialDigest(ZAI_KEY),
      'the real key, added by the relay',
    );
    assert.equal(calls[0]?.headers.authorization, undefined);
    assert.deepEqual(messageCalls(t.fake), [], 'the Anthropic-side model got nothing');
    assert.ok(existsSync(join(t.dataDir, 'workspaces', 'users', 'claudebox-zai', 'default')));
  });

  it('lists the GLM models per credential; the master key reaches them through the gateway', async () => {
    const ids = async (path: string, token: string) =>
      ((await call(path, token)).json.data as Array<{ id: string }>).map((m) => m.id);
    const zaiModels = await ids('/claudebox-zai/openai/v1/models', ZAI);
    assert.ok(zaiModels.includes('claudebox-glm-4.5-air') && zaiModels.includes('claudebox-glm-5.1'));
    assert.ok(!zaiModels.includes('claudebox-sonnet'));
    const boxModels = await ids('/claudebox/openai/v1/models', BOX);
    assert.ok(boxModels.includes('claudebox-sonnet') && !boxModels.some((id) => id.includes('glm')));
    const all = await ids('/models', MASTER);
    assert.ok(all.includes('claudebox-sonnet') && all.includes('claudebox-glm-4.7'));

    // The Claude instance's token may not use the GLM models, nor the Z.ai token Claude's.
    const denied = await call('/chat/completions', BOX, {
      method: 'POST',
      body: JSON.stringify({ model: 'claudebox-glm-4.7', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(denied.status, 404);
    assert.equal((denied.json.error as Json).code, 'model_not_found');

    zai.clearRequests();
    const viaGateway = await call('/chat/completions', MASTER, {
      method: 'POST',
      body: JSON.stringify({
        model: 'claudebox-glm-4.5-air',
        messages: [{ role: 'user', content: 'gateway glm' }],
        extra_headers: { 'X-Claude-Workspace': 'gw' },
      }),
    });
    assert.equal(viaGateway.status, 200, viaGateway.text);
    assert.equal(messageCalls(zai).at(-1)?.body.model, 'glm-4.5-air');
    // LiteLLM routed GLM models to the zai instance: its user, its workspaces.
    assert.ok(existsSync(join(t.dataDir, 'workspaces', 'users', 'claudebox-zai', 'gw')));
  });

  it('runs /claudebox-zai/run on GLM models in workspaces of its own', async () => {
    zai.clearRequests();
    const first = await runAt('/claudebox-zai', ZAI, { prompt: 'zai run', workspace: 'shared-name' });
    assert.equal(first.status, 200, first.text);
    assert.match(String(first.json.result), /^Echo: .*zai run$/s);
    assert.equal(messageCalls(zai).at(-1)?.body.model, 'glm-4.7', 'default model of the instance');
    await runAt('/claudebox-zai', ZAI, { prompt: 'opus alias', workspace: 'other', model: 'opus' });
    assert.equal(messageCalls(zai).at(-1)?.body.model, 'glm-5.1');

    // The Claude instance's workspace of the same name is another directory and conversation.
    await runAt('/claudebox', BOX, { prompt: 'claude run', workspace: 'shared-name' });
    const recall = await runAt('/claudebox-zai', ZAI, { prompt: '[[recall]]', workspace: 'shared-name' });
    assert.match(String(recall.json.result), /zai run/);
    assert.doesNotMatch(String(recall.json.result), /claude run/);
    const zaiList = (await call('/claudebox-zai/files', ZAI)).json.workspaces as Array<{ name: string }>;
    const boxList = (await call('/claudebox/files', BOX)).json.workspaces as Array<{ name: string }>;
    assert.ok(zaiList.some((w) => w.name === 'other'));
    assert.ok(!boxList.some((w) => w.name === 'other'));
  });

  it('refuses each instance token on the other instance', async () => {
    assert.equal((await runAt('/claudebox', ZAI, { prompt: 'no' })).status, 401);
    assert.equal((await call('/claudebox/status', ZAI)).status, 401);
    assert.equal((await runAt('/claudebox-zai', BOX, { prompt: 'no' })).status, 401);
    assert.equal((await call('/claudebox-zai/files', BOX)).status, 401);
    assert.equal((await call('/claudebox-zai/health', 'nobody')).status, 200);
  });

  it('keeps the Z.ai key out of agents entirely, and out of error bodies', async () => {
    const pending = runAt('/claudebox-zai', ZAI, { prompt: '[[sleep:2500]] slow', workspace: 'slow' });
    let pids: number[] = [];
    for (let i = 0; i < 50 && pids.length === 0; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      pids = await agentProcessesUnder(t.dataDir);
    }
    assert.ok(pids.length > 0, 'an agent process is running');
    let hasKeyInEnv = false;
    for (const pid of pids) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
      const environ = await readFile(`/proc/${pid}/environ`, 'latin1').catch(() => '');
      assert.ok(!cmdline.includes(ZAI_KEY), `the key is in the cmdline of ${pid}`);
      hasKeyInEnv ||= environ.includes(ZAI_KEY);
    }
    assert.ok(!hasKeyInEnv, 'no agent holds the key: the model relay adds it to each call');
    assert.equal((await pending).status, 200);

    const failed = await runAt('/claudebox-zai', ZAI, { prompt: '[[error:400]]', workspace: 'bad' });
    assert.ok(failed.text.length > 0);
  });
});

describe('without ZAI_API_KEY', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces: [openAiSurface, claudeboxSurface],
      env: { CLAUDEBOX_API_TOKEN: BOX, CLAUDEBOX_ZAI_API_TOKEN: ZAI, LITELLM_MASTER_KEY: MASTER },
    });
  });
  after(async () => t.close());

  it('offers no GLM model and refuses /claudebox-zai/ runs', async () => {
    const auth = { authorization: `Bearer ${MASTER}`, 'content-type': 'application/json' };
    const models = (await (await fetch(`${t.url}/models`, { headers: auth })).json()) as {
      data: Array<{ id: string }>;
    };
    assert.ok(models.data.some((m) => m.id === 'claudebox-sonnet'));
    assert.ok(!models.data.some((m) => m.id.includes('glm')));
    const res = await fetch(`${t.url}/chat/completions`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ model: 'claudebox-glm-4.7', messages: [{ role: 'user', content: 'x' }] }),
    });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'model_not_found');
    const run = await fetch(`${t.url}/claudebox-zai/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ZAI}` },
      body: JSON.stringify({ prompt: 'x' }),
    });
    assert.equal(run.status, 400);
    assert.match(((await run.json()) as { error: { message: string } }).error.message, /model not available/);
  });
});
