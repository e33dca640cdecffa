import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type OAuthClientConfig, type OAuthTokens, refreshTokens } from './oauth-pkce.ts';

/** Refresh this long before expiry, so a run starting just before never gets a dead token. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
const RETRY_AFTER_FAILURE_MS = 60_000;

export function credentialsPath(dataDir: string): string {
  return join(dataDir, 'auth', 'oauth-credentials.json');
}

/** The stored credentials, or undefined when there are none (or the file is unreadable). */
export async function readStoredOAuth(dataDir: string): Promise<OAuthTokens | undefined> {
  try {
    const json = JSON.parse(await readFile(credentialsPath(dataDir), 'utf8')) as Partial<OAuthTokens>;
    if (typeof json.accessToken !== 'string') return undefined;
    return {
      accessToken: json.accessToken,
      refreshToken: typeof json.refreshToken === 'string' ? json.refreshToken : undefined,
      expiresAt: typeof json.expiresAt === 'number' ? json.expiresAt : undefined,
      scopes: typeof json.scopes === 'string' ? json.scopes : undefined,
    };
  } catch {
    return undefined;
  }
}

/**
 * The server's Claude subscription login: kept in DATA_DIR/auth, readable by the server
 * user only, handed to the model-auth layer on every change and refreshed before expiry.
 */
export class OAuthCredentialStore {
  #tokens: OAuthTokens | undefined;
  #timer: NodeJS.Timeout | undefined;
  #isClosed = false;

  constructor(
    private readonly dataDir: string,
    private readonly client: () => OAuthClientConfig,
    private readonly onAccessToken: (token: string | undefined) => void,
    private readonly logger: Logger,
  ) {}

  get tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  /** Loads what a previous login stored and schedules its refresh. */
  async load(): Promise<void> {
    this.#tokens = await readStoredOAuth(this.dataDir);
    if (this.#tokens) this.onAccessToken(this.#tokens.accessToken);
    this.#schedule();
  }

  async save(tokens: OAuthTokens): Promise<void> {
    const file = credentialsPath(this.dataDir);
    await mkdir(join(this.dataDir, 'auth'), { recursive: true, mode: 0o700 });
    // Written to a 0600 temp file then renamed: the secret is never readable by others, even briefly.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(tokens), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, file);
    this.#tokens = tokens;
    this.onAccessToken(tokens.accessToken);
    this.#schedule();
  }

  close(): void {
    this.#isClosed = true;
    clearTimeout(this.#timer);
  }

  #schedule(delayMs?: number): void {
    clearTimeout(this.#timer);
    const t = this.#tokens;
    if (this.#isClosed || !t?.refreshToken || t.expiresAt === undefined) return;
    const dueIn = delayMs ?? Math.max(1000, t.expiresAt - Date.now() - REFRESH_MARGIN_MS);
    // setTimeout overflows past ~24.8 days; a long-lived token is simply re-checked then.
    this.#timer = setTimeout(() => void this.#refresh(), Math.min(dueIn, 2 ** 31 - 1));
    this.#timer.unref();
  }

  async #refresh(): Promise<void> {
    const refreshToken = this.#tokens?.refreshToken;
    if (!refreshToken || this.#isClosed) return;
    try {
      const fresh = await refreshTokens(this.client(), refreshToken);
      if (this.#isClosed) return;
      await this.save(fresh);
      this.logger.info({ expiresAt: fresh.expiresAt }, 'Claude OAuth token refreshed');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'Claude OAuth refresh failed; retrying');
      this.#schedule(RETRY_AFTER_FAILURE_MS);
    }
  }
}
