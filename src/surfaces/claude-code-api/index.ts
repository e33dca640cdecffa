import { parseBodiesAsJson } from '../../http/json-body.ts';
import type { Surface } from '../../http/surface.ts';
import { registerAuthRoutes } from './auth-routes.ts';
import { requireCaller } from './caller.ts';
import { useClaudeCodeApiErrors } from './errors.ts';
import { registerRunRoute } from './run-route.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { registerUserMemoryRoutes, UserMemoryStore } from './user-memory.ts';

/**
 * The claude-code-api protocol (seed 001): /run, /status, /session, /user-claude, /auth/*.
 * Its GET /health is the engine's (surfaces/health), shared with every other surface.
 */
export const claudeCodeApiSurface: Surface = async (scope, deps) => {
  const c = deps.config.current();
  useClaudeCodeApiErrors(scope);
  // Room for a maximal prompt (up to 4 bytes a character) plus JSON framing.
  parseBodiesAsJson(scope, Math.max(1024 * 1024, c.MAX_PROMPT_CHARS * 4 + 64 * 1024));
  requireCaller(scope, deps);

  const memory = new UserMemoryStore(c.DATA_DIR);
  registerRunRoute(scope, deps, memory);
  registerSessionRoutes(scope, deps);
  registerUserMemoryRoutes(scope, memory);
  registerAuthRoutes(scope, deps);
};
