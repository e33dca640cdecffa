import { AppError, type ErrorCode, httpStatusOf } from '../../errors.ts';

/** OpenAI's error body; clients (the `openai` SDK, Open WebUI) read `type` and `code`. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: null; code: string };
}

/**
 * An AppError that names its OpenAI `code` explicitly: seed 000's table fixes codes
 * (`chat_endpoint_disabled`, `invalid_api_key`, …) that the engine's codes cannot express.
 */
export class OpenAiError extends AppError {
  constructor(
    code: ErrorCode,
    readonly openAiCode: string,
    message: string,
    readonly openAiType?: string,
    retryAfterS?: number,
  ) {
    super(code, message, retryAfterS);
  }
}

const TYPE_OF: Record<ErrorCode, string> = {
  unauthorized: 'invalid_request_error',
  forbidden: 'permission_error',
  invalid_request: 'invalid_request_error',
  not_found: 'invalid_request_error',
  conflict: 'conflict_error',
  busy: 'rate_limit_error',
  queue_full: 'rate_limit_error',
  disabled: 'service_unavailable_error',
  payload_too_large: 'invalid_request_error',
  timeout: 'timeout_error',
  unavailable: 'service_unavailable_error',
  over_budget: 'insufficient_quota',
  internal: 'server_error',
};

const CODE_OF: Record<ErrorCode, string> = {
  unauthorized: 'invalid_api_key',
  forbidden: 'permission_denied',
  invalid_request: 'invalid_request',
  not_found: 'not_found',
  conflict: 'workspace_busy',
  busy: 'rate_limit_exceeded',
  queue_full: 'rate_limit_exceeded',
  disabled: 'endpoint_disabled',
  payload_too_large: 'payload_too_large',
  timeout: 'timeout',
  unavailable: 'service_unavailable',
  over_budget: 'insufficient_quota',
  internal: 'internal_error',
};

export function renderOpenAiError(err: AppError): { status: number; body: OpenAiErrorBody } {
  const isExplicit = err instanceof OpenAiError;
  return {
    // OpenAI answers a spent quota with 429 `insufficient_quota`, and its clients expect that.
    status: err.code === 'over_budget' ? 429 : httpStatusOf[err.code],
    body: {
      error: {
        message: err.message,
        type: (isExplicit && err.openAiType) || TYPE_OF[err.code],
        param: null,
        code: isExplicit ? err.openAiCode : CODE_OF[err.code],
      },
    },
  };
}

/** How a run that did not succeed is reported: the engine's status becomes an AppError. */
export function runFailure(status: string, message: string | undefined): AppError {
  if (status === 'timed_out') return new AppError('timeout', message ?? 'The run timed out');
  if (status === 'cancelled') return new AppError('unavailable', message ?? 'The run was cancelled');
  return new OpenAiError('internal', 'run_failed', message ?? 'The agent run failed', 'server_error');
}
