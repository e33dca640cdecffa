import type { Surface } from '../../app.ts';
import { parseBodiesAsJson, passBodiesAsStreams } from '../../http/json-body.ts';
import { authenticateClaudebox } from './auth.ts';
import { registerControlRoutes, registerHealthRoute } from './control-routes.ts';
import { renderClaudeboxError } from './errors.ts';
import { registerFilesRoutes } from './files-routes.ts';
import { RecentRuns } from './recent-runs.ts';
import { registerRunRoutes } from './run-routes.ts';

/** Run requests are prompts plus options; this bounds them (prompt length is checked separately). */
const RUN_BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/**
 * The claudebox surface (/claudebox/*): runs, control and the files API. JSON routes and
 * file routes live in sibling scopes because they parse bodies differently (JSON whatever
 * the label vs raw streams).
 */
export const claudeboxSurface: Surface = async (scope, deps) => {
  const recent = new RecentRuns();
  scope.setErrorHandler(renderClaudeboxError);
  registerHealthRoute(scope, deps);
  await scope.register(async (json) => {
    parseBodiesAsJson(json, RUN_BODY_LIMIT_BYTES);
    json.addHook('onRequest', async (req) => {
      await authenticateClaudebox(deps, req);
    });
    registerRunRoutes(json, deps, recent);
    registerControlRoutes(json, deps, recent);
  });
  await scope.register(async (files) => {
    passBodiesAsStreams(files);
    files.addHook('onRequest', async (req) => {
      await authenticateClaudebox(deps, req);
    });
    registerFilesRoutes(files, deps);
  });
};
