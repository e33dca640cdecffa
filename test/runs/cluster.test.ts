import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AgentBackend } from '../../src/agents/types.ts';
import { type Db, openDatabase } from '../../src/db/open.ts';
import type { RunRecord } from '../../src/engine/record.ts';
import { createLogger } from '../../src/logger.ts';
import { ClusterRunEngine } from '../../src/runs/cluster/engine.ts';
import { RunRepository } from '../../src/runs/repository.ts';
import { SessionStore } from '../../src/sessions/store.ts';
import { WorkspaceFs } from '../../src/workspaces/workspace-fs.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { descendantsOf } from '../helpers/reap-descendants.ts';
import { startRedis, type TestRedis } from '../helpers/redis.ts';
import { eventsOf } from '../helpers/runs.ts';
import { type ServeProcess, startServeProcess } from '../helpers/serve-process.ts';
import { skipWithout } from '../helpers/system-parts.ts';
import { makeTempDir } from '../helpers/temp.ts';
import { waitFor } from '../helpers/wait.ts';

const TOKEN = 'cluster-test-claudebox-token';
const API_KEY = 'cluster-test-api-key';
const LEASE_MS = 2000;

/** A client of the cluster that executes nothing: it reads the shared store and Redis only. */
const noAgent: AgentBackend = {
  name: 'none',
  start() {
    throw new Error('this client executes no run');
  },
  poolState: () => ({ size: 0, idle: 0, busy: 0, warming: 0, live: 0, startFailures: 0 }),
  warm: async () => undefined,
  recycle: async () => undefined,
  close: async () => undefined,
};

/**
 * Three `agentgate serve` processes (nodes a, b, c) sharing one DATA_DIR, one PostgreSQL
 * database and one Redis: the cluster engine across real processes. A client engine in the
 * test process (it executes nothing) reads records and follows events as any node would;
 * no HTTP route follows an existing run's events by id yet.
 */
describe('cluster: three nodes sharing DATA_DIR, PostgreSQL and Redis', {
  skip: skipWithout('redis', 'postgresql'),
}, () => {
  let redis: TestRedis;
  let pg: TestPostgres;
  let data: { dir: string; cleanup: () => Promise<void> };
  let db: Db;
  let client: ClusterRunEngine;
  const nodes: Record<string, ServeProcess> = {};

  before(async () => {
    redis = await startRedis();
    pg = await startPostgres();
    data = await makeTempDir('agentgate-cluster-');
    const env = {
      DATA_DIR: data.dir,
      DATABASE_URL: await pg.createDatabase(),
      REDIS_URL: redis.url,
      RUN_LEASE_MS: String(LEASE_MS),
      MAX_CONCURRENT_RUNS: '2',
      MAX_QUEUED_RUNS: '100',
      MAX_QUEUED_RUNS_PER_OWNER: '100',
      CLAUDEBOX_API_TOKEN: TOKEN,
      API_KEYS: `tester:${API_KEY}`,
      FAKE_MODEL: '1',
    };
    // One at a time: the first applies the migrations.
    for (const name of ['a', 'b', 'c'])
      nodes[name] = await startServeProcess({ ...env, NODE_ID: `node-${name}` });
    db = await openDatabase({ dataDir: data.dir, databaseUrl: env.DATABASE_URL });
    const repository = new RunRepository(db);
    client = new ClusterRunEngine({
      redisUrl: redis.url,
      nodeId: 'test-client',
      leaseMs: LEASE_MS,
      backend: noAgent,
      repository,
      sessions: new SessionStore(db),
      workspaces: new WorkspaceFs(join(data.dir, 'workspaces')),
      logger: createLogger('silent'),
      maxConcurrentRuns: 1,
      maxQueuedRuns: 100,
      defaultTimeoutMs: 60_000,
      sandbox: { name: 'none', isLoopbackOnly: false },
    });
  });

  after(async () => {
    await client?.close().catch(() => undefined);
    await Promise.all(Object.values(nodes).map((n) => n.stop().catch(() => undefined)));
    await db?.destroy().catch(() => undefined);
    await redis?.stop();
    await pg?.stop();
    await data?.cleanup();
  });

  /** POST /claudebox/run on a node; resolves with the run's id and the HTTP answer. */
  async function claudeboxRun(node: string, body: Record<string, unknown>) {
    const res = await fetch(`${nodes[node]?.url}/claudebox/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      id: res.headers.get('x-run-id') ?? '',
      body: (await res.json()) as Record<string, unknown>,
    };
  }

  async function record(id: string): Promise<RunRecord> {
    const rec = await client.get(id);
    assert.ok(rec, `run ${id} is stored`);
    return rec;
  }

  /** The active run of a claudebox workspace, once one exists. */
  async function activeRunOf(workspace: string): Promise<string> {
    let id = '';
    await waitFor(async () => {
      const [run] = await client.list({ state: 'active', workspace: `users/claudebox/${workspace}` });
      id = run?.id ?? '';
      return run?.status === 'running';
    }, 30_000);
    return id;
  }

  test('/health names the cluster backend and the node', async () => {
    for (const name of ['a', 'b', 'c']) {
      const health = (await (await fetch(`${nodes[name]?.url}/health`)).json()) as {
        engine: { backend: string; node: string };
      };
      assert.deepEqual(health.engine, { backend: 'cluster', node: `node-${name}` });
    }
  });

  test('30 runs submitted to one node execute on all three', async () => {
    const runs = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        claudeboxRun('a', { prompt: `[[sleep:300]] run ${i}`, workspace: `spread-${i}` }),
      ),
    );
    for (const [i, r] of runs.entries()) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.result, `Echo: [[sleep:300]] run ${i}`);
    }
    const executedOn = new Set<string>();
    for (const r of runs) {
      const rec = await record(r.id);
      assert.equal(rec.status, 'succeeded');
      executedOn.add(rec.node ?? '');
    }
    assert.deepEqual([...executedOn].sort(), ['node-a', 'node-b', 'node-c']);
  });

  test('a client elsewhere follows a run live and resumes after any seq', async () => {
    const answer = claudeboxRun('b', {
      prompt: '[[sleep:1500]] [[words:40]]',
      workspace: 'followed',
    });
    const id = await activeRunOf('followed');
    const live = await eventsOf(client, id);
    const { status } = await answer;
    assert.equal(status, 200);
    const rec = await record(id);
    assert.ok(rec.node, 'the run names the node that executed it');
    assert.deepEqual(
      live.map((e) => e.seq),
      live.map((_, i) => i + 1),
      'every event, numbered 1..n, reached the follower',
    );
    const streamed = live.flatMap((e) => (e.event.type === 'text_delta' ? [e.event.text] : [])).join('');
    assert.equal(streamed, rec.result?.text, 'the answer streamed token by token across nodes');
    assert.match(streamed, /^word1 word2 .* word40$/);
    assert.deepEqual(live.at(-1)?.event, { type: 'status', status: 'succeeded' });
    // Resuming (Last-Event-ID) after seq 7 yields exactly the rest, live or stored.
    assert.deepEqual(await eventsOf(client, id, 7), live.slice(7));
  });

  test('a resume mid-run, after the events already seen, misses and repeats nothing', async () => {
    const answer = claudeboxRun('a', {
      prompt: '[[words:10]] [[sleep:1500]] [[words:10]]',
      workspace: 'resumed',
    });
    const id = await activeRunOf('resumed');
    const seen = [];
    for await (const e of client.events(id)) {
      seen.push(e);
      if (seen.length === 5) break; // the connection drops
    }
    const rest = await eventsOf(client, id, 5);
    await answer;
    assert.deepEqual([...seen, ...rest], await eventsOf(client, id));
  });

  test('cancel from another node stops a run executing elsewhere', async () => {
    const answer = claudeboxRun('a', { prompt: '[[sleep:20000]] long', workspace: 'cancelled' });
    const id = await activeRunOf('cancelled');
    const executing = (await record(id)).node;
    const other = ['a', 'b', 'c'].find((n) => `node-${n}` !== executing) ?? 'c';
    const res = await fetch(`${nodes[other]?.url}/claudebox/run/cancel?workspace=cancelled`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { runIds: string[] }).runIds, [id]);
    assert.equal((await record(id)).status, 'cancelled', 'settled when the cancel answered');
    await answer;
  });

  test('one run per workspace across nodes: a second is refused, waiting ones take turns', async () => {
    const first = claudeboxRun('a', { prompt: '[[sleep:1500]] holding', workspace: 'exclusive' });
    await activeRunOf('exclusive');
    const refused = await Promise.all(
      ['b', 'c'].map((n) => claudeboxRun(n, { prompt: 'me too', workspace: 'exclusive' })),
    );
    for (const r of refused) assert.equal(r.status, 409, 'the workspace is busy on another node');
    assert.equal((await first).status, 200);

    // claude-code-api /run with a session queues behind the session's run, whichever node takes it.
    const answers = await Promise.all(
      ['a', 'b', 'c', 'a', 'b', 'c'].map((n, i) =>
        fetch(`${nodes[n]?.url}/run`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: `[[sleep:300]] turn ${i}`, sessionId: 'shared' }),
        }).then((r) => r.json() as Promise<{ success: boolean }>),
      ),
    );
    assert.ok(answers.every((a) => a.success));
    const runs = (await client.list({ state: 'finished', workspace: 'users/tester' })).sort(
      (x, y) => (x.startedAt ?? 0) - (y.startedAt ?? 0),
    );
    assert.equal(runs.length, 6);
    for (let i = 1; i < runs.length; i += 1) {
      assert.ok(
        (runs[i]?.startedAt ?? 0) >= (runs[i - 1]?.finishedAt ?? Number.POSITIVE_INFINITY),
        'no overlap',
      );
    }
  });

  test('a session started on one node continues on another', async () => {
    const first = await claudeboxRun('a', { prompt: 'My name is Alice.', workspace: 'memory' });
    assert.equal(first.status, 200);
    const startedOn = (await record(first.id)).node;
    // Which node takes a run is the queue's choice: ask until another node has served one.
    let continued: RunRecord | undefined;
    for (let i = 0; i < 8 && continued === undefined; i += 1) {
      const next = await claudeboxRun(i % 2 ? 'b' : 'c', { prompt: `[[recall]] ${i}`, workspace: 'memory' });
      assert.equal(next.status, 200);
      assert.match(String(next.body.result), /My name is Alice\./, 'the conversation went on');
      const rec = await record(next.id);
      if (rec.node !== startedOn) continued = rec;
    }
    assert.ok(continued, `a continuation ran on a node other than ${startedOn}`);
  });

  test('kill -9 of a node mid-run: its runs fail as node_lost after the lease, nothing else is lost', async () => {
    // 6 slots in the cluster; 9 runs, so some wait on the queue when the node dies.
    const answers = Array.from({ length: 9 }, (_, i) =>
      claudeboxRun('b', { prompt: `[[sleep:2500]] job ${i}`, workspace: `kill-${i}` }),
    );
    let victimRuns: string[] = [];
    await waitFor(async () => {
      const active = await client.list({ state: 'active', workspacePrefix: 'users/claudebox/kill-' });
      const recs = await Promise.all(active.map((r) => client.get(r.id)));
      victimRuns = recs.filter((r) => r?.status === 'running' && r.node === 'node-c').map((r) => r?.id ?? '');
      return victimRuns.length > 0;
    }, 30_000);
    const victim = nodes.c;
    assert.ok(victim?.child.pid);
    const orphans = descendantsOf(victim.child.pid);
    victim.child.kill('SIGKILL');
    // Its agents lost their parent; a real node's would die with its container.
    for (const pid of orphans) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const results = await Promise.all(answers);
    const ids = results.map((r) => r.id);
    assert.equal(ids.length, 9);
    // The node may have taken one more run between the look above and its kill: every run it
    // started is lost, the ones seen running on it among them.
    const lostIds: string[] = [];
    for (const id of ids) {
      const rec = await record(id);
      if (rec.node === 'node-c') {
        lostIds.push(id);
        assert.equal(rec.status, 'failed');
        assert.match(rec.error ?? '', /^node_lost/);
        const events = await eventsOf(client, id);
        assert.ok(events.some((e) => e.event.type === 'error' && e.event.code === 'node_lost'));
      } else {
        assert.equal(rec.status, 'succeeded', `run ${id} on ${rec.node} was not lost`);
      }
    }
    for (const id of victimRuns) assert.ok(lostIds.includes(id), `run ${id} seen running on node-c was lost`);
  });
});
