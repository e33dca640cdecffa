import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { credentialsPath, readStoredOAuth } from '../../src/auth/oauth-store.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { call, surfaces } from './client.ts';

interface TokenCall {
  grant_type: string;
  [k: string]: string;
}

/** A stand-in for the Claude token endpoint: records every call, issues numbered tokens. */
async function startTokenServer(): Promise<{ url: string; calls: TokenCall[]; close(): Promise<void> }> {
  const calls: TokenCall[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      const body = JSON.parse(text) as TokenCall;
      calls.push(body);
      res.setHeader('content-type', 'application/json');
      if (body.grant_type === 'authorization_code' && body.code !== 'good-code') {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'bad code' }));
        return;
      }
      // The first token expires at once, so the store must refresh it before it is used.
      const isFirst = body.grant_type === 'authorization_code';
      res.end(
        JSON.stringify({
          access_token: `access-${calls.length}`,
          refresh_token: `refresh-${calls.length}`,
          expires_in: isFirst ? 1 : 3600,
          scope: 'user:inference',
        }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/oauth/token`,
    calls,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('claude-code-api: Claude OAuth login', () => {
  let t: TestApp;
  let tokens: Awaited<ReturnType<typeof startTokenServer>>;
  // Admin keys (agentgate keys create --admin): only they may change the server's login.
  let owner: string;
  let other: string;
  before(async () => {
    tokens = await startTokenServer();
    t = await startTestApp({
      surfaces,
      env: { API_KEYS: 'user:sk-user', OAUTH_TOKEN_URL: tokens.url },
    });
    owner = (await t.deps.keys.create('owner', true)).key;
    other = (await t.deps.keys.create('other', true)).key;
  });
  after(async () => {
    await t.close();
    await tokens.close();
  });

  it('refuses a non-admin key: it cannot replace the login every user runs on', async () => {
    const nonAdmin = (await t.deps.keys.create('mallory', false)).key;
    for (const key of [nonAdmin, 'sk-user']) {
      const login = await call(t.url, 'POST', '/auth/login', { key });
      assert.equal(login.status, 403);
      assert.equal(login.body.success, false);
      const exchange = await call(t.url, 'POST', '/auth/exchange', { key, body: { code: 'good-code#x' } });
      assert.equal(exchange.status, 403);
    }
    assert.equal(tokens.calls.length, 0, 'no token exchange was attempted');
    assert.equal((await call(t.url, 'GET', '/auth/status', { key: nonAdmin })).body.oauth.loggedIn, false);
  });

  it('login → exchange → status, stored 0600 and refreshed before expiry', async () => {
    const before = await call(t.url, 'GET', '/auth/status', { key: owner });
    assert.equal(before.body.oauth.loggedIn, false);

    const login = await call(t.url, 'POST', '/auth/login', { key: owner });
    const url = new URL(login.body.url);
    assert.equal(url.origin + url.pathname, 'https://claude.ai/oauth/authorize');
    assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(url.searchParams.get('response_type'), 'code');
    const state = url.searchParams.get('state') ?? '';
    const challenge = url.searchParams.get('code_challenge') ?? '';
    assert.ok(state && challenge);

    // A wrong code is the token endpoint's 400, and the login cannot be replayed after it.
    const bad = await call(t.url, 'POST', '/auth/exchange', {
      key: owner,
      body: { code: `nope#${state}` },
    });
    assert.equal(bad.status, 400);
    const login2 = await call(t.url, 'POST', '/auth/login', { key: owner });
    const state2 = new URL(login2.body.url).searchParams.get('state') ?? '';
    // Another user cannot complete someone else's login.
    const stolen = await call(t.url, 'POST', '/auth/exchange', {
      key: other,
      body: { code: `good-code#${state2}` },
    });
    assert.equal(stolen.status, 400);
    const unknown = await call(t.url, 'POST', '/auth/exchange', {
      key: owner,
      body: { code: 'good-code#made-up' },
    });
    assert.equal(unknown.status, 400);

    const ok = await call(t.url, 'POST', '/auth/exchange', {
      key: owner,
      body: { code: `good-code#${state2}` },
    });
    assert.deepEqual(ok.body, { success: true });
    const exchange = tokens.calls.find(
      (c) => c.grant_type === 'authorization_code' && c.code === 'good-code',
    );
    assert.ok(exchange);
    assert.equal(exchange.state, state2);
    assert.ok(exchange.code_verifier && exchange.code_verifier.length >= 43);

    const file = credentialsPath(t.dataDir);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const after = await call(t.url, 'GET', '/auth/status', { key: owner });
    assert.equal(after.body.authenticated, true);
    assert.equal(after.body.oauth.loggedIn, true);

    // expires_in was 1 s: the store refreshes it (with the refresh token it was given).
    const deadline = Date.now() + 10_000;
    while (!tokens.calls.some((c) => c.grant_type === 'refresh_token') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const refresh = tokens.calls.find((c) => c.grant_type === 'refresh_token');
    assert.ok(refresh, 'the token was not refreshed');
    assert.match(refresh.refresh_token ?? '', /^refresh-\d+$/);
    await new Promise((r) => setTimeout(r, 200));
    const stored = await readStoredOAuth(t.dataDir);
    assert.match(stored?.accessToken ?? '', /^access-\d+$/);
    assert.ok((stored?.expiresAt ?? 0) > Date.now() + 3000_000);
  });
});
