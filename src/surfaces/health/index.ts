import type { Surface } from '../../app.ts';
import type { AppDeps } from '../../deps.ts';

/** Engine health as every surface reports it: model, pool and queue. */
export function engineHealth(deps: AppDeps) {
  const pool = deps.backend.poolState();
  const queue = deps.runs.queueState();
  const method = deps.modelAuth.method();
  // Unhealthy: no way to reach a model, or a pool that should have spares has none at all.
  const isHealthy =
    method !== 'none' && !(pool.size > 0 && pool.idle + pool.warming + pool.busy + pool.live === 0);
  return {
    status: isHealthy ? 'ok' : 'degraded',
    isHealthy,
    model: { method, isFake: deps.modelAuth.isFake, default: deps.config.current().CLAUDE_MODEL },
    pool,
    queue,
  };
}

/** GET /health (no auth): 200 when healthy, 503 when not, with pool and queue state. */
export const healthSurface: Surface = async (app, deps) => {
  app.get('/health', async (_req, reply) => {
    const health = engineHealth(deps);
    return reply.status(health.isHealthy ? 200 : 503).send(health);
  });
};
