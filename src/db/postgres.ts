import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { RejectNulText } from './text-guard.ts';

const INT8_OID = 20;

/**
 * int8 (`bigint`, and `count(*)`) as a JS number. pg returns it as a string by default
 * because int8 can exceed 2^53; ours never does: epoch milliseconds stay below 2^53 until
 * the year 287396, and sequence numbers, counters and byte sizes are bounded far below it
 * (2^53 bytes is 8 PiB). So the number is exact, and the code reads the same values
 * on SQLite and PostgreSQL (better-sqlite3 returns numbers too).
 */
function parseInt8(text: string): number {
  return Number(text);
}

/** Per pool, not pg's global type registry: nothing else in the process changes behaviour. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * An error as it may be logged or printed: without the URL, its password (raw or
 * percent-encoded) or any other connection parameter it may echo.
 */
export function redactDatabaseError(err: unknown, databaseUrl: string): string {
  const e = err as { message?: unknown; code?: unknown };
  let message = typeof e?.message === 'string' && e.message !== '' ? e.message : String(err);
  const secrets = [databaseUrl];
  try {
    const u = new URL(databaseUrl);
    if (u.password) secrets.push(u.password, decodeURIComponent(u.password));
    for (const [name, value] of u.searchParams)
      if (/pass|key|secret/i.test(name) && value) secrets.push(value);
  } catch {
    // an unparsable URL: only the whole text is known to hide
  }
  for (const s of secrets.sort((a, b) => b.length - a.length)) {
    if (s) message = message.split(s).join('[redacted]');
  }
  const code = typeof e?.code === 'string' ? ` (${e.code})` : '';
  return `${message}${code}`;
}

/**
 * Kysely over a `pg` pool for DATABASE_URL. `onIdleError` hears errors of idle pooled
 * connections (a restarted server): without a listener they would crash the process.
 */
export function openPostgres(databaseUrl: string, onIdleError: (message: string) => void): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    types,
    // A server that does not answer must not hang start-up or a request for ever.
    connectionTimeoutMillis: 10_000,
    // Pooled connections cross firewalls and load balancers that drop silent TCP flows.
    keepAlive: true,
    application_name: 'agentgate',
  });
  pool.on('error', (err) => onIdleError(redactDatabaseError(err, databaseUrl)));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new RejectNulText()] });
}
