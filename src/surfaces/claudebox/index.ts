import type { FastifyInstance } from 'fastify';
import { parseBodiesAsJson, passBodiesAsStreams } from '../../http/json-body.ts';
import type { AppDeps, Surface } from '../../http/surface.ts';
import { authenticateClaudebox } from './auth.ts';
import { registerControlRoutes, registerHealthRoute } from './control-routes.ts';
import { renderClaudeboxError } from './errors.ts';
import { registerFilesRoutes } from './files-routes.ts';
import { CLAUDEBOX_INSTANCES, type ClaudeboxInstance } from './instances.ts';
import { registerRunRoutes } from './run-routes.ts';

/** Run requests are prompts plus options; this bounds them (prompt length is checked separately). */
const RUN_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

export interface ClaudeboxPluginOptions {
  deps: AppDeps;
  instance: ClaudeboxInstance;
}

/**
 * One claudebox instance's routes (runs, control, files API), registered under its prefix.
 * JSON routes and file routes live in sibling scopes because they parse bodies differently
 * (JSON whatever the label vs raw streams).
 */
export async function claudeboxPlugin(scope: FastifyInstance, opts: ClaudeboxPluginOptions): Promise<void> {
  const { deps, instance } = opts;
  scope.setErrorHandler(renderClaudeboxError);
  registerHealthRoute(scope, deps);
  await scope.register(async (json) => {
    parseBodiesAsJson(json, RUN_BODY_LIMIT_BYTES);
    json.addHook('onRequest', async (req) => {
      await authenticateClaudebox(deps, req, instance);
    });
    registerRunRoutes(json, deps, instance);
    registerControlRoutes(json, deps);
  });
  await scope.register(async (files) => {
    passBodiesAsStreams(files);
    files.addHook('onRequest', async (req) => {
      await authenticateClaudebox(deps, req, instance);
    });
    registerFilesRoutes(files, deps);
  });
}

/** Seed 002's two instances: /claudebox/ (Claude) and /claudebox-zai/ (GLM through Z.ai). */
export const claudeboxSurface: Surface = async (scope, deps) => {
  for (const instance of CLAUDEBOX_INSTANCES) {
    await scope.register(claudeboxPlugin, { prefix: instance.prefix, deps, instance });
  }
};
