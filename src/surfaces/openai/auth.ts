import type { FastifyRequest } from 'fastify';
import type { AppDeps } from '../../app.ts';
import { authenticate } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import { credentialOf } from '../../auth/secrets.ts';
import type { Caller } from './models.ts';

const CLAUDE_OPS_PRINCIPAL: Principal = { userId: 'claude-ops', isAdmin: false, via: 'surface_token' };
/** CLAUDEBOX_API_TOKEN and LITELLM_MASTER_KEY both stand for claudebox's single user, as on /claudebox/*. */
const CLAUDEBOX_PRINCIPAL: Principal = { userId: 'claudebox', isAdmin: false, via: 'surface_token' };

/**
 * Resolves the bearer of a request. Every secret is read from `deps.config.current()` on
 * each call, so a rotation (SIGHUP → config.reload()) applies to the very next request.
 */
export async function callerOf(deps: AppDeps, req: FastifyRequest): Promise<Caller | undefined> {
  const c = deps.config.current();
  const principal = await authenticate(deps.keys, credentialOf(req.headers), [
    { secret: c.CLAUDEOPS_CHAT_API_KEY, principal: CLAUDE_OPS_PRINCIPAL },
    { secret: c.CLAUDEBOX_API_TOKEN, principal: CLAUDEBOX_PRINCIPAL },
    { secret: c.LITELLM_MASTER_KEY, principal: CLAUDEBOX_PRINCIPAL },
  ]);
  if (!principal) return undefined;
  // Identity, not the user id: a stored key of a user named "claude-ops" is still a claudebox caller.
  if (principal === CLAUDE_OPS_PRINCIPAL) return { kind: 'claude-ops' };
  return { kind: 'claudebox', principal };
}
