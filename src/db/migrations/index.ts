import type { Kysely } from 'kysely';
import * as m001 from './001_initial.ts';
import * as m002 from './002_run_sandbox.ts';
import * as m003 from './003_key_scopes_usage.ts';
import * as m004 from './004_run_tier.ts';
import * as m005 from './005_webhooks.ts';
import * as m007 from './007_cluster.ts';

/**
 * Append-only: never edit an applied migration, add the next number instead.
 *
 * Every migration runs on SQLite (the default) and on PostgreSQL (DATABASE_URL), so write it
 * portably:
 * - Build DDL with `db.schema` (not raw SQL) and pick types with the helpers of
 *   `../dialect.ts`: `timestampType(db)` for epoch milliseconds, and `bigIntegerType(db)`
 *   for anything that may pass 2^31 (byte sizes, token counts, counters): plain `'integer'`
 *   is 32-bit on PostgreSQL (the runner widens it, see below, but say what you mean). `'text'` for strings and for JSON (stored as text, parsed by
 *   the code); `'integer'` 0/1 for booleans (read as `=== 1`). No `'datetime'`, `'blob'`,
 *   `'boolean'` or `'json'`: they differ between the two. (As a safety net, the runner
 *   turns the schema builder's `'integer'` into `bigint` on PostgreSQL, so every integer
 *   column is 64-bit on both; raw `sql` DDL gets no such help.)
 * - When a step truly differs, branch on `dialectOf(db)` (`'sqlite' | 'postgres'`).
 * - No SQLite-only statements (PRAGMA, `insert or ignore`, `autoincrement`) and no
 *   PostgreSQL-only ones (`serial`, `create extension`) outside such a branch.
 * - A migration runs inside a transaction (on PostgreSQL all pending ones share one, under
 *   an advisory lock, so concurrent nodes apply each exactly once). SQLite cannot add a
 *   NOT NULL column without a default to a table that has rows: give it a default.
 * - Test it on both: test/db/migrations.test.ts runs every migration on SQLite and
 *   PostgreSQL.
 */
export const migrations: ReadonlyArray<{ name: string; up: (db: Kysely<unknown>) => Promise<void> }> = [
  { name: '001_initial', up: m001.up },
  { name: '002_run_sandbox', up: m002.up },
  { name: '003_key_scopes_usage', up: m003.up },
  { name: '004_run_tier', up: m004.up },
  { name: '005_webhooks', up: m005.up },
  { name: '007_cluster', up: m007.up },
];
