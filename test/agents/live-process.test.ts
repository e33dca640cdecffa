import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import type { StoredEvent } from '../../src/engine/events.ts';
import type { RunRecord } from '../../src/engine/record.ts';
import type { RunSpec } from '../../src/engine/spec.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { eventsOf } from '../helpers/runs.ts';
import { waitFor } from '../helpers/wait.ts';

const spec = (over: Partial<RunSpec>): RunSpec => ({
  owner: 'alice',
  workspace: 'users/alice/live',
  prompt: 'hello',
  onBusy: 'wait',
  ...over,
});

/** A run through the port: `done` settles with its record once its events are loaded. */
async function submit(t: TestApp, s: RunSpec) {
  const { id } = await t.deps.engine.submit(s);
  const run: { id: string; events: StoredEvent[]; done: Promise<RunRecord> } = {
    id,
    events: [],
    done: Promise.resolve(undefined as unknown as RunRecord),
  };
  run.done = t.deps.engine.wait(id).then(async (rec) => {
    run.events.push(...(await eventsOf(t.deps.engine, id)));
    return rec;
  });
  return run;
}

/** Which way the backend served a run (its status event's detail). */
function servedBy(run: { events: { event: { type: string; detail?: string } }[] }): string[] {
  return run.events.flatMap((e) => (e.event.type === 'status' && e.event.detail ? [e.event.detail] : []));
}

/** Claude Code processes (not their sandbox or bridge) of agents whose home lies under dataDir. */
async function claudeProcessesUnder(dataDir: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv0 = (await readFile(`/proc/${name}/cmdline`, 'latin1')).split('\0')[0] ?? '';
      const stat = await readFile(`/proc/${name}/stat`, 'latin1');
      const environ = await readFile(`/proc/${name}/environ`, 'latin1');
      if (/\/claude$/.test(argv0) && !/\) Z /.test(stat) && environ.includes(dataDir))
        found.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('live processes between runs', { timeout: 240_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces: [],
      // Long enough that no process idles out while a test's own runs are still going.
      env: { POOL_SIZE: '1', LIVE_PROCESS_IDLE_MS: '3000', MAX_CONCURRENT_RUNS: '2' },
    });
  });
  after(async () => t.close());

  test('a run after an idle period finds a process reset before it arrived', async () => {
    const first = await submit(t, spec({ prompt: 'the secret is alpha-7' }));
    assert.equal((await first.done).status, 'succeeded');
    // Longer than LIVE_PROCESS_IDLE_MS: the process is within the pool, so it is kept.
    await sleep(4500);
    assert.equal(t.deps.backend.poolState().live, 1, 'the pool keeps its most recent live process');
    t.fake.clearRequests();
    const second = await submit(t, spec({ prompt: '[[recall]] anything?' }));
    const rec = await second.done;
    assert.equal(rec.status, 'succeeded');
    assert.deepEqual(servedBy(second), ['live process, reset before the run']);
    assert.doesNotMatch(rec.result?.text ?? '', /alpha-7/, 'the reset left nothing of the last run');
    const sent = JSON.stringify(t.fake.requests().map((r) => r.body));
    assert.match(sent, /anything\?/);
    assert.doesNotMatch(sent, /alpha-7/, 'nothing of the first conversation reached the model');
  });

  test('a named session keeps its conversation in its live process', async () => {
    const session = { kind: 'test', name: 'keep', mode: 'continue' as const };
    const ws = 'users/alice/session';
    const first = await submit(t, spec({ workspace: ws, prompt: 'My name is Alice.', session }));
    assert.equal((await first.done).status, 'succeeded');
    await sleep(500);
    const second = await submit(t, spec({ workspace: ws, prompt: '[[recall]]', session }));
    const rec = await second.done;
    assert.deepEqual(servedBy(second), ['live process, same session']);
    assert.match(rec.result?.text ?? '', /My name is Alice\./);
  });

  test('idle live processes beyond the pool size are stopped; the most recent one stays', async () => {
    const a = await submit(t, spec({ workspace: 'users/alice/idle-a', prompt: 'a' }));
    const b = await submit(t, spec({ workspace: 'users/alice/idle-b', prompt: 'b' }));
    assert.equal((await a.done).status, 'succeeded');
    assert.equal((await b.done).status, 'succeeded');
    const c = await submit(t, spec({ workspace: 'users/alice/idle-b', prompt: 'b again' }));
    assert.equal((await c.done).status, 'succeeded');
    assert.ok(t.deps.backend.poolState().live >= 2, 'both processes were parked');
    await waitFor(() => t.deps.backend.poolState().live === 1, 20_000);
    // Only the pool is left: the live process of idle-b and the owner's spare.
    await waitFor(() => t.deps.backend.poolState().idle === 1, 20_000);
    // A stopped process leaves the process table a moment after the backend lets it go.
    let left = await claudeProcessesUnder(t.dataDir);
    for (let i = 0; i < 50 && left.length !== 2; i++) {
      await sleep(200);
      left = await claudeProcessesUnder(t.dataDir);
    }
    assert.equal(left.length, 2, 'the idle processes were stopped');
    const again = await submit(t, spec({ workspace: 'users/alice/idle-b', prompt: 'b once more' }));
    assert.equal((await again.done).status, 'succeeded');
    assert.match(servedBy(again)[0] ?? '', /^live process/, 'the most recent process was kept');
    const other = await submit(t, spec({ workspace: 'users/alice/idle-a', prompt: 'a again' }));
    assert.equal((await other.done).status, 'succeeded');
    assert.doesNotMatch(servedBy(other)[0] ?? '', /^live process/, "idle-a's process is gone");
  });
});

describe('live process memory limit', { timeout: 240_000 }, () => {
  let t: TestApp;
  before(async () => {
    // Any agent exceeds 1 MB: every process is past the limit after its first run.
    t = await startTestApp({
      surfaces: [],
      env: { LIVE_PROCESS_MAX_RSS_MB: '1', LIVE_PROCESS_IDLE_MS: '1000' },
    });
  });
  after(async () => t.close());

  test('a process past the limit finishes its run and is recycled before the next', async () => {
    // Spans several reaper rounds (every 250 ms here): a check during the run would kill it.
    const first = await submit(t, spec({ workspace: 'users/alice/mem', prompt: '[[sleep:1500]] long' }));
    const rec = await first.done;
    assert.equal(rec.status, 'succeeded', 'never recycled during a run');
    assert.equal(rec.result?.text, 'Echo: [[sleep:1500]] long');
    await waitFor(() => t.deps.backend.poolState().live === 0, 20_000);
    await waitFor(() => t.deps.backend.poolState().busy === 0, 20_000);
    const second = await submit(t, spec({ workspace: 'users/alice/mem', prompt: 'next' }));
    assert.equal((await second.done).status, 'succeeded');
    assert.doesNotMatch(servedBy(second)[0] ?? '', /^live process/, 'served by a new process');
  });
});
