import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { KeyStore } from '../auth/key-store.ts';
import type { ConfigSource } from '../config/index.ts';
import type { RunEngine } from '../engine/port.ts';
import type { SessionStore } from '../sessions/store.ts';
import type { WorkspaceFs } from '../workspaces/workspace-fs.ts';

/**
 * The server's model login as a surface sees it: how agents reach the model, and the one
 * act a surface may do on it (an admin's OAuth login replaces the token).
 */
export interface ModelLogin {
  method(): 'fake' | 'api_key' | 'oauth' | 'none';
  readonly isFake: boolean;
  setOAuthToken(token: string | undefined): void;
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
  workspaces: WorkspaceFs;
  sessions: SessionStore;
  engine: RunEngine;
  model: ModelLogin;
}

/** Each surface is one Fastify plugin that registers its own routes. */
export type Surface = (app: FastifyInstance, deps: AppDeps) => Promise<void>;
