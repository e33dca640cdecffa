import type { Config } from '../config/index.ts';
import type { ModelAccess } from './claude/environment.ts';

export type ModelAuthMethod = 'fake' | 'api_key' | 'oauth' | 'none';

/**
 * How agents reach their model, decided once from config and changed only by an OAuth
 * login: an API key (USE_CLAUDE_API_KEY=1 or any ANTHROPIC_API_KEY), an OAuth token, or
 * the built-in fake model when there are no credentials at all.
 */
export class ModelAuth {
  #oauthToken: string | undefined;
  #fakeModelUrl: string | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(
    private readonly config: Config,
    fakeModelUrl: string | undefined,
  ) {
    this.#oauthToken = config.CLAUDE_CODE_OAUTH_TOKEN;
    this.#fakeModelUrl = fakeModelUrl;
  }

  get isFake(): boolean {
    return this.#fakeModelUrl !== undefined;
  }

  /** Called whenever the credentials agents start with change (processes started before must go). */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  method(): ModelAuthMethod {
    if (this.#fakeModelUrl) return 'fake';
    if (this.config.ANTHROPIC_API_KEY && (this.config.USE_CLAUDE_API_KEY || !this.#oauthToken))
      return 'api_key';
    if (this.#oauthToken) return 'oauth';
    return 'none';
  }

  /** A fresh OAuth access token (after login or refresh); used by every later run. */
  setOAuthToken(token: string | undefined): void {
    if (token === this.#oauthToken) return;
    this.#oauthToken = token;
    // A login replaces the fake model the server fell back to, unless FAKE_MODEL forces it.
    if (token && !this.config.FAKE_MODEL) this.#fakeModelUrl = undefined;
    for (const l of this.#listeners) l();
  }

  access(): ModelAccess {
    if (this.#fakeModelUrl) return { baseUrl: this.#fakeModelUrl, apiKey: 'agentgate-fake-model' };
    const baseUrl = this.config.ANTHROPIC_BASE_URL;
    switch (this.method()) {
      case 'api_key':
        return { baseUrl, apiKey: this.config.ANTHROPIC_API_KEY };
      case 'oauth':
        return { baseUrl, oauthToken: this.#oauthToken };
      default:
        return { baseUrl };
    }
  }
}

/** No key, no token, no model endpoint of its own: the server runs on the built-in fake model. */
export function needsFakeModel(config: Config, hasStoredOAuth: boolean): boolean {
  if (config.FAKE_MODEL) return true;
  return (
    !config.ANTHROPIC_API_KEY &&
    !config.CLAUDE_CODE_OAUTH_TOKEN &&
    !config.ANTHROPIC_BASE_URL &&
    !hasStoredOAuth
  );
}
