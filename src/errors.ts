/**
 * The one error type of the engine. Anything may throw it; each surface renders it in
 * its own protocol's shape at the edge (see surfaces/<name>/errors.ts).
 */
export type ErrorCode =
  | 'unauthorized'
  | 'forbidden'
  | 'invalid_request'
  | 'not_found'
  | 'conflict'
  | 'busy'
  | 'queue_full'
  | 'disabled'
  | 'payload_too_large'
  | 'timeout'
  | 'unavailable'
  | 'over_budget'
  | 'internal';

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** The HTTP status each code maps to on every surface that has no reason to differ. */
export const httpStatusOf: Record<ErrorCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  invalid_request: 400,
  not_found: 404,
  conflict: 409,
  busy: 429,
  queue_full: 429,
  disabled: 503,
  payload_too_large: 413,
  timeout: 504,
  unavailable: 503,
  // A key's budget is spent: 402 (Payment Required), as LiteLLM answers; OpenAI routes say 429.
  over_budget: 402,
  internal: 500,
};
