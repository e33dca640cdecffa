import { Agent } from 'node:http';
import { treeRssBytes } from '../src/agents/claude/process-memory.ts';
import type { AgentBackend } from '../src/agents/types.ts';
import { startFakeModel } from '../src/fake-model/server.ts';
import { claudeCodeApiSurface } from '../src/surfaces/claude-code-api/index.ts';
import { postJson } from './http-overhead.ts';
import { runOnce, sleep, startBenchServer } from './setups.ts';
import { median } from './stats.ts';

const PACED_RUNS = 20;
const SETTLE_MS = 500;
const BURST_RUNS = 20;
const BURST_WORKSPACES = 10;
const KEY = 'sk-bench';

/**
 * A server that is mostly idle, as deployed (sandbox, relay, POOL_SIZE=1), over POST /run:
 * - paced_run_median_ms: a one-shot run sent after the server settled (the live process was
 *   reset when the previous run ended); paced_run_model_ms: what the fake model itself took
 *   for that run, by its own clock; paced_run_overhead_ms: the median of their difference,
 *   split into paced_run_agent_turn_ms (Claude Code's own work on the turn, prompt handed
 *   over to result, minus the model's time) and paced_run_agentgate_ms (everything else:
 *   HTTP, engine, choosing the process). Target: agentgate's share ≤ 20 ms.
 * - paced_session_run_median_ms / _overhead_ms: the same for turns of one named session.
 * - pool_tree_rss_mb: this process's tree (server, fake model, agents) settled after the
 *   paced runs; burst_tree_rss_mb right after a burst of 20 runs over 10 workspaces;
 *   idle_tree_rss_mb after LIVE_PROCESS_IDLE_MS more of idleness (plus the reaper's period).
 */
export async function benchPaced(): Promise<Record<string, number>> {
  const fake = await startFakeModel();
  const server = await startBenchServer('isolated', fake.url, {
    surfaces: [claudeCodeApiSurface],
    env: { POOL_SIZE: '1', API_KEYS: `bench:${KEY}` },
  });
  const turns = timeAgentTurns(server.deps.backend);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const run = async (prompt: string, sessionId?: string) => {
    fake.clearRequests();
    turns.last = undefined;
    const t0 = performance.now();
    const text = await postJson(
      agent,
      `${server.url}/run`,
      { 'x-api-key': KEY },
      JSON.stringify({ prompt, ...(sessionId ? { sessionId } : {}) }),
    );
    const ms = performance.now() - t0;
    if (!(JSON.parse(text) as { success?: boolean }).success) throw new Error(`bench run failed: ${text}`);
    const modelMs = fake
      .requests()
      .filter((r) => r.path === '/v1/messages')
      .reduce((sum, r) => sum + (r.answerMs ?? 0), 0);
    const turnMs = turns.last ?? Number.NaN;
    return { ms, modelMs, agentMs: turnMs - modelMs, agentgateMs: ms - turnMs };
  };
  try {
    await run('warm up');
    await run('warm up', 'paced-session');
    const oneShot = {
      ms: [] as number[],
      model: [] as number[],
      overhead: [] as number[],
      agent: [] as number[],
      agentgate: [] as number[],
    };
    const session = { ms: [] as number[], overhead: [] as number[], agentgate: [] as number[] };
    for (let i = 0; i < PACED_RUNS; i++) {
      await sleep(SETTLE_MS);
      const a = await run(`paced ${i}`);
      oneShot.ms.push(a.ms);
      oneShot.model.push(a.modelMs);
      oneShot.overhead.push(a.ms - a.modelMs);
      oneShot.agent.push(a.agentMs);
      oneShot.agentgate.push(a.agentgateMs);
      await sleep(SETTLE_MS);
      const b = await run(`turn ${i}`, 'paced-session');
      session.ms.push(b.ms);
      session.overhead.push(b.ms - b.modelMs);
      session.agentgate.push(b.agentgateMs);
    }
    await sleep(SETTLE_MS);
    const poolTree = await treeRssBytes(process.pid);

    const idleMs = server.deps.config.current().LIVE_PROCESS_IDLE_MS;
    await Promise.all(
      Array.from({ length: BURST_RUNS }, (_, i) =>
        runOnce(server.deps, {
          workspace: `users/bench/burst-${i % BURST_WORKSPACES}`,
          prompt: `burst ${i}`,
        }),
      ),
    );
    const burstTree = await treeRssBytes(process.pid);
    // The reaper looks every min(5 s, idle/4): a process is gone by idle time + that period.
    await sleep(idleMs + Math.min(5000, idleMs / 4) + 1000);
    const idleTree = await treeRssBytes(process.pid);
    return {
      paced_run_median_ms: round(median(oneShot.ms)),
      paced_run_model_ms: round(median(oneShot.model)),
      paced_run_overhead_ms: round(median(oneShot.overhead)),
      paced_run_agent_turn_ms: round(median(oneShot.agent)),
      paced_run_agentgate_ms: round(median(oneShot.agentgate)),
      paced_session_run_median_ms: round(median(session.ms)),
      paced_session_run_overhead_ms: round(median(session.overhead)),
      paced_session_run_agentgate_ms: round(median(session.agentgate)),
      pool_tree_rss_mb: mb(poolTree),
      burst_tree_rss_mb: mb(burstTree),
      idle_tree_rss_mb: mb(idleTree),
      idle_live_processes: server.deps.backend.poolState().live,
    };
  } finally {
    agent.destroy();
    await server.close();
    await fake.close();
  }
}

/**
 * Notes how long the agent process itself took for each run: from the backend naming the
 * process that serves it (the prompt is handed over right after) to the run's result. The
 * rest of a run's time is agentgate's (HTTP, engine, choosing the process). The backend
 * instance's `start` is wrapped: instrumentation of this benchmark's own server only.
 */
function timeAgentTurns(backend: AgentBackend): { last: number | undefined } {
  const clock: { last: number | undefined } = { last: undefined };
  const start = backend.start.bind(backend);
  backend.start = async function* timed(req, signal) {
    let chosenAt: number | undefined;
    for await (const ev of start(req, signal)) {
      if (ev.type === 'status' && ev.detail) chosenAt = performance.now();
      if (ev.type === 'result' && chosenAt !== undefined) clock.last = performance.now() - chosenAt;
      yield ev;
    }
  };
  return clock;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

function mb(bytes: number): number {
  return Math.round(bytes / 2 ** 20);
}
