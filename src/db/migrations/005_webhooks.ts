import type { Kysely } from 'kysely';

/**
 * Run webhooks and their delivery attempts, persisted so a restart resumes what is pending;
 * and an index for the Runs API's newest-first listing per owner.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('attempt_count', 'integer', (c) => c.notNull())
    .addColumn('next_attempt_at', 'integer')
    .addColumn('deliver_until', 'integer')
    .addColumn('created_at', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhooks_run').on('webhooks').columns(['run_id']).execute();
  await db.schema.createIndex('webhooks_state').on('webhooks').columns(['state']).execute();
  await db.schema
    .createTable('webhook_attempts')
    .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('at', 'integer', (c) => c.notNull())
    .addColumn('http_status', 'integer')
    .addColumn('error', 'text')
    .addColumn('response_excerpt', 'text')
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('webhook_attempts_pk', ['webhook_id', 'attempt'])
    .execute();
  await db.schema.createIndex('runs_owner_created').on('runs').columns(['owner', 'created_at']).execute();
}
