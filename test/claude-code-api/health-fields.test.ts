import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { call, surfaces } from './client.ts';

/** exitxio's getHealthSummary / getStatus fields, next to agentgate's own. */
describe("claude-code-api: /health and /status carry the original's fields", { timeout: 120_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces,
      env: {
        API_KEYS: 'h:sk-h,other:sk-other',
        MAX_CONCURRENT_RUNS: '3',
        MAX_QUEUED_RUNS: '7',
        // Warm spares (per owner in a sandbox, none warm before an owner's first run) do not
        // make a worker: a worker is a run slot, ready whether or not a spare is warm.
        POOL_SIZE: '1',
      },
    });
  });
  after(async () => t.close());

  it('an idle server: workers all ready, so a client waiting for ready >= total proceeds', async () => {
    const h = await call(t.url, 'GET', '/health');
    assert.equal(h.status, 200, JSON.stringify(h.body));
    assert.deepEqual(h.body.workers, { total: 3, ready: 3, busy: 0, error: 0 });
    assert.ok(h.body.workers.ready >= h.body.workers.total);
    if (h.body.sandbox === 'bwrap') {
      // Sandboxed: spares are per owner, and no owner has run yet, so none is warm; the
      // server is ready all the same.
      assert.equal(h.body.pool.idle, 0);
    }
    assert.equal(h.body.queue.length, 0);
    assert.equal(h.body.queue.maxSize, 7);
    assert.equal(typeof h.body.uptime, 'number');
    assert.ok(h.body.uptime >= 0);
    // agentgate's own fields stay.
    assert.equal(h.body.queue.maxConcurrentRuns, 3);
    assert.equal(typeof h.body.pool.size, 'number');
  });

  it('a running run makes one worker busy; /status lists the workers and counts what settled', async () => {
    const before = (await call(t.url, 'GET', '/status', { key: 'sk-h' })).body;
    assert.equal(before.workers.length, 3);
    assert.equal(before.queueLength, 0);
    assert.equal(before.maxQueueSize, 7);
    const running = call(t.url, 'POST', '/run', { key: 'sk-h', body: { prompt: '[[sleep:3000]] busy' } });
    await waitFor(() => t.deps.engine.health().queue.running === 1, 60_000);
    const h = await call(t.url, 'GET', '/health');
    assert.deepEqual(h.body.workers, { total: 3, ready: 2, busy: 1, error: 0 });
    const s = (await call(t.url, 'GET', '/status', { key: 'sk-h' })).body;
    const busy = s.workers.filter((w: { state: string }) => w.state === 'busy');
    assert.equal(busy.length, 1);
    assert.equal(typeof busy[0].busySince, 'number');
    assert.deepEqual(
      s.workers.map((w: { id: string }) => w.id),
      ['worker-0', 'worker-1', 'worker-2'],
    );
    assert.equal((await running).body.success, true);

    // One that times out is an error.
    const failed = await call(t.url, 'POST', '/run', {
      key: 'sk-h',
      body: { prompt: '[[sleep:5000]] too slow', timeoutMs: 1000 },
    });
    assert.equal(failed.body.timedOut, true);
    const after = (await call(t.url, 'GET', '/status', { key: 'sk-h' })).body;
    assert.equal(after.totalProcessed, before.totalProcessed + 2);
    assert.equal(after.totalErrors, before.totalErrors + 1);
    assert.ok(after.workers.every((w: { state: string }) => w.state === 'ready'));
    // Another user sees the same server-wide figures.
    const otherAnswer = await call(t.url, 'GET', '/status', { key: 'sk-other' });
    assert.equal(otherAnswer.status, 200, JSON.stringify(otherAnswer.body));
    const other = otherAnswer.body;
    assert.equal(other.totalProcessed, after.totalProcessed);
  });
});
