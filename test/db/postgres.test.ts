import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { ConfigError, parseConfig } from '../../src/config/index.ts';
import { openDatabase } from '../../src/db/open.ts';
import { checkDatabase } from '../../src/doctor/database-check.ts';
import type { CheckResult } from '../../src/doctor/index.ts';
import { healthSurface } from '../../src/surfaces/health/index.ts';
import { startTestApp } from '../helpers/app.ts';
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts';
import { skipWithout } from '../helpers/system-parts.ts';
import { makeTempDir } from '../helpers/temp.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

/** `agentgate <args>` in a child with exactly `env`; its exit code and everything it wrote. */
async function agentgate(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/agentgate.js'), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ENV_FILE: '/dev/null', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, output };
}

describe('PostgreSQL store', { skip: skipWithout('postgresql'), timeout: 300_000 }, () => {
  let server: TestPostgres;
  let temp: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    temp = await makeTempDir();
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
    await temp?.cleanup();
  });

  /** The URL of a database with the wrong password: what an attacker-visible error must not echo. */
  function wrongPasswordUrl(url: string, password: string): string {
    return url.replace(`:${server.password}@`, `:${password}@`);
  }

  test('nodes starting together apply each migration once (advisory lock)', async () => {
    const url = await server.createDatabase();
    const dbs = await Promise.all(
      Array.from({ length: 4 }, () => openDatabase({ dataDir: temp.dir, databaseUrl: url })),
    );
    try {
      const rows = await dbs[0]?.selectFrom('migrations').select('name').execute();
      const names = rows?.map((r) => r.name) ?? [];
      assert.ok(names.includes('001_initial'));
      assert.equal(new Set(names).size, names.length, 'no migration recorded twice');
    } finally {
      for (const db of dbs) await db.destroy();
    }
  });

  test('connections the server drops are reported password-free and replaced, the process lives on', async () => {
    const url = await server.createDatabase();
    const heard: string[] = [];
    const db = await openDatabase({ dataDir: temp.dir, databaseUrl: url, onError: (m) => heard.push(m) });
    try {
      // Park a few idle connections in the pool, then have the server end them (as a restart does).
      await Promise.all(Array.from({ length: 3 }, () => sql`select pg_sleep(0.05)`.execute(db)));
      const admin = new pg.Client({ connectionString: server.adminUrl });
      await admin.connect();
      let ended = 0;
      try {
        ended =
          (
            await admin.query(
              "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'agentgate' and datname = $1",
              [new URL(url).pathname.slice(1)],
            )
          ).rowCount ?? 0;
      } finally {
        await admin.end();
      }
      assert.ok(ended > 0, 'the pool held idle connections');
      // Each idle connection hears its end on its own: wait for all, so none is handed out dead.
      for (let i = 0; i < 200 && heard.length < ended; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(heard.length, ended, 'the pool reported every dropped connection');
      assert.ok(
        heard.every((m) => !m.includes(server.password)),
        heard.join('\n'),
      );
      const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
      assert.equal(rows[0]?.one, 1, 'a new connection serves the next query');
    } finally {
      await db.destroy();
    }
  });

  test('millisecond timestamps, and every integer a migration declares, are bigint columns', async () => {
    const db = await openDatabase({ dataDir: temp.dir, databaseUrl: await server.createDatabase() });
    try {
      const { rows } = await sql<{ table_name: string; column_name: string; data_type: string }>`
        select table_name, column_name, data_type from information_schema.columns
        where table_schema = current_schema() and data_type in ('integer', 'bigint', 'smallint')`.execute(db);
      const names = rows.map((r) => `${r.table_name}.${r.column_name}`);
      for (const col of ['runs.created_at', 'migrations.applied_at', 'run_events.seq', 'api_keys.is_admin'])
        assert.ok(names.includes(col), `${col} in ${names}`);
      for (const r of rows) assert.equal(r.data_type, 'bigint', `${r.table_name}.${r.column_name}`);
    } finally {
      await db.destroy();
    }
  });

  test('a wrong password: the error names the database, never the password or the URL', async () => {
    const password = 'Wr0ng-pass-7f3e9a';
    const url = wrongPasswordUrl(await server.createDatabase(), password);
    const err = await openDatabase({ dataDir: temp.dir, databaseUrl: url }).then(
      () => assert.fail('opened with a wrong password'),
      (e: unknown) => e as Error,
    );
    assert.ok(err instanceof ConfigError);
    assert.match(err.message, /password authentication failed/);
    assert.match(err.message, new RegExp(`postgres://${server.user}@127\\.0\\.0\\.1:${server.port}/`));
    for (const text of [err.message, err.stack ?? '', JSON.stringify(err)]) {
      assert.ok(!text.includes(password), `the password leaked: ${text}`);
    }
  });

  test('attack replay: `agentgate serve` with a wrong password prints neither password nor URL', async () => {
    const password = 'Serve-secret-4b1d';
    const url = wrongPasswordUrl(await server.createDatabase(), password);
    const { code, output } = await agentgate(['serve'], {
      DATA_DIR: join(temp.dir, 'serve'),
      DATABASE_URL: url,
      PORT: '0',
      POOL_SIZE: '0',
      AGENT_SANDBOX: 'none',
      FAKE_MODEL: '1',
      LOG_LEVEL: 'trace',
    });
    assert.notEqual(code, 0);
    assert.match(output, /DATABASE_URL/, 'it says which variable is wrong');
    assert.ok(!output.includes(password), `the password leaked: ${output}`);
    assert.ok(!output.includes(encodeURIComponent(password)));
  });

  test('a malformed DATABASE_URL is refused without echoing it', () => {
    const password = 'Mysql-secret-88aa';
    assert.throws(
      () => parseConfig({ DATABASE_URL: `mysql://root:${password}@db/agentgate` }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.variable === 'DATABASE_URL' &&
        /postgres:\/\//.test(err.message) &&
        !err.message.includes(password),
    );
  });

  test('doctor names the database and, with a wrong password, fails without showing it', async () => {
    const good = await server.createDatabase();
    const bad = wrongPasswordUrl(good, 'Doctor-secret-19cc');
    const dataDir = join(temp.dir, 'doctor');
    const ok = await checkDatabase(parseConfig({ DATA_DIR: dataDir, DATABASE_URL: good }));
    assert.equal(ok.status, 'ok', ok.detail);
    assert.match(ok.detail, /^postgres:\/\/agentgate@127\.0\.0\.1:\d+\/\w+, server \d+/);
    assert.ok(!ok.detail.includes(server.password), 'the password leaked');
    const sqlite = await checkDatabase(parseConfig({ DATA_DIR: dataDir }));
    assert.match(sqlite.detail, /^sqlite \(/);
    // The whole command, as an operator runs it: the failing line, the exit code, no password.
    const failed = await agentgate(['doctor', '--json'], {
      DATA_DIR: dataDir,
      AGENT_SANDBOX: 'none',
      PORT: '0',
      ANTHROPIC_API_KEY: 'sk-unused',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:1', // refused at once: the model line fails fast
      DATABASE_URL: bad,
    });
    const failLine = (JSON.parse(failed.output) as CheckResult[]).find((r) => r.name === 'database');
    assert.equal(failLine?.status, 'fail', failed.output);
    assert.match(failLine?.detail ?? '', /password authentication failed/);
    assert.equal(failed.code, 1);
    assert.ok(!failed.output.includes('Doctor-secret-19cc'), 'the password leaked');
  });

  test('/health names the database kind, and nothing of its URL', async () => {
    const url = await server.createDatabase();
    const t = await startTestApp({ surfaces: [healthSurface], databaseUrl: url });
    try {
      const text = await (await fetch(`${t.url}/health`)).text();
      assert.equal((JSON.parse(text) as { database: string }).database, 'postgres');
      assert.ok(!text.includes(server.password) && !text.includes(String(server.port)));
    } finally {
      await t.close();
    }
    const s = await startTestApp({ surfaces: [healthSurface] });
    try {
      const body = (await (await fetch(`${s.url}/health`)).json()) as { database: string };
      assert.equal(body.database, 'sqlite');
    } finally {
      await s.close();
    }
  });
});
