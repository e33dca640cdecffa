import type { Kysely } from 'kysely';

/** Every run records which sandbox its agent ran under. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('sandbox', 'text').execute();
}
