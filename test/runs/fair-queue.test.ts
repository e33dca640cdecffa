import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunSpec } from '../../src/engine/spec.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { engineBackends, engineEnv, stopTestRedis } from '../helpers/redis.ts';
import { waitFor } from '../helpers/wait.ts';

const spec = (owner: string, workspace: string, prompt: string): RunSpec => ({
  owner,
  workspace: `users/${owner}/${workspace}`,
  prompt,
  onBusy: 'wait',
});

after(stopTestRedis);

/** Issue 13.8: one caller filling the queue must not starve the others; on both engines. */
for (const backend of engineBackends) {
  describe(`the run queue is fair by owner (${backend.name})`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({
        surfaces: [],
        env: {
          MAX_CONCURRENT_RUNS: '1',
          MAX_QUEUED_RUNS: '4',
          MAX_QUEUED_RUNS_PER_OWNER: '2',
          ...(await engineEnv(backend)),
        },
      });
    });
    after(async () => t.close());

    it('an owner past its share gets queue_full while another owner’s run still queues and starts first', async () => {
      const engine = t.deps.engine;
      const first = await engine.submit(spec('alice', 'w0', '[[sleep:2500]] holding the only slot'));
      await waitFor(async () => (await engine.get(first.id))?.status === 'running', 20_000);
      // Alice submits until she is refused.
      const queued: { id: string }[] = [];
      let refusal: unknown;
      for (let i = 1; i <= 6 && refusal === undefined; i++) {
        try {
          queued.push(await engine.submit(spec('alice', `w${i}`, `alice ${i}`)));
        } catch (err) {
          refusal = err;
        }
      }
      assert.equal((refusal as { code?: string } | undefined)?.code, 'queue_full', 'alice was never refused');
      assert.equal(queued.length, 2, 'alice holds exactly her share of the queue');

      const bob = await engine.submit(spec('bob', 'w', 'bob 1'));
      const bobRecord = await engine.wait(bob.id);
      assert.equal(bobRecord.status, 'succeeded');
      // Bob's run, queued after both of Alice's, started before either of them.
      for (const run of queued) {
        const rec = await engine.get(run.id);
        assert.ok(
          rec?.startedAt === undefined || (bobRecord.startedAt ?? 0) <= rec.startedAt,
          'alice went first',
        );
      }
      for (const run of queued) await engine.cancel(run.id);
      await Promise.all(queued.map((r) => engine.wait(r.id)));
      await engine.wait(first.id);
    });
  });
}
