import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { call, surfaces } from './client.ts';

describe('claude-code-api: pool and queue', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces,
      env: { API_KEYS: 'sk-q,u2:sk-u2,u3:sk-u3', POOL_SIZE: '1', AGENT_SANDBOX: 'none' },
    });
  });
  after(async () => t.close());

  it('a CLAUDE.md reaches the model on a run served by a claimed warm spare', async () => {
    await waitFor(() => t.deps.backend.poolState().idle >= 1, 20_000);
    const put = await call(t.url, 'PUT', '/user-claude', {
      key: 'sk-u3',
      body: { content: 'Spare marker c41d.' },
    });
    assert.deepEqual(put.body, { saved: true });
    t.fake.clearRequests();
    const r = await call(t.url, 'POST', '/run', { key: 'sk-u3', body: { prompt: 'memory via spare' } });
    assert.equal(r.body.success, true, JSON.stringify(r.body));
    const sent = JSON.stringify(t.fake.requests().map((q) => q.body));
    assert.ok(sent.includes('Spare marker c41d.'), 'the claimed spare did not load the user memory');
  });

  it('three concurrent /run with POOL_SIZE=1 all succeed (they queue, never 409)', async () => {
    const prompts = ['one', 'two', 'three'];
    const answers = await Promise.all(
      prompts.map((p, i) =>
        call(t.url, 'POST', '/run', { key: i === 2 ? 'sk-u2' : 'sk-q', body: { prompt: `concurrent ${p}` } }),
      ),
    );
    for (const [i, a] of answers.entries()) {
      assert.equal(a.status, 200, JSON.stringify(a.body));
      assert.equal(a.body.success, true);
      assert.match(a.body.output, new RegExp(`concurrent ${prompts[i]}$`));
    }
  });
});

describe('claude-code-api: a full queue', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces,
      env: { API_KEYS: 'sk-full', MAX_CONCURRENT_RUNS: '1', MAX_QUEUED_RUNS: '1' },
    });
  });
  after(async () => t.close());

  it('answers 429 with Retry-After once the queue is full', async () => {
    const send = (prompt: string) => call(t.url, 'POST', '/run', { key: 'sk-full', body: { prompt } });
    const running = send('[[sleep:3000]] occupying');
    await waitFor(() => t.deps.engine.health().queue.running === 1, 20_000);
    const queued = send('queued behind');
    await waitFor(() => t.deps.engine.health().queue.queued === 1, 20_000);
    const refused = await send('one too many');
    assert.equal(refused.status, 429);
    assert.equal(typeof refused.body.error, 'string');
    assert.ok(Number(refused.headers.get('retry-after')) >= 1);
    assert.equal((await running).body.success, true);
    assert.equal((await queued).body.success, true);
  });
});
