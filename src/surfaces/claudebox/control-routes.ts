import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app.ts';
import { AppError } from '../../errors.ts';
import { engineHealth } from '../health/index.ts';
import { claudeboxWorkspace, engineWorkspace, principalOf, userRoot } from './auth.ts';
import type { RecentRuns } from './recent-runs.ts';

/** GET <prefix>/health needs no auth; it is registered outside the authenticated scope. Paths are relative to the instance's prefix. */
export function registerHealthRoute(scope: FastifyInstance, deps: AppDeps): void {
  scope.get('/health', async (_req, reply) => {
    const health = engineHealth(deps);
    return reply.status(health.isHealthy ? 200 : 503).send(health);
  });
}

export function registerControlRoutes(scope: FastifyInstance, deps: AppDeps, recent: RecentRuns): void {
  scope.post<{ Querystring: { workspace?: string } }>('/run/cancel', async (req) => {
    const principal = principalOf(req);
    const name = req.query.workspace || 'default';
    const workspace = engineWorkspace(principal, name);
    const targets = deps.runs
      .activeRuns()
      .filter((r) => r.owner === principal.userId && r.workspace === workspace);
    // Answer once the runs have settled, so "cancelled" means the processes are gone.
    const settled = await Promise.all(targets.map((r) => deps.runs.cancelAndWait(r.id)));
    const cancelled = settled.flatMap((rec) => (rec ? [rec.id] : []));
    if (cancelled.length === 0) throw new AppError('not_found', `Nothing is running in workspace "${name}"`);
    return { cancelled: true, workspace: name, runIds: cancelled };
  });

  scope.get('/status', async (req) => {
    const principal = principalOf(req);
    const running = deps.runs
      .activeRuns()
      .filter((r) => r.owner === principal.userId)
      .flatMap((r) => {
        const workspace = claudeboxWorkspace(principal, r.workspace);
        if (workspace === undefined) return [];
        const since = new Date(r.startedAt ?? r.createdAt).toISOString();
        return [{ workspace, runId: r.id, status: r.status, since }];
      });
    const recentRuns = recent.under(`${userRoot(principal)}/`).map((r) => ({
      workspace: claudeboxWorkspace(principal, r.workspace),
      runId: r.runId,
      status: r.status,
      finishedAt: new Date(r.finishedAt).toISOString(),
    }));
    return { running, workspaces: running.map((r) => r.workspace), recent: recentRuns };
  });
}
