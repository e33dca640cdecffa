import type {
  FastifyBaseLogger,
  FastifyInstance,
  FastifyRequest,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { authenticate } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import { admitCaller } from '../../auth/scope.ts';
import { credentialOf } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';
import { authenticatedCaller } from '../../http/auth-first.ts';
import type { AppDeps } from '../../http/surface.ts';
import { workspaceOfUser } from '../../workspaces/owners.ts';

/**
 * Who calls the Runs API: any key (API_KEYS or a stored key), from `Authorization: Bearer`
 * or `x-api-key`. Surface tokens (claudebox's, claude-ops') are not keys and are not taken.
 */
export async function apiCaller(deps: AppDeps, req: FastifyRequest): Promise<Principal> {
  const principal = await authenticate(deps.keys, credentialOf(req.headers));
  if (!principal) throw new AppError('unauthorized', 'Missing or invalid API key');
  return admitCaller(deps.keys.limiter, principal, 'api');
}

/**
 * A run's owner sees it; an admin key sees every run, those of the services (claudebox,
 * claude-ops, …) included. Anyone else is told it does not exist: 404, never 403, so run
 * ids cannot be probed.
 */
export function canSeeRun(caller: Principal, run: { owner: string; workspace: string }): boolean {
  if (caller.isAdmin) return true;
  if (caller.userId !== run.owner) return false;
  // A key bound to a workspace prefix sees only those of its user's runs (as on claudebox).
  const prefix = caller.scope?.workspaces;
  return !prefix || (workspaceOfUser(run.owner, run.workspace) ?? '').startsWith(prefix);
}

/** The caller the scope's onRequest hook authenticated. */
export function callerOf(req: FastifyRequest): Principal {
  return authenticatedCaller<Principal>(req);
}

/** The Runs API's scope, typed by its zod schemas. */
export type ApiScope = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;
