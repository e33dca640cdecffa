import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { query } from '@anthropic-ai/claude-agent-sdk';
import { buildAgentEnv } from '../src/agents/claude/environment.ts';
import { agentPassThroughEnv } from '../src/config/index.ts';
import { startFakeModel } from '../src/fake-model/server.ts';
import { runOnce, startBenchServer } from './setups.ts';
import { median } from './stats.ts';

const RUNS = 40;

/**
 * warm_vs_cold_ratio: median latency of back-to-back runs through RunService, served by the
 * live process as deployed (sandbox, own network namespace, model relay), over a direct cold
 * SDK query() per prompt, same fake model, same process.
 *
 * warm_isolation_added_ms: the same warm runs minus those of an unconfined server whose
 * agents talk to the model directly (no relay), rounds alternating: what the sandbox, its
 * bridge and the relay cost the warm path per run. Target ≤ 10 ms. warm_relay_added_ms and
 * warm_sandbox_added_ms split it, with a third server whose unconfined agent uses the relay.
 */
export async function benchWarmPool(): Promise<Record<string, number>> {
  const fake = await startFakeModel();
  const isolated = await startBenchServer('isolated', fake.url, { env: { POOL_SIZE: '1' } });
  const relay = await startBenchServer('relay', fake.url, { env: { POOL_SIZE: '1' } });
  const direct = await startBenchServer('direct', fake.url, { env: { POOL_SIZE: '1' } });
  try {
    const ws = 'users/bench/warm';
    for (const s of [isolated, relay, direct]) await runOnce(s.deps, { workspace: ws, prompt: 'warm up' });
    const warm: number[] = [];
    const warmRelay: number[] = [];
    const warmDirect: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      warm.push((await runOnce(isolated.deps, { workspace: ws, prompt: `hello ${i}` })).ms);
      warmRelay.push((await runOnce(relay.deps, { workspace: ws, prompt: `hello ${i}` })).ms);
      warmDirect.push((await runOnce(direct.deps, { workspace: ws, prompt: `hello ${i}` })).ms);
    }
    const cold: number[] = [];
    const cwd = join(direct.dataDir, 'workspaces/bench/cold');
    await mkdir(cwd, { recursive: true });
    for (let i = 0; i < RUNS; i++) {
      const home = join(direct.dataDir, 'cold-homes', String(i));
      await mkdir(join(home, '.claude'), { recursive: true });
      // A direct cold query: the SDK talks to the fake model itself, no relay.
      const env = buildAgentEnv(
        agentPassThroughEnv(),
        home,
        {},
        {
          baseUrl: fake.url,
          token: 'bench-cold',
          kind: 'api_key',
        },
      );
      const t0 = performance.now();
      for await (const m of query({
        prompt: `hello ${i}`,
        options: { cwd, env, permissionMode: 'bypassPermissions', allowDangerouslySkipPermissions: true },
      })) {
        if (m.type === 'result' && m.subtype !== 'success') throw new Error('cold run failed');
      }
      cold.push(performance.now() - t0);
    }
    return {
      warm_median_ms: Math.round(median(warm)),
      warm_direct_median_ms: Math.round(median(warmDirect)),
      warm_isolation_added_ms: Math.round(median(warm) - median(warmDirect)),
      // The split: the relay alone (unconfined agent through it), and the sandbox on top.
      warm_relay_added_ms: Math.round(median(warmRelay) - median(warmDirect)),
      warm_sandbox_added_ms: Math.round(median(warm) - median(warmRelay)),
      cold_median_ms: Math.round(median(cold)),
      warm_vs_cold_ratio: Number((median(warm) / median(cold)).toFixed(3)),
    };
  } finally {
    await isolated.close();
    await relay.close();
    await direct.close();
    await fake.close();
  }
}
