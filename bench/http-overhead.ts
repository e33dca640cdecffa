import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.ts';
import { ConfigSource } from '../src/config/index.ts';
import { closeDeps, createDeps } from '../src/deps.ts';
import { startFakeModel } from '../src/fake-model/server.ts';
import { createLogger } from '../src/logger.ts';
import { claudeCodeApiSurface } from '../src/surfaces/claude-code-api/index.ts';
import { makeTempDir } from '../test/helpers/temp.ts';
import { median } from './stats.ts';

const ROUNDS = 40;
const KEY = 'sk-bench';

/**
 * run_http_overhead_ms: median wall time of POST /run minus the median of the same run
 * submitted to RunService directly, in one process against one fake model. Both paths run
 * as the same owner in the same workspace, so both are served by the same parked live
 * process; rounds alternate so both see the same machine state. Target ≤ 5 ms.
 */
export async function benchRunHttpOverhead(): Promise<Record<string, number>> {
  const fake = await startFakeModel();
  const temp = await makeTempDir('agentgate-bench-');
  const config = ConfigSource.fromValues({
    DATA_DIR: temp.dir,
    LOG_LEVEL: 'silent',
    POOL_SIZE: '0',
    API_KEYS: `bench:${KEY}`,
  });
  const deps = await createDeps(config, createLogger('silent'), { fakeModelUrl: fake.url });
  const app = await buildApp(deps, [claudeCodeApiSurface]);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/run`;

  // A keep-alive node:http client, as curl or a bot would hold: the figure is the server's
  // cost, not the in-process fetch machinery's.
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const viaHttp = async (prompt: string): Promise<number> => {
    const t0 = performance.now();
    const text = await postJson(agent, url, { 'x-api-key': KEY }, JSON.stringify({ prompt }));
    const body = JSON.parse(text) as { success?: boolean };
    if (!body.success) throw new Error(`bench run failed: ${text}`);
    return performance.now() - t0;
  };
  const direct = async (prompt: string): Promise<number> => {
    const t0 = performance.now();
    const run = await deps.engine.submit({
      owner: 'bench',
      workspace: 'users/bench',
      prompt,
      onBusy: 'wait',
    });
    const rec = await deps.engine.wait(run.id);
    if (rec.status !== 'succeeded') throw new Error(`bench run failed: ${rec.error}`);
    return performance.now() - t0;
  };

  try {
    // Warm-up: the first run starts the process both paths then reuse.
    await viaHttp('warm up');
    await direct('warm up');
    const http: number[] = [];
    const engine: number[] = [];
    for (let i = 0; i < ROUNDS; i += 1) {
      http.push(await viaHttp(`round ${i}`));
      engine.push(await direct(`round ${i}`));
    }
    const overhead = median(http) - median(engine);
    return {
      run_http_overhead_ms: Math.round(overhead * 10) / 10,
      run_http_median_ms: Math.round(median(http) * 10) / 10,
      run_direct_median_ms: Math.round(median(engine) * 10) / 10,
    };
  } finally {
    agent.destroy();
    await app.close();
    await closeDeps(deps);
    await fake.close();
    await temp.cleanup();
  }
}

export function postJson(
  agent: Agent,
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve(text));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
