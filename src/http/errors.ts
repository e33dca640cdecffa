import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, httpStatusOf } from '../errors.ts';

/**
 * Turns anything thrown into an AppError: Fastify's own errors (body too large, bad
 * content) keep their meaning, anything unknown becomes `internal` and its stack goes
 * to the log only.
 */
export function toAppError(err: unknown, req: FastifyRequest): AppError {
  if (err instanceof AppError) return err;
  const fe = err as Partial<FastifyError>;
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || fe.statusCode === 413) {
    return new AppError('payload_too_large', 'Request body is too large');
  }
  if (
    fe.validation ||
    fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ||
    fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY'
  ) {
    return new AppError('invalid_request', fe.message ?? 'Invalid request');
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new AppError(
      fe.statusCode === 404 ? 'not_found' : 'invalid_request',
      fe.message ?? 'Invalid request',
    );
  }
  req.log.error({ err }, 'unhandled error');
  return new AppError('internal', `Internal error (request ${req.id})`);
}

/** Sets status and Retry-After for an AppError; the body is the surface's to shape. */
export function prepareErrorReply(err: AppError, reply: FastifyReply): number {
  const status = httpStatusOf[err.code];
  if (err.retryAfterS !== undefined)
    reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterS))));
  reply.status(status);
  return status;
}
