import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunSpec } from '../../src/engine/spec.ts';
import { AppError } from '../../src/errors.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type Backend, forEachBackend } from '../helpers/backends.ts';
import { agentProcessesUnder, waitForNoAgentProcesses } from '../helpers/processes.ts';
import { type EngineBackend, engineBackends, engineEnv, stopTestRedis } from '../helpers/redis.ts';
import { eventsOf } from '../helpers/runs.ts';
import { skipWithout } from '../helpers/system-parts.ts';
import { waitFor } from '../helpers/wait.ts';

const spec = (over: Partial<RunSpec>): RunSpec => ({
  owner: 'alice',
  workspace: 'users/alice',
  prompt: 'hello',
  onBusy: 'wait',
  ...over,
});

// One suite, every backend: the embedded engine on SQLite and on a real PostgreSQL server, and
// the cluster engine (BullMQ, Redis Streams on a real redis-server) on PostgreSQL, as deployed.
after(stopTestRedis);
forEachBackend('RunEngine', (backend) => {
  for (const engine of engineBackends) {
    if (engine.name === 'cluster' && backend.name !== 'postgres') continue;
    engineSuites(engine, backend);
  }
});

function engineSuites(engine: EngineBackend, backend: Backend): void {
  describe(`RunEngine (${engine.name}) with the real Claude Code binary and the fake model`, {
    skip: engine.skip,
  }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({
        surfaces: [],
        databaseUrl: await backend.databaseUrl(),
        env: { POOL_SIZE: '1', MAX_CONCURRENT_RUNS: '2', MAX_QUEUED_RUNS: '2', ...(await engineEnv(engine)) },
      });
    });
    after(async () => t.close());

    test('a one-shot run answers Echo: <prompt>', async () => {
      const run = await t.deps.engine.submit(spec({ prompt: 'What is 2+2?' }));
      const live = eventsOf(t.deps.engine, run.id); // followed while the run runs
      const rec = await t.deps.engine.wait(run.id);
      assert.equal(rec.status, 'succeeded');
      assert.equal(rec.result?.text, 'Echo: What is 2+2?');
      assert.ok(rec.result?.sessionId, 'the result names its agent session');
      const events = await live;
      const types = events.map((e) => e.event.type);
      assert.ok(types.includes('text_delta'), 'tokens stream as text deltas');
      assert.deepEqual(
        events.map((e) => e.seq),
        events.map((_, i) => i + 1),
        'events are numbered 1..n',
      );
      assert.deepEqual(
        await eventsOf(t.deps.engine, run.id),
        events,
        'a finished run replays its events from the store',
      );
      const tail = await eventsOf(t.deps.engine, run.id, 3);
      assert.deepEqual(tail, events.slice(3), 'a replay starts after the given seq');
    });

    test('a Bash tool call really creates a file in the run workspace', async () => {
      const run = await t.deps.engine.submit(
        spec({
          workspace: 'users/alice/tools',
          prompt: '[[tool:Bash {"command":"echo made-by-agent > made.txt"}]]',
        }),
      );
      const rec = await t.deps.engine.wait(run.id);
      assert.equal(rec.status, 'succeeded');
      const file = join(t.dataDir, 'workspaces/users/alice/tools/made.txt');
      assert.ok(existsSync(file), 'made.txt exists in the workspace');
      assert.equal(readFileSync(file, 'utf8').trim(), 'made-by-agent');
      const kinds = (await eventsOf(t.deps.engine, run.id)).map((e) => e.event.type);
      assert.ok(kinds.includes('tool_use') && kinds.includes('tool_result'));
    });

    test('a continued session sends its history to the model', async () => {
      const session = { kind: 'test', name: 'memory', mode: 'continue' as const };
      const first = await t.deps.engine.submit(
        spec({ workspace: 'users/alice/s', prompt: 'My name is Alice.', session }),
      );
      assert.equal((await t.deps.engine.wait(first.id)).status, 'succeeded');
      const second = await t.deps.engine.submit(
        spec({ workspace: 'users/alice/s', prompt: '[[recall]]', session }),
      );
      const rec = await t.deps.engine.wait(second.id);
      assert.equal(rec.status, 'succeeded');
      assert.match(rec.result?.text ?? '', /My name is Alice\./);
      const fresh = await t.deps.engine.submit(
        spec({ workspace: 'users/alice/s', prompt: '[[recall]]', session: { ...session, mode: 'fresh' } }),
      );
      assert.doesNotMatch(
        (await t.deps.engine.wait(fresh.id)).result?.text ?? '',
        /Alice/,
        'a fresh session has no history',
      );
    });

    test('a live process reused for a one-shot run shows the model nothing of the last run', async () => {
      const ws = 'users/alice/reuse';
      const first = await t.deps.engine.submit(spec({ workspace: ws, prompt: 'the secret is alpha-7' }));
      assert.equal((await t.deps.engine.wait(first.id)).status, 'succeeded');
      assert.ok(t.deps.engine.health().pool.live >= 1, 'the process was parked for reuse');
      t.fake.clearRequests();
      const second = await t.deps.engine.submit(spec({ workspace: ws, prompt: '[[recall]] anything?' }));
      const rec = await t.deps.engine.wait(second.id);
      assert.equal(rec.status, 'succeeded');
      const servedBy = (await eventsOf(t.deps.engine, second.id)).flatMap((e) =>
        e.event.type === 'status' && e.event.detail ? [e.event.detail] : [],
      );
      assert.match(servedBy.join(), /^live process/, 'the parked process served the second run');
      assert.doesNotMatch(rec.result?.text ?? '', /alpha-7/);
      const sent = JSON.stringify(t.fake.requests().map((r) => r.body));
      assert.match(sent, /anything\?/, 'the second prompt reached the model');
      assert.doesNotMatch(sent, /alpha-7/, 'nothing of the first conversation reached the model');
      assert.notEqual(
        rec.result?.sessionId,
        (await t.deps.engine.wait(first.id)).result?.sessionId,
        'a new session id',
      );
    });

    test('two runs on one workspace serialize when asked to wait, conflict otherwise', async () => {
      const ws = 'users/alice/busy';
      const a = await t.deps.engine.submit(spec({ workspace: ws, prompt: '[[sleep:1500]] first' }));
      await assert.rejects(
        t.deps.engine.submit(spec({ workspace: ws, prompt: 'second', onBusy: 'conflict' })),
        (err: unknown) => err instanceof AppError && err.code === 'conflict',
      );
      const b = await t.deps.engine.submit(spec({ workspace: ws, prompt: 'third' }));
      const [ra, rb] = await Promise.all([t.deps.engine.wait(a.id), t.deps.engine.wait(b.id)]);
      assert.equal(ra.status, 'succeeded');
      assert.equal(rb.status, 'succeeded');
      assert.ok(
        (rb.startedAt ?? 0) >= (ra.finishedAt ?? Number.POSITIVE_INFINITY),
        'the second waited for the first',
      );
    });

    test('two callers asking for one free workspace together: exactly one gets it, the other conflict', async () => {
      const ws = 'users/alice/race';
      const both = await Promise.allSettled([
        t.deps.engine.submit(spec({ workspace: ws, prompt: 'one', onBusy: 'conflict' })),
        t.deps.engine.submit(spec({ workspace: ws, prompt: 'two', onBusy: 'conflict' })),
      ]);
      const started = both.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const refused = both.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      assert.equal(started.length, 1, 'one run got the workspace');
      assert.ok(refused[0] instanceof AppError && refused[0].code === 'conflict', 'the other was refused');
      for (const run of started) assert.equal((await t.deps.engine.wait(run.id)).status, 'succeeded');
    });

    test('the agent environment holds no gateway secret', async () => {
      const secrets = {
        API_KEYS: 'sk-gateway-secret-1',
        NEXTAUTH_SECRET: 'nextauth-secret-2',
        CLAUDEBOX_API_TOKEN: 'claudebox-secret-3',
        HYBRIDS3_MASTER_KEY: 'storage-secret-4',
      };
      Object.assign(process.env, secrets);
      try {
        const run = await t.deps.engine.submit(
          spec({ workspace: 'users/alice/env', prompt: '[[tool:Bash {"command":"env > env.txt"}]]' }),
        );
        assert.equal((await t.deps.engine.wait(run.id)).status, 'succeeded');
        const env = readFileSync(join(t.dataDir, 'workspaces/users/alice/env/env.txt'), 'utf8');
        assert.match(env, /CLAUDE_CONFIG_DIR=/, 'the file really is the agent environment');
        for (const [name, value] of Object.entries(secrets)) {
          assert.ok(!env.includes(value), `${name} leaked into the agent environment`);
          assert.ok(!env.includes(`${name}=`), `${name} is set in the agent environment`);
        }
      } finally {
        for (const name of Object.keys(secrets)) delete process.env[name];
      }
    });
  });

  describe(`RunEngine (${engine.name}) stops leave no process`, { skip: engine.skip }, () => {
    // Its own app without a warm pool: once its runs are stopped, no agent process may remain.
    let t: TestApp;
    before(async () => {
      t = await startTestApp({
        surfaces: [],
        databaseUrl: await backend.databaseUrl(),
        env: { POOL_SIZE: '0', ...(await engineEnv(engine)) },
      });
    });
    after(async () => t.close());

    test('a timeout stops the run, keeps its partial output and leaves no process', async () => {
      const run = await t.deps.engine.submit(
        spec({ workspace: 'users/alice/slow', prompt: '[[words:3]] [[sleep:20000]]', timeoutMs: 2500 }),
      );
      const rec = await t.deps.engine.wait(run.id);
      assert.equal(rec.status, 'timed_out');
      assert.equal(rec.result?.subtype, 'timed_out');
      assert.deepEqual(await waitForNoAgentProcesses(t.dataDir), []);
    });

    // Unconfined, Claude Code's Bash tool starts its commands in sessions of their own, which a
    // process-group kill misses: only the sandbox's PID namespace takes them all down
    // (docs/security.md), so this guarantee is proven where the sandbox works.
    test('cancel kills the run and every process it started', {
      skip: skipWithout('bubblewrap'),
    }, async () => {
      const run = await t.deps.engine.submit(
        spec({
          workspace: 'users/alice/cancel',
          prompt: '[[tool:Bash {"command":"tail -f /dev/null & echo started; tail -f /dev/null"}]]',
        }),
      );
      // Wait until the tool's children run, so there is something to leak.
      const deadline = Date.now() + 20_000;
      while (!(await hasTailUnder(t.dataDir)) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      assert.ok(await hasTailUnder(t.dataDir), 'the tool started its children');
      assert.equal(await t.deps.engine.cancel(run.id), true);
      const rec = await t.deps.engine.wait(run.id);
      assert.equal(rec.status, 'cancelled');
      assert.deepEqual(await waitForNoAgentProcesses(t.dataDir), []);
    });
  });

  describe(`RunEngine (${engine.name}) limits`, { skip: engine.skip }, () => {
    test('a full queue refuses with queue_full and a retry-after', async () => {
      const t = await startTestApp({
        surfaces: [],
        databaseUrl: await backend.databaseUrl(),
        env: { MAX_CONCURRENT_RUNS: '1', MAX_QUEUED_RUNS: '1', ...(await engineEnv(engine)) },
      });
      try {
        const running = await t.deps.engine.submit(
          spec({ workspace: 'users/q/a', prompt: '[[sleep:2000]] a' }),
        );
        const queued = await t.deps.engine.submit(spec({ workspace: 'users/q/b', prompt: 'b' }));
        await assert.rejects(
          t.deps.engine.submit(spec({ workspace: 'users/q/c', prompt: 'c' })),
          (err: unknown) =>
            err instanceof AppError && err.code === 'queue_full' && (err.retryAfterS ?? 0) >= 1,
        );
        const expected = { running: 1, queued: 1, maxConcurrentRuns: 1, maxQueuedRuns: 1 };
        // A cluster node's view of the shared queue follows Redis a moment later.
        await waitFor(
          () => JSON.stringify(t.deps.engine.health().queue) === JSON.stringify(expected),
          10_000,
        ).catch(() => undefined);
        assert.deepEqual(t.deps.engine.health().queue, expected);
        assert.equal((await t.deps.engine.wait(running.id)).status, 'succeeded');
        assert.equal((await t.deps.engine.wait(queued.id)).status, 'succeeded');
      } finally {
        await t.close();
      }
    });

    test('after a crash, running runs become failed and queued runs run again', async () => {
      const databaseUrl = await backend.databaseUrl();
      const env = { MAX_CONCURRENT_RUNS: '1', ...(await engineEnv(engine)) };
      const first = await startTestApp({ surfaces: [], databaseUrl, env });
      const dataDir = first.dataDir;
      // Simulate a crash: rows as a killed server leaves them.
      const repo = (await import('../../src/runs/repository.ts')).RunRepository;
      const r = new repo(first.deps.db);
      await r.insert(
        'crashed-running',
        spec({ workspace: 'users/c/x', prompt: 'x' }),
        Date.now() - 2000,
        null,
        'none',
      );
      await r.markRunning('crashed-running', Date.now() - 1000);
      await r.insert(
        'crashed-queued',
        spec({ workspace: 'users/c/y', prompt: 'picked up again' }),
        Date.now(),
        null,
        'none',
      );
      await first.app.close();
      await first.deps.engine.close();
      await first.deps.backend.close();
      await first.deps.agentGateway.close();
      await first.deps.db.destroy();
      await first.fake.close();

      const second = await startTestApp({ surfaces: [], dataDir, databaseUrl, env });
      try {
        const running = await second.deps.engine.get('crashed-running');
        assert.equal(running?.status, 'failed');
        // Embedded: the one server restarted; cluster: no node holds the run's lease.
        assert.match(running?.error ?? '', engine.name === 'embedded' ? /interrupted/ : /node_lost/);
        let queued = await second.deps.engine.get('crashed-queued');
        for (let i = 0; i < 100 && queued?.status !== 'succeeded'; i++) {
          await new Promise((res) => setTimeout(res, 100));
          queued = await second.deps.engine.get('crashed-queued');
        }
        assert.equal(queued?.status, 'succeeded');
        assert.equal(queued?.result?.text, 'Echo: picked up again');
      } finally {
        await second.close();
      }
    });
  });
}

async function hasTailUnder(dataDir: string): Promise<boolean> {
  for (const pid of await agentProcessesUnder(dataDir)) {
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'latin1').catch(() => '');
    if (cmd.startsWith('tail\0')) return true;
  }
  return false;
}
