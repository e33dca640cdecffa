import type { Kysely } from 'kysely';
import { timestampType } from '../dialect.ts';

/**
 * Timestamps use `timestampType(db)`: `integer` on SQLite (64-bit there, so the DDL of
 * databases created before PostgreSQL support is unchanged), `bigint` on PostgreSQL (its
 * `integer` is 32-bit and overflows with epoch milliseconds).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const ms = timestampType(db);
  await db.schema
    .createTable('runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('workspace', 'text', (c) => c.notNull())
    .addColumn('session_id', 'text')
    .addColumn('agent_session_id', 'text')
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('result', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('started_at', ms)
    .addColumn('finished_at', ms)
    .execute();
  await db.schema.createIndex('runs_status').on('runs').columns(['status', 'created_at']).execute();
  await db.schema.createIndex('runs_session').on('runs').columns(['session_id', 'created_at']).execute();
  await db.schema
    .createIndex('runs_agent_session')
    .on('runs')
    .columns(['agent_session_id', 'owner'])
    .execute();

  await db.schema
    .createTable('run_events')
    .addColumn('run_id', 'text', (c) => c.notNull().references('runs.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', ms, (c) => c.notNull())
    .addPrimaryKeyConstraint('run_events_pk', ['run_id', 'seq'])
    .execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('workspace', 'text', (c) => c.notNull())
    .addColumn('agent_session_id', 'text')
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .addUniqueConstraint('sessions_owner_kind_name', ['owner', 'kind', 'name'])
    .execute();
  await db.schema.createIndex('sessions_agent').on('sessions').column('agent_session_id').execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', ms, (c) => c.notNull())
    .addColumn('revoked_at', ms)
    .execute();

  await db.schema
    .createTable('kv')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', ms, (c) => c.notNull())
    .execute();
}
