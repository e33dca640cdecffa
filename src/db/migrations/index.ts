import type { Kysely } from 'kysely';
import * as m001 from './001_initial.ts';
import * as m002 from './002_run_sandbox.ts';
import * as m003 from './003_key_scopes_usage.ts';
import * as m005 from './005_webhooks.ts';

/** Append-only: never edit an applied migration, add the next number instead. */
export const migrations: ReadonlyArray<{ name: string; up: (db: Kysely<unknown>) => Promise<void> }> = [
  { name: '001_initial', up: m001.up },
  { name: '002_run_sandbox', up: m002.up },
  { name: '003_key_scopes_usage', up: m003.up },
  { name: '005_webhooks', up: m005.up },
];
