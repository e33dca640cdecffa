import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../config/index.ts';
import { describeDatabaseUrl } from '../db/dialect.ts';
import { redactDatabaseError } from '../db/postgres.ts';
import type { CheckResult } from './checks.ts';

/**
 * Which store holds the state, and for PostgreSQL whether it answers: `sqlite` (the file in
 * DATA_DIR, checked by the data dir line) or `postgres://user@host:port/db`, never
 * the password, in its detail and in any error.
 */
export async function checkDatabase(c: Config, timeoutMs = 10_000): Promise<CheckResult> {
  const name = 'database';
  const url = c.DATABASE_URL;
  if (url === undefined) {
    return { name, status: 'ok', detail: `sqlite (${join(c.DATA_DIR, 'agentgate.db')})` };
  }
  const shown = describeDatabaseUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {}); // a dropped connection after the check has nothing to report
  try {
    await client.connect();
    const res = await client.query<{ version: string }>(
      "select current_setting('server_version') as version",
    );
    return { name, status: 'ok', detail: `${shown}, server ${res.rows[0]?.version ?? '?'}` };
  } catch (err) {
    return {
      name,
      status: 'fail',
      detail: `${shown}: ${redactDatabaseError(err, url)}`,
      fix: 'check DATABASE_URL (user, password, host, database) and that the server accepts this host',
    };
  } finally {
    await client.end().catch(() => {});
  }
}
