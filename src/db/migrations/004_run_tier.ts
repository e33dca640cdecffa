import { type Kysely, sql } from 'kysely';

/** Every run records its permission tier; runs from before tiers had every tool (`full`). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('tier', 'text').execute();
  await sql`update runs set tier = 'full' where tier is null`.execute(db);
}
