import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { claudeCodeApiSurface } from '../../src/surfaces/claude-code-api/index.ts';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import { openAiSurface } from '../../src/surfaces/openai/index.ts';
import type { TestApp } from '../helpers/app.ts';
import { ALICE, api, startApiApp } from './api-client.ts';

const BOX = 'box-token';
const LITELLM = 'litellm-master';
const OPS = 'ops-key';

/**
 * Every run-starting route names its run in an `x-run-id` response header, so the run can be
 * followed on /api/v1 while it goes on; streaming answers send it before their first byte.
 */
describe('x-run-id on every run-starting route', { timeout: 180_000 }, () => {
  let t: TestApp;
  let admin: string;
  before(async () => {
    t = await startApiApp(
      { CLAUDEBOX_API_TOKEN: BOX, LITELLM_MASTER_KEY: LITELLM, CLAUDEOPS_CHAT_API_KEY: OPS },
      [claudeCodeApiSurface, openAiSurface, claudeboxSurface],
    );
    admin = (await t.deps.keys.create('root', true)).key;
  });
  after(() => t?.close());

  /** The run the header names exists on /api/v1 and is the one this prompt started. */
  async function assertNamesRun(res: Response, prompt: string): Promise<Record<string, unknown>> {
    const id = res.headers.get('x-run-id');
    assert.ok(id, 'x-run-id is in the response headers');
    const run = await api(t, 'GET', `/runs/${id}`, admin);
    assert.equal(run.status, 200);
    assert.ok(String(run.json.prompt).includes(prompt), `${run.json.prompt} carries ${prompt}`);
    return run.json;
  }

  const post = (path: string, key: string, body: unknown): Promise<Response> =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('claudebox POST /claudebox/run', async () => {
    const res = await post('/claudebox/run', BOX, { prompt: 'box 8812', workspace: 'hdr' });
    assert.equal(res.status, 200);
    await assertNamesRun(res, 'box 8812');
    await res.json();
  });

  it('claude-code-api POST /run', async () => {
    const res = await post('/run', ALICE, { prompt: 'plain run 3390' });
    assert.equal(res.status, 200);
    const run = await assertNamesRun(res, 'plain run 3390');
    assert.equal(run.owner, 'alice');
    await res.json();
  });

  it('POST /api/v1/runs', async () => {
    const res = await post('/api/v1/runs', ALICE, { prompt: 'api run 1207' });
    assert.equal(res.status, 202);
    await assertNamesRun(res, 'api run 1207');
  });

  for (const [path, key, model] of [
    ['/v1/chat/completions', OPS, 'claude-ops'],
    ['/claudebox/openai/v1/chat/completions', BOX, 'sonnet'],
    ['/chat/completions', LITELLM, 'claudebox-sonnet'],
  ] as const) {
    it(`OpenAI ${path}, not streaming`, async () => {
      const prompt = `chat ${path} 55`;
      const res = await post(path, key, { model, messages: [{ role: 'user', content: prompt }] });
      assert.equal(res.status, 200);
      await assertNamesRun(res, prompt);
      await res.json();
    });

    it(`OpenAI ${path}, streaming: the header comes before the first chunk, while the run goes on`, async () => {
      const prompt = `stream ${path} 77 [[sleep:1500]]`;
      const res = await post(path, key, {
        model,
        stream: true,
        messages: [{ role: 'user', content: prompt }],
      });
      assert.equal(res.status, 200);
      const run = await assertNamesRun(res, `stream ${path} 77`);
      assert.ok(['queued', 'running'].includes(String(run.status)), `the run is still going: ${run.status}`);
      const text = await res.text();
      assert.match(text, /\[DONE\]/);
    });
  }
});
