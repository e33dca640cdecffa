import { Agent } from 'node:http';
import { claudeCodeApiSurface } from '../src/surfaces/claude-code-api/index.ts';
import { startTestApp, type TestApp } from '../test/helpers/app.ts';
import { startRedis, type TestRedis } from '../test/helpers/redis.ts';
import { makeTempDir } from '../test/helpers/temp.ts';
import { postJson } from './http-overhead.ts';
import { sleep } from './setups.ts';
import { median } from './stats.ts';

/** The fake model's fixed delay per call in the throughput runs. */
const MODEL_DELAY_MS = 3000;
const THROUGHPUT_WORKSPACES = 8;
const RUNS_PER_WORKSPACE = 3;
const PACED_RUNS = 30;
const KEY = 'sk-bench-cluster';

/**
 * The cluster engine (a real redis-server, nodes sharing one DATA_DIR), on this machine:
 * - cluster_throughput_ratio: runs/s of two nodes over runs/s of one, each node with
 *   MAX_CONCURRENT_RUNS=2, the same 24 runs (8 workspaces × 3, each run one model call
 *   held MODEL_DELAY_MS by the fake model) submitted at once to the first node. Target ≥ 1.8.
 * - run_overhead_cluster_ms: the median, over paced one-shot POST /run pairs, of the latency
 *   on a cluster node minus on an embedded server (same settings, requests alternating).
 *   Target ≤ 15.
 * Unconfined agents (AGENT_SANDBOX=none) and one warm spare per node, so what differs is
 * the engine.
 */
export async function benchCluster(): Promise<Record<string, number>> {
  const redis = await startRedis();
  try {
    const one = await throughput(redis, 1, 1);
    const two = await throughput(redis, 2, 2);
    const overhead = await runOverhead(redis, 3);
    return {
      cluster_one_node_runs_per_s: round(one, 3),
      cluster_two_nodes_runs_per_s: round(two, 3),
      cluster_throughput_ratio: round(two / one, 2),
      run_overhead_cluster_ms: round(overhead.difference, 1),
      run_median_embedded_ms: round(overhead.embedded, 1),
      run_median_cluster_ms: round(overhead.cluster, 1),
    };
  } finally {
    await redis.stop();
  }
}

const nodeEnv = (redis: TestRedis, db: number) => ({
  AGENT_SANDBOX: 'none',
  POOL_SIZE: '1',
  MAX_CONCURRENT_RUNS: '2',
  MAX_QUEUED_RUNS: '1000',
  MAX_QUEUED_RUNS_PER_OWNER: '1000',
  REDIS_URL: `${redis.url}/${db}`,
  API_KEYS: `bench:${KEY}`,
});

/** Runs per second of `nodes` nodes (in this process, each its own engine, agents and fake model). */
async function throughput(redis: TestRedis, nodes: number, db: number): Promise<number> {
  const data = await makeTempDir('agentgate-bench-cluster-');
  const apps: TestApp[] = [];
  try {
    for (let i = 0; i < nodes; i += 1) {
      apps.push(
        await startTestApp({
          surfaces: [],
          dataDir: data.dir,
          env: { ...nodeEnv(redis, db), NODE_ID: `bench-${i}` },
        }),
      );
    }
    const first = apps[0];
    if (!first) throw new Error('no node');
    const engine = first.deps.engine;
    // Spares warm on every node before the clock starts.
    await sleep(3000);
    const t0 = performance.now();
    const ids: string[] = [];
    for (let r = 0; r < RUNS_PER_WORKSPACE; r += 1) {
      for (let w = 0; w < THROUGHPUT_WORKSPACES; w += 1) {
        const run = await engine.submit({
          owner: 'bench',
          workspace: `users/bench/w${w}`,
          prompt: `[[sleep:${MODEL_DELAY_MS}]] run ${r} of w${w}`,
          onBusy: 'wait',
        });
        ids.push(run.id);
      }
    }
    const records = await Promise.all(ids.map((id) => engine.wait(id)));
    const seconds = (performance.now() - t0) / 1000;
    const failed = records.filter((r) => r.status !== 'succeeded');
    if (failed.length > 0) throw new Error(`bench runs failed: ${failed.map((r) => r.error).join('; ')}`);
    return ids.length / seconds;
  } finally {
    for (const app of apps) await app.close();
    await data.cleanup();
  }
}

/** Median paced /run latency on an embedded server and on a one-node cluster. */
async function runOverhead(
  redis: TestRedis,
  db: number,
): Promise<{ embedded: number; cluster: number; difference: number }> {
  const { REDIS_URL: _, ...embeddedEnv } = nodeEnv(redis, db);
  const embedded = await startTestApp({ surfaces: [claudeCodeApiSurface], env: embeddedEnv });
  const cluster = await startTestApp({ surfaces: [claudeCodeApiSurface], env: nodeEnv(redis, db) });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const run = async (app: TestApp, prompt: string) => {
    const t0 = performance.now();
    const text = await postJson(agent, `${app.url}/run`, { 'x-api-key': KEY }, JSON.stringify({ prompt }));
    const ms = performance.now() - t0;
    if (!(JSON.parse(text) as { success?: boolean }).success) throw new Error(`bench run failed: ${text}`);
    return ms;
  };
  try {
    for (const app of [embedded, cluster]) {
      await run(app, 'warm up');
      await run(app, 'warm up again');
    }
    const ms = { embedded: [] as number[], cluster: [] as number[], difference: [] as number[] };
    for (let i = 0; i < PACED_RUNS; i += 1) {
      await sleep(300);
      const e = await run(embedded, `paced ${i}`);
      await sleep(300);
      const c = await run(cluster, `paced ${i}`);
      ms.embedded.push(e);
      ms.cluster.push(c);
      ms.difference.push(c - e);
    }
    // The median of paired differences: neighbouring runs share the machine's load of the moment.
    return { embedded: median(ms.embedded), cluster: median(ms.cluster), difference: median(ms.difference) };
  } finally {
    agent.destroy();
    await embedded.close();
    await cluster.close();
  }
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
