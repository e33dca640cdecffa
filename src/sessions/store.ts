import { randomUUID } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Db } from '../db/open.ts';
import type { SessionsTable } from '../db/schema.ts';

export interface SessionRecord {
  id: string;
  owner: string;
  /** Namespace of the name: `run` (/run sessionId), `workspace` (claudebox), … */
  kind: string;
  name: string;
  workspace: string;
  agentSessionId: string | null;
  createdAt: number;
  updatedAt: number;
}

type Row = Selectable<SessionsTable>;

function fromRow(r: Row): SessionRecord {
  return {
    id: r.id,
    owner: r.owner,
    kind: r.kind,
    name: r.name,
    workspace: r.workspace,
    agentSessionId: r.agent_session_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * Named conversations, always scoped by owner: user A's "session-1" and user B's
 * "session-1" are different records, and nothing outside the owner's key can reach them.
 */
export class SessionStore {
  constructor(private readonly db: Db) {}

  async find(owner: string, kind: string, name: string): Promise<SessionRecord | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('owner', '=', owner)
      .where('kind', '=', kind)
      .where('name', '=', name)
      .executeTakeFirst();
    return row ? fromRow(row) : undefined;
  }

  async getOrCreate(owner: string, kind: string, name: string, workspace: string): Promise<SessionRecord> {
    const now = Date.now();
    await this.db
      .insertInto('sessions')
      .values({
        id: randomUUID(),
        owner,
        kind,
        name,
        workspace,
        agent_session_id: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['owner', 'kind', 'name']).doNothing())
      .execute();
    const found = await this.find(owner, kind, name);
    if (!found) throw new Error('session vanished after insert');
    return found;
  }

  async setAgentSession(id: string, agentSessionId: string | null): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ agent_session_id: agentSessionId, updated_at: Date.now() })
      .where('id', '=', id)
      .execute();
  }

  /** True when an agent session id belongs to this owner (a session record or one of their runs). */
  async ownsAgentSession(owner: string, agentSessionId: string): Promise<boolean> {
    const s = await this.db
      .selectFrom('sessions')
      .select('id')
      .where('owner', '=', owner)
      .where('agent_session_id', '=', agentSessionId)
      .executeTakeFirst();
    if (s) return true;
    const r = await this.db
      .selectFrom('runs')
      .select('id')
      .where('owner', '=', owner)
      .where('agent_session_id', '=', agentSessionId)
      .executeTakeFirst();
    return r !== undefined;
  }

  async list(owner?: string): Promise<SessionRecord[]> {
    let q = this.db.selectFrom('sessions').selectAll().orderBy('updated_at', 'desc').orderBy('id');
    if (owner !== undefined) q = q.where('owner', '=', owner);
    return (await q.execute()).map(fromRow);
  }

  /** Deletes an owner's session; false when there is none (other owners' sessions included). */
  async delete(owner: string, kind: string, name: string): Promise<boolean> {
    const res = await this.db
      .deleteFrom('sessions')
      .where('owner', '=', owner)
      .where('kind', '=', kind)
      .where('name', '=', name)
      .executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
