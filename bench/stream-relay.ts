import OpenAI from 'openai';
import type { RunEngine } from '../src/engine/port.ts';
import { startFakeModel } from '../src/fake-model/server.ts';
import { openAiSurface } from '../src/surfaces/openai/index.ts';
import { type BenchServer, type Setup, startBenchServer } from './setups.ts';
import { percentile } from './stats.ts';
import { startTokenClockProxy, type TokenClockProxy } from './token-clock-proxy.ts';

const WORDS = 400;
const ROUNDS = 5;
/** 200 tokens/s: faster than a real model streams, slow enough that no hop has to queue. */
const PACE_MS = 5;
const TOKEN = 'bench-token';
const WORD = /word(\d+)/g;

/**
 * Per-token delays of a `[[words:400]]` answer streamed at one token per 5 ms, each token
 * timed where it leaves the fake model (a pacing proxy in front of it), where the engine emits it (a RunEngine
 * subscriber) and where the `openai` client receives it (the claudebox OpenAI SSE route).
 * Every timed round is served by the same warm live process of its server, so the three
 * servers differ only in how their agent reaches the model (see setups.ts):
 * - model_relay_p99_added_ms: per token, the time from leaving the model to leaving the
 *   relay towards the agent (a second clocking proxy between the relay and the agent, so
 *   one loopback hop more than the relay alone), p99. Target ≤ 2.
 *   stream_relay_vs_direct_p99_diff_ms: p99 model→engine through the relay minus the same
 *   p99 with the agent talking to the model directly (both unconfined; noisier, unpaired).
 * - stream_sandbox_bridge_p99_added_ms: the same, sandboxed (network namespace, socat
 *   bridge, relay) minus relay-only.
 * - stream_engine_to_client_p99_ms: engine→client, per token (HTTP, SSE, the client).
 * - stream_relay_p99_added_ms: p99 model→client as deployed, minus p99 model→engine of the
 *   direct agent: all agentgate adds to a token end to end. Target ≤ 2.
 * Rounds alternate between the servers so all see the same machine state.
 */
export async function benchStreamRelay(): Promise<Record<string, number>> {
  const fake = await startFakeModel();
  const proxy = await startTokenClockProxy(fake.url, PACE_MS);
  const servers: Record<Setup, BenchServer | undefined> = {
    isolated: undefined,
    relay: undefined,
    direct: undefined,
  };
  let relayTap: TokenClockProxy | undefined;
  try {
    servers.isolated = await startBenchServer('isolated', proxy.url, {
      surfaces: [openAiSurface],
      env: { CLAUDEBOX_API_TOKEN: TOKEN },
    });
    // A second clock between the relay and the agent: each token is timed on both sides of it.
    servers.relay = await startBenchServer('relay', proxy.url, {
      tapRelay: async (relayUrl) => {
        relayTap = await startTokenClockProxy(relayUrl);
        return relayTap.url;
      },
    });
    servers.direct = await startBenchServer('direct', proxy.url);
    const client = new OpenAI({ apiKey: TOKEN, baseURL: `${servers.isolated.url}/claudebox/openai/v1` });
    const toEngine: Record<Setup, number[]> = { isolated: [], relay: [], direct: [] };
    const relayHop: number[] = [];
    const engineToClient: number[] = [];
    const toClient: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      // Round 0 starts each server's live process (and warms the JIT); it is not timed.
      const isTimed = round > 0;
      const viaClient = await throughClient(client, proxy, servers.isolated.deps.engine, isTimed);
      if (isTimed) {
        toEngine.isolated.push(...viaClient.modelToEngine);
        engineToClient.push(...viaClient.engineToClient);
        toClient.push(...viaClient.modelToClient);
      }
      for (const setup of ['relay', 'direct'] as const) {
        relayTap?.reset();
        const samples = await throughEngine(servers[setup]?.deps.engine as RunEngine, proxy, isTimed);
        if (!isTimed) continue;
        toEngine[setup].push(...samples);
        if (setup === 'relay' && relayTap) relayHop.push(...delays(proxy.emittedAt, relayTap.emittedAt));
      }
    }
    const p99 = (xs: number[]) => percentile(xs, 99);
    const p50 = (xs: number[]) => percentile(xs, 50);
    return {
      // Medians beside the p99s: on a loaded machine the p99 is the scheduler's.
      stream_direct_p50_ms: round(p50(toEngine.direct)),
      stream_relay_model_to_engine_p50_ms: round(p50(toEngine.relay)),
      stream_model_to_engine_p50_ms: round(p50(toEngine.isolated)),
      stream_engine_to_client_p50_ms: round(p50(engineToClient)),
      stream_direct_p99_ms: round(p99(toEngine.direct)),
      stream_relay_model_to_engine_p99_ms: round(p99(toEngine.relay)),
      model_relay_p99_added_ms: round(p99(relayHop)),
      model_relay_p50_added_ms: round(p50(relayHop)),
      stream_relay_vs_direct_p99_diff_ms: round(p99(toEngine.relay) - p99(toEngine.direct)),
      stream_model_to_engine_p99_ms: round(p99(toEngine.isolated)),
      stream_sandbox_bridge_p99_added_ms: round(p99(toEngine.isolated) - p99(toEngine.relay)),
      stream_engine_to_client_p99_ms: round(p99(engineToClient)),
      stream_model_to_client_p99_ms: round(p99(toClient)),
      stream_relay_p99_added_ms: round(p99(toClient) - p99(toEngine.direct)),
    };
  } finally {
    for (const s of Object.values(servers)) await s?.close();
    await relayTap?.close();
    await proxy.close();
    await fake.close();
  }
}

const PROMPT = `[[words:${WORDS}]]`;

/** Where each word was seen on the engine's side: a subscriber to the run's live events. */
async function watchEngine(runs: RunEngine, runId: string, at: Map<number, number>): Promise<string[]> {
  const servedBy: string[] = [];
  for await (const { event } of runs.events(runId)) {
    if (event.type === 'text_delta') noteWords(event.text, at);
    if (event.type === 'status' && event.detail) servedBy.push(event.detail);
  }
  return servedBy;
}

/**
 * A run's server resets its live process as soon as the run ends: let that settle first, so
 * no timed stream shares the CPU with another server's between-runs work.
 */
const SETTLE_MS = 300;

async function throughEngine(runs: RunEngine, proxy: TokenClockProxy, isTimed: boolean): Promise<number[]> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  proxy.reset();
  const engineAt = new Map<number, number>();
  const run = await runs.submit({
    owner: 'bench',
    workspace: 'users/bench/stream',
    prompt: PROMPT,
    onBusy: 'wait',
  });
  const servedBy = await watchEngine(runs, run.id, engineAt);
  if ((await runs.wait(run.id)).status !== 'succeeded') throw new Error('bench stream run failed');
  if (isTimed) assertWarm(servedBy);
  return delays(proxy.emittedAt, engineAt);
}

async function throughClient(
  client: OpenAI,
  proxy: TokenClockProxy,
  runs: RunEngine,
  isTimed: boolean,
): Promise<{ modelToEngine: number[]; engineToClient: number[]; modelToClient: number[] }> {
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  proxy.reset();
  const clientAt = new Map<number, number>();
  const engineAt = new Map<number, number>();
  const stream = client.chat.completions.create({
    model: 'sonnet',
    stream: true,
    messages: [{ role: 'user', content: PROMPT }],
  });
  // Subscribe as soon as the run exists, long before its first token (the agent's turn
  // takes tens of ms before the model answers), so no token is timed from a replay.
  let runId: string | undefined;
  while (!runId) {
    runId = (await runs.list({ state: 'active' }))[0]?.id;
    if (!runId) await new Promise((r) => setImmediate(r));
  }
  const watching = watchEngine(runs, runId, engineAt);
  for await (const chunk of await stream) noteWords(chunk.choices[0]?.delta.content, clientAt);
  const servedBy = await watching;
  if (isTimed) assertWarm(servedBy);
  return {
    modelToEngine: delays(proxy.emittedAt, engineAt),
    engineToClient: delays(engineAt, clientAt),
    modelToClient: delays(proxy.emittedAt, clientAt),
  };
}

/** Like with like: a timed round must be served by the server's warm live process. */
function assertWarm(servedBy: string[]): void {
  if (!servedBy[0]?.startsWith('live process')) throw new Error(`bench round not warm: ${servedBy.join()}`);
}

function noteWords(text: string | null | undefined, at: Map<number, number>): void {
  if (!text) return;
  const now = performance.now();
  for (const m of text.matchAll(WORD)) if (!at.has(Number(m[1]))) at.set(Number(m[1]), now);
}

/** Per word, `to` minus `from`; every word must have reached `to`. */
function delays(from: Map<number, number>, to: Map<number, number>): number[] {
  if (to.size < WORDS) throw new Error(`only ${to.size} of ${WORDS} words arrived`);
  const out: number[] = [];
  for (const [n, at] of to) {
    const sent = from.get(n);
    if (sent !== undefined) out.push(at - sent);
  }
  return out;
}

function round(ms: number): number {
  return Number(ms.toFixed(2));
}
