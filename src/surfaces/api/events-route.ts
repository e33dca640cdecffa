import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { replyHeaders, SseWriter } from '../../http/sse.ts';
import type { AppDeps } from '../../http/surface.ts';
import { type ApiScope, callerOf } from './auth.ts';
import { visibleRun } from './run-routes.ts';
import { errorBodySchema, eventsQuerySchema, runParamsSchema } from './schemas.ts';

/** Where a stream resumes: Last-Event-ID (what EventSource sends on reconnect), else ?after=, else 0. */
function resumeAfter(lastEventId: string | string[] | undefined, after: number | undefined): number {
  if (typeof lastEventId === 'string' && lastEventId.trim() !== '') {
    if (!/^\d{1,15}$/.test(lastEventId.trim())) {
      throw new AppError('invalid_request', 'Last-Event-ID must be an event seq (a non-negative integer)');
    }
    return Number(lastEventId.trim());
  }
  return after ?? 0;
}

/**
 * GET /api/v1/runs/:id/events — the run's events as Server-Sent Events, each `id: <seq>`
 * with `data: {"seq":…,"type":…,…}`: the stored ones after the resume point, then live ones
 * as they happen; when the run has finished, one `event: end` (`data: {"status":…}`) and the
 * stream closes. Comment heartbeats keep idle streams open.
 */
export function registerEventsRoute(scope: ApiScope, deps: AppDeps): void {
  scope.get(
    '/runs/:id/events',
    {
      schema: {
        summary: "The run's events as Server-Sent Events (replay, resume, live follow)",
        description:
          'Each event: `id: <seq>` and `data: {"seq", "type", …}` (see docs/api.md for the types). Resumes after Last-Event-ID or ?after=. Ends with `event: end` once the run has finished.',
        tags: ['runs'],
        params: runParamsSchema,
        querystring: eventsQuerySchema,
        response: {
          200: {
            description: 'text/event-stream',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          400: errorBodySchema,
          401: errorBodySchema,
          404: errorBodySchema,
        },
      },
    },
    async (req, reply) => {
      const record = await visibleRun(deps, callerOf(req), req.params.id);
      const after = resumeAfter(req.headers['last-event-id'], req.query.after);
      reply.header('x-run-id', record.id);
      reply.hijack();
      const sse = new SseWriter(reply.raw, deps.config.current().SSE_HEARTBEAT_MS, replyHeaders(reply));
      try {
        for await (const { seq, event } of deps.engine.events(record.id, after)) {
          if (sse.isClosed) break;
          await sse.sendEvent({ id: String(seq), data: JSON.stringify({ seq, ...event }) });
        }
        if (!sse.isClosed) {
          const final = await deps.engine.get(record.id);
          await sse.sendEvent({
            event: 'end',
            data: JSON.stringify({ status: final?.status ?? record.status }),
          });
        }
      } catch (err) {
        // Headers are out: a failure can only be told inside the stream.
        reply.log.error({ err, runId: record.id }, 'run event stream failed');
        await sse.sendEvent({
          event: 'error',
          data: JSON.stringify({ error: { code: 'internal', message: 'The event stream failed' } }),
        });
      } finally {
        sse.end();
      }
    },
  );
}
