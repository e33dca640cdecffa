import type { FastifyInstance } from 'fastify';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';
import { engineHealth } from '../health/index.ts';
import { claudeboxWorkspace, engineWorkspace, principalOf } from './auth.ts';
import { recentRunsOf } from './recent-runs.ts';

/** GET <prefix>/health needs no auth; it is registered outside the authenticated scope. Paths are relative to the instance's prefix. */
export function registerHealthRoute(scope: FastifyInstance, deps: AppDeps): void {
  scope.get('/health', async (_req, reply) => {
    const health = engineHealth(deps);
    return reply.status(health.isHealthy ? 200 : 503).send(health);
  });
}

export function registerControlRoutes(scope: FastifyInstance, deps: AppDeps): void {
  scope.post<{ Querystring: { workspace?: string } }>('/run/cancel', async (req) => {
    const principal = principalOf(req);
    const name = req.query.workspace || 'default';
    const workspace = engineWorkspace(principal, name);
    const targets = await deps.engine.list({ state: 'active', owner: principal.userId, workspace });
    // Answer once the runs have settled, so "cancelled" means the processes are gone.
    const settled = await Promise.all(targets.map((r) => deps.engine.cancel(r.id, { wait: true })));
    const cancelled = targets.flatMap((r, i) => (settled[i] ? [r.id] : []));
    if (cancelled.length === 0) throw new AppError('not_found', `Nothing is running in workspace "${name}"`);
    return { cancelled: true, workspace: name, runIds: cancelled };
  });

  scope.get('/status', async (req) => {
    const principal = principalOf(req);
    const running = (await deps.engine.list({ state: 'active', owner: principal.userId })).flatMap((r) => {
      const workspace = claudeboxWorkspace(principal, r.workspace);
      if (workspace === undefined) return [];
      const since = new Date(r.startedAt ?? r.createdAt).toISOString();
      return [{ workspace, runId: r.id, status: r.status, since }];
    });
    const recentRuns = (await recentRunsOf(deps, principal)).flatMap((r) => {
      const workspace = claudeboxWorkspace(principal, r.workspace);
      if (workspace === undefined) return [];
      return [
        {
          workspace,
          runId: r.id,
          status: r.status,
          finishedAt: new Date(r.finishedAt ?? r.createdAt).toISOString(),
        },
      ];
    });
    return { running, workspaces: running.map((r) => r.workspace), recent: recentRuns };
  });
}
