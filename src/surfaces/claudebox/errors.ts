import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { prepareErrorReply, toAppError } from '../../http/errors.ts';

/** Every claudebox error is `{error:{code,message}}` with the code's HTTP status. */
export function renderClaudeboxError(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) {
  const appErr = toAppError(err, req);
  prepareErrorReply(appErr, reply);
  // An upload cut off mid-body leaves unread bytes on the socket: close it after the answer.
  if (appErr.code === 'payload_too_large') reply.header('connection', 'close');
  return reply.send({ error: { code: appErr.code, message: appErr.message } });
}
