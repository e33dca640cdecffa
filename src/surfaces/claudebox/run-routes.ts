import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../../app.ts';
import type { StoredEvent } from '../../engine/events.ts';
import { AppError } from '../../errors.ts';
import { clientGoneSignal } from '../../http/client-gone.ts';
import { claudeboxWorkspace, principalOf } from './auth.ts';
import type { ClaudeboxInstance } from './instances.ts';
import type { RecentRuns } from './recent-runs.ts';
import { parseRunBody, toRunSpec } from './run-request.ts';
import { renderResult, turnsOf } from './run-response.ts';

/**
 * POST <prefix>/run (waits for the run, as the seed's CLI call did) and GET <prefix>/runs/<id>;
 * the instance decides the run's provider and default model.
 */
export function registerRunRoutes(
  scope: FastifyInstance,
  deps: AppDeps,
  recent: RecentRuns,
  instance: ClaudeboxInstance,
): void {
  scope.post('/run', async (req, reply) => {
    const principal = principalOf(req);
    const body = parseRunBody(req.body);
    const spec = toRunSpec(principal, body, deps.config.current(), instance);
    // A client going away cancels the run, unless it asked for fire-and-forget.
    const run = await deps.runs.submit(spec, body.fireAndForget ? undefined : clientGoneSignal(req, reply));
    recent.track(run);
    reply.header('x-run-id', run.id);
    const record = await run.done;
    const out = renderResult(record);
    if (body.outputFormat === 'json-verbose') out.turns = turnsOf(run.events);
    return out;
  });

  scope.get<{ Params: { id: string }; Querystring: { outputFormat?: string } }>('/runs/:id', async (req) => {
    const principal = principalOf(req);
    const record = await deps.runs.get(req.params.id);
    const workspace = record && claudeboxWorkspace(principal, record.workspace);
    if (!record || record.owner !== principal.userId || workspace === undefined) {
      throw new AppError('not_found', `No run ${req.params.id}`);
    }
    const base = { runId: record.id, workspace, status: record.status };
    if (!record.result) return { ...base, ...(record.error ? { error: record.error } : {}) };
    const out = renderResult(record);
    if (req.query.outputFormat === 'json-verbose') {
      const events: StoredEvent[] = [];
      for await (const e of deps.runs.subscribe(record.id)) events.push(e);
      out.turns = turnsOf(events);
    }
    return { ...base, ...out };
  });
}
