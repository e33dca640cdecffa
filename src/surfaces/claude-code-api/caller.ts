import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate } from '../../auth/authenticate.ts';
import { verifyHmacToken } from '../../auth/hmac-token.ts';
import type { Principal } from '../../auth/principal.ts';
import { admitCaller } from '../../auth/scope.ts';
import { credentialOf } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';

const callers = new WeakMap<FastifyRequest, Principal>();

/**
 * Every route of this scope needs a caller: API_KEYS and stored keys first, then a
 * NEXTAUTH_SECRET token (the seed's order). Runs on onRequest, before the body is read.
 */
export function requireCaller(scope: FastifyInstance, deps: AppDeps): void {
  scope.addHook('onRequest', async (req) => {
    const secret = credentialOf(req.headers);
    const principal =
      (await authenticate(deps.keys, secret)) ??
      (secret ? verifyHmacToken(secret, deps.config.current().NEXTAUTH_SECRET, Date.now()) : undefined);
    if (!principal) throw new AppError('unauthorized', 'Missing or invalid API key');
    callers.set(req, admitCaller(deps.keys.limiter, principal, 'claude-code-api'));
  });
}

/** The authenticated caller of a request; the user id comes from the credential only. */
export function callerOf(req: FastifyRequest): Principal {
  const p = callers.get(req);
  if (!p) throw new AppError('unauthorized', 'Missing or invalid API key');
  return p;
}
