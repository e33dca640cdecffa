import { sql } from 'kysely';
import type { Db } from '../db/open.ts';

/** A run's use of one model, as stored. */
export interface UsageRow {
  runId: string;
  keyId: string | null;
  userId: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
  modelCalls: number;
  /** `relay`: counted by the model relay; `sdk`: the agent's own result (no relay calls seen). */
  source: 'relay' | 'sdk';
  status: string;
  createdAt: number;
}

export const USAGE_GROUPS = ['key', 'user', 'model', 'day'] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];

export interface UsageTotals {
  group: string;
  runs: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsd: number;
}

export interface UsageFilter {
  fromMs?: number;
  toMs?: number;
  keyId?: string;
  userId?: string;
}

/** Every run's usage against its key and user: written once per run, read by reports and budgets. */
export class UsageLedger {
  constructor(private readonly db: Db) {}

  async record(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db
      .insertInto('run_usage')
      .values(
        rows.map((r) => ({
          run_id: r.runId,
          key_id: r.keyId,
          user_id: r.userId,
          model: r.model,
          input_tokens: r.inputTokens,
          output_tokens: r.outputTokens,
          cache_read_tokens: r.cacheReadTokens,
          cache_write_tokens: r.cacheWriteTokens,
          cost_usd: r.costUsd,
          model_calls: r.modelCalls,
          source: r.source,
          status: r.status,
          created_at: r.createdAt,
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  /** What a key has spent since `sinceMs` (settled runs only; the run guard adds live ones). */
  async spentUsd(keyId: string, sinceMs: number): Promise<number> {
    const row = await this.db
      .selectFrom('run_usage')
      .select((eb) => eb.fn.sum<number>('cost_usd').as('total'))
      .where('key_id', '=', keyId)
      .where('created_at', '>=', sinceMs)
      .executeTakeFirst();
    return Number(row?.total ?? 0);
  }

  async totals(groupBy: UsageGroup, filter: UsageFilter): Promise<UsageTotals[]> {
    // Days are cut in code (UTC), not with a dialect's date function: SQLite and PostgreSQL alike.
    if (groupBy === 'day') return this.#totalsByDay(filter);
    const group =
      groupBy === 'key'
        ? sql<string>`coalesce(key_id, '')`
        : groupBy === 'user'
          ? sql<string>`user_id`
          : sql<string>`model`;
    const rows = await this.#filtered(filter)
      .select([
        group.as('grp'),
        sql<number>`count(distinct run_id)`.as('runs'),
        sql<number>`sum(input_tokens)`.as('input'),
        sql<number>`sum(output_tokens)`.as('output'),
        sql<number>`sum(cache_read_tokens)`.as('cache_read'),
        sql<number>`sum(cache_write_tokens)`.as('cache_write'),
        sql<number>`sum(cost_usd)`.as('cost'),
      ])
      .groupBy('grp')
      .orderBy('grp')
      .execute();
    return rows.map((r) => ({
      group: r.grp,
      runs: Number(r.runs),
      inputTokens: Number(r.input),
      outputTokens: Number(r.output),
      cacheReadTokens: Number(r.cache_read),
      cacheWriteTokens: Number(r.cache_write),
      costUsd: Number(r.cost),
    }));
  }

  async #totalsByDay(filter: UsageFilter): Promise<UsageTotals[]> {
    const rows = await this.#filtered(filter).selectAll().orderBy('created_at').execute();
    const days = new Map<string, UsageTotals & { runIds: Set<string> }>();
    for (const r of rows) {
      const day = new Date(r.created_at).toISOString().slice(0, 10);
      const t = days.get(day) ?? {
        group: day,
        runs: 0,
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0,
        runIds: new Set<string>(),
      };
      t.runIds.add(r.run_id);
      t.inputTokens += r.input_tokens;
      t.outputTokens += r.output_tokens;
      t.cacheReadTokens += r.cache_read_tokens;
      t.cacheWriteTokens += r.cache_write_tokens;
      t.costUsd += r.cost_usd;
      days.set(day, t);
    }
    return [...days.values()].map(({ runIds, ...t }) => ({ ...t, runs: runIds.size }));
  }

  /** The rows themselves, newest first. */
  async rows(filter: UsageFilter, limit = 1000): Promise<UsageRow[]> {
    const rows = await this.#filtered(filter)
      .selectAll()
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      runId: r.run_id,
      keyId: r.key_id,
      userId: r.user_id,
      model: r.model,
      inputTokens: r.input_tokens,
      outputTokens: r.output_tokens,
      cacheReadTokens: r.cache_read_tokens,
      cacheWriteTokens: r.cache_write_tokens,
      costUsd: r.cost_usd,
      modelCalls: r.model_calls,
      source: r.source === 'relay' ? 'relay' : 'sdk',
      status: r.status,
      createdAt: r.created_at,
    }));
  }

  #filtered(f: UsageFilter) {
    let q = this.db.selectFrom('run_usage');
    if (f.fromMs !== undefined) q = q.where('created_at', '>=', f.fromMs);
    if (f.toMs !== undefined) q = q.where('created_at', '<', f.toMs);
    if (f.keyId !== undefined) q = q.where('key_id', '=', f.keyId);
    if (f.userId !== undefined) q = q.where('user_id', '=', f.userId);
    return q;
  }
}
