import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { openAiSurface } from '../../src/surfaces/openai/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { readSse, sseEvents } from './sse-client.ts';

const BOX = 'box-token';
const LITELLM = 'litellm-master';
const OPS = 'ops-key';

/** Seed 002: claudebox's flavour at /claudebox/openai/v1 and through the LiteLLM gateway paths. */
describe('claudebox flavour and gateway paths', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces: [openAiSurface],
      env: {
        CLAUDEBOX_API_TOKEN: BOX,
        LITELLM_MASTER_KEY: LITELLM,
        CLAUDEOPS_CHAT_API_KEY: OPS,
        SSE_HEARTBEAT_MS: '100',
      },
    });
  });
  after(async () => t.close());

  const workspaceDir = (ws: string): string => join(t.dataDir, 'workspaces', 'users', 'claudebox', ws);
  const gateway = (body: unknown, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${t.url}/chat/completions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${LITELLM}`, 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('serves the openai client at /claudebox/openai/v1, streaming and not', async () => {
    const client = new OpenAI({ apiKey: BOX, baseURL: `${t.url}/claudebox/openai/v1` });
    const answer = await client.chat.completions.create({
      model: 'sonnet',
      temperature: 0.2,
      max_tokens: 10,
      messages: [
        { role: 'system', content: 'ignored' },
        { role: 'user', content: 'plain question' },
      ],
    });
    assert.match(answer.choices[0]?.message.content ?? '', /^Echo: .*plain question$/s);
    assert.ok((answer.usage?.prompt_tokens ?? 0) > 0);
    const stream = await client.chat.completions.create({
      model: 'claudebox-haiku',
      stream: true,
      messages: [{ role: 'user', content: 'streamed question' }],
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    assert.match(text, /^Echo: .*streamed question$/s);
  });

  it('serves the openai client at the gateway root and rejects claude-ops keys there for claudebox models', async () => {
    const client = new OpenAI({ apiKey: LITELLM, baseURL: t.url });
    const stream = await client.chat.completions.create({
      model: 'claudebox-sonnet',
      stream: true,
      messages: [{ role: 'user', content: 'via gateway' }],
    });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    assert.match(text, /via gateway$/);
    const ops = new OpenAI({ apiKey: OPS, baseURL: t.url });
    await assert.rejects(
      ops.chat.completions.create({ model: 'claudebox-sonnet', messages: [{ role: 'user', content: 'x' }] }),
      (err: InstanceType<typeof OpenAI.APIError>) => err.status === 404 && err.code === 'model_not_found',
    );
    const answer = await ops.chat.completions.create({
      model: 'claude-ops',
      messages: [{ role: 'user', content: 'ops at the root' }],
    });
    assert.match(answer.choices[0]?.message.content ?? '', /ops at the root$/);
  });

  it('runs the seed LiteLLM curl in the workspace named by extra_headers', async () => {
    const res = await gateway({
      model: 'claudebox-sonnet',
      messages: [
        { role: 'user', content: '[[tool:Bash {"command":"echo analyzed > summary.txt"}]] analyze data.csv' },
      ],
      extra_headers: { 'X-Claude-Workspace': 'myproject' },
    });
    assert.equal(res.status, 200);
    assert.match((await res.json()).choices[0].message.content, /Tool result/);
    assert.equal(await readFile(join(workspaceDir('myproject'), 'summary.txt'), 'utf8'), 'analyzed\n');
  });

  it('uses X-Claude-Workspace and continues only with X-Claude-Continue', async () => {
    const client = new OpenAI({ apiKey: BOX, baseURL: `${t.url}/claudebox/openai/v1` });
    const ask = (content: string, headers: Record<string, string>) =>
      client.chat.completions.create(
        { model: 'opus', messages: [{ role: 'user', content }] },
        { headers: { 'X-Claude-Workspace': 'notes/a', ...headers } },
      );
    await ask('[[tool:Bash {"command":"echo kept > kept.txt"}]] remember alpha', {});
    assert.equal(await readFile(join(workspaceDir('notes/a'), 'kept.txt'), 'utf8'), 'kept\n');
    const continued = await ask('[[recall]]', { 'X-Claude-Continue': 'yes' });
    assert.match(continued.choices[0]?.message.content ?? '', /remember alpha/);
    const fresh = await ask('[[recall]]', {});
    assert.equal(fresh.choices[0]?.message.content, '(no earlier user messages)');
  });

  it('takes continuation from extra_headers as well', async () => {
    const extra = { 'X-Claude-Workspace': 'extra-ws' };
    await gateway({
      model: 'claudebox-haiku',
      messages: [{ role: 'user', content: 'first beta' }],
      extra_headers: extra,
    });
    const res = await gateway({
      model: 'claudebox-haiku',
      messages: [{ role: 'user', content: '[[recall]]' }],
      extra_headers: { ...extra, 'X-Claude-Continue': 'true' },
    });
    assert.match((await res.json()).choices[0].message.content, /first beta/);
  });

  it('answers 409 in OpenAI shape when the workspace is busy', async () => {
    const headers = { 'X-Claude-Workspace': 'busy-ws' };
    const slow = gateway(
      { model: 'sonnet', messages: [{ role: 'user', content: '[[sleep:1500]] slow' }] },
      headers,
    );
    const deadline = Date.now() + 10_000;
    while (
      !(await t.deps.engine.list({ state: 'active' })).some((r) => r.workspace === 'users/claudebox/busy-ws')
    ) {
      assert.ok(Date.now() < deadline);
      await new Promise((r) => setTimeout(r, 20));
    }
    const res = await gateway({ model: 'sonnet', messages: [{ role: 'user', content: 'x' }] }, headers);
    assert.equal(res.status, 409);
    const body = await res.json();
    assert.equal(body.error.code, 'workspace_busy');
    assert.equal((await slow).status, 200);
  });

  it('streams [[words:50]] as many deltas, with keep-alive comments while the model sleeps', async () => {
    const res = await gateway({
      model: 'claudebox-sonnet',
      stream: true,
      messages: [{ role: 'user', content: '[[sleep:1500]] [[words:50]]' }],
    });
    let comments = 0;
    const data: string[] = [];
    for await (const e of sseEvents(res)) {
      if (e.comment === 'keep-alive') comments += 1;
      if (e.data !== undefined) data.push(e.data);
    }
    assert.ok(comments >= 3, `only ${comments} heartbeats`);
    assert.equal(data.at(-1), '[DONE]');
    const contents = data
      .slice(0, -1)
      .map((d) => JSON.parse(d).choices[0]?.delta?.content)
      .filter((c): c is string => typeof c === 'string' && c !== '');
    assert.ok(contents.length >= 25, `only ${contents.length} deltas`);
    assert.match(contents.join(''), /word1 word2 .* word50$/);
  });

  it('ends a failed run with an error event then [DONE]', async () => {
    const res = await gateway({
      model: 'claudebox-sonnet',
      stream: true,
      messages: [{ role: 'user', content: '[[error:400]] fail' }],
    });
    const data = await readSse(res);
    assert.equal(data.at(-1), '[DONE]');
    const error = JSON.parse(data.at(-2) ?? '{}').error;
    assert.equal(typeof error?.message, 'string');
    assert.equal(error.code, 'run_failed');
  });

  it('lists the models each caller may use', async () => {
    const ids = async (path: string, key?: string): Promise<string[] | number> => {
      const res = await fetch(`${t.url}${path}`, { headers: key ? { Authorization: `Bearer ${key}` } : {} });
      if (res.status !== 200) return res.status;
      return (await res.json()).data.map((m: { id: string }) => m.id);
    };
    const boxModels = ['claudebox-haiku', 'claudebox-sonnet', 'claudebox-opus', 'haiku', 'sonnet', 'opus'];
    assert.deepEqual(await ids('/v1/models'), ['claude-ops']);
    assert.deepEqual(await ids('/v1/models', BOX), boxModels);
    assert.deepEqual(await ids('/models', LITELLM), boxModels);
    assert.deepEqual(await ids('/claudebox/openai/v1/models', BOX), boxModels);
    assert.deepEqual(await ids('/claudebox/openai/v1/models', OPS), ['claude-ops']);
    assert.equal(await ids('/models'), 401);
    const listed = await new OpenAI({ apiKey: LITELLM, baseURL: t.url }).models.list();
    assert.equal(listed.data.length, boxModels.length);
    const live = await fetch(`${t.url}/health/liveliness`);
    assert.equal(live.status, 200);
  });

  it('answers an unknown model with 404 model_not_found', async () => {
    const res = await gateway({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(res.status, 404);
    assert.equal((await res.json()).error.code, 'model_not_found');
  });
});
