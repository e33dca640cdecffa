import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { authenticateFirst } from '../../http/auth-first.ts';
import { useZodSchemas } from '../../http/openapi.ts';
import type { AppDeps, Surface } from '../../http/surface.ts';
import { apiCaller } from './auth.ts';
import { registerEventsRoute } from './events-route.ts';
import { registerRunRoutes } from './run-routes.ts';

/**
 * agentgate's own API (`/api/v1`): async runs, their resumable event streams, cancel and
 * webhooks, over the RunEngine port. Every request authenticates on `onRequest`, before a
 * byte of its body is read; requests and answers are validated by the zod schemas that
 * /openapi.json is generated from.
 */
export const apiSurface: Surface = async (app, deps: AppDeps) => {
  await app.register(
    async (scope) => {
      useZodSchemas(scope);
      scope.addHook(
        'onRequest',
        authenticateFirst((req) => apiCaller(deps, req)),
      );
      const typed = scope.withTypeProvider<ZodTypeProvider>();
      registerRunRoutes(typed, deps);
      registerEventsRoute(typed, deps);
    },
    { prefix: '/api/v1' },
  );
};
