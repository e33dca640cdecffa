import type { FastifyInstance } from 'fastify';
import type { StoredEvent } from '../../engine/events.ts';
import { AppError } from '../../errors.ts';
import { clientGoneSignal } from '../../http/client-gone.ts';
import type { AppDeps } from '../../http/surface.ts';
import { claudeboxWorkspace, principalOf } from './auth.ts';
import type { ClaudeboxInstance } from './instances.ts';
import { parseRunBody, toRunSpec } from './run-request.ts';
import { renderResult, turnsOf } from './run-response.ts';

/**
 * POST <prefix>/run (waits for the run, as the seed's CLI call did) and GET <prefix>/runs/<id>;
 * the instance decides the run's provider and default model.
 */
export function registerRunRoutes(scope: FastifyInstance, deps: AppDeps, instance: ClaudeboxInstance): void {
  scope.post('/run', async (req, reply) => {
    const principal = principalOf(req);
    const body = parseRunBody(req.body);
    const spec = toRunSpec(principal, body, deps.config.current(), instance);
    // A client going away cancels the run, unless it asked for fire-and-forget.
    const run = await deps.engine.submit(
      spec,
      body.fireAndForget ? {} : { signal: clientGoneSignal(req, reply) },
    );
    reply.header('x-run-id', run.id);
    const record = await deps.engine.wait(run.id);
    const out = renderResult(record);
    if (body.outputFormat === 'json-verbose') out.turns = turnsOf(await eventsOf(deps, run.id));
    return out;
  });

  scope.get<{ Params: { id: string }; Querystring: { outputFormat?: string } }>('/runs/:id', async (req) => {
    const principal = principalOf(req);
    const record = await deps.engine.get(req.params.id);
    const workspace = record && claudeboxWorkspace(principal, record.workspace);
    if (!record || record.owner !== principal.userId || workspace === undefined) {
      throw new AppError('not_found', `No run ${req.params.id}`);
    }
    const base = { runId: record.id, workspace, status: record.status, tier: record.tier };
    if (!record.result) return { ...base, ...(record.error ? { error: record.error } : {}) };
    const out = renderResult(record);
    if (req.query.outputFormat === 'json-verbose') {
      out.turns = turnsOf(await eventsOf(deps, record.id));
    }
    return { ...base, ...out };
  });
}

async function eventsOf(deps: AppDeps, runId: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const e of deps.engine.events(runId)) events.push(e);
  return events;
}
