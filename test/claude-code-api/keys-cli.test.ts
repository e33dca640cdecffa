import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { makeTempDir } from '../helpers/temp.ts';
import { call, surfaces } from './client.ts';

const run = promisify(execFile);

/** `agentgate keys …` as an operator runs it, against the data dir the server then uses. */
async function keysCli(dataDir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'keys', ...args], {
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
  });
  return stdout.trim();
}

describe('claude-code-api: keys managed with the CLI', () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  let t: TestApp | undefined;
  before(async () => {
    temp = await makeTempDir();
  });
  after(async () => {
    await t?.close();
    await temp.cleanup();
  });

  it('create / list / revoke; a created key works on /run, an admin key sees all sessions', async () => {
    const userKey = await keysCli(temp.dir, 'create', '--user', 'carol');
    const adminKey = await keysCli(temp.dir, 'create', '--user', 'root', '--admin');
    assert.match(userKey, /^agk_/);
    const listed = (await keysCli(temp.dir, 'list')).split('\n').map((l) => l.split('\t'));
    assert.deepEqual(
      listed.map((cols) => [cols[1], cols[2], cols[4]]),
      [
        ['carol', 'user', 'active'],
        ['root', 'admin', 'active'],
      ],
    );
    assert.ok(!listed.flat().includes(userKey), 'list must never print a key');

    t = await startTestApp({ surfaces, env: { API_KEYS: 'dave:sk-dave' }, dataDir: temp.dir });
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
    assert.equal(await keysCli(temp.dir, 'revoke', carolId), `revoked ${carolId}`);
    assert.equal((await call(t.url, 'GET', '/status', { key: userKey })).status, 401);
    assert.match(await keysCli(temp.dir, 'list'), /carol\tuser\t[^\t]+\trevoked/);
  });
});
