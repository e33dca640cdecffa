import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import type { TestApp } from '../helpers/app.ts';
import { agentProcessesUnder, processesWith } from '../helpers/processes.ts';
import { waitFor } from '../helpers/wait.ts';
import { ALICE, api, BOB, openEvents, type SseMessage, sseMessages, startApiApp } from './api-client.ts';

const BOX_TOKEN = 'box-token';

interface Event {
  seq: number;
  type: string;
  [k: string]: unknown;
}

function eventOf(m: SseMessage): Event {
  return JSON.parse(m.data) as Event;
}

/** Every message of a stream until it closes. */
async function allMessages(res: Response): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of sseMessages(res)) out.push(m);
  return out;
}

describe('Runs API: async runs, event streams, cancel', { timeout: 180_000 }, () => {
  let t: TestApp;
  let adminKey: string;
  before(async () => {
    t = await startApiApp({ CLAUDEBOX_API_TOKEN: BOX_TOKEN, SSE_HEARTBEAT_MS: '200' }, [claudeboxSurface]);
    adminKey = (await t.deps.keys.create('root', true)).key;
  });
  after(() => t?.close());

  it('create → list → replay from 0 → resume with Last-Event-ID mid-run → live follow to the end', async () => {
    const created = await api(t, 'POST', '/runs', ALICE, {
      prompt: 'slow step [[tool:Bash {"command":"sleep 2; echo step-done-71"}]]',
      workspace: 'proj',
    });
    assert.equal(created.status, 202);
    const id = String(created.json.id);
    assert.equal(created.headers.get('x-run-id'), id);
    assert.ok(['queued', 'running'].includes(String(created.json.status)));
    assert.equal(created.json.workspace, 'proj');
    assert.ok(!Number.isNaN(Date.parse(String(created.json.createdAt))));

    const list = await api(t, 'GET', '/runs', ALICE);
    assert.equal(list.status, 200);
    const listed = (list.json.runs as Array<Record<string, unknown>>).find((r) => r.id === id);
    assert.ok(listed, 'the new run is listed');
    assert.equal(listed.workspace, 'proj');
    assert.match(String(listed.promptExcerpt), /^slow step/);

    // Replay from 0 until the tool call shows up, then go away mid-run.
    const first = new AbortController();
    const replay = await openEvents(t, id, ALICE, { signal: first.signal });
    assert.equal(replay.status, 200);
    assert.match(replay.headers.get('content-type') ?? '', /^text\/event-stream/);
    const seen: Event[] = [];
    for await (const m of sseMessages(replay)) {
      assert.equal(m.id, String(eventOf(m).seq), 'each event carries id: <seq>');
      seen.push(eventOf(m));
      if (eventOf(m).type === 'tool_use') break;
    }
    first.abort();
    assert.deepEqual(
      seen.map((e) => e.seq),
      seen.map((_, i) => i + 1),
      'replay starts at the first event, no gaps',
    );
    assert.deepEqual(seen[0], { seq: 1, type: 'status', status: 'queued' });
    const toolSeq = seen.at(-1)?.seq ?? 0;

    const mid = await api(t, 'GET', `/runs/${id}`, ALICE);
    assert.equal(mid.json.status, 'running', 'the run is still going (its tool sleeps)');

    const resumed = await allMessages(await openEvents(t, id, ALICE, { lastEventId: String(toolSeq) }));
    const resumedEvents = resumed.filter((m) => m.event === undefined).map(eventOf);
    assert.equal(resumedEvents[0]?.seq, toolSeq + 1, 'resumes right after Last-Event-ID');
    assert.ok(resumedEvents.some((e) => e.type === 'tool_result'));
    assert.ok(resumedEvents.some((e) => e.type === 'result'));
    assert.deepEqual(resumedEvents.at(-1), {
      seq: resumedEvents.at(-1)?.seq,
      type: 'status',
      status: 'succeeded',
    });
    assert.deepEqual(resumed.at(-1), { event: 'end', data: '{"status":"succeeded"}' }, 'closes with end');

    const done = await api(t, 'GET', `/runs/${id}`, ALICE);
    assert.equal(done.json.status, 'succeeded');
    assert.match(String((done.json.result as { text: string }).text), /step-done-71/);
    assert.ok((done.json.costUsd as number) > 0);
    assert.equal(done.json.tier, 'full');
    // The node that executed it (NODE_ID, as /health names this one): a cluster caller can tell.
    assert.equal(done.json.node, t.deps.engine.health().node);
    assert.ok(done.json.node);

    // A finished run replays whole; ?after= resumes as Last-Event-ID does.
    const whole = (await allMessages(await openEvents(t, id, ALICE))).filter((m) => m.event === undefined);
    assert.deepEqual(
      whole.map((m) => eventOf(m).seq),
      whole.map((_, i) => i + 1),
    );
    assert.equal(whole.length, toolSeq + resumedEvents.length);
    const tail = (await allMessages(await openEvents(t, id, ALICE, { after: whole.length - 1 }))).filter(
      (m) => m.event === undefined,
    );
    assert.deepEqual(
      tail.map((m) => eventOf(m).seq),
      [whole.length],
    );
  });

  it('cancel answers the run as cancelled, with its processes gone', async () => {
    const before = await agentProcessesUnder(t.dataDir);
    const marker = `agentgate-api-cancel-${process.pid}`;
    const command = `bash -c 'exec -a ${marker} tail -f /dev/null'`;
    const created = await api(t, 'POST', '/runs', ALICE, {
      prompt: `long [[tool:Bash ${JSON.stringify({ command })}]]`,
      workspace: 'cancel-me',
    });
    const id = String(created.json.id);
    await waitFor(async () => (await processesWith(marker)).length > 0, 60_000);
    // While the tool holds the run silent, the stream keeps itself alive with comment heartbeats.
    const quiet = new AbortController();
    const stream = await openEvents(t, id, ALICE, { signal: quiet.signal });
    let raw = '';
    const decoder = new TextDecoder();
    for await (const chunk of stream.body ?? []) {
      raw += decoder.decode(chunk as Uint8Array, { stream: true });
      if (raw.includes(': keep-alive')) break;
    }
    quiet.abort();
    assert.match(raw, /\n\n: keep-alive\n\n/);
    const cancelled = await api(t, 'POST', `/runs/${id}/cancel`, ALICE);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.json.status, 'cancelled');
    assert.equal(cancelled.json.id, id);
    assert.deepEqual(await processesWith(marker), [], 'the tool process is gone when cancel answers');
    await waitFor(
      async () => (await agentProcessesUnder(t.dataDir)).filter((p) => !before.includes(p)).length === 0,
      5000,
    ).catch(() => {});
    assert.deepEqual(
      (await agentProcessesUnder(t.dataDir)).filter((p) => !before.includes(p)),
      [],
      'no agent process of the run is left',
    );
    const events = (await allMessages(await openEvents(t, id, ALICE))).at(-1);
    assert.deepEqual(events, { event: 'end', data: '{"status":"cancelled"}' });
    // Cancelling a finished run answers it as it is.
    const again = await api(t, 'POST', `/runs/${id}/cancel`, ALICE);
    assert.equal(again.status, 200);
    assert.equal(again.json.status, 'cancelled');
  });

  it('filters by status and workspace, and pages with an opaque cursor', async () => {
    for (const n of [1, 2, 3]) {
      const r = await api(t, 'POST', '/runs', BOB, { prompt: `page ${n}`, workspace: 'paging' });
      assert.equal(r.status, 202);
    }
    await waitFor(async () => {
      const l = await api(t, 'GET', '/runs?workspace=paging&status=succeeded', BOB);
      return (l.json.runs as unknown[]).length === 3;
    }, 60_000);
    const p1 = await api(t, 'GET', '/runs?workspace=paging&limit=2', BOB);
    const runs1 = p1.json.runs as Array<{ promptExcerpt: string }>;
    assert.deepEqual(
      runs1.map((r) => r.promptExcerpt),
      ['page 3', 'page 2'],
      'newest first',
    );
    assert.equal(typeof p1.json.nextCursor, 'string');
    const p2 = await api(t, 'GET', `/runs?workspace=paging&limit=2&cursor=${p1.json.nextCursor}`, BOB);
    assert.deepEqual(
      (p2.json.runs as Array<{ promptExcerpt: string }>).map((r) => r.promptExcerpt),
      ['page 1'],
    );
    assert.equal(p2.json.nextCursor, null);
    const none = await api(t, 'GET', '/runs?workspace=paging&status=failed', BOB);
    assert.deepEqual(none.json.runs, []);
    const bad = await api(t, 'GET', '/runs?cursor=not-a-cursor', BOB);
    assert.equal(bad.status, 400);
    assert.equal((bad.json.error as { code: string }).code, 'invalid_request');
  });

  it('runs with the same sessionId continue one conversation; without one they start fresh', async () => {
    const waitDone = async (id: string) => {
      await waitFor(async () => {
        const s = (await api(t, 'GET', `/runs/${id}`, BOB)).json.status;
        return s !== 'queued' && s !== 'running';
      }, 60_000);
      return (await api(t, 'GET', `/runs/${id}`, BOB)).json;
    };
    const first = await api(t, 'POST', '/runs', BOB, { prompt: 'remember 4417', sessionId: 'chat-a' });
    await waitDone(String(first.json.id));
    const second = await api(t, 'POST', '/runs', BOB, { prompt: '[[recall]]', sessionId: 'chat-a' });
    const recalled = await waitDone(String(second.json.id));
    assert.match(String((recalled.result as { text: string }).text), /remember 4417/);
    const fresh = await api(t, 'POST', '/runs', BOB, { prompt: '[[recall]]' });
    const alone = await waitDone(String(fresh.json.id));
    assert.doesNotMatch(String((alone.result as { text: string }).text), /remember 4417/);
  });

  it('refuses bad input in its own error shape, changing nothing', async () => {
    const count = async () => ((await api(t, 'GET', '/runs?limit=200', ALICE)).json.runs as unknown[]).length;
    const before = await count();
    for (const body of [
      {},
      { prompt: '' },
      { prompt: 'x', workspace: '../etc' },
      { prompt: 'x', timeoutMs: 'soon' },
      { prompt: 'x', tier: 'root' },
      { prompt: 'x', webhookUrl: 'https://example.com/hook' }, // no WEBHOOK_SECRET here
    ]) {
      const res = await api(t, 'POST', '/runs', ALICE, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      const error = res.json.error as { code: string; message: string };
      assert.equal(error.code, 'invalid_request');
      assert.ok(error.message.length > 0);
    }
    assert.equal(await count(), before);
    const noKey = await fetch(`${t.url}/api/v1/runs`);
    assert.equal(noKey.status, 401);
    assert.deepEqual(await noKey.json(), {
      error: { code: 'unauthorized', message: 'Missing or invalid API key' },
    });
    const boxToken = await api(t, 'GET', '/runs', BOX_TOKEN);
    assert.equal(boxToken.status, 401, 'a surface token is not an API key');
  });

  it('another key cannot read, follow, cancel or list your run (attack replay)', async () => {
    const created = await api(t, 'POST', '/runs', ALICE, {
      prompt: 'private [[tool:Bash {"command":"sleep 3"}]]',
      workspace: 'secret',
    });
    const id = String(created.json.id);
    for (const [method, path] of [
      ['GET', `/runs/${id}`],
      ['GET', `/runs/${id}/events`],
      ['POST', `/runs/${id}/cancel`],
      ['GET', `/runs/${id}/webhooks`],
    ] as const) {
      const res = await api(t, method, path, BOB);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.deepEqual(res.json, { error: { code: 'not_found', message: `No run ${id}` } });
    }
    const sse = await openEvents(t, id, BOB, { lastEventId: '0' });
    assert.equal(sse.status, 404);
    const listed = await api(t, 'GET', '/runs?limit=200', BOB);
    assert.ok(!(listed.json.runs as Array<{ id: string }>).some((r) => r.id === id));
    const asOwner = await api(t, 'GET', '/runs?owner=alice&limit=200', BOB);
    assert.deepEqual(asOwner.json.runs, []);
    const still = await api(t, 'GET', `/runs/${id}`, ALICE);
    assert.notEqual(still.json.status, 'cancelled', "bob's cancel changed nothing");
    // An unknown id answers exactly the same.
    const unknown = await api(t, 'GET', '/runs/00000000-0000-0000-0000-000000000000', BOB);
    assert.equal(unknown.status, 404);
    await api(t, 'POST', `/runs/${id}/cancel`, ALICE);
  });

  it('a run started through claudebox shows in the list (admin) with its events', async () => {
    const res = await fetch(`${t.url}/claudebox/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOX_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'from claudebox 5521', workspace: 'boxws' }),
    });
    assert.equal(res.status, 200);
    const id = res.headers.get('x-run-id') ?? '';
    assert.ok(id, 'claudebox /run sends x-run-id');
    await res.json();
    const list = await api(t, 'GET', '/runs?owner=claudebox', adminKey);
    const listed = (list.json.runs as Array<Record<string, unknown>>).find((r) => r.id === id);
    assert.ok(listed, "the admin sees claudebox's run");
    assert.equal(listed.owner, 'claudebox');
    assert.equal(listed.workspace, 'boxws');
    const all = await api(t, 'GET', '/runs?limit=200', adminKey);
    assert.ok((all.json.runs as Array<{ id: string }>).some((r) => r.id === id));
    const events = (await allMessages(await openEvents(t, id, adminKey)))
      .filter((m) => m.event === undefined)
      .map(eventOf);
    assert.ok(events.some((e) => e.type === 'text_delta'));
    const result = events.find((e) => e.type === 'result') as { result: { text: string } } | undefined;
    assert.match(result?.result.text ?? '', /from claudebox 5521/);
    // A user key does not see a service's runs.
    assert.equal((await api(t, 'GET', `/runs/${id}`, ALICE)).status, 404);
  });
});
