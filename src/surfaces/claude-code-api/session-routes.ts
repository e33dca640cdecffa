import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';
import { engineHealth, workerList } from '../health/index.ts';
import { callerOf } from './caller.ts';
import { parseOrThrow } from './request-body.ts';
import { RUN_SESSION_KIND } from './run-route.ts';

const closeSessionSchema = z.object({
  sessionId: z.string({ error: 'sessionId is required' }).min(1, 'sessionId is required').max(200),
});

/** GET /status (queue, pool, the caller's sessions and runs; an admin sees everyone's) and DELETE /session. */
export function registerSessionRoutes(scope: FastifyInstance, deps: AppDeps): void {
  scope.get('/status', async (req) => {
    const caller = callerOf(req);
    const health = engineHealth(deps);
    const owner = caller.isAdmin ? undefined : caller.userId;
    const sessions = (await deps.sessions.list(owner)).filter((s) => s.kind === RUN_SESSION_KIND);
    const active = await deps.engine.list({ state: 'active' });
    const runs = owner === undefined ? active : active.filter((r) => r.owner === owner);
    const runningSince = active.flatMap((r) => (r.status === 'running' && r.startedAt ? [r.startedAt] : []));
    const { queue, totals } = health;
    return {
      status: health.status,
      user: { userId: caller.userId, isAdmin: caller.isAdmin },
      model: health.model,
      pool: health.pool,
      queue: health.queue,
      // The original's status fields: server-wide, so a worker says only when its run started.
      workers: workerList(queue, health.isHealthy, runningSince),
      queueLength: queue.queued,
      maxQueueSize: queue.maxQueuedRuns,
      totalProcessed: totals.processed,
      totalErrors: totals.errors,
      sessions: sessions.map((s) => ({
        sessionId: s.name,
        ...(caller.isAdmin ? { userId: s.owner } : {}),
        hasHistory: s.agentSessionId !== null,
        createdAt: new Date(s.createdAt).toISOString(),
        lastUsedAt: new Date(s.updatedAt).toISOString(),
      })),
      runs: runs.map((r) => ({
        id: r.id,
        ...(caller.isAdmin ? { userId: r.owner } : {}),
        status: r.status,
        createdAt: new Date(r.createdAt).toISOString(),
      })),
    };
  });

  scope.delete('/session', async (req) => {
    const query = req.query as Record<string, unknown>;
    // curl users pass it either way: a DELETE body, or ?sessionId= when their client drops DELETE bodies.
    const { sessionId } = parseOrThrow(closeSessionSchema, req.body ?? { sessionId: query.sessionId });
    const { userId } = callerOf(req);
    // Scoped by owner: another user's session of that name is "not found", never closed or revealed.
    if (!(await deps.sessions.delete(userId, RUN_SESSION_KIND, sessionId))) {
      throw new AppError('not_found', `No session "${sessionId}"`);
    }
    return { closed: true };
  });
}
