import type { FastifyRequest } from 'fastify';
import { authenticate } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import { admitCaller, admitRate } from '../../auth/scope.ts';
import { credentialOf } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';

/** LITELLM_MASTER_KEY is LiteLLM's admin, and aigate users hold it: it is ours too. */
const MASTER_KEY_PRINCIPAL: Principal = { userId: 'admin', isAdmin: true, via: 'admin_key' };

/**
 * Admins: stored keys created with `admin`, ADMIN_API_KEYS entries and LITELLM_MASTER_KEY
 * (read per request, so a SIGHUP rotation applies at once). A stored admin key still needs
 * `admin` among its surfaces. Everyone else is refused before the body is read: 401 without
 * a valid key, 403 with a non-admin one.
 */
export async function authenticateAdmin(deps: AppDeps, req: FastifyRequest): Promise<Principal> {
  const principal = await authenticate(deps.keys, credentialOf(req.headers), [
    { secret: deps.config.current().LITELLM_MASTER_KEY, principal: MASTER_KEY_PRINCIPAL },
  ]);
  if (!principal) throw new AppError('unauthorized', 'Missing or invalid API key');
  if (!principal.isAdmin) throw new AppError('forbidden', 'This route needs an admin key');
  return admitCaller(deps.keys.limiter, principal, 'admin');
}

/** GET /usage: any valid key, for its own usage (its rpm still counts). */
export async function authenticateAnyKey(deps: AppDeps, req: FastifyRequest): Promise<Principal> {
  const principal = await authenticate(deps.keys, credentialOf(req.headers), [
    { secret: deps.config.current().LITELLM_MASTER_KEY, principal: MASTER_KEY_PRINCIPAL },
  ]);
  if (!principal) throw new AppError('unauthorized', 'Missing or invalid API key');
  return admitRate(deps.keys.limiter, principal);
}
