import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { ConfigError } from '../config/index.ts';
import { describeDatabaseUrl } from './dialect.ts';
import { migrate } from './migrate.ts';
import { openPostgres, redactDatabaseError } from './postgres.ts';
import type { Database } from './schema.ts';
import { RejectNulText } from './text-guard.ts';

export type Db = Kysely<Database>;

export interface DatabaseOptions {
  /** DATA_DIR: where the embedded SQLite file lives when there is no `databaseUrl`. */
  dataDir: string;
  /** DATABASE_URL (`postgres://…`): all state in that PostgreSQL database instead. */
  databaseUrl?: string | undefined;
  /** Hears (password-free) errors of idle PostgreSQL connections. */
  onError?: (message: string) => void;
}

/**
 * Opens the store and applies pending migrations: DATA_DIR/agentgate.db in WAL mode
 * (created if needed), or the PostgreSQL database DATABASE_URL names. Either way the same
 * Kysely schema; a string argument is DATA_DIR (SQLite).
 */
export async function openDatabase(opts: DatabaseOptions | string): Promise<Db> {
  const o = typeof opts === 'string' ? { dataDir: opts } : opts;
  if (o.databaseUrl === undefined) return openSqlite(o.dataDir);
  const url = o.databaseUrl;
  const db = openPostgres(url, o.onError ?? (() => {}));
  try {
    await migrate(db);
  } catch (err) {
    await db.destroy().catch(() => {});
    // The driver's error may carry the URL or its parts: only a redacted line leaves here,
    // without a cause or stack that could hold them.
    throw new ConfigError(
      'DATABASE_URL',
      `cannot open ${describeDatabaseUrl(url)}: ${redactDatabaseError(err, url)}`,
    );
  }
  return db;
}

async function openSqlite(dataDir: string): Promise<Db> {
  mkdirSync(dataDir, { recursive: true });
  const sqlite = new SQLite(join(dataDir, 'agentgate.db'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: sqlite }),
    plugins: [new RejectNulText()],
  });
  await migrate(db);
  return db;
}
