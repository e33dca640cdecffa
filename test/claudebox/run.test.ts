import assert from 'node:assert/strict';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecordedRequest } from '../../src/fake-model/recorder.ts';
import type { TestApp } from '../helpers/app.ts';
import { agentProcessesUnder, processesIn } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait.ts';
import { AUTH, eventually, MASTER, run, startClaudeboxApp, status } from './claudebox-app.ts';

type Json = Record<string, unknown>;

/** The fake-model requests whose conversation mentions `marker` (each test uses its own). */
function requestsWith(t: TestApp, marker: string): Array<RecordedRequest & { body: Json }> {
  return t.fake
    .requests()
    .filter(
      (r) => r.path === '/v1/messages' && JSON.stringify((r.body as Json).messages).includes(marker),
    ) as Array<RecordedRequest & { body: Json }>;
}

/** claudebox's workspace `name` on disk. */
async function workspaceDirOf(t: TestApp, name: string): Promise<string> {
  return join(await realpath(t.dataDir), 'workspaces', 'users', 'claudebox', name);
}

/**
 * The processes of the run going on in claudebox workspace `name`: they work in it, whether
 * started for the run or already running (a spare or a parked live process takes the run
 * there). Counting processes new since before the run would instead also see the spare
 * started to replace the one the run took, which rightly outlives the run.
 */
async function runProcesses(t: TestApp, name: string): Promise<number[]> {
  const dir = await workspaceDirOf(t, name);
  return eventually(async () => {
    const found = await processesIn(dir);
    return found.length > 0 ? found : undefined;
  });
}

/** The run's processes are gone, and nothing works in its workspace any more. */
async function assertDead(t: TestApp, name: string, own: readonly number[]): Promise<void> {
  const dir = await workspaceDirOf(t, name);
  await waitFor(async () => (await processesIn(dir)).length === 0).catch(() => {});
  assert.deepEqual(await processesIn(dir), [], `nothing works in workspace ${name} after its run`);
  const alive = (await agentProcessesUnder(t.dataDir)).filter((pid) => own.includes(pid));
  assert.deepEqual(alive, [], 'the run’s process died with it');
}

describe('claudebox /claudebox/run', () => {
  let t: TestApp;
  before(async () => {
    t = await startClaudeboxApp();
  });
  after(async () => {
    await t?.close();
  });

  it('answers health without auth and refuses runs without the token', async () => {
    assert.equal((await fetch(`${t.url}/claudebox/health`)).status, 200);
    const res = await fetch(`${t.url}/claudebox/run`, { method: 'POST', body: '{"prompt":"x"}' });
    assert.equal(res.status, 401);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'unauthorized');
    const bad = await fetch(`${t.url}/claudebox/status`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(bad.status, 401);
  });

  it('runs the seed’s two workspace requests concurrently, each in its own directory', async () => {
    const [a, b] = await Promise.all([
      run(t, { prompt: 'write a Go HTTP server [[sleep:1500]]', workspace: 'go-project' }),
      run(t, { prompt: 'write pytest tests [[sleep:1500]]', workspace: 'py-tests' }),
      eventually(async () => ((await status(t)).running.length === 2 ? true : undefined)),
    ]);
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    for (const r of [a, b]) {
      assert.equal(r.json.type, 'result');
      assert.equal(r.json.subtype, 'success');
      assert.equal(r.json.isError, false);
      assert.match(String(r.json.result), /^Echo: write/);
      assert.equal(typeof r.json.sessionId, 'string');
      assert.equal(typeof r.json.numTurns, 'number');
      assert.equal(typeof r.json.durationMs, 'number');
      assert.equal(typeof r.json.totalCostUsd, 'number');
      assert.deepEqual(Object.keys(r.json.usage as Json).sort(), [
        'cacheReadInputTokens',
        'inputTokens',
        'outputTokens',
      ]);
    }
    assert.notEqual(a.json.sessionId, b.json.sessionId);
    const files = await fetch(`${t.url}/claudebox/files`, { headers: AUTH });
    const names = ((await files.json()) as { workspaces: Array<{ name: string }> }).workspaces.map(
      (w) => w.name,
    );
    assert.ok(names.includes('go-project') && names.includes('py-tests'));
  });

  it('continues the workspace session by default; noContinue starts fresh; resume picks one', async () => {
    const first = await run(t, { prompt: 'remember alpha-1', workspace: 'sessions' });
    const second = await run(t, { prompt: '[[recall]] beta-2', workspace: 'sessions' });
    assert.match(String(second.json.result), /alpha-1/);
    assert.equal(second.json.sessionId, first.json.sessionId);
    const fresh = await run(t, { prompt: '[[recall]] gamma-3', workspace: 'sessions', noContinue: true });
    assert.doesNotMatch(String(fresh.json.result), /alpha-1/);
    const resumed = await run(t, {
      prompt: '[[recall]] delta-4',
      workspace: 'sessions',
      resume: first.json.sessionId,
    });
    assert.match(String(resumed.json.result), /alpha-1/);
    const foreign = await run(t, {
      prompt: 'x',
      workspace: 'sessions',
      resume: '00000000-0000-0000-0000-000000000000',
    });
    assert.equal(foreign.status, 404);
  });

  it('sends model, replaced system prompt, appended text and effort to the model', async () => {
    await run(t, { prompt: 'marker-model', workspace: 'f1', model: 'haiku', effort: 'high' });
    const m = requestsWith(t, 'marker-model').at(-1);
    assert.match(String(m?.body.model), /haiku/);
    assert.deepEqual((m?.body.output_config as Json | undefined)?.effort, 'high');

    await run(t, { prompt: 'marker-full', workspace: 'f1', model: 'claude-sonnet-4-5', noContinue: true });
    assert.equal(requestsWith(t, 'marker-full').at(-1)?.body.model, 'claude-sonnet-4-5');

    await run(t, { prompt: 'marker-sys', workspace: 'f2', systemPrompt: 'You are SYS-ONLY.' });
    const sys = JSON.stringify(requestsWith(t, 'marker-sys').at(-1)?.body.system);
    assert.ok(sys.includes('You are SYS-ONLY.'));
    assert.ok(!sys.includes('Claude Code'), 'the default system prompt is replaced');

    await run(t, {
      prompt: 'marker-append',
      workspace: 'f3',
      appendSystemPrompt: 'APPENDED-RULE-42',
      effort: 'low',
    });
    const app = JSON.stringify(requestsWith(t, 'marker-append').at(-1)?.body.system);
    assert.ok(app.includes('APPENDED-RULE-42'));
    assert.ok(app.length > sys.length * 10, 'the default system prompt is kept');
    // Claude Code sends the effort as output_config.effort (it defaults to high when unset).
    const low = requestsWith(t, 'marker-append').at(-1)?.body.output_config as Json | undefined;
    assert.equal(low?.effort, 'low');
  });

  it('returns the structured output as JSON text for jsonSchema; refuses an invalid schema', async () => {
    const schema = {
      type: 'object',
      properties: { name: { type: 'string' }, count: { type: 'integer' } },
      required: ['name', 'count'],
    };
    const ok = await run(t, {
      prompt: 'give me data',
      workspace: 'schema',
      jsonSchema: JSON.stringify(schema),
    });
    assert.equal(ok.status, 200);
    assert.equal(ok.json.isError, false);
    const parsed = JSON.parse(String(ok.json.result)) as Json;
    assert.equal(typeof parsed.name, 'string');
    assert.equal(typeof parsed.count, 'number');
    for (const bad of ['{not json', '[1,2]', '{"type":"strin"}', '{"type":"object","properties":5}']) {
      const res = await run(t, { prompt: 'x', workspace: 'schema', jsonSchema: bad });
      assert.equal(res.status, 400, bad);
      assert.equal((res.json.error as Json).code, 'invalid_request');
    }
  });

  it('lists tool calls and results as turns in json-verbose, user data untouched', async () => {
    const res = await run(t, {
      prompt: '[[tool:Bash {"command":"echo hi"}]]',
      workspace: 'verbose',
      outputFormat: 'json-verbose',
    });
    assert.equal(res.status, 200);
    const turns = res.json.turns as Array<{ role: string; content: Json[] }>;
    const call = turns.find((x) => x.role === 'assistant' && x.content.some((b) => b.type === 'tool_use'));
    const use = call?.content.find((b) => b.type === 'tool_use');
    assert.equal(use?.name, 'Bash');
    assert.deepEqual(use?.input, { command: 'echo hi' });
    const resultTurn = turns.find((x) => x.role === 'tool_result');
    const block = resultTurn?.content[0];
    assert.deepEqual(Object.keys(block ?? {}).sort(), ['content', 'isError', 'toolUseId', 'type']);
    assert.equal(block?.type, 'toolResult');
    assert.equal(block?.toolUseId, use?.id);
    assert.equal(block?.isError, false);
    assert.match(JSON.stringify(block?.content), /hi/);
    assert.match(String(res.json.result), /Tool result: .*hi/s);
    const plain = await run(t, { prompt: 'no turns please', workspace: 'verbose' });
    assert.equal(plain.json.turns, undefined);
  });

  it('refuses a second run in a busy workspace with 409, and cancel kills the first', async () => {
    const first = run(t, { prompt: 'long [[sleep:3000]]', workspace: 'busy' });
    await eventually(async () =>
      (await status(t)).running.some((r) => r.workspace === 'busy') ? true : undefined,
    );
    const own = await runProcesses(t, 'busy');
    const second = await run(t, { prompt: 'me too', workspace: 'busy' });
    assert.equal(second.status, 409);
    assert.equal((second.json.error as Json).code, 'conflict');

    const cancel = await fetch(`${t.url}/claudebox/run/cancel?workspace=busy`, {
      method: 'POST',
      headers: AUTH,
    });
    assert.equal(cancel.status, 200);
    assert.equal(((await cancel.json()) as Json).cancelled, true);
    const done = await first;
    assert.equal(done.json.subtype, 'cancelled');
    assert.equal(done.json.isError, true);
    await assertDead(t, 'busy', own);
    const again = await fetch(`${t.url}/claudebox/run/cancel?workspace=busy`, {
      method: 'POST',
      headers: AUTH,
    });
    assert.equal(again.status, 404);
  });

  it('cancels the run when the client disconnects', async () => {
    const client = new AbortController();
    const pending = run(
      t,
      { prompt: 'slow [[sleep:5000]]', workspace: 'disconnect' },
      { signal: client.signal },
    );
    pending.catch(() => {});
    await eventually(async () =>
      (await status(t)).running.some((r) => r.workspace === 'disconnect') ? true : undefined,
    );
    const own = await runProcesses(t, 'disconnect');
    client.abort();
    await eventually(async () =>
      (await status(t)).running.some((r) => r.workspace === 'disconnect') ? undefined : true,
    );
    await assertDead(t, 'disconnect', own);
    const last = (await status(t)).recent.find((r) => r.workspace === 'disconnect');
    assert.equal(last?.status, 'cancelled');
  });

  it('keeps a fireAndForget run going after a disconnect; its result is readable later', async () => {
    const client = new AbortController();
    const pending = run(
      t,
      { prompt: 'background job zeta-9 [[sleep:1500]]', workspace: 'faf', fireAndForget: true },
      { signal: client.signal },
    );
    pending.catch(() => {});
    const running = await eventually(async () =>
      (await status(t)).running.find((r) => r.workspace === 'faf'),
    );
    client.abort();
    const recent = await eventually(async () =>
      (await status(t)).recent.find((r) => r.runId === running.runId),
    );
    assert.equal(recent.status, 'succeeded');
    const res = await fetch(`${t.url}/claudebox/runs/${running.runId}`, { headers: AUTH });
    const body = (await res.json()) as Json;
    assert.equal(body.status, 'succeeded');
    assert.equal(body.tier, 'full', 'the run record shows its permission tier');
    assert.match(String(body.result), /Echo: background job zeta-9/);
    const next = await run(t, { prompt: '[[recall]]', workspace: 'faf' });
    assert.match(String(next.json.result), /zeta-9/);
  });

  it('lets the LiteLLM master key share the token’s workspaces; other keys cannot read runs', async () => {
    const res = await fetch(`${t.url}/claudebox/files`, { headers: { authorization: `Bearer ${MASTER}` } });
    const names = ((await res.json()) as { workspaces: Array<{ name: string }> }).workspaces.map(
      (w) => w.name,
    );
    assert.ok(names.includes('go-project'));
    const missing = await fetch(`${t.url}/claudebox/runs/not-a-run`, { headers: AUTH });
    assert.equal(missing.status, 404);
  });
});
