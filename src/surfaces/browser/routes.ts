import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../../app.ts';
import type { ScreenshotSize } from '../../browser/screenshot.ts';
import type { BrowserService } from '../../browser/service.ts';
import { AppError } from '../../errors.ts';
import { requireBrowserAuth } from './auth.ts';
import { renderResult } from './render.ts';
import { stickyReplica } from './sticky.ts';

export const PREFIX = '/stealthy-auto-browse';

export function registerActionRoutes(scope: FastifyInstance, deps: AppDeps, service: BrowserService): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    await requireBrowserAuth(deps, req);
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      throw new AppError('invalid_request', 'Body must be a JSON object like {"action": "goto", "url": "…"}');
    }
    const replica = stickyReplica(service.pool, req, reply);
    reply.header('x-browser-replica', replica.id);
    return renderResult(await service.execute(replica, req.body), reply);
  };
  scope.post(`${PREFIX}/`, handler);
  scope.post(PREFIX, handler);
}

export function registerScreenshotRoutes(
  scope: FastifyInstance,
  deps: AppDeps,
  service: BrowserService,
): void {
  // There is no desktop around a headless browser: "desktop" is the same viewport image, so
  // the seed's callers of either URL get a PNG of what the page shows.
  for (const kind of ['browser', 'desktop']) {
    scope.get(`${PREFIX}/screenshot/${kind}`, async (req, reply) => {
      await requireBrowserAuth(deps, req);
      const replica = stickyReplica(service.pool, req, reply);
      const png = await service.screenshot(replica, sizeOf(req.query as Record<string, string | undefined>));
      return reply.header('x-browser-replica', replica.id).type('image/png').send(png);
    });
  }
}

function sizeOf(query: Record<string, string | undefined>): ScreenshotSize {
  const read = (name: string) => {
    const raw = query[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) {
      throw new AppError('invalid_request', `${name} must be a positive integer`);
    }
    return n;
  };
  return { whLargest: read('whLargest'), width: read('width'), height: read('height') };
}

/** No auth, like the seed's HAProxy endpoints: they expose states and counts, never page content. */
export function registerQueueRoutes(scope: FastifyInstance, service: BrowserService): void {
  scope.get(`${PREFIX}/__queue/health`, async () => {
    const status = await service.pool.status();
    const states = status.replicas.map((r) => r.state);
    return {
      status: 'ok',
      browser: status.browser,
      replicas: states.length,
      idle: states.filter((s) => s === 'idle' || s === 'not_started').length,
      busy: states.filter((s) => s === 'busy').length,
      crashed: states.filter((s) => s === 'crashed').length,
      queued: status.replicas.reduce((n, r) => n + r.queued, 0),
    };
  });
  scope.get(`${PREFIX}/__queue/status`, async () => {
    const status = await service.pool.status();
    // Page URLs may carry secrets (tokens in query strings): only their origin is shown.
    return {
      ...status,
      replicas: status.replicas.map((r) => ({ ...r, url: r.url ? originOf(r.url) : null })),
    };
  });
}

function originOf(url: string): string {
  try {
    const u = new URL(url);
    return u.origin === 'null' ? u.protocol : u.origin;
  } catch {
    return '';
  }
}
