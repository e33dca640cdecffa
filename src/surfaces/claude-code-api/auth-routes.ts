import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { exchangeCode, oauthClientOf, type PkceLogin, startPkceLogin } from '../../auth/oauth-pkce.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps, OAuthLogin } from '../../http/surface.ts';
import { callerOf } from './caller.ts';
import { parseOrThrow } from './request-body.ts';

/** A login's state is kept this long: enough to sign in and paste the code, no longer. */
export const LOGIN_TTL_MS = 10 * 60_000;
const MAX_PENDING_LOGINS = 100;

const exchangeSchema = z.object({
  code: z.string({ error: 'code is required' }).min(1, 'code is required').max(4096),
});

/**
 * The login serves every user's runs, so replacing it is an operator's act: only a stored
 * key created with `agentgate keys create --admin` may (API_KEYS and front-end tokens never are).
 */
function requireAdmin(req: FastifyRequest): void {
  if (!callerOf(req).isAdmin) {
    throw new AppError('forbidden', 'Only an admin key may change the server-wide model login');
  }
}

/**
 * The server's Claude subscription login, as the seed does it: POST /auth/login gives a PKCE
 * authorize URL, the user pastes back `CODE#STATE` to POST /auth/exchange, and from then on
 * every agent uses the stored token (refreshed before it expires).
 */
export function registerAuthRoutes(scope: FastifyInstance, deps: AppDeps): void {
  const store: OAuthLogin = deps.oauth;
  const pending = new Map<string, { login: PkceLogin; userId: string; expiresAt: number }>();
  const prune = (now: number) => {
    for (const [state, p] of pending) if (p.expiresAt <= now) pending.delete(state);
  };

  scope.get('/auth/status', async () => {
    const method = deps.model.method();
    const tokens = store.tokens;
    return {
      authenticated: method !== 'none',
      method,
      oauth: {
        loggedIn: tokens !== undefined,
        ...(tokens?.expiresAt !== undefined ? { expiresAt: new Date(tokens.expiresAt).toISOString() } : {}),
      },
    };
  });

  scope.post('/auth/login', async (req) => {
    requireAdmin(req);
    const now = Date.now();
    prune(now);
    // Bounded: a caller looping on /auth/login cannot grow server memory without limit.
    if (pending.size >= MAX_PENDING_LOGINS) throw new AppError('busy', 'Too many logins in progress', 60);
    const login = startPkceLogin(oauthClientOf(deps.config.current()));
    pending.set(login.state, { login, userId: callerOf(req).userId, expiresAt: now + LOGIN_TTL_MS });
    return { url: login.url };
  });

  scope.post('/auth/exchange', async (req) => {
    requireAdmin(req);
    const { code: pasted } = parseOrThrow(exchangeSchema, req.body);
    const hash = pasted.indexOf('#');
    const code = (hash >= 0 ? pasted.slice(0, hash) : pasted).trim();
    const state = hash >= 0 ? pasted.slice(hash + 1).trim() : '';
    prune(Date.now());
    const p = pending.get(state);
    // The state binds the code to a login this server started, for this same caller.
    if (!code || !p || p.userId !== callerOf(req).userId) {
      throw new AppError('invalid_request', 'Unknown or expired login; POST /auth/login again');
    }
    pending.delete(state);
    const tokens = await exchangeCode(oauthClientOf(deps.config.current()), p.login, code);
    await store.save(tokens);
    req.log.info({ userId: p.userId }, 'Claude OAuth login completed');
    return { success: true };
  });
}
