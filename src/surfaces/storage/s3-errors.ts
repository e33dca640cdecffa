import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AppError, httpStatusOf } from '../../errors.ts';
import { StorageError } from '../../storage/storage-error.ts';
import { escapeXml } from './xml.ts';

/** S3's error code for each engine code, when the error does not name its own. */
const S3_CODE: Record<AppError['code'], string> = {
  unauthorized: 'AccessDenied',
  forbidden: 'AccessDenied',
  invalid_request: 'InvalidRequest',
  not_found: 'NoSuchKey',
  conflict: 'OperationAborted',
  busy: 'SlowDown',
  queue_full: 'SlowDown',
  disabled: 'ServiceUnavailable',
  payload_too_large: 'EntityTooLarge',
  timeout: 'RequestTimeout',
  unavailable: 'ServiceUnavailable',
  over_budget: 'AccessDenied',
  internal: 'InternalError',
};

/** Shorthand for the errors routes throw. */
export function s3Error(s3Code: string, message: string, status?: number): StorageError {
  const code: AppError['code'] =
    status === 404
      ? 'not_found'
      : s3Code === 'AccessDenied' || s3Code === 'SignatureDoesNotMatch' || s3Code === 'RequestTimeTooSkewed'
        ? 'forbidden'
        : s3Code === 'InvalidAccessKeyId'
          ? 'forbidden'
          : 'invalid_request';
  return new StorageError(code, s3Code, message, status);
}

export function s3StatusOf(err: AppError): number {
  if (err instanceof StorageError && err.status !== undefined) return err.status;
  // S3 answers every auth failure with 403, including a missing credential.
  if (err.code === 'unauthorized') return 403;
  if (err.code === 'payload_too_large') return 400;
  return httpStatusOf[err.code];
}

/** Renders an error as S3's XML body (no body for HEAD, as S3 does). */
export function sendS3Error(
  err: AppError,
  req: FastifyRequest,
  reply: FastifyReply,
  resource: string,
): FastifyReply {
  const status = s3StatusOf(err);
  const code = err instanceof StorageError ? err.s3Code : S3_CODE[err.code];
  reply.status(status);
  if (err.retryAfterS !== undefined) reply.header('retry-after', String(Math.ceil(err.retryAfterS)));
  if (req.method === 'HEAD') return reply.send();
  reply.header('content-type', 'application/xml');
  return reply.send(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(err.message)}</Message><Resource>${escapeXml(resource)}</Resource><RequestId>${escapeXml(String(req.id))}</RequestId></Error>`,
  );
}
