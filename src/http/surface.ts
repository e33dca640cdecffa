import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { KeyStore } from '../auth/key-store.ts';
import type { OAuthTokens } from '../auth/oauth-pkce.ts';
import type { BrowserService } from '../browser/service.ts';
import type { ConfigSource } from '../config/index.ts';
import type { RunEngine } from '../engine/port.ts';
import type { SessionStore } from '../sessions/store.ts';
import type { StorageService } from '../storage/service.ts';
import type { UsageLedger } from '../usage/ledger.ts';
import type { Webhooks } from '../webhooks/types.ts';
import type { WorkspaceFs } from '../workspaces/workspace-fs.ts';

/** How agents reach the model, as /health and /auth/status report it. */
export interface ModelLogin {
  method(): 'fake' | 'api_key' | 'oauth' | 'none';
  readonly isFake: boolean;
}

/**
 * The server's Claude subscription login (stored, refreshed before expiry, handed to the
 * agents by the composition root): a surface may see whether it exists and store a new one.
 */
export interface OAuthLogin {
  readonly tokens: Pick<OAuthTokens, 'expiresAt'> | undefined;
  save(tokens: OAuthTokens): Promise<void>;
}

/**
 * Everything a surface is given: interfaces only. Runs go through the `RunEngine` port;
 * no surface sees a backend, the database or a credential. Built by `createDeps` (the one
 * composition root); tests build the same graph with temp parts.
 */
export interface AppDeps {
  config: ConfigSource;
  logger: Logger;
  keys: KeyStore;
  /** Every run's tokens and cost against its key and user. */
  usage: UsageLedger;
  workspaces: WorkspaceFs;
  sessions: SessionStore;
  engine: RunEngine;
  model: ModelLogin;
  oauth: OAuthLogin;
  /** The browser replicas behind /stealthy-auto-browse (Chromium starts on first use). */
  browser: BrowserService;
  /** The object store behind /storage. */
  storage: Pick<StorageService, 'store' | 'uploads'>;
  /** Run webhooks (the Runs API's `webhookUrl`): checked, registered, delivered, listed. */
  webhooks: Webhooks;
}

/** Each surface is one Fastify plugin that registers its own routes. */
export type Surface = (app: FastifyInstance, deps: AppDeps) => Promise<void>;
