import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

/** Opens (creating if needed) DATA_DIR/agentgate.db in WAL mode and applies pending migrations. */
export async function openDatabase(dataDir: string): Promise<Db> {
  mkdirSync(dataDir, { recursive: true });
  const sqlite = new SQLite(join(dataDir, 'agentgate.db'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db);
  return db;
}

async function migrate(db: Db): Promise<void> {
  await sql`create table if not exists migrations (name text primary key, applied_at integer not null)`.execute(
    db,
  );
  const applied = new Set((await db.selectFrom('migrations').select('name').execute()).map((r) => r.name));
  for (const m of migrations) {
    if (applied.has(m.name)) continue;
    await db.transaction().execute(async (trx) => {
      await m.up(trx as unknown as Kysely<unknown>);
      await trx.insertInto('migrations').values({ name: m.name, applied_at: Date.now() }).execute();
    });
  }
}
