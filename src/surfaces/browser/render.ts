import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ActionResult, FailureCode } from '../../browser/run-action.ts';
import { httpStatusOf } from '../../errors.ts';
import { prepareErrorReply, toAppError } from '../../http/errors.ts';

/** The original service's envelope: `{success, timestamp, data}` or `{success: false, error}`. */
export function renderResult(result: ActionResult, reply: FastifyReply) {
  const timestamp = Date.now() / 1000;
  if (result.success) return { success: true, timestamp, action: result.action, data: result.data };
  reply.status(statusOf(result.code));
  if (result.code === 'queue_full' || result.code === 'unavailable') reply.header('retry-after', '1');
  return {
    success: false,
    timestamp,
    action: result.action,
    error: result.error,
    code: result.code,
    ...(result.data === undefined ? {} : { data: result.data }),
  };
}

export function statusOf(code: FailureCode): number {
  return code === 'action_failed' ? 422 : httpStatusOf[code];
}

/** Errors outside an action (auth, queue full, bad JSON) in the same envelope. */
export function renderBrowserError(err: FastifyError, req: FastifyRequest, reply: FastifyReply) {
  const appErr = toAppError(err, req);
  prepareErrorReply(appErr, reply);
  return reply.send({
    success: false,
    timestamp: Date.now() / 1000,
    error: appErr.message,
    code: appErr.code,
  });
}
