import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { AppError } from '../errors.ts';

/**
 * Authentication that runs on `onRequest`, before Fastify reads a byte of the body: an
 * unauthenticated caller is answered at once, whatever it sends after its headers. (Parsing
 * first let a 16 MB `[{},{},…]` cost seconds of CPU and hundreds of MB before its 401.)
 * The refused body is then discarded by Node as it arrives (never buffered or parsed), and
 * the connection stays usable: closing it instead would make clients still sending see
 * EPIPE rather than the answer. A client that trickles is cut by REQUEST_TIMEOUT_MS.
 */

const authenticated = new WeakMap<FastifyRequest, unknown>();

/**
 * A route-level `onRequest` hook: `auth` resolves the caller from the headers alone (and
 * throws an AppError, rendered in the route's protocol, when it cannot); routes read the
 * result with `authenticatedCaller`.
 */
export function authenticateFirst<P>(auth: (req: FastifyRequest) => Promise<P>): onRequestAsyncHookHandler {
  return async (req: FastifyRequest) => {
    authenticated.set(req, await auth(req));
  };
}

/** What `authenticateFirst` resolved for this request; a route without the hook gets a 401. */
export function authenticatedCaller<P>(req: FastifyRequest): P {
  if (!authenticated.has(req)) throw new AppError('unauthorized', 'Missing or invalid credentials');
  return authenticated.get(req) as P;
}

/** True when the request announces a body (a length above zero, or a chunked one). */
export function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

/**
 * For scopes whose routes check credentials inside the handler: every request that carries a
 * body must authenticate first, on `onRequest`; body-less requests (GET probes, queue
 * status) reach their routes unchanged. Wire it with one line in the scope's index.
 */
export function authenticateBodies(
  scope: FastifyInstance,
  auth: (req: FastifyRequest) => Promise<unknown>,
): void {
  scope.addHook('onRequest', async (req) => {
    if (hasBody(req)) authenticated.set(req, await auth(req));
  });
}

/**
 * For routes that serve anonymous callers too (public storage through MCP, where the key is
 * a tool argument inside the body): a request without a valid header credential may send at
 * most `maxAnonymousBytes`, and must say how many up front (Content-Length) so the refusal
 * comes before the bytes do. `isAuthenticated` decides from the headers alone.
 */
export function limitAnonymousBodies(
  scope: FastifyInstance,
  opts: {
    /** Route patterns as registered (e.g. `/storage/mcp/`). */
    paths: readonly string[];
    maxAnonymousBytes: number;
    isAuthenticated: (req: FastifyRequest) => boolean | Promise<boolean>;
  },
): void {
  scope.addHook('onRequest', async (req) => {
    // The matched route's pattern, not the raw path: `/storage/%6Dcp/` reaches the same route.
    const route = req.routeOptions.url ?? '';
    if (!opts.paths.includes(route) || !hasBody(req)) return;
    if (await opts.isAuthenticated(req)) return;
    const length = req.headers['content-length'];
    if (length === undefined || !/^\d+$/.test(length)) {
      throw new AppError(
        'invalid_request',
        'An unauthenticated request must send Content-Length; send Authorization: Bearer <key> otherwise',
      );
    }
    if (Number(length) > opts.maxAnonymousBytes) {
      throw new AppError(
        'payload_too_large',
        `An unauthenticated request body may be at most ${opts.maxAnonymousBytes} bytes; send Authorization: Bearer <key> for larger ones`,
      );
    }
  });
}
