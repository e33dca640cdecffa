import type { FastifyRequest } from 'fastify';
import { authenticate } from '../../auth/authenticate.ts';
import { type Principal, servicePrincipal } from '../../auth/principal.ts';
import { admitCaller } from '../../auth/scope.ts';
import { credentialOf } from '../../auth/secrets.ts';
import type { AppDeps } from '../../http/surface.ts';
import {
  CLAUDEBOX_INSTANCES,
  type ClaudeboxInstance,
  type InstanceTokenVar,
} from '../claudebox/instances.ts';
import type { Caller } from './models.ts';

const CLAUDE_OPS_PRINCIPAL: Principal = servicePrincipal('claude-ops');

const TOKEN_VARS: readonly InstanceTokenVar[] = [...new Set(CLAUDEBOX_INSTANCES.flatMap((i) => i.tokenVars))];

/**
 * Resolves the bearer of a request. Every secret is read from `deps.config.current()` on
 * each call, so a rotation (SIGHUP → config.reload()) applies to the very next request.
 * An instance token grants the instances that list it, each as its own user; any other
 * key (API_KEYS, stored) is its own user on every instance.
 */
export async function callerOf(deps: AppDeps, req: FastifyRequest): Promise<Caller | undefined> {
  const c = deps.config.current();
  // One marker object per variable: identity tells which one matched.
  const tokens = TOKEN_VARS.map((name) => ({
    name,
    secret: c[name],
    principal: servicePrincipal('claudebox'),
  }));
  const principal = await authenticate(deps.keys, credentialOf(req.headers), [
    { secret: c.CLAUDEOPS_CHAT_API_KEY, principal: CLAUDE_OPS_PRINCIPAL },
    ...tokens,
  ]);
  if (!principal) return undefined;
  admitCaller(deps.keys.limiter, principal, 'openai');
  // Identity, not the user id: a stored key of a user named "claude-ops" is still a claudebox caller.
  if (principal === CLAUDE_OPS_PRINCIPAL) return { kind: 'claude-ops' };
  const token = tokens.find((t) => t.principal === principal);
  const principals = new Map<ClaudeboxInstance, Principal>();
  for (const instance of CLAUDEBOX_INSTANCES) {
    if (!token) principals.set(instance, principal);
    else if (instance.tokenVars.includes(token.name)) principals.set(instance, instance.principal);
  }
  return { kind: 'claudebox', principals };
}
