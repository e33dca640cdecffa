import { BrowserService, type BrowserServiceOptions } from '../../browser/service.ts';
import { authenticateBodies } from '../../http/auth-first.ts';
import { parseBodiesAsJson } from '../../http/json-body.ts';
import type { Surface } from '../../http/surface.ts';
import { requireBrowserAuth } from './auth.ts';
import { registerMcpRoutes } from './mcp.ts';
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
 * The browser surface (/stealthy-auto-browse/*). `onService` lets tests reach the pool (to
 * crash a page on purpose) and `service` tune it (e.g. the address rule); the server uses
 * `browserSurface`.
 */
export function makeBrowserSurface(
  opts: { onService?: (service: BrowserService) => void; service?: BrowserServiceOptions } = {},
): Surface {
  return async (scope, deps) => {
    const service = new BrowserService(() => deps.config.current(), deps.logger, opts.service);
    opts.onService?.(service);
    // Chromium starts lazily on first use; closing the app closes it with every replica.
    scope.addHook('onClose', () => service.close());
    authenticateBodies(scope, (req) => requireBrowserAuth(deps, req));
    parseBodiesAsJson(scope, BODY_LIMIT_BYTES);
    scope.setErrorHandler(renderBrowserError);
    registerCorrelationHeaders(scope);
    registerActionRoutes(scope, deps, service);
    registerScreenshotRoutes(scope, deps, service);
    registerQueueRoutes(scope, deps, service);
    registerStateRoute(scope, deps, service);
    registerMcpRoutes(scope, deps, service);
  };
}

export const browserSurface: Surface = makeBrowserSurface();
