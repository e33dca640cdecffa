import type { FastifyInstance } from 'fastify';
import { prepareErrorReply, toAppError } from '../../http/errors.ts';

/**
 * This API's error shape: `{success:false, error}` with the engine code's HTTP status and
 * Retry-After (a full queue answers 429 with it). Installed on the surface's own scope, so
 * every route of it, the auth hook and the JSON body parser included, answer alike.
 */
export function useClaudeCodeApiErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((err, req, reply) => {
    const appErr = toAppError(err, req);
    prepareErrorReply(appErr, reply);
    return reply.send({ success: false, error: appErr.message });
  });
}
