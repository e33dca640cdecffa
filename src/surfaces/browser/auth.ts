import type { FastifyRequest } from 'fastify';
import { authenticate } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import { admitCaller } from '../../auth/scope.ts';
import { credentialOf } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';

const TOKEN_PRINCIPAL: Principal = { userId: 'stealthy-auto-browse', isAdmin: false, via: 'surface_token' };

/**
 * Bearer STEALTHY_AUTO_BROWSE_AUTH_TOKEN or any stored key. Unlike the seed there is no
 * built-in default token: with the variable unset, only stored keys get in. The token is
 * read per request so a SIGHUP rotation applies at once.
 */
export async function requireBrowserAuth(deps: AppDeps, req: FastifyRequest): Promise<Principal> {
  const principal = await optionalBrowserAuth(deps, req);
  if (!principal) throw new AppError('unauthorized', 'Missing or invalid bearer token');
  return principal;
}

/** The caller's principal, undefined when it sent no credential; a wrong credential is still refused. */
export async function optionalBrowserAuth(
  deps: AppDeps,
  req: FastifyRequest,
): Promise<Principal | undefined> {
  const secret = credentialOf(req.headers);
  if (secret === undefined) return undefined;
  const token = deps.config.current().STEALTHY_AUTO_BROWSE_AUTH_TOKEN;
  const principal = await authenticate(deps.keys, secret, [{ secret: token, principal: TOKEN_PRINCIPAL }]);
  if (!principal) throw new AppError('unauthorized', 'Missing or invalid bearer token');
  return admitCaller(deps.keys.limiter, principal, 'browser');
}

/**
 * Who owns browser state (replicas, MCP sessions): the authenticated identity. Everyone
 * holding the shared surface token is one owner (they are told apart only by their
 * unguessable INSTANCEID / Mcp-Session-Id); each user of a stored or API_KEYS key is
 * another. The prefix keeps the token's identity out of the user namespace.
 */
export function browserOwnerOf(principal: Principal): string {
  return principal.via === 'surface_token' ? `token:${principal.userId}` : `user:${principal.userId}`;
}
