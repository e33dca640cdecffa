import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ClaudeBackend } from '../src/agents/claude/backend.ts';
import { buildApp } from '../src/app.ts';
import { defaultNetGuard } from '../src/browser/net-guard.ts';
import { ConfigSource } from '../src/config/index.ts';
import { backendSettings, closeDeps, createDeps, type ServerDeps } from '../src/deps.ts';
import { AgentEgress } from '../src/egress/agent-egress.ts';
import { AgentGateway } from '../src/egress/agent-gateway.ts';
import { ModelRelay } from '../src/egress/model-relay.ts';
import type { RunStatus } from '../src/engine/events.ts';
import type { Surface } from '../src/http/surface.ts';
import { createLogger } from '../src/logger.ts';
import { makeTempDir } from '../test/helpers/temp.ts';

/**
 * How the agents of a benchmarked server reach the model:
 * - `isolated`: as deployed here (AGENT_SANDBOX=auto: bubblewrap, own network namespace,
 *   the socat bridge, the model relay);
 * - `relay`: unconfined, through the model relay on a loopback port;
 * - `direct`: unconfined, talking to the model itself (no relay): the baseline.
 * The same engine, backend and live-process reuse in all three, so differences between them
 * are what the relay and the sandbox add.
 */
export type Setup = 'isolated' | 'relay' | 'direct';

export interface BenchServer {
  setup: Setup;
  deps: ServerDeps;
  app: FastifyInstance;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startBenchServer(
  setup: Setup,
  modelUrl: string,
  opts: {
    surfaces?: readonly Surface[];
    env?: Record<string, string>;
    /**
     * `relay` only: given the relay's URL, the URL the agent is told to use instead (a
     * clocking proxy in front of the relay, so a token is timed on both sides of it).
     */
    tapRelay?: (relayUrl: string) => Promise<string>;
  } = {},
): Promise<BenchServer> {
  const temp = await makeTempDir('agentgate-bench-');
  const config = ConfigSource.fromValues({
    DATA_DIR: temp.dir,
    LOG_LEVEL: 'silent',
    POOL_SIZE: '0',
    ...(setup === 'isolated' ? {} : { AGENT_SANDBOX: 'none' }),
    ...opts.env,
  });
  const logger = createLogger('silent');
  const c = config.current();
  const closers: (() => Promise<void>)[] = [];
  let endpointUrl = modelUrl;
  const relay = new ModelRelay(logger);
  if (setup === 'relay' && opts.tapRelay) {
    // The same relay and gateway createDeps builds, built here so the agent's way to the
    // relay can pass the clocking proxy.
    const gateway = new AgentGateway(
      relay,
      new AgentEgress(defaultNetGuard, () => ({ mode: 'open', allow: [] }), logger),
      logger,
    );
    await gateway.listen(join(temp.dir, 'bench-gateway'));
    closers.push(() => gateway.close());
    endpointUrl = await opts.tapRelay(gateway.baseUrl(false));
  }
  const isOwnBackend = setup === 'direct' || (setup === 'relay' && opts.tapRelay !== undefined);
  const backend = isOwnBackend
    ? new ClaudeBackend({
        ...backendSettings(c, c.DATA_DIR),
        modelAccess: () => ({ baseUrl: modelUrl, apiKey: 'bench-key' }),
        logger,
        // direct: grants are handed out but never presented (the agent's base URL is the model).
        relay,
        endpoint: { baseUrl: endpointUrl },
      })
    : undefined;
  const deps = await createDeps(config, logger, { fakeModelUrl: modelUrl, ...(backend ? { backend } : {}) });
  const app = await buildApp(deps, opts.surfaces ?? []);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    setup,
    deps,
    app,
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    dataDir: temp.dir,
    async close() {
      await app.close();
      await closeDeps(deps);
      for (const close of closers) await close();
      await temp.cleanup();
    },
  };
}

/** Submits one run to the engine and waits for it; throws unless it succeeded. */
export async function runOnce(
  deps: ServerDeps,
  spec: { owner?: string; workspace: string; prompt: string; session?: string },
): Promise<{ ms: number; servedBy: string[]; status: RunStatus }> {
  const t0 = performance.now();
  const run = await deps.engine.submit({
    owner: spec.owner ?? 'bench',
    workspace: spec.workspace,
    prompt: spec.prompt,
    onBusy: 'wait',
    ...(spec.session ? { session: { kind: 'bench', name: spec.session, mode: 'continue' as const } } : {}),
  });
  const rec = await deps.engine.wait(run.id);
  const ms = performance.now() - t0;
  if (rec.status !== 'succeeded') throw new Error(`bench run failed: ${rec.error ?? rec.status}`);
  const servedBy: string[] = [];
  for await (const e of deps.engine.events(run.id)) {
    if (e.event.type === 'status' && e.event.detail) servedBy.push(e.event.detail);
  }
  return { ms, servedBy, status: rec.status };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
