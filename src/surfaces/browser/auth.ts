import type { FastifyRequest } from 'fastify';
import type { AppDeps } from '../../app.ts';
import { authenticate } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import { credentialOf } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';

const TOKEN_PRINCIPAL: Principal = { userId: 'stealthy-auto-browse', isAdmin: false, via: 'surface_token' };

/**
 * Bearer STEALTHY_AUTO_BROWSE_AUTH_TOKEN or any stored key. Unlike the seed there is no
 * built-in default token: with the variable unset, only stored keys get in. The token is
 * read per request so a SIGHUP rotation applies at once.
 */
export async function requireBrowserAuth(deps: AppDeps, req: FastifyRequest): Promise<Principal> {
  const token = deps.config.current().STEALTHY_AUTO_BROWSE_AUTH_TOKEN;
  const principal = await authenticate(deps.keys, credentialOf(req.headers), [
    { secret: token, principal: TOKEN_PRINCIPAL },
  ]);
  if (!principal) throw new AppError('unauthorized', 'Missing or invalid bearer token');
  return principal;
}
