import type { FastifyRequest } from 'fastify';
import { authenticate } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import { admitCaller, assertWorkspace, isWorkspaceInScope, type SurfaceName } from '../../auth/scope.ts';
import { credentialOf } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';
import { parseWorkspaceName } from '../../workspaces/names.ts';
import { userWorkspace, workspaceOfUser } from '../../workspaces/owners.ts';
import type { ClaudeboxInstance } from './instances.ts';

const principals = new WeakMap<FastifyRequest, Principal>();

/**
 * Bearer token check for one instance. Its tokens (its own and LITELLM_MASTER_KEY) stand for
 * its one principal: LiteLLM-routed and direct calls then share workspaces and sessions, as
 * in the seed where LiteLLM forwards with the instance's token. Another instance's token is
 * refused. Secrets are read per request so a SIGHUP rotation applies at once.
 */
export async function authenticateClaudebox(
  deps: AppDeps,
  req: FastifyRequest,
  instance: ClaudeboxInstance,
  /** The MCP endpoints of an instance authenticate here too, as the `mcp` surface. */
  surface: SurfaceName = 'claudebox',
): Promise<Principal> {
  const c = deps.config.current();
  const principal = await authenticate(
    deps.keys,
    credentialOf(req.headers),
    instance.tokenVars.map((name) => ({ secret: c[name], principal: instance.principal })),
  );
  if (!principal) throw new AppError('unauthorized', 'Missing or invalid bearer token');
  admitCaller(deps.keys.limiter, principal, surface);
  principals.set(req, principal);
  return principal;
}

/** The principal the scope's onRequest hook authenticated. */
export function principalOf(req: FastifyRequest): Principal {
  const p = principals.get(req);
  if (!p) throw new AppError('unauthorized', 'Missing or invalid bearer token');
  return p;
}

export const DEFAULT_WORKSPACE = 'default';

/** Claudebox workspace `x` of user U is the engine workspace `users/U/x`: users never see each other's. */
export function engineWorkspace(principal: Principal, workspace: string | undefined): string {
  const name = workspace === undefined || workspace === '' ? DEFAULT_WORKSPACE : workspace;
  parseWorkspaceName(name); // errors name the caller's workspace, not the prefixed one
  const engineName = userWorkspace(principal.userId, name);
  assertWorkspace(principal.scope, principal.userId, engineName);
  return engineName;
}

/**
 * The caller's name for an engine workspace of theirs, or undefined when it is not theirs —
 * or is outside the key's workspace prefix (its runs are then not the key's to read).
 */
export function claudeboxWorkspace(principal: Principal, engineName: string): string | undefined {
  const name = workspaceOfUser(principal.userId, engineName);
  return name !== undefined && isWorkspaceInScope(principal.scope, name) ? name : undefined;
}
