import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { replyHeaders, SseWriter } from '../../http/sse.ts';
import type { AppDeps } from '../../http/surface.ts';
import { type ApiScope, callerOf } from './auth.ts';
import { visibleRun } from './run-routes.ts';
import { errorBodySchema, eventsQuerySchema, runParamsSchema } from './schemas.ts';

/**
 * Event streams one caller may hold open at once. A stream of a live (or long-queued) run
 * stays open for as long as the run lasts, each holding a socket and a descriptor: without a
 * cap one key could open thousands on one slow run and starve the server (and every other
 * tenant) of file descriptors. A browser tab needs one per run it watches.
 */
export const MAX_EVENT_STREAMS_PER_CALLER = 64;

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
  /** Open streams per caller identity (this app's only: two apps in one process never share). */
  const openStreams = new Map<string, number>();
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
          429: errorBodySchema,
        },
      },
    },
    async (req, reply) => {
      const caller = callerOf(req);
      const record = await visibleRun(deps, caller, req.params.id);
      const after = resumeAfter(req.headers['last-event-id'], req.query.after);
      const open = openStreams.get(caller.userId) ?? 0;
      if (open >= MAX_EVENT_STREAMS_PER_CALLER) {
        throw new AppError(
          'busy',
          `At most ${MAX_EVENT_STREAMS_PER_CALLER} event streams may be open at once per caller; close one first`,
          1,
        );
      }
      openStreams.set(caller.userId, open + 1);
      // Released when the client goes, not when the loop next wakes: a silent run's follower
      // would otherwise hold its slot after a disconnect until the run's next event.
      let isReleased = false;
      const release = (): void => {
        if (isReleased) return;
        isReleased = true;
        const left = (openStreams.get(caller.userId) ?? 1) - 1;
        if (left > 0) openStreams.set(caller.userId, left);
        else openStreams.delete(caller.userId);
      };
      reply.raw.once('close', release);
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
        release();
      }
    },
  );
}
