import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config/index.ts';
import { AppError } from '../errors.ts';

/** The OAuth endpoints and client, from config (the Claude CLI's public values by default). */
export interface OAuthClientConfig {
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  redirectUri: string;
  scopes: string;
}

/** What the token endpoint hands back, normalised; `expiresAt` is epoch ms. */
export interface OAuthTokens {
  accessToken: string;
  refreshToken: string | undefined;
  expiresAt: number | undefined;
  scopes: string | undefined;
}

/** A pending login: the verifier stays on the server, only its S256 challenge goes out. */
export interface PkceLogin {
  state: string;
  verifier: string;
  url: string;
}

/** The OAuth client the server logs in as, from config (defaults are Claude Code's own). */
export function oauthClientOf(c: Config): OAuthClientConfig {
  return {
    authorizeUrl: c.OAUTH_AUTHORIZE_URL ?? 'https://claude.ai/oauth/authorize',
    tokenUrl: c.OAUTH_TOKEN_URL ?? 'https://console.anthropic.com/v1/oauth/token',
    clientId: c.OAUTH_CLIENT_ID,
    redirectUri: c.OAUTH_REDIRECT_URI ?? 'https://console.anthropic.com/oauth/code/callback',
    scopes: c.OAUTH_SCOPES,
  };
}

export function startPkceLogin(client: OAuthClientConfig): PkceLogin {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(client.authorizeUrl);
  // `code=true` makes claude.ai show the code (CODE#STATE) to paste, as the Claude CLI does.
  url.searchParams.set('code', 'true');
  url.searchParams.set('client_id', client.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', client.redirectUri);
  url.searchParams.set('scope', client.scopes);
  url.searchParams.set('code_challenge', challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  return { state, verifier, url: url.toString() };
}

export async function exchangeCode(
  client: OAuthClientConfig,
  login: PkceLogin,
  code: string,
): Promise<OAuthTokens> {
  return postToken(client, {
    grant_type: 'authorization_code',
    code,
    state: login.state,
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    code_verifier: login.verifier,
  });
}

export async function refreshTokens(client: OAuthClientConfig, refreshToken: string): Promise<OAuthTokens> {
  const tokens = await postToken(client, {
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: client.clientId,
  });
  // Some servers rotate the refresh token, others keep it: keep the old one when none comes back.
  return { ...tokens, refreshToken: tokens.refreshToken ?? refreshToken };
}

async function postToken(client: OAuthClientConfig, body: Record<string, string>): Promise<OAuthTokens> {
  let res: Response;
  try {
    res = await fetch(client.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new AppError('unavailable', `OAuth token endpoint unreachable: ${(err as Error).message}`);
  }
  const json = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (!res.ok || !json || typeof json.access_token !== 'string') {
    // The endpoint's own words help the user (expired code, wrong state); secrets are never echoed.
    const detail = typeof json?.error_description === 'string' ? json.error_description : json?.error;
    throw new AppError(
      'invalid_request',
      `OAuth token exchange failed (HTTP ${res.status}${detail ? `: ${String(detail)}` : ''})`,
    );
  }
  return {
    accessToken: json.access_token,
    refreshToken: typeof json.refresh_token === 'string' ? json.refresh_token : undefined,
    expiresAt: typeof json.expires_in === 'number' ? Date.now() + json.expires_in * 1000 : undefined,
    scopes: typeof json.scope === 'string' ? json.scope : undefined,
  };
}
