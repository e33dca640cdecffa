import type { FastifyRequest } from 'fastify';
import { credentialOf } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';
import { authenticateFirst } from '../../http/auth-first.ts';
import { callerContextOf } from '../../http/caller-context.ts';
import type { AppDeps, Surface } from '../../http/surface.ts';

/**
 * GET /metrics: the Prometheus text exposition, for an admin key from anywhere, or for a
 * scraper on this machine without a key. "On this machine" means a loopback peer that
 * names this server by a loopback Host and came through no proxy: a tunnel or reverse proxy
 * on this host makes loopback public (they add forwarding headers), and a web page re-pointed
 * at 127.0.0.1 by DNS rebinding sends its own name as Host.
 */
export const metricsSurface: Surface = async (app, deps) => {
  app.get(
    '/metrics',
    { onRequest: authenticateFirst((req) => admitReader(req, deps)) },
    async (_req, reply) => {
      const { contentType, body } = await deps.metrics.render();
      return reply.header('content-type', contentType).header('cache-control', 'no-store').send(body);
    },
  );
};

async function admitReader(req: FastifyRequest, deps: AppDeps): Promise<void> {
  const secret = credentialOf(req.headers);
  if (secret) {
    const principal = await deps.keys.verify(secret);
    if (!principal) throw new AppError('unauthorized', 'Missing or invalid API key');
    if (principal.isAdmin || isLocalScraper(req)) return;
    throw new AppError('forbidden', 'GET /metrics needs an admin key');
  }
  if (isLocalScraper(req)) return;
  throw new AppError('unauthorized', 'GET /metrics needs an admin key (or a local, unproxied caller)');
}

const LOOPBACK_HOST = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d{1,5})?$/i;

function isLocalScraper(req: FastifyRequest): boolean {
  const peer = req.socket.remoteAddress ?? '';
  const isLoopbackPeer = peer === '::1' || /^(::ffff:)?127\./.test(peer);
  return (
    isLoopbackPeer && !callerContextOf(req.headers).isProxied && LOOPBACK_HOST.test(req.headers.host ?? '')
  );
}
