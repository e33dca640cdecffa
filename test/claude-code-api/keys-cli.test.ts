import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { forEachBackend } from '../helpers/backends.ts';
import { makeTempDir } from '../helpers/temp.ts';
import { call, surfaces } from './client.ts';

const run = promisify(execFile);

/** `agentgate keys …` as an operator runs it, against the data dir the server then uses. */
async function keysCli(
  store: { dataDir: string; databaseUrl: string | undefined },
  ...args: string[]
): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'keys', ...args], {
    env: {
      ...process.env,
      DATA_DIR: store.dataDir,
      ...(store.databaseUrl ? { DATABASE_URL: store.databaseUrl } : {}),
      LOG_LEVEL: 'silent',
    },
  });
  return stdout.trim();
}

// The CLI and the server share the store: the data dir's SQLite file, or DATABASE_URL.
forEachBackend('claude-code-api: keys managed with the CLI', (backend) => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let store: { dataDir: string; databaseUrl: string | undefined };
  let t: TestApp | undefined;
  before(async () => {
    temp = await makeTempDir();
    store = { dataDir: temp.dir, databaseUrl: await backend.databaseUrl() };
  });
  after(async () => {
    await t?.close();
    await temp.cleanup();
  });

  it('create / list / revoke; a created key works on /run, an admin key sees all sessions', async () => {
    const userKey = await keysCli(store, 'create', '--user', 'carol');
    const adminKey = await keysCli(store, 'create', '--user', 'root', '--admin');
    assert.match(userKey, /^agk_/);
    const listed = (await keysCli(store, 'list')).split('\n').map((l) => l.split('\t'));
    assert.deepEqual(
      listed.map((cols) => [cols[1], cols[2], cols[4]]),
      [
        ['carol', 'user', 'active'],
        ['root', 'admin', 'active'],
      ],
    );
    assert.ok(!listed.flat().includes(userKey), 'list must never print a key');

    t = await startTestApp({
      surfaces,
      env: { API_KEYS: 'dave:sk-dave' },
      dataDir: temp.dir,
      databaseUrl: store.databaseUrl,
    });
    const r = await call(t.url, 'POST', '/run', {
      key: userKey,
      body: { prompt: 'hi from carol', sessionId: 'c1' },
    });
    assert.equal(r.body.success, true, JSON.stringify(r.body));
    // Env keys and stored keys work side by side.
    const d = await call(t.url, 'POST', '/run', {
      bearer: 'sk-dave',
      body: { prompt: 'hi from dave', sessionId: 'd1' },
    });
    assert.equal(d.body.success, true);

    const admin = await call(t.url, 'GET', '/status', { key: adminKey });
    assert.deepEqual(
      admin.body.sessions
        .map((s: { sessionId: string; userId: string }) => `${s.userId}/${s.sessionId}`)
        .sort(),
      ['carol/c1', 'dave/d1'],
    );
    const carol = await call(t.url, 'GET', '/status', { key: userKey });
    assert.deepEqual(
      carol.body.sessions.map((s: { sessionId: string }) => s.sessionId),
      ['c1'],
    );

    const carolId = listed[0]?.[0] ?? '';
    assert.equal(await keysCli(store, 'revoke', carolId), `revoked ${carolId}`);
    assert.equal((await call(t.url, 'GET', '/status', { key: userKey })).status, 401);
    assert.match(await keysCli(store, 'list'), /carol\tuser\t[^\t]+\trevoked/);
  });
});
