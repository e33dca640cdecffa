import { after, before, describe } from 'node:test';
import { startPostgres, type TestPostgres } from './postgres.ts';
import { skipWithout } from './system-parts.ts';

export type BackendName = 'sqlite' | 'postgres';

/** One database backend a suite runs against. */
export interface Backend {
  readonly name: BackendName;
  /**
   * A fresh store for one app: undefined for SQLite (the app's own temp data dir holds it),
   * a new empty PostgreSQL database's URL otherwise. Pass it to `startTestApp({ databaseUrl })`.
   */
  databaseUrl(): Promise<string | undefined>;
}

/**
 * One suite, two backends: declares `suite` once for SQLite and once for PostgreSQL (a real
 * server for the whole file, started before and stopped after the suite; a fresh database per
 * `databaseUrl()` call). The PostgreSQL run skips, with its install line, without the binaries.
 */
export function forEachBackend(name: string, suite: (backend: Backend) => void): void {
  describe(`${name} [sqlite]`, () => {
    suite({ name: 'sqlite', databaseUrl: async () => undefined });
  });
  describe(`${name} [postgres]`, { skip: skipWithout('postgresql') }, () => {
    let server: TestPostgres | undefined;
    before(async () => {
      server = await sharedPostgres();
    });
    after(async () => {
      await releasePostgres();
    });
    suite({
      name: 'postgres',
      databaseUrl: async () => {
        if (!server) throw new Error('the PostgreSQL server did not start');
        return server.createDatabase();
      },
    });
  });
}

// One server per test file, however many suites use it.
let shared: Promise<TestPostgres> | undefined;
let users = 0;

async function sharedPostgres(): Promise<TestPostgres> {
  users += 1;
  shared ??= startPostgres();
  return shared;
}

async function releasePostgres(): Promise<void> {
  users -= 1;
  if (users > 0 || !shared) return;
  const s = shared;
  shared = undefined;
  await (await s.catch(() => undefined))?.stop();
}
