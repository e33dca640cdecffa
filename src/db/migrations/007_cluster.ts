import type { Kysely } from 'kysely';

/** Every run records the node that executed it (NODE_ID; null until it starts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('node', 'text').execute();
}
