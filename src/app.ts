import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import { callerContextOf, withCallerContext } from './http/caller-context.ts';
import { prepareErrorReply, toAppError } from './http/errors.ts';
import { registerOpenApi } from './http/openapi.ts';
import { addResponseHeaders, newRequestId } from './http/request-id.ts';
import type { AppDeps, Surface } from './http/surface.ts';
import { MAX_TIMEOUT_FACTOR } from './surfaces/claude-code-api/run-route.ts';

/** How long a refused request's body may keep arriving before its connection is cut. */
const REFUSED_BODY_GRACE_MS = 2_000;

function isRefusal(status: number): boolean {
  return (
    status === 401 || status === 403 || status === 404 || status === 413 || status === 429 || status === 503
  );
}

export async function buildApp(
  deps: AppDeps,
  surfaces: readonly Surface[],
  opts: {
    /** Sees every route as it is registered, on every surface (the OpenAPI coverage test). */
    onRoute?: (route: RouteOptions) => void;
  } = {},
): Promise<FastifyInstance> {
  const c = deps.config.current();
  const requestTimeoutMs = c.REQUEST_TIMEOUT_MS;
  const headersTimeout = Math.min(c.HEADERS_TIMEOUT_MS, requestTimeoutMs);
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: newRequestId,
    // Receiving a request (headers, then body) is bounded, so a client sending a byte a
    // minute cannot hold a connection; responses (SSE, long runs) are not: they are bounded
    // by their runs' own timeouts.
    requestTimeout: requestTimeoutMs,
    http: {
      headersTimeout,
      // Node enforces both timeouts on this tick (30 s by default): twice per headers timeout.
      connectionsCheckingInterval: Math.min(30_000, Math.ceil(headersTimeout / 2)),
    },
    keepAliveTimeout: c.KEEP_ALIVE_TIMEOUT_MS,
    // A socket silent both ways: longer than the longest run a caller may wait on without a
    // byte (POST /run with the largest timeoutMs), so only abandoned connections hit it.
    connectionTimeout: c.RUN_TIMEOUT_MS * MAX_TIMEOUT_FACTOR + 60_000,
    // Runs are drained before close; a client socket left half-open must not hold shutdown.
    forceCloseConnections: true,
    // Paths are matched as sent: the S3 surface verifies signatures over the raw path.
    routerOptions: { ignoreDuplicateSlashes: false, maxParamLength: 4096 },
  });
  addResponseHeaders(app);
  // Node answers 417 to any Expect other than 100-continue before a route can run. S3 (and
  // its clients' test suites) ignores an Expect it does not know and serves the request:
  // so do we, on every surface.
  app.server.on('checkExpectation', (req, res) => app.server.emit('request', req, res));
  // The engine asks whether the caller came through a proxy (a sandbox-less server serves
  // runs to local callers only): every request's handling runs inside its caller context.
  app.addHook('onRequest', (req, _reply, done) => withCallerContext(callerContextOf(req.headers), done));
  app.setErrorHandler((err, req, reply) => {
    const appErr = toAppError(err, req);
    prepareErrorReply(appErr, reply);
    return reply.send({ error: { code: appErr.code, message: appErr.message } });
  });
  // A path no route serves is answered before its body is read: the 404 costs no parse.
  app.addHook('onRequest', async (req, reply) => {
    if (!req.is404) return;
    return reply
      .status(404)
      .send({ error: { code: 'not_found', message: `No route for ${req.method} ${req.url.split('?')[0]}` } });
  });
  // A refused request whose body is still arriving is not waited on: Node discards what
  // comes (the answer is already out, so a client still sending reads it rather than a
  // reset), and a caller still sending after a short grace is cut, so a credential-less
  // client cannot hold sockets (and descriptors) for REQUEST_TIMEOUT_MS.
  app.addHook('onResponse', async (req, reply) => {
    if (!isRefusal(reply.statusCode) || req.raw.complete) return;
    const socket = req.raw.socket;
    setTimeout(() => {
      if (!req.raw.complete) socket.destroy();
    }, REFUSED_BODY_GRACE_MS).unref();
  });
  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send({ error: { code: 'not_found', message: `No route for ${req.method} ${req.url.split('?')[0]}` } });
  });
  const { onRoute } = opts;
  if (onRoute) app.addHook('onRoute', (route) => onRoute(route));
  // Before the surfaces: the document collects their routes as they are added.
  await registerOpenApi(app);
  for (const surface of surfaces) await app.register(async (scope) => surface(scope, deps));
  return app;
}
