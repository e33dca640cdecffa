import type { Kysely } from 'kysely';

/**
 * Scoped keys (issue 17): each stored key carries its scope, limits, budget and expiry, and
 * a rotated key's previous hash for a grace period. Every run's usage is one row of
 * `run_usage`, against its key and user.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const [name, type] of [
    ['name', 'text'],
    ['tier', 'text'],
    ['surfaces', 'text'],
    ['models', 'text'],
    ['workspace_prefix', 'text'],
    ['rpm', 'integer'],
    ['max_concurrent_runs', 'integer'],
    ['budget_usd', 'double precision'],
    ['budget_period', 'text'],
    ['expires_at', 'integer'],
    ['metadata', 'text'],
    ['prev_key_hash', 'text'],
    ['prev_key_expires_at', 'integer'],
    ['updated_at', 'integer'],
  ] as const) {
    await db.schema.alterTable('api_keys').addColumn(name, type).execute();
  }
  await db.schema.createIndex('api_keys_prev_hash').on('api_keys').column('prev_key_hash').execute();

  await db.schema
    .createTable('run_usage')
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text')
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('input_tokens', 'integer', (c) => c.notNull())
    .addColumn('output_tokens', 'integer', (c) => c.notNull())
    .addColumn('cache_read_tokens', 'integer', (c) => c.notNull())
    .addColumn('cache_write_tokens', 'integer', (c) => c.notNull())
    .addColumn('cost_usd', 'double precision', (c) => c.notNull())
    .addColumn('model_calls', 'integer', (c) => c.notNull())
    /** `relay` (counted by the model relay) or `sdk` (the agent's own result). */
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'integer', (c) => c.notNull())
    // One row per model a run used (the title call may use another model than the run's).
    .addPrimaryKeyConstraint('run_usage_pk', ['run_id', 'model'])
    .execute();
  await db.schema.createIndex('run_usage_key').on('run_usage').columns(['key_id', 'created_at']).execute();
  await db.schema.createIndex('run_usage_user').on('run_usage').columns(['user_id', 'created_at']).execute();
}
