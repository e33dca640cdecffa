import { type Kysely, PostgresAdapter } from 'kysely';

/** Which engine holds the state: the embedded SQLite file, or a PostgreSQL server (DATABASE_URL). */
export type DatabaseKind = 'sqlite' | 'postgres';

/** The kind a DATABASE_URL selects: unset is the embedded SQLite file. */
export function databaseKindOf(databaseUrl: string | undefined): DatabaseKind {
  return databaseUrl === undefined ? 'sqlite' : 'postgres';
}

/**
 * A DATABASE_URL as it may be shown (doctor, logs, error messages): the password is never
 * part of it, nor the query string (`password=`, `sslpassword=` and friends live there).
 */
export function describeDatabaseUrl(databaseUrl: string): string {
  try {
    const u = new URL(databaseUrl);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    const host = u.host || 'localhost';
    return `postgres://${user}${host}${u.pathname}`;
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * The dialect a Kysely instance (or a migration's transaction) talks to. Migrations receive
 * `Kysely<unknown>` and decide their column types with it (see `timestampType`).
 */
export function dialectOf(db: Kysely<unknown>): DatabaseKind {
  return db.getExecutor().adapter instanceof PostgresAdapter ? 'postgres' : 'sqlite';
}

/**
 * The column type for epoch-millisecond timestamps, counters and any integer that may pass
 * 2^31: SQLite's `integer` is already 64-bit, PostgreSQL's is 32-bit (epoch ms overflow it
 * since 1970-01-25), so there it is `bigint`. Values come back as JS numbers on both (see
 * the int8 parser in postgres.ts).
 */
export function timestampType(db: Kysely<unknown>): 'integer' | 'bigint' {
  return dialectOf(db) === 'postgres' ? 'bigint' : 'integer';
}

/** Same as `timestampType`, named for what it holds: byte sizes, token counts, sequence numbers. */
export const bigIntegerType = timestampType;
