import { AppError, type ErrorCode } from '../errors.ts';

/**
 * An AppError that also names its S3 error code (NoSuchKey, BadDigest, …): the store is
 * S3-shaped, so it knows which of S3's codes a failure is; the S3 surface renders it and
 * every other caller sees a plain AppError.
 */
export class StorageError extends AppError {
  constructor(
    code: ErrorCode,
    readonly s3Code: string,
    message: string,
    /** When S3's status differs from the code's usual one (416, 501, …). */
    readonly status?: number,
  ) {
    super(code, message);
  }
}
