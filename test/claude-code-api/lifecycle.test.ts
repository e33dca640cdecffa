import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { agentProcessesUnder, waitForNoAgentProcesses } from '../helpers/processes.ts';
import { makeTempDir } from '../helpers/temp.ts';
import { waitFor } from '../helpers/wait.ts';
import { call, surfaces } from './client.ts';

const KEY = 'sk-life';

/** A run's life past the happy path: timeouts, and a session outliving the server. */
describe('claude-code-api: timeouts and restarts', async () => {
  const temp = await makeTempDir();
  const env = { API_KEYS: `alice:${KEY}` };
  let t: TestApp | undefined;
  after(async () => {
    await t?.close();
    await temp.cleanup();
  });

  it('a timed-out run answers timedOut with its partial output and leaves no process', async () => {
    t = await startTestApp({ surfaces, env, dataDir: temp.dir });
    // A first run leaves a live process parked; the timed-out run reuses it, so it starts at once
    // and streams for most of its second instead of spending it on a cold start.
    const warm = await call(t.url, 'POST', '/run', { key: KEY, body: { prompt: 'warm up' } });
    assert.equal(warm.body.success, true, JSON.stringify(warm.body));
    // Far more words than stream in minutes (a couple of hundred a second): the run is cut
    // mid-answer. The timeout leaves room for a loaded machine to get the first words out
    // (a reused process still resets first, and unconfined, more spawns compete for the CPU).
    const r = await call(t.url, 'POST', '/run', {
      key: KEY,
      body: { prompt: '[[words:200000]]', timeoutMs: 4000 },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.success, false);
    assert.equal(r.body.timedOut, true);
    assert.match(r.body.output, /^word1 word2/);
    assert.doesNotMatch(r.body.output, /word200000$/);
    assert.deepEqual(await waitForNoAgentProcesses(t.dataDir, 5000), []);
  });

  it('a session survives a server restart and continues', async () => {
    assert.ok(t);
    const first = await call(t.url, 'POST', '/run', {
      key: KEY,
      body: { prompt: 'Remember the word heliotrope.', sessionId: 'durable' },
    });
    assert.equal(first.body.success, true, JSON.stringify(first.body));
    await t.close();
    t = await startTestApp({ surfaces, env, dataDir: temp.dir });
    const second = await call(t.url, 'POST', '/run', {
      key: KEY,
      body: { prompt: '[[recall]]', sessionId: 'durable' },
    });
    assert.equal(second.body.success, true, JSON.stringify(second.body));
    assert.match(second.body.output, /Remember the word heliotrope\./);
    const status = await call(t.url, 'GET', '/status', { key: KEY });
    assert.deepEqual(
      status.body.sessions.map((s: { sessionId: string }) => s.sessionId),
      ['durable'],
    );
  });

  it('a client that goes away cancels its run', async () => {
    assert.ok(t);
    // The session above keeps its process parked in `users/alice`; a one-shot run has a
    // workspace of its own, so what must be gone afterwards is every process it added.
    const parked = new Set(await agentProcessesUnder(t.dataDir));
    // A raw request we can drop mid-run, as a client that crashed or timed out would.
    const req = request(`${t.url}/run`, {
      method: 'POST',
      agent: false,
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
    });
    req.on('error', () => {});
    req.end(JSON.stringify({ prompt: '[[sleep:20000]] never answered' }));
    const deps = t.deps;
    await waitFor(async () =>
      (await deps.engine.list({ state: 'active' })).some((r) => r.status === 'running'),
    );
    req.destroy();
    await waitFor(async () => (await deps.engine.list({ state: 'active' })).length === 0);
    const added = async () => (await agentProcessesUnder(t?.dataDir ?? '')).filter((p) => !parked.has(p));
    await waitFor(async () => (await added()).length === 0, 5000).catch(() => {});
    assert.deepEqual(await added(), []);
  });
});
