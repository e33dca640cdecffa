import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { query } from '@anthropic-ai/claude-agent-sdk';
import { buildAgentEnv } from '../src/agents/claude/environment.ts';
import { agentPassThroughEnv } from '../src/config/index.ts';
import { startTestApp } from '../test/helpers/app.ts';
import { median } from './stats.ts';

const RUNS = 20;

/**
 * warm_vs_cold_ratio: median latency of sequential runs through RunService with a warm
 * pool, over a direct cold SDK query() per prompt, same fake model, same process.
 */
export async function benchWarmPool(): Promise<Record<string, number>> {
  const t = await startTestApp({ surfaces: [], env: { POOL_SIZE: '1' } });
  try {
    await t.deps.backend.warm();
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const run = await t.deps.engine.submit({
        owner: 'bench',
        workspace: 'bench/warm',
        prompt: `hello ${i}`,
        onBusy: 'wait',
      });
      const rec = await t.deps.engine.wait(run.id);
      if (rec.status !== 'succeeded') throw new Error(`warm run failed: ${rec.error}`);
      warm.push(performance.now() - t0);
    }
    const cold: number[] = [];
    const cwd = join(t.dataDir, 'workspaces/bench/cold');
    await mkdir(cwd, { recursive: true });
    for (let i = 0; i < RUNS; i++) {
      const home = join(t.dataDir, 'cold-homes', String(i));
      await mkdir(join(home, '.claude'), { recursive: true });
      const access = t.deps.modelAuth.access();
      // A direct cold query: the SDK talks to the fake model itself, no relay.
      const env = buildAgentEnv(agentPassThroughEnv(), home, access, {
        baseUrl: access.baseUrl ?? '',
        token: access.apiKey ?? '',
        kind: 'api_key',
      });
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
      cold_median_ms: Math.round(median(cold)),
      warm_vs_cold_ratio: Number((median(warm) / median(cold)).toFixed(3)),
    };
  } finally {
    await t.close();
  }
}
