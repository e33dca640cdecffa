import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openAiSurface } from '../../src/surfaces/openai/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitForNoAgentProcesses } from '../helpers/processes.ts';
import { sseEvents } from './sse-client.ts';

/**
 * Its own app: live agent processes of earlier runs stay parked for reuse, so "no process
 * left" can only be asserted where the disconnected run is the only one.
 */
describe('a client that goes away', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ surfaces: [openAiSurface], env: { CLAUDEBOX_API_TOKEN: 'box' } });
  });
  after(async () => t.close());

  it('cancels its streaming run and leaves no agent process', async () => {
    const ac = new AbortController();
    const res = await fetch(`${t.url}/claudebox/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: 'Bearer box', 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: 'sonnet',
        stream: true,
        messages: [{ role: 'user', content: '[[words:3]] [[tool:Bash {"command":"sleep 30"}]]' }],
      }),
      signal: ac.signal,
    });
    // Wait until the agent is inside its tool call, then hang up mid-stream.
    try {
      for await (const e of sseEvents(res)) {
        if (e.data?.includes('[tool: Bash]')) ac.abort();
      }
    } catch (err) {
      assert.equal((err as Error).name, 'AbortError');
    }
    const runIds = (await t.deps.engine.list({ state: 'active' })).map((r) => r.id);
    assert.deepEqual(await waitForNoAgentProcesses(t.dataDir, 10_000), []);
    assert.equal((await t.deps.engine.list({ state: 'active' })).length, 0);
    for (const id of runIds) assert.equal((await t.deps.engine.get(id))?.status, 'cancelled');
  });

  it('cancels a stream:false run whose client gives up waiting', async () => {
    const ac = new AbortController();
    const pending = fetch(`${t.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: 'Bearer box', 'Content-Type': 'application/json' },
      body: JSON.stringify({
        model: 'haiku',
        messages: [{ role: 'user', content: '[[tool:Bash {"command":"sleep 30"}]]' }],
      }),
      signal: ac.signal,
    });
    const deadline = Date.now() + 15_000;
    while (!(await t.deps.engine.list({ state: 'active' })).some((r) => r.status === 'running')) {
      assert.ok(Date.now() < deadline, 'the run never started');
      await new Promise((r) => setTimeout(r, 20));
    }
    const runIds = (await t.deps.engine.list({ state: 'active' })).map((r) => r.id);
    await new Promise((r) => setTimeout(r, 500));
    ac.abort();
    await assert.rejects(pending);
    assert.deepEqual(await waitForNoAgentProcesses(t.dataDir, 10_000), []);
    for (const id of runIds) assert.equal((await t.deps.engine.get(id))?.status, 'cancelled');
  });
});
