import { type Kysely, type Selectable, sql } from 'kysely';
import type { Database, RunsTable } from '../db/schema.ts';
import type { RunEvent, RunResult, RunStatus, StoredEvent } from '../engine/events.ts';
import type { RunFilter, RunSummary } from '../engine/port.ts';
import type { RunRecord } from '../engine/record.ts';
import type { RunSpec } from '../engine/spec.ts';
import { isRunTier, tierOf } from '../engine/tier.ts';

type RunRow = Selectable<RunsTable>;

/** 5 parameters a row: far below either engine's limit per statement. */
const EVENT_ROWS_PER_INSERT = 1000;

function fromRow(r: RunRow): RunRecord {
  return {
    id: r.id,
    owner: r.owner,
    workspace: r.workspace,
    status: r.status as RunStatus,
    spec: JSON.parse(r.spec) as RunSpec,
    result: r.result ? (JSON.parse(r.result) as RunResult) : undefined,
    error: r.error ?? undefined,
    createdAt: r.created_at,
    startedAt: r.started_at ?? undefined,
    finishedAt: r.finished_at ?? undefined,
    sandbox: r.sandbox ?? undefined,
    // Runs stored before tiers existed ran with every tool.
    tier: isRunTier(r.tier) ? r.tier : 'full',
    ...(r.node ? { node: r.node } : {}),
  };
}

const PROMPT_EXCERPT_CHARS = 200;

/** The start of a prompt, for run lists. */
export function promptExcerptOf(prompt: string): string {
  return prompt.length > PROMPT_EXCERPT_CHARS ? prompt.slice(0, PROMPT_EXCERPT_CHARS) : prompt;
}

/** The columns a run list needs. */
const SUMMARY_COLUMNS = [
  'id',
  'owner',
  'workspace',
  'status',
  'spec',
  'created_at',
  'started_at',
  'finished_at',
] as const;

function summaryOf(r: Pick<RunsTable, (typeof SUMMARY_COLUMNS)[number]>): RunSummary {
  return {
    id: r.id,
    owner: r.owner,
    workspace: r.workspace,
    status: r.status as RunStatus,
    createdAt: r.created_at,
    startedAt: r.started_at ?? undefined,
    finishedAt: r.finished_at ?? undefined,
    promptExcerpt: promptExcerptOf((JSON.parse(r.spec) as RunSpec).prompt),
  };
}

/** Runs and their seq-numbered events, persisted so they outlive the process. */
export class RunRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(
    id: string,
    spec: RunSpec,
    createdAt: number,
    sessionId: string | null,
    sandbox: string,
  ): Promise<void> {
    await this.db
      .insertInto('runs')
      .values({
        id,
        owner: spec.owner,
        workspace: spec.workspace,
        session_id: sessionId,
        agent_session_id: null,
        spec: JSON.stringify(spec),
        status: 'queued',
        result: null,
        error: null,
        created_at: createdAt,
        started_at: null,
        finished_at: null,
        sandbox,
        tier: tierOf(spec),
        node: null,
      })
      .execute();
  }

  /** A queued run starts on `node`; false when it is no longer queued (settled meanwhile). */
  async markRunning(id: string, startedAt: number, node?: string): Promise<boolean> {
    const res = await this.db
      .updateTable('runs')
      .set({ status: 'running', started_at: startedAt, ...(node !== undefined ? { node } : {}) })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    return res.numUpdatedRows > 0n;
  }

  async setAgentSession(id: string, agentSessionId: string): Promise<void> {
    await this.db
      .updateTable('runs')
      .set({ agent_session_id: agentSessionId })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Records how a run ended. With `events`, they are stored in the same transaction, so a
   * reader who sees the run settled also sees its last events. False when the run was
   * already settled (another node declared it lost, say): nothing is written then.
   */
  async finish(
    id: string,
    status: RunStatus,
    result: RunResult | undefined,
    error: string | undefined,
    at: number,
    events: StoredEvent[] = [],
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('runs')
        .set({
          status,
          result: result ? JSON.stringify(result) : null,
          // The agent's text, not the caller's: kept, with NUL (which PostgreSQL's text refuses) replaced.
          error: error === undefined ? null : error.replaceAll('\u0000', '\uFFFD'),
          finished_at: at,
        })
        .where('id', '=', id)
        .where('status', 'in', ['queued', 'running'])
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) return false;
      if (events.length > 0) await new RunRepository(trx).appendEvents(id, events);
      return true;
    });
  }

  async appendEvents(runId: string, events: StoredEvent[]): Promise<void> {
    const now = Date.now();
    // Bounded statements: SQLite takes at most 32766 parameters, PostgreSQL 65535.
    for (let i = 0; i < events.length; i += EVENT_ROWS_PER_INSERT) {
      await this.db
        .insertInto('run_events')
        .values(
          events.slice(i, i + EVENT_ROWS_PER_INSERT).map((e) => ({
            run_id: runId,
            seq: e.seq,
            type: e.event.type,
            data: JSON.stringify(e.event),
            created_at: now,
          })),
        )
        .execute();
    }
  }

  /** Queued and running runs matching the filter, oldest first. */
  async listActive(filter: RunFilter): Promise<RunSummary[]> {
    let q = this.db.selectFrom('runs').select(SUMMARY_COLUMNS).where('status', 'in', ['queued', 'running']);
    if (filter.owner !== undefined) q = q.where('owner', '=', filter.owner);
    if (filter.workspace !== undefined) q = q.where('workspace', '=', filter.workspace);
    const prefix = filter.workspacePrefix;
    if (prefix !== undefined) q = q.where(sql<string>`substr(workspace, 1, ${prefix.length})`, '=', prefix);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    return rows.map(summaryOf);
  }

  /** Runs in one of these states (recovery of a cluster node). */
  async listByStatus(status: 'queued' | 'running'): Promise<RunRecord[]> {
    const rows = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('status', '=', status)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(fromRow);
  }

  /** The highest seq stored for a run (0 when none). */
  async lastSeq(runId: string): Promise<number> {
    const row = await this.db
      .selectFrom('run_events')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .where('run_id', '=', runId)
      .executeTakeFirst();
    return Number(row?.seq ?? 0);
  }

  async get(id: string): Promise<RunRecord | undefined> {
    const row = await this.db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  /**
   * Stored runs matching the filter: settled ones most recently finished first (`finished`),
   * or every run newest created first, after the `before` position (`any`).
   */
  async list(filter: RunFilter): Promise<RunSummary[]> {
    let q = this.db.selectFrom('runs').select(SUMMARY_COLUMNS);
    if (filter.state === 'finished') q = q.where('status', 'not in', ['queued', 'running']);
    if (filter.state === 'active') q = q.where('status', 'in', ['queued', 'running']);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    if (filter.owner !== undefined) q = q.where('owner', '=', filter.owner);
    if (filter.workspace !== undefined) q = q.where('workspace', '=', filter.workspace);
    const prefix = filter.workspacePrefix;
    // Not LIKE: `_` is a wildcard there and a valid character in workspace names.
    if (prefix !== undefined) q = q.where(sql<string>`substr(workspace, 1, ${prefix.length})`, '=', prefix);
    const before = filter.before;
    if (before !== undefined) {
      q = q.where((eb) =>
        eb.or([
          eb('created_at', '<', before.createdAt),
          eb.and([eb('created_at', '=', before.createdAt), eb('id', '<', before.id)]),
        ]),
      );
    }
    // Ties broken explicitly: PostgreSQL, unlike SQLite, returns equal keys in any order.
    q =
      filter.state === 'finished'
        ? q.orderBy('finished_at', 'desc').orderBy('created_at', 'desc').orderBy('id', 'desc')
        : q.orderBy('created_at', 'desc').orderBy('id', 'desc');
    const rows = await q.limit(filter.limit ?? 1000).execute();
    return rows.map(summaryOf);
  }

  /** The run's events after `afterSeq`, in order; at most `limit` of them when given. */
  async events(runId: string, afterSeq: number, limit?: number): Promise<StoredEvent[]> {
    let query = this.db
      .selectFrom('run_events')
      .select(['seq', 'data'])
      .where('run_id', '=', runId)
      .where('seq', '>', afterSeq)
      .orderBy('seq');
    if (limit !== undefined) query = query.limit(limit);
    const rows = await query.execute();
    return rows.map((r) => ({ seq: r.seq, event: JSON.parse(r.data) as RunEvent }));
  }

  /** After a crash: runs left running were interrupted; queued ones are returned to run again. */
  async recover(at: number): Promise<RunRecord[]> {
    await this.db
      .updateTable('runs')
      .set({
        status: 'failed',
        error: 'interrupted: the server stopped while the run was running',
        finished_at: at,
      })
      .where('status', '=', 'running')
      .execute();
    const rows = await this.db
      .selectFrom('runs')
      .selectAll()
      .where('status', '=', 'queued')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(fromRow);
  }
}
