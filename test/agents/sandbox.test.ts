import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunSpec } from '../../src/engine/spec.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { processesWith } from '../helpers/processes.ts';
import { eventsOf } from '../helpers/runs.ts';
import { skipWithout } from '../helpers/system-parts.ts';

const SECRET = 'sandbox-test-secret-6d1f';

const spec = (over: Partial<RunSpec>): RunSpec => ({
  owner: 'alice',
  workspace: 'users/alice/box',
  prompt: 'hi',
  onBusy: 'wait',
  ...over,
});

describe('agent sandbox (bubblewrap)', { skip: skipWithout('bubblewrap'), timeout: 240_000 }, () => {
  let t: TestApp;
  before(async () => {
    process.env.NEXTAUTH_SECRET = SECRET;
    t = await startTestApp({
      surfaces: [],
      env: { AGENT_SANDBOX: 'bwrap', NEXTAUTH_SECRET: SECRET, POOL_SIZE: '1' },
    });
    // Another user's workspace, and a file only the server should read.
    const other = await t.deps.workspaces.ensure('users/bob/private');
    await import('node:fs/promises').then((fs) => fs.writeFile(join(other, 'bob.txt'), 'bob-only'));
  });
  after(async () => {
    delete process.env.NEXTAUTH_SECRET;
    await t.close();
  });

  test('an agent sees its own workspace and nothing else of the data dir, nor the server process', async () => {
    const probe = [
      `ls ${t.dataDir}/workspaces/users > seen-users.txt 2>&1`,
      `cat ${t.dataDir}/workspaces/users/bob/private/bob.txt > seen-bob.txt 2>&1`,
      `ls ${t.dataDir} > seen-data.txt 2>&1`,
      `(grep -l ${SECRET} /proc/*/environ 2>/dev/null | wc -l) > seen-secret.txt`,
      'echo written > mine.txt',
    ].join('; ');
    const run = await t.deps.engine.submit(
      spec({ prompt: `[[tool:Bash ${JSON.stringify({ command: probe })}]]` }),
    );
    assert.equal((await t.deps.engine.wait(run.id)).status, 'succeeded');
    const ws = join(t.dataDir, 'workspaces/users/alice/box');
    const read = (f: string) => readFile(join(ws, f), 'utf8');
    assert.equal((await read('mine.txt')).trim(), 'written', 'the agent writes its own workspace');
    assert.doesNotMatch(await read('seen-users.txt'), /bob/, "another user's workspace is invisible");
    assert.doesNotMatch(await read('seen-bob.txt'), /bob-only/);
    assert.doesNotMatch(await read('seen-data.txt'), /agentgate\.db/, 'the store is invisible');
    assert.equal(
      (await read('seen-secret.txt')).trim(),
      '0',
      'no process environment holding a secret is readable',
    );
  });

  test("an owner's sandboxed spare serves their next new workspace, and only theirs", async () => {
    // alice ran above, so a spare bound to her workspace root is warming.
    const deadline = Date.now() + 30_000;
    while (t.deps.backend.poolState().idle < 1 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(t.deps.backend.poolState().idle, 1, "a spare for alice's workspaces is parked");
    const command = 'echo from-spare > spare.txt; ls ../.. > seen-users.txt';
    const run = await t.deps.engine.submit(
      spec({ workspace: 'users/alice/brand-new', prompt: `[[tool:Bash ${JSON.stringify({ command })}]]` }),
    );
    assert.equal((await t.deps.engine.wait(run.id)).status, 'succeeded');
    const ws = join(t.dataDir, 'workspaces/users/alice/brand-new');
    assert.equal((await readFile(join(ws, 'spare.txt'), 'utf8')).trim(), 'from-spare');
    assert.doesNotMatch(
      await readFile(join(ws, 'seen-users.txt'), 'utf8'),
      /bob/,
      'the spare sees no other owner',
    );
    const servedBy = (await eventsOf(t.deps.engine, run.id)).flatMap((e) =>
      e.event.type === 'status' && e.event.detail ? [e.event.detail] : [],
    );
    assert.deepEqual(servedBy, ['warm spare'], 'served by the owner spare, not a cold start');
    // bob has no spare of alice's: his first run starts cold in his own sandbox.
    const bobRun = await t.deps.engine.submit(
      spec({ owner: 'bob', workspace: 'users/bob/private', prompt: 'hi bob' }),
    );
    assert.equal((await t.deps.engine.wait(bobRun.id)).result?.text, 'Echo: hi bob');
  });

  test('a cancel takes down processes that detached from the agent with setsid', async () => {
    const marker = `agentgate-detached-${process.pid}`;
    // The detached child, then a foreground wait that holds the run open until the cancel.
    const command = `setsid bash -c 'exec -a ${marker} tail -f /dev/null' > /dev/null 2>&1 < /dev/null & echo started; tail -f /dev/null`;
    const run = await t.deps.engine.submit(
      spec({
        workspace: 'users/alice/detach',
        prompt: `[[tool:Bash ${JSON.stringify({ command })}]]`,
      }),
    );
    const deadline = Date.now() + 20_000;
    while ((await processesWith(marker)).length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok((await processesWith(marker)).length > 0, 'the detached process was started');
    await t.deps.engine.cancel(run.id);
    assert.equal((await t.deps.engine.wait(run.id)).status, 'cancelled');
    const until = Date.now() + 3000;
    while ((await processesWith(marker)).length > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(await processesWith(marker), [], 'nothing the agent started outlives its run');
  });
});

describe('health of a sandboxed server', { skip: skipWithout('bubblewrap'), timeout: 120_000 }, () => {
  test('a fresh sandboxed server with POOL_SIZE=1 is healthy before any owner has run', async () => {
    const { healthSurface } = await import('../../src/surfaces/health/index.ts');
    const t = await startTestApp({
      surfaces: [healthSurface],
      env: { AGENT_SANDBOX: 'bwrap', POOL_SIZE: '1' },
    });
    try {
      const res = await fetch(`${t.url}/health`);
      assert.equal(res.status, 200);
      const body = await res.json();
      assert.equal(body.status, 'ok');
      assert.equal(body.pool.size, 1);
      assert.equal(body.pool.startFailures, 0);
    } finally {
      await t.close();
    }
  });
});
