import { type Kysely, sql } from 'kysely';
import { dialectOf, timestampType } from './dialect.ts';
import { migrations } from './migrations/index.ts';
import type { Database } from './schema.ts';
import { WideIntegers } from './wide-integers.ts';

/**
 * Any lock id, as long as every node uses the same one: the advisory lock serialises the
 * migration runs of nodes starting together, so each migration runs once.
 */
const MIGRATION_LOCK_ID = 7_467_836_010_001;

/** Applies every migration not yet recorded in the `migrations` table, in order. */
export async function migrate(db: Kysely<Database>): Promise<void> {
  if (dialectOf(db as Kysely<unknown>) === 'postgres') {
    // PostgreSQL's DDL is transactional: one transaction holds the lock (released at its end,
    // whatever happens) and applies everything or nothing. A node that waited on the lock
    // then finds the migrations recorded and applies none.
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK_ID)})`.execute(trx);
      // Migrations written in parallel may say `integer` for epoch ms: 64-bit here as on SQLite.
      await applyPending(trx.withPlugin(new WideIntegers()));
    });
    return;
  }
  await applyPending(db);
}

async function applyPending(db: Kysely<Database>): Promise<void> {
  await db.schema
    .createTable('migrations')
    .ifNotExists()
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('applied_at', timestampType(db as Kysely<unknown>), (c) => c.notNull())
    .execute();
  const applied = new Set((await db.selectFrom('migrations').select('name').execute()).map((r) => r.name));
  const isInTransaction = db.isTransaction;
  for (const m of migrations) {
    if (applied.has(m.name)) continue;
    const apply = async (trx: Kysely<Database>) => {
      await m.up(trx as unknown as Kysely<unknown>);
      await trx.insertInto('migrations').values({ name: m.name, applied_at: Date.now() }).execute();
    };
    if (isInTransaction) await apply(db);
    else await db.transaction().execute(apply);
  }
}
