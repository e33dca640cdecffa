import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PoolStatus } from '../../browser/pool.ts';
import { MAX_SCREENSHOT_SIDE, type ScreenshotSize } from '../../browser/screenshot.ts';
import type { BrowserService } from '../../browser/service.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';
import { browserOwnerOf, optionalBrowserAuth, requireBrowserAuth } from './auth.ts';
import { renderResult } from './render.ts';
import { claimReplica, cookieValue, STICKY_COOKIE } from './sticky.ts';

export const PREFIX = '/stealthy-auto-browse';

export function registerActionRoutes(scope: FastifyInstance, deps: AppDeps, service: BrowserService): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const owner = browserOwnerOf(await requireBrowserAuth(deps, req));
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
      throw new AppError('invalid_request', 'Body must be a JSON object like {"action": "goto", "url": "…"}');
    }
    const claim = claimReplica(service.pool, owner, req, reply);
    return renderResult(await service.execute(claim, req.body), reply);
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
      const owner = browserOwnerOf(await requireBrowserAuth(deps, req));
      const size = sizeOf(req.query as Record<string, string | undefined>);
      const png = await service.screenshot(claimReplica(service.pool, owner, req, reply), size);
      return reply.type('image/png').send(png);
    });
  }
}

function sizeOf(query: Record<string, string | undefined>): ScreenshotSize {
  const read = (name: string) => {
    const raw = query[name];
    if (raw === undefined || raw === '') return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > MAX_SCREENSHOT_SIDE) {
      throw new AppError('invalid_request', `${name} must be an integer from 1 to ${MAX_SCREENSHOT_SIDE}`);
    }
    return n;
  };
  return { whLargest: read('whLargest'), width: read('width'), height: read('height') };
}

/** The original's shape for a caller's X-Request-Id: echoed when it fits, else ours is used. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * As the original: a valid incoming X-Request-Id is echoed back (and logged with the
 * request), and X-Trace-Id is always set, here to the server's own request id.
 */
export function registerCorrelationHeaders(scope: FastifyInstance): void {
  scope.addHook('onRequest', async (req, reply) => {
    reply.header('x-trace-id', req.id);
    const incoming = req.headers['x-request-id'];
    if (typeof incoming === 'string' && CLIENT_REQUEST_ID.test(incoming)) {
      reply.header('x-request-id', incoming);
      req.log = req.log.child({ clientRequestId: incoming });
    }
  });
}

/**
 * The original's GET /state for the caller's replica: never queued behind its actions, and
 * never claims a replica (a caller without one gets `no_page`). There is no window, so
 * `window_offset` is always 0,0.
 */
export function registerStateRoute(scope: FastifyInstance, deps: AppDeps, service: BrowserService): void {
  scope.get(`${PREFIX}/state`, async (req) => {
    const owner = browserOwnerOf(await requireBrowserAuth(deps, req));
    const replica = service.pool.claimable(owner, cookieValue(req, STICKY_COOKIE));
    const page = replica?.activePage;
    if (!page || page.isClosed()) {
      return { status: 'no_page', url: null, title: null, window_offset: { x: 0, y: 0 } };
    }
    // A page busy in a long script cannot answer title(): give up quickly rather than queue.
    const title = await Promise.race([
      page.title().catch(() => null),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 1_000).unref()),
    ]);
    return { status: 'ready', url: page.url(), title, window_offset: { x: 0, y: 0 } };
  });
}

/**
 * No auth needed, like the seed's HAProxy endpoints, but without it they show counts only.
 * An authenticated caller also sees each replica's state, and the page origin of the one
 * its INSTANCEID holds; never another caller's page, owner or instance id.
 */
export function registerQueueRoutes(scope: FastifyInstance, deps: AppDeps, service: BrowserService): void {
  scope.get(`${PREFIX}/__queue/health`, async () => ({
    status: 'ok',
    ...countsOf(await service.pool.status()),
  }));
  scope.get(`${PREFIX}/__queue/status`, async (req) => {
    const principal = await optionalBrowserAuth(deps, req);
    const status = await service.pool.status();
    if (!principal) return countsOf(status);
    const owner = browserOwnerOf(principal);
    const mine = service.pool.claimable(owner, cookieValue(req, STICKY_COOKIE));
    return {
      ...countsOf(status),
      version: status.version,
      replicas: status.replicas.map((r) => ({
        id: r.id,
        state: r.state,
        queued: r.queued,
        served: r.served,
        crashes: r.crashes,
        replacements: r.replacements,
        mine: r.id === mine?.id,
        // Page URLs may carry secrets (tokens in query strings): even the holder sees only the origin.
        url: r.id === mine?.id && r.url ? originOf(r.url) : null,
      })),
    };
  });
}

function countsOf(status: PoolStatus) {
  const states = status.replicas.map((r) => r.state);
  return {
    browser: status.browser,
    replicas: states.length,
    idle: states.filter((s) => s === 'idle' || s === 'not_started').length,
    busy: states.filter((s) => s === 'busy').length,
    crashed: states.filter((s) => s === 'crashed').length,
    queued: status.replicas.reduce((n, r) => n + r.queued, 0),
  };
}

function originOf(url: string): string {
  try {
    const u = new URL(url);
    return u.origin === 'null' ? u.protocol : u.origin;
  } catch {
    return '';
  }
}
