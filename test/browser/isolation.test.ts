import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { MAX_SESSIONS, MAX_SESSIONS_PER_OWNER } from '../../src/surfaces/browser/mcp.ts';
import { skipWithout } from '../helpers/system-parts.ts';
import { type BrowserTestApp, ok, startBrowserApp, TOKEN } from './browser-app.ts';

/** A second principal: a user key, not the shared surface token. */
const ALICE = 'sk-alice-browser';
const INSTANCE_COOKIE = /^INSTANCEID=[A-Za-z0-9_-]{43}$/;
/** What an intruder would read: the page and its cookies (about:blank has no cookie jar to read). */
const PEEK = 'location.href + " " + (location.protocol === "about:" ? "" : document.cookie)';

async function mcpClient(t: BrowserTestApp, token: string): Promise<{ client: Client; sessionId: string }> {
  const client = new Client({ name: 'isolation-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${t.app.url}/stealthy-auto-browse/mcp/`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  assert.ok(transport.sessionId);
  return { client, sessionId: transport.sessionId };
}

/** A raw tools/call on someone's session id, as an attacker who learned it would send it. */
function callWithSession(t: BrowserTestApp, token: string, sessionId: string, name: string, args: object) {
  return fetch(`${t.app.url}/stealthy-auto-browse/mcp/`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-06-18',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 99, method: 'tools/call', params: { name, arguments: args } }),
  });
}

describe('browser state belongs to the caller that made it', { skip: skipWithout('chromium') }, () => {
  let t: BrowserTestApp;
  before(async () => {
    t = await startBrowserApp({ STEALTHY_AUTO_BROWSE_NUM_REPLICAS: '3', API_KEYS: `alice:${ALICE}` });
  });
  after(async () => {
    await t?.close();
  });

  it('gives out unguessable instance ids, never replica-N', async () => {
    const a = await t.act({ action: 'get_text' }, { newCaller: true });
    const b = await t.act({ action: 'get_text' }, { newCaller: true });
    assert.match(String(a.cookie), INSTANCE_COOKIE);
    assert.match(String(b.cookie), INSTANCE_COOKIE);
    assert.notEqual(a.cookie, b.cookie);
  });

  it('ignores another principal’s INSTANCEID and guessed ones: the caller gets its own replica', async () => {
    // The victim (shared token) logs in somewhere: a cookie and a page only it should see.
    const victim = await t.act({ action: 'goto', url: `${t.fixture.url}/page2` }, { newCaller: true });
    ok(victim);
    assert.ok(victim.cookie);
    const pin = { cookie: victim.cookie };
    ok(await t.act({ action: 'eval_js', expression: 'document.cookie = "session=victim-secret"' }, pin));

    // Another principal replays the victim's cookie.
    const stolen = await t.act(
      { action: 'eval_js', expression: PEEK },
      {
        cookie: victim.cookie,
        token: ALICE,
      },
    );
    const seen = String(ok(stolen).result);
    assert.doesNotMatch(seen, /victim-secret|page2/, 'the foreign cookie reached the victim’s page');
    assert.match(String(stolen.cookie), INSTANCE_COOKIE, 'the caller is pinned to a replica of its own');
    assert.notEqual(stolen.cookie, victim.cookie);
    // …and did not disturb the victim, whose replica and page are still its own.
    const intact = await t.act(
      { action: 'eval_js', expression: 'location.pathname + " " + document.cookie' },
      pin,
    );
    assert.equal(ok(intact).result, '/page2 session=victim-secret');
    assert.equal(intact.cookie, undefined);

    // Guessing the old predictable ids gets nowhere either, for a holder of the same token too.
    for (const guess of ['replica-1', 'replica-2', 'replica-3']) {
      for (const token of [TOKEN, ALICE]) {
        const res = await t.act(
          { action: 'eval_js', expression: PEEK },
          {
            cookie: `INSTANCEID=${guess}`,
            token,
          },
        );
        assert.doesNotMatch(String(ok(res).result), /victim-secret|page2/, `${guess} reached the victim`);
      }
    }
  });

  it('one principal making new claims in a loop takes back its own replicas, not another’s', async () => {
    // Alice holds one replica of three; the shared-token holder keeps arriving as new callers.
    const mine = await t.act({ action: 'goto', url: `${t.fixture.url}/page2` }, { token: ALICE });
    ok(mine);
    assert.ok(mine.cookie);
    for (let i = 0; i < 6; i++) ok(await t.act({ action: 'get_text' }, { newCaller: true }));
    const still = await t.act(
      { action: 'eval', expression: 'location.pathname' },
      { token: ALICE, cookie: mine.cookie },
    );
    assert.equal(ok(still).result, '/page2', 'Alice kept her replica and its page');
    assert.equal(still.cookie, undefined);
  });

  it('binds an MCP session to the principal that opened it', async () => {
    const { client, sessionId } = await mcpClient(t, ALICE);
    const goto = await client.callTool({ name: 'goto', arguments: { url: `${t.fixture.url}/page2` } });
    assert.equal(goto.isError ?? false, false);

    // The shared-token holder replays Alice's session id.
    const hijack = await callWithSession(t, TOKEN, sessionId, 'eval_js', { expression: 'document.title' });
    assert.equal(hijack.status, 404);
    const body = (await hijack.json()) as { success: boolean; code: string };
    assert.equal(body.code, 'not_found');
    const close = await fetch(`${t.app.url}/stealthy-auto-browse/mcp/`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}`, 'mcp-session-id': sessionId },
    });
    assert.equal(close.status, 404, 'nor can it end the session');

    // Alice's session still works, on her page.
    const title = await client.callTool({ name: 'eval_js', arguments: { expression: 'document.title' } });
    assert.equal(title.isError ?? false, false);
    assert.equal(JSON.parse(String((title.content as Array<{ text: string }>)[0]?.text)).result, 'Page Two');
    await client.close();
  });

  it('one principal opening MCP sessions in a loop evicts only its own', async () => {
    const alice = await mcpClient(t, ALICE);
    const flood: Array<{ client: Client; sessionId: string }> = [];
    // More than the whole server's worth: before per-principal shares, this evicted Alice's.
    for (let i = 0; i < MAX_SESSIONS + 1; i++) flood.push(await mcpClient(t, TOKEN));
    const still = await alice.client.callTool({ name: 'ping', arguments: {} });
    assert.equal(still.isError ?? false, false, 'the other principal kept its session');
    const evictedOwn = flood.length - MAX_SESSIONS_PER_OWNER;
    for (const [i, c] of flood.entries()) {
      if (i !== 0 && i !== evictedOwn - 1 && i !== evictedOwn) continue;
      const res = await callWithSession(t, TOKEN, c.sessionId, 'ping', {});
      assert.equal(res.status, i < evictedOwn ? 404 : 200, `flood session ${i}`);
      await res.body?.cancel();
    }
    await Promise.all([alice, ...flood.slice(evictedOwn)].map((c) => c.client.close()));
  });

  it('shows anonymous callers of /__queue/status counts only', async () => {
    const pinned = await t.act({ action: 'goto', url: `${t.fixture.url}/?token=abc` }, { newCaller: true });
    ok(pinned);
    const res = await fetch(`${t.app.url}/stealthy-auto-browse/__queue/status`);
    assert.equal(res.status, 200);
    const text = await res.text();
    const status = JSON.parse(text) as Record<string, unknown>;
    assert.equal(status.replicas, 3);
    for (const key of ['idle', 'busy', 'crashed', 'queued']) assert.equal(typeof status[key], 'number', key);
    const origin = new URL(t.fixture.url).origin;
    assert.ok(!text.includes(origin), `anonymous status shows a page origin: ${text}`);
    assert.ok(!text.includes('127.0.0.1'), `anonymous status shows a host: ${text}`);
    assert.doesNotMatch(
      text,
      /replica-\d|"url"|"version"/,
      `anonymous status shows per-replica detail: ${text}`,
    );
    assert.ok(!text.includes(String(pinned.cookie?.split('=')[1])));

    const health = await (await fetch(`${t.app.url}/stealthy-auto-browse/__queue/health`)).text();
    assert.ok(!health.includes('127.0.0.1'));

    // The holder of the cookie sees its own page's origin, and only its own.
    const mine = await fetch(`${t.app.url}/stealthy-auto-browse/__queue/status`, {
      headers: { authorization: `Bearer ${TOKEN}`, cookie: String(pinned.cookie) },
    });
    const detail = (await mine.json()) as { replicas: Array<{ mine: boolean; url: string | null }> };
    assert.deepEqual(
      detail.replicas.filter((r) => r.url !== null),
      [{ ...detail.replicas.find((r) => r.mine), url: origin }],
    );
    const wrong = await fetch(`${t.app.url}/stealthy-auto-browse/__queue/status`, {
      headers: { authorization: 'Bearer nope' },
    });
    assert.equal(wrong.status, 401);
  });
});
