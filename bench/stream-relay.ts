import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { query } from '@anthropic-ai/claude-agent-sdk';
import OpenAI from 'openai';
import { buildAgentEnv } from '../src/agents/claude/environment.ts';
import { buildApp } from '../src/app.ts';
import { agentPassThroughEnv, ConfigSource } from '../src/config/index.ts';
import { closeDeps, createDeps } from '../src/deps.ts';
import type { RunEngine } from '../src/engine/port.ts';
import { startFakeModel } from '../src/fake-model/server.ts';
import { createLogger } from '../src/logger.ts';
import { openAiSurface } from '../src/surfaces/openai/index.ts';
import { makeTempDir } from '../test/helpers/temp.ts';
import { percentile } from './stats.ts';
import { startTokenClockProxy, type TokenClockProxy } from './token-clock-proxy.ts';

const WORDS = 2000;
const ROUNDS = 3;
const TOKEN = 'bench-token';
const WORD = /word(\d+)/g;

/**
 * stream_relay_p99_added_ms: for a `[[words:2000]]` answer, the p99 delay between the fake
 * model emitting a token and the client receiving it through agentgate (RunService, the
 * OpenAI SSE relay, the `openai` client), minus the same p99 through a direct SDK query()
 * in this process. Rounds alternate so both paths see the same machine state.
 */
export async function benchStreamRelay(): Promise<Record<string, number>> {
  const fake = await startFakeModel();
  const proxy = await startTokenClockProxy(fake.url);
  const temp = await makeTempDir('agentgate-bench-');
  const config = ConfigSource.fromValues({
    DATA_DIR: temp.dir,
    LOG_LEVEL: 'silent',
    POOL_SIZE: '0',
    CLAUDEBOX_API_TOKEN: TOKEN,
  });
  const deps = await createDeps(config, createLogger('silent'), { fakeModelUrl: proxy.url });
  const app = await buildApp(deps, [openAiSurface]);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const client = new OpenAI({ apiKey: TOKEN, baseURL: `http://127.0.0.1:${port}/claudebox/openai/v1` });
  const cwd = join(temp.dir, 'workspaces/bench/direct');
  const home = join(temp.dir, 'direct-home');
  await mkdir(cwd, { recursive: true });
  await mkdir(join(home, '.claude'), { recursive: true });
  const access = deps.modelAuth.access();
  // The direct path: the SDK talks to the (clocked) fake model itself, no relay.
  const env = buildAgentEnv(agentPassThroughEnv(), home, access, {
    baseUrl: access.baseUrl ?? '',
    token: access.apiKey ?? '',
    kind: 'api_key',
  });
  try {
    const relayed: number[] = [];
    const relayOnly: number[] = [];
    const direct: number[] = [];
    // One untimed round each warms the live process and the JIT.
    await throughServer(client, proxy, deps.engine);
    await throughSdk(cwd, env, proxy);
    for (let i = 0; i < ROUNDS; i++) {
      const samples = await throughServer(client, proxy, deps.engine);
      relayed.push(...samples.fromModel);
      relayOnly.push(...samples.fromEngine);
      direct.push(...(await throughSdk(cwd, env, proxy)));
    }
    const relayP99 = percentile(relayed, 99);
    const directP99 = percentile(direct, 99);
    return {
      stream_relay_p99_ms: round(relayP99),
      stream_direct_p99_ms: round(directP99),
      stream_relay_p99_added_ms: round(relayP99 - directP99),
      stream_relay_engine_to_client_p99_ms: round(percentile(relayOnly, 99)),
    };
  } finally {
    await app.close();
    await closeDeps(deps);
    await proxy.close();
    await fake.close();
    await temp.cleanup();
  }
}

interface RelaySamples {
  fromModel: number[];
  /** From the engine's text_delta event to the client: what the HTTP relay alone adds. */
  fromEngine: number[];
}

async function throughServer(client: OpenAI, proxy: TokenClockProxy, runs: RunEngine): Promise<RelaySamples> {
  proxy.reset();
  const receivedAt = new Map<number, number>();
  const engineAt = new Map<number, number>();
  const stream = await client.chat.completions.create({
    model: 'sonnet',
    stream: true,
    messages: [{ role: 'user', content: `[[words:${WORDS}]]` }],
  });
  // The run exists once the response has started; its live events carry the engine's clock.
  const [run] = await runs.list({ state: 'active' });
  const watching = (async () => {
    if (!run) return;
    for await (const { event } of runs.events(run.id)) {
      if (event.type === 'text_delta') noteWords(event.text, engineAt);
    }
  })();
  for await (const chunk of stream) noteWords(chunk.choices[0]?.delta.content, receivedAt);
  await watching;
  const fromEngine: number[] = [];
  for (const [n, at] of receivedAt) {
    const emitted = engineAt.get(n);
    if (emitted !== undefined) fromEngine.push(at - emitted);
  }
  return { fromModel: delays(proxy, receivedAt), fromEngine };
}

async function throughSdk(cwd: string, env: Record<string, string | undefined>, proxy: TokenClockProxy) {
  proxy.reset();
  const receivedAt = new Map<number, number>();
  for await (const m of query({
    prompt: `[[words:${WORDS}]]`,
    options: {
      cwd,
      env,
      includePartialMessages: true,
      permissionMode: 'bypassPermissions',
      allowDangerouslySkipPermissions: true,
    },
  })) {
    if (m.type !== 'stream_event') continue;
    const ev = m.event;
    if (ev.type === 'content_block_delta' && ev.delta.type === 'text_delta')
      noteWords(ev.delta.text, receivedAt);
  }
  return delays(proxy, receivedAt);
}

function noteWords(text: string | null | undefined, receivedAt: Map<number, number>): void {
  if (!text) return;
  const now = performance.now();
  for (const m of text.matchAll(WORD)) receivedAt.set(Number(m[1]), now);
}

function delays(proxy: TokenClockProxy, receivedAt: Map<number, number>): number[] {
  if (receivedAt.size < WORDS) throw new Error(`only ${receivedAt.size} of ${WORDS} words arrived`);
  const out: number[] = [];
  for (const [n, at] of receivedAt) {
    const sent = proxy.emittedAt.get(n);
    if (sent !== undefined) out.push(at - sent);
  }
  return out;
}

function round(ms: number): number {
  return Number(ms.toFixed(2));
}
