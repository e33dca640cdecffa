import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import { openAiSurface } from '../../src/surfaces/openai/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { readSse } from './sse-client.ts';

const KEY = 'ops-key-1';

/** Seed 000: the claude-ops chat app at /v1, its two curls, its error table, key rotation. */
describe('claude-ops chat flavour', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ surfaces: [openAiSurface], env: { CLAUDEOPS_CHAT_API_KEY: KEY } });
  });
  after(async () => t.close());

  // key '' sends no Authorization header at all.
  const post = (body: unknown, key = KEY, raw?: string): Promise<Response> =>
    fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        ...(key ? { Authorization: `Bearer ${key}` } : {}),
        'Content-Type': 'application/json',
      },
      body: raw ?? JSON.stringify(body),
    });

  it('answers the seed streaming curl as role, content, finish chunks then [DONE]', async () => {
    const res = await post({
      model: 'claude-ops',
      stream: true,
      messages: [{ role: 'user', content: 'What services are currently unhealthy?' }],
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = await readSse(res);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && /^chatcmpl-/.test(c.id)));
    assert.equal(chunks[0].choices[0].delta.role, 'assistant');
    assert.deepEqual(chunks.at(-1).choices[0], { index: 0, delta: {}, finish_reason: 'stop' });
    const text = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
    assertEcho(text, 'What services are currently unhealthy?');
    assert.equal(chunks[0].model, 'claude-ops');
  });

  it('answers the seed synchronous curl with one chat.completion and real usage', async () => {
    const res = await post({
      model: 'claude-ops',
      stream: false,
      messages: [{ role: 'user', content: 'Restart the nginx container on ie01' }],
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.object, 'chat.completion');
    assert.match(body.id, /^chatcmpl-/);
    assert.ok(Number.isInteger(body.created) && body.created < 1e11);
    assert.equal(body.choices[0].message.role, 'assistant');
    assertEcho(body.choices[0].message.content, 'Restart the nginx container on ie01');
    assert.equal(body.choices[0].finish_reason, 'stop');
    assert.ok(body.usage.prompt_tokens > 0 && body.usage.completion_tokens > 0);
  });

  it('sends only the last user message (array content too) and keeps no history', async () => {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${t.url}/v1` });
    const answer = await client.chat.completions.create({
      model: 'claude-ops',
      messages: [
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'first answer' },
        { role: 'user', content: [{ type: 'text', text: '[[recall]]' }] },
      ],
    });
    assert.equal(answer.choices[0]?.message.content, '(no earlier user messages)');
  });

  it('streams through the openai client', async () => {
    const client = new OpenAI({ apiKey: KEY, baseURL: `${t.url}/v1` });
    const stream = await client.chat.completions.create({
      model: 'claude-ops',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hello there' }],
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      if (c.usage) usage = c.usage;
    }
    assertEcho(text, 'hello there');
    assert.ok(usage && usage.completion_tokens > 0);
  });

  it('lists claude-ops on /v1/models without credentials', async () => {
    const res = await fetch(`${t.url}/v1/models`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.object, 'list');
    assert.deepEqual(
      body.data.map((m: { id: string }) => m.id),
      ['claude-ops'],
    );
  });

  it('answers every row of the seed error table', async () => {
    const ask = { model: 'claude-ops', messages: [{ role: 'user', content: 'hi' }] };
    const expectError = async (res: Response, status: number, code: string, type?: string) => {
      assert.equal(res.status, status);
      const body = await res.json();
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
      if (type) assert.equal(body.error.type, type);
    };
    await expectError(await post(ask, ''), 401, 'invalid_api_key');
    await expectError(await post(ask, 'wrong'), 401, 'invalid_api_key');
    await expectError(await post(undefined, KEY, '{"model": "claude-ops", '), 400, 'invalid_request');
    await expectError(
      await post({ model: 'claude-ops', messages: [{ role: 'system', content: 'x' }] }),
      400,
      'invalid_request',
    );
    await expectError(await post({ ...ask, model: 'gpt-4o' }), 404, 'model_not_found');

    // 429 while one session runs (CLAUDEOPS_CHAT_MAX_SESSIONS defaults to 1).
    const slow = post({ model: 'claude-ops', messages: [{ role: 'user', content: '[[sleep:1500]] slow' }] });
    await waitFor(
      async () => (await t.deps.engine.list({ state: 'active' })).some((r) => r.owner === 'claude-ops'),
      10_000,
      20,
    );
    const busy = await post(ask);
    assert.equal(busy.status, 429);
    assert.equal(busy.headers.get('retry-after'), '2', 'a 429 says when to retry');
    assert.deepEqual((await busy.json()).error, {
      message: 'A session is already running. Try again shortly.',
      type: 'rate_limit_error',
      param: null,
      code: 'rate_limit_exceeded',
    });
    assert.equal((await slow).status, 200);

    t.env.CLAUDEOPS_CHAT_API_KEY = undefined;
    t.deps.config.reload();
    try {
      await expectError(await post(ask), 503, 'chat_endpoint_disabled');
    } finally {
      t.env.CLAUDEOPS_CHAT_API_KEY = KEY;
      t.deps.config.reload();
    }
  });

  it('runs CLAUDEOPS_CHAT_MAX_SESSIONS sessions in parallel, each in its own workspace', async () => {
    t.env.CLAUDEOPS_CHAT_MAX_SESSIONS = '2';
    t.deps.config.reload();
    try {
      const slow = (n: number) =>
        post({ model: 'claude-ops', messages: [{ role: 'user', content: `[[sleep:2000]] slow ${n}` }] });
      const first = slow(1);
      const second = slow(2);
      await waitFor(
        async () =>
          (await t.deps.engine.list({ state: 'active', owner: 'claude-ops' })).filter(
            (r) => r.status === 'running',
          ).length === 2,
        10_000,
        20,
      );
      const workspaces = (await t.deps.engine.list({ state: 'active', owner: 'claude-ops' }))
        .map((r) => r.workspace)
        .sort();
      assert.deepEqual(workspaces, ['users/claude-ops/chat', 'users/claude-ops/chat-1']);
      const third = await post({ model: 'claude-ops', messages: [{ role: 'user', content: 'third' }] });
      assert.equal(third.status, 429);
      assert.equal((await first).status, 200);
      assert.equal((await second).status, 200);
    } finally {
      t.env.CLAUDEOPS_CHAT_MAX_SESSIONS = undefined;
      t.deps.config.reload();
    }
  });

  it('rotates the key without a restart', async () => {
    const ask = { model: 'claude-ops', messages: [{ role: 'user', content: 'rotated' }] };
    t.env.CLAUDEOPS_CHAT_API_KEY = 'ops-key-2';
    t.deps.config.reload();
    try {
      assert.equal((await post(ask, KEY)).status, 401);
      const res = await post(ask, 'ops-key-2');
      assert.equal(res.status, 200);
      assertEcho((await res.json()).choices[0].message.content, 'rotated');
    } finally {
      t.env.CLAUDEOPS_CHAT_API_KEY = KEY;
      t.deps.config.reload();
    }
  });
});

/**
 * The fake model echoes the prompt; on a reused live process Claude Code prefixes the
 * prompt with the `/clear` command's caveat text, which the fake model echoes too.
 */
function assertEcho(text: string, prompt: string): void {
  assert.ok(text.startsWith('Echo: ') && text.endsWith(prompt), `not an echo of "${prompt}": ${text}`);
}
