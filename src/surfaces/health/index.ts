import type { QueueState, SandboxInfo } from '../../engine/port.ts';
import type { AppDeps, Surface } from '../../http/surface.ts';

/** Engine health as every surface reports it: model, pool and queue. */
export function engineHealth(deps: AppDeps) {
  const { pool, queue, sandbox, totals, backend, node } = deps.engine.health();
  const method = deps.model.method();
  // Unhealthy: no way to reach a model, or agent processes keep failing to start. An empty
  // pool alone is not: a sandboxed server warms spares per owner once owners have run.
  const isHealthy = method !== 'none' && pool.startFailures < 3;
  return {
    status: isHealthy ? 'ok' : 'degraded',
    isHealthy,
    model: { method, isFake: deps.model.isFake, default: deps.config.current().CLAUDE_MODEL },
    // Which engine serves runs (`embedded`, or `cluster`: many nodes on Redis) and which node answered.
    engine: { backend, node },
    // Which confinement agents run under: `bwrap`, or `none` (see sandboxNote).
    sandbox: sandbox.name,
    // Which store holds the state: `sqlite` (DATA_DIR) or `postgres` (DATABASE_URL, never shown).
    database: deps.database,
    ...(sandbox.reason ? { sandboxNote: sandboxNote(sandbox) } : {}),
    pool,
    // The original's queue fields (`length`, `maxSize`) beside agentgate's own.
    queue: { ...queue, length: queue.queued, maxSize: queue.maxQueuedRuns },
    workers: workerCounts(queue, isHealthy),
    uptime: Date.now() - totals.sinceMs,
    totals,
  };
}

/**
 * The original's `workers`, honestly: a worker here is a run slot (MAX_CONCURRENT_RUNS of
 * them), not an agent process. Agent processes start per run (or come from per-owner warm
 * spares in a sandbox), so a free slot is ready to start a run now whether or not a spare
 * is warm; an idle, healthy server has `ready == total`. While the server is unhealthy
 * (no model access, or agents keep failing to start) its free slots count as `error`.
 */
export function workerCounts(queue: QueueState, isHealthy: boolean) {
  const total = queue.maxConcurrentRuns;
  const busy = Math.min(queue.running, total);
  const error = isHealthy ? 0 : total - busy;
  return { total, ready: total - busy - error, busy, error };
}

/**
 * The original's `workers[]` for /status: one entry per run slot; a busy slot carries
 * when its run started (`busySince`, epoch ms), from the engine's running runs.
 */
export function workerList(queue: QueueState, isHealthy: boolean, runningSince: number[]) {
  const started = [...runningSince].sort((a, b) => a - b);
  return Array.from({ length: queue.maxConcurrentRuns }, (_, i) => {
    const busySince = started[i];
    if (busySince !== undefined) return { id: `worker-${i}`, state: 'busy' as const, busySince };
    return { id: `worker-${i}`, state: isHealthy ? ('ready' as const) : ('error' as const) };
  });
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
