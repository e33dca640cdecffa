import type { FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { ErrorCode } from '../../errors.ts';
import { httpStatusOf } from '../../errors.ts';
import { prepareErrorReply, toAppError } from '../../http/errors.ts';
import { parseBodiesAsJson } from '../../http/json-body.ts';
import type { Surface } from '../../http/surface.ts';
import { registerKeyRoutes } from './keys-routes.ts';
import { registerLiteLlmRoutes } from './litellm-routes.ts';
import { registerUsageRoutes } from './usage-routes.ts';

const BODY_LIMIT_BYTES = 256 * 1024;

function useZod(scope: FastifyInstance): void {
  scope.setValidatorCompiler(validatorCompiler);
  scope.setSerializerCompiler(serializerCompiler);
  parseBodiesAsJson(scope, BODY_LIMIT_BYTES);
}

/**
 * The control plane: the keys API and usage (/admin/*, /usage; errors `{error:{code,
 * message}}`) and LiteLLM's key routes (/key/*, /spend/logs; errors in LiteLLM's shape).
 * Route schemas are zod, so the OpenAPI document can describe them.
 */
export const adminSurface: Surface = async (app, deps) => {
  await app.register(async (scope) => {
    useZod(scope);
    scope.setErrorHandler((err, req, reply) => {
      const appErr = toAppError(err, req);
      prepareErrorReply(appErr, reply);
      return reply.send({ error: { code: appErr.code, message: appErr.message } });
    });
    registerKeyRoutes(scope, deps);
    registerUsageRoutes(scope, deps);
  });
  await app.register(async (scope) => {
    useZod(scope);
    scope.setErrorHandler((err, req, reply) => {
      const appErr = toAppError(err, req);
      prepareErrorReply(appErr, reply);
      const status = httpStatusOf[appErr.code];
      // LiteLLM's ProxyException body: scripts read error.message and error.code (the status, as text).
      return reply.send({
        error: { message: appErr.message, type: litellmType(appErr.code), param: null, code: String(status) },
      });
    });
    registerLiteLlmRoutes(scope, deps);
  });
};

function litellmType(code: ErrorCode): string {
  if (code === 'unauthorized' || code === 'forbidden') return 'auth_error';
  if (code === 'over_budget') return 'budget_exceeded';
  if (code === 'busy') return 'rate_limit_error';
  if (code === 'not_found') return 'not_found_error';
  return code === 'internal' ? 'internal_server_error' : 'bad_request_error';
}
