import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { signHmacToken, userIdForName } from '../../src/auth/hmac-token.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { forEachBackend } from '../helpers/backends.ts';
import { call, surfaces } from './client.ts';

const SECRET = 'test-nextauth-secret';

/** The seed's curls, one by one, plus its auth rules, against one app. */
// On SQLite and on PostgreSQL: the seed's answers do not depend on the store.
forEachBackend('claude-code-api: the seed examples', (backend) => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces,
      databaseUrl: await backend.databaseUrl(),
      env: { API_KEYS: 'sk-my-secret-key,myapp:sk-key1,bot:sk-key2', NEXTAUTH_SECRET: SECRET },
    });
  });
  after(async () => t.close());

  it('GET /health needs no key and reports pool and queue', async () => {
    const r = await call(t.url, 'GET', '/health');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
    assert.ok(r.body.pool && r.body.queue);
  });

  it('POST /run one-shot answers {success, output, durationMs, timedOut}', async () => {
    const r = await call(t.url, 'POST', '/run', {
      key: 'sk-my-secret-key',
      body: { prompt: 'What is 2+2?' },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ['durationMs', 'output', 'success', 'timedOut']);
    assert.equal(r.body.success, true);
    assert.equal(r.body.output, 'Echo: What is 2+2?');
    assert.equal(r.body.timedOut, false);
    assert.equal(typeof r.body.durationMs, 'number');
  });

  it('the two-request multi-turn example: the second run sees the first', async () => {
    const first = await call(t.url, 'POST', '/run', {
      key: 'sk-my-secret-key',
      body: { prompt: 'My name is Alice.', sessionId: 'session-1' },
    });
    assert.equal(first.body.success, true, JSON.stringify(first.body));
    const second = await call(t.url, 'POST', '/run', {
      key: 'sk-my-secret-key',
      body: { prompt: 'What is my name? [[recall]]', sessionId: 'session-1' },
    });
    assert.equal(second.body.success, true, JSON.stringify(second.body));
    assert.match(second.body.output, /My name is Alice\./);
  });

  it('GET /status shows the queue and the caller’s own sessions only', async () => {
    const r = await call(t.url, 'GET', '/status', { key: 'sk-my-secret-key' });
    assert.equal(r.status, 200);
    assert.ok(r.body.queue);
    assert.deepEqual(
      r.body.sessions.map((s: { sessionId: string }) => s.sessionId),
      ['session-1'],
    );
    const other = await call(t.url, 'GET', '/status', { key: 'sk-key1' });
    assert.deepEqual(other.body.sessions, []);
    assert.equal(other.body.user.userId, 'myapp');
  });

  it('accepts Authorization: Bearer as well as x-api-key, and maps user:key prefixes', async () => {
    const r = await call(t.url, 'GET', '/status', { bearer: 'sk-key2' });
    assert.equal(r.status, 200);
    assert.equal(r.body.user.userId, 'bot');
    const plain = await call(t.url, 'GET', '/status', { key: 'sk-my-secret-key' });
    assert.equal(plain.body.user.userId, 'api');
    // The prefix is never part of the key that is sent.
    const prefixed = await call(t.url, 'GET', '/status', { key: 'myapp:sk-key1' });
    assert.equal(prefixed.status, 401);
  });

  it('a NEXTAUTH HMAC token authenticates its user for 5 minutes', async () => {
    const fresh = signHmacToken(SECRET, 'webuser', Date.now());
    const r = await call(t.url, 'GET', '/status', { bearer: fresh });
    assert.equal(r.status, 200);
    // A web front end's user lives in the web. namespace (docs/claude-code-api.md).
    assert.equal(r.body.user.userId, userIdForName('webuser'));
    assert.match(r.body.user.userId, /^web\.webuser\.[0-9a-f]{16}$/);
    const forged = signHmacToken('another-secret', 'webuser', Date.now());
    assert.equal((await call(t.url, 'GET', '/status', { bearer: forged })).status, 401);
  });

  it('users cannot see, continue or close each other’s sessions of the same name', async () => {
    const mine = await call(t.url, 'POST', '/run', {
      key: 'sk-key1',
      body: { prompt: 'secret of myapp', sessionId: 'shared-name' },
    });
    assert.equal(mine.body.success, true);
    const theirs = await call(t.url, 'POST', '/run', {
      key: 'sk-key2',
      body: { prompt: '[[recall]]', sessionId: 'shared-name' },
    });
    assert.equal(theirs.body.success, true);
    assert.doesNotMatch(theirs.body.output, /secret of myapp/);
    const close = await call(t.url, 'DELETE', '/session', {
      key: 'sk-my-secret-key',
      body: { sessionId: 'shared-name' },
    });
    assert.equal(close.status, 404);
    const ok = await call(t.url, 'DELETE', '/session', {
      key: 'sk-key1',
      body: { sessionId: 'shared-name' },
    });
    assert.deepEqual(ok.body, { closed: true });
    const again = await call(t.url, 'DELETE', '/session', {
      key: 'sk-key1',
      body: { sessionId: 'shared-name' },
    });
    assert.equal(again.status, 404);
  });

  it('validates /run: missing or over-long prompt, bad JSON, bad timeoutMs → 400 {error}', async () => {
    const bad = [
      {},
      { prompt: '' },
      { prompt: 'x'.repeat(200_001) },
      { prompt: 'hi', timeoutMs: 10 },
      { prompt: 'hi', timeoutMs: 1.5e3 + 0.5 },
      { prompt: 'hi', timeoutMs: 'soon' },
      { prompt: 'hi', timeoutMs: 120_000 * 10 + 1 },
      '{"prompt": ',
    ];
    for (const body of bad) {
      const r = await call(t.url, 'POST', '/run', { key: 'sk-my-secret-key', body });
      assert.equal(r.status, 400, `${JSON.stringify(body).slice(0, 80)} → ${JSON.stringify(r.body)}`);
      assert.equal(typeof r.body.error, 'string');
    }
  });

  it('parses a JSON body sent without a JSON Content-Type', async () => {
    const r = await call(t.url, 'POST', '/run', {
      key: 'sk-my-secret-key',
      body: '{"prompt":"labelled as a form"}',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    // A reused process's prompt carries Claude Code's /clear caveat first (see the report), so match the end.
    assert.match(r.body.output, /^Echo: [\s\S]*labelled as a form$/);
  });

  it('the auth matrix: no key, wrong key, expired HMAC token → 401 on every route', async () => {
    const expired = signHmacToken(SECRET, 'webuser', Date.now() - 5 * 60_000 - 1000);
    const routes: Array<[string, string, unknown?]> = [
      ['POST', '/run', { prompt: 'hi' }],
      ['GET', '/status'],
      ['DELETE', '/session', { sessionId: 'session-1' }],
      ['GET', '/user-claude'],
      ['PUT', '/user-claude', { content: 'x' }],
      ['GET', '/auth/status'],
      ['POST', '/auth/login'],
      ['POST', '/auth/exchange', { code: 'a#b' }],
    ];
    for (const [method, path, body] of routes) {
      for (const creds of [{}, { key: 'sk-wrong' }, { bearer: 'nope' }, { bearer: expired }]) {
        const r = await call(t.url, method, path, { ...creds, body });
        assert.equal(r.status, 401, `${method} ${path} ${JSON.stringify(creds)}`);
        assert.equal(typeof r.body.error, 'string');
      }
    }
    // The session named above still exists: an unauthenticated DELETE closed nothing.
    const s = await call(t.url, 'GET', '/status', { key: 'sk-my-secret-key' });
    assert.equal(s.body.sessions.length, 1);
  });

  it('another user’s key reaches only its own CLAUDE.md', async () => {
    await call(t.url, 'PUT', '/user-claude', { key: 'sk-key1', body: { content: 'myapp rules' } });
    const own = await call(t.url, 'GET', '/user-claude', { key: 'sk-key1' });
    assert.deepEqual(own.body, { content: 'myapp rules' });
    const other = await call(t.url, 'GET', '/user-claude', { key: 'sk-key2' });
    assert.deepEqual(other.body, { content: '' });
  });

  it('a user’s CLAUDE.md reaches the model as user memory on that user’s runs', async () => {
    const marker = 'Always answer like a pirate (marker 7f3a9).';
    const put = await call(t.url, 'PUT', '/user-claude', { key: 'sk-key2', body: { content: marker } });
    assert.deepEqual(put.body, { saved: true });
    t.fake.clearRequests();
    const r = await call(t.url, 'POST', '/run', { key: 'sk-key2', body: { prompt: 'memory check' } });
    assert.equal(r.body.success, true);
    const sent = JSON.stringify(t.fake.requests().map((q) => q.body));
    assert.ok(sent.includes('marker 7f3a9'), 'the CLAUDE.md text was not in what the agent sent');
    // Another user's run does not carry it.
    t.fake.clearRequests();
    await call(t.url, 'POST', '/run', { key: 'sk-key1', body: { prompt: 'no pirate here' } });
    assert.ok(!JSON.stringify(t.fake.requests().map((q) => q.body)).includes('marker 7f3a9'));
  });
});
