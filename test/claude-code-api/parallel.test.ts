import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunSummary } from '../../src/engine/port.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';
import { call, surfaces } from './client.ts';

const bash = (command: string) => `[[tool:Bash ${JSON.stringify({ command })}]]`;

/** True when every run started before any of them finished: they all ran at once. */
function allOverlap(runs: RunSummary[]): boolean {
  const lastStart = Math.max(...runs.map((r) => r.startedAt ?? Number.POSITIVE_INFINITY));
  const firstFinish = Math.min(...runs.map((r) => r.finishedAt ?? Number.NEGATIVE_INFINITY));
  return lastStart < firstFinish;
}

describe('claude-code-api: one key, one-shot runs in parallel', { timeout: 120_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces,
      env: { API_KEYS: 'p:sk-p,s:sk-s,i:sk-i', MAX_CONCURRENT_RUNS: '5' },
    });
  });
  after(async () => t.close());

  it('five concurrent one-shot /run of one key all succeed and overlap, each with the CLAUDE.md', async () => {
    const put = await call(t.url, 'PUT', '/user-claude', {
      key: 'sk-p',
      body: { content: 'Slot marker 7e2f.' },
    });
    assert.deepEqual(put.body, { saved: true });
    t.fake.clearRequests();
    const answers = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        call(t.url, 'POST', '/run', { key: 'sk-p', body: { prompt: `[[sleep:2000]] parallel ${i}` } }),
      ),
    );
    for (const a of answers) assert.equal(a.body.success, true, JSON.stringify(a.body));
    const runs = await t.deps.engine.list({ state: 'finished', owner: 'p' });
    assert.equal(runs.length, 5);
    assert.ok(allOverlap(runs), `the runs did not overlap: ${JSON.stringify(runs)}`);
    assert.equal(new Set(runs.map((r) => r.workspace)).size, 5, 'each run had a workspace of its own');
    for (const i of [0, 1, 2, 3, 4]) {
      const sent = t.fake
        .requests()
        .map((q) => JSON.stringify(q.body))
        .filter((b) => b.includes(`parallel ${i}`));
      assert.ok(sent.length > 0, `run ${i} reached the model`);
      assert.ok(
        sent.every((b) => b.includes('Slot marker 7e2f.')),
        `run ${i} went without the CLAUDE.md`,
      );
    }
  });

  it('a bot sending one run after another stays in oneshot-0, where its parked process is kept', async () => {
    for (const p of ['first', 'second', 'third']) {
      const a = await call(t.url, 'POST', '/run', { key: 'sk-s', body: { prompt: p } });
      assert.equal(a.body.success, true, JSON.stringify(a.body));
    }
    const runs = await t.deps.engine.list({ state: 'finished', owner: 's' });
    assert.deepEqual(
      runs.map((r) => r.workspace),
      ['users/s/oneshot-0', 'users/s/oneshot-0', 'users/s/oneshot-0'],
    );
  });

  it("a one-shot run does not see a concurrent run's files", async () => {
    // A writes its file and stays running until the test has looked from B.
    const a = call(t.url, 'POST', '/run', {
      key: 'sk-i',
      body: { prompt: bash('echo from-a > a-only.txt && sleep 60') },
    });
    const userDir = join(t.dataDir, 'workspaces', 'users', 'i');
    const findA = async () => {
      for (const slot of await readdir(userDir).catch((): string[] => [])) {
        if ((await readdir(join(userDir, slot)).catch((): string[] => [])).includes('a-only.txt'))
          return slot;
      }
      return undefined;
    };
    await waitFor(async () => (await findA()) !== undefined, 60_000);
    const b = await call(t.url, 'POST', '/run', {
      key: 'sk-i',
      body: { prompt: bash('if [ -e a-only.txt ]; then echo SEEN-A; else echo NO-A-HERE; fi') },
    });
    assert.equal(b.body.success, true, JSON.stringify(b.body));
    assert.match(b.body.output, /NO-A-HERE/);
    assert.doesNotMatch(b.body.output, /SEEN-A/);
    // A was still running when B looked, in another slot.
    const [running] = await t.deps.engine.list({ state: 'active', owner: 'i' });
    assert.ok(running, 'A was still running');
    const [finishedB] = await t.deps.engine.list({ state: 'finished', owner: 'i' });
    assert.ok(finishedB);
    assert.notEqual(running.workspace, finishedB.workspace);
    assert.equal(`users/i/${await findA()}`, running.workspace);
    await t.deps.engine.cancel(running.id, { wait: true });
    assert.equal((await a).body.success, false);
  });

  it('a sessionId still continues its own conversation', async () => {
    const first = await call(t.url, 'POST', '/run', {
      key: 'sk-s',
      body: { prompt: 'remember the word kiwi', sessionId: 'conv' },
    });
    assert.equal(first.body.success, true, JSON.stringify(first.body));
    const second = await call(t.url, 'POST', '/run', {
      key: 'sk-s',
      body: { prompt: '[[recall]]', sessionId: 'conv' },
    });
    assert.equal(second.body.success, true, JSON.stringify(second.body));
    assert.match(second.body.output, /kiwi/);
  });
});
