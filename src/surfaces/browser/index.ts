import { authenticateBodies } from '../../http/auth-first.ts';
import { parseBodiesAsJson } from '../../http/json-body.ts';
import type { Surface } from '../../http/surface.ts';
import { requireBrowserAuth } from './auth.ts';
import { browserAggregate, guardBrowserMcp, registerMcpRoutes } from './mcp.ts';
import { renderBrowserError } from './render.ts';
import {
  registerActionRoutes,
  registerCorrelationHeaders,
  registerQueueRoutes,
  registerScreenshotRoutes,
  registerStateRoute,
} from './routes.ts';

/** run_script bodies are small JSON; this bounds them. */
const BODY_LIMIT_BYTES = 1024 * 1024;

/**
 * The browser surface (/stealthy-auto-browse/*) over the BrowserService the composition
 * root built (it closes it, with every replica).
 */
export const browserSurface: Surface = async (scope, deps) => {
  const service = deps.browser;
  // A foreign Host or Origin on /mcp/ is refused before credentials are looked at.
  guardBrowserMcp(scope, deps);
  authenticateBodies(scope, (req) => requireBrowserAuth(deps, req));
  parseBodiesAsJson(scope, BODY_LIMIT_BYTES);
  scope.setErrorHandler(renderBrowserError);
  registerCorrelationHeaders(scope);
  registerActionRoutes(scope, deps, service);
  registerScreenshotRoutes(scope, deps, service);
  registerQueueRoutes(scope, deps, service);
  registerStateRoute(scope, deps, service);
  registerMcpRoutes(scope, deps, service);
  scope.mcpCatalog.add(browserAggregate(service));
};
