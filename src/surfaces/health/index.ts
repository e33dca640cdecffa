import type { SandboxInfo } from '../../engine/port.ts';
import type { AppDeps, Surface } from '../../http/surface.ts';

/** Engine health as every surface reports it: model, pool and queue. */
export function engineHealth(deps: AppDeps) {
  const { pool, queue, sandbox } = deps.engine.health();
  const method = deps.model.method();
  // Unhealthy: no way to reach a model, or agent processes keep failing to start. An empty
  // pool alone is not: a sandboxed server warms spares per owner once owners have run.
  const isHealthy = method !== 'none' && pool.startFailures < 3;
  return {
    status: isHealthy ? 'ok' : 'degraded',
    isHealthy,
    model: { method, isFake: deps.model.isFake, default: deps.config.current().CLAUDE_MODEL },
    // Which confinement agents run under: `bwrap`, or `none` (see sandboxNote).
    sandbox: sandbox.name,
    ...(sandbox.reason ? { sandboxNote: sandboxNote(sandbox) } : {}),
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

function sandboxNote(s: SandboxInfo): string {
  return s.isLoopbackOnly
    ? `agents run unconfined (${s.reason}); runs are served to local, unproxied callers only`
    : `agents run unconfined (${s.reason})`;
}
