/**
 * Anthropic's error bodies, so `[[error:STATUS]]` fails the way the real API does.
 *
 * How Claude Code 2.1.330 reacts, measured against this server, so tests pick the right status:
 * - Fail fast (the run ends with an error result in under ~2 s): 400 (re-sent up to 5 times
 *   at once with fewer `anthropic-beta` flags, then given up), 403, 404 (sent twice),
 *   413, 422 and other 4xx.
 * - Retried with exponential backoff (~0.5, 1, 2, 4, 8, 16, 32+ s; 10 retries by default,
 *   i.e. minutes): 401, 408, 409, 429 and every 5xx including 500 and 529. Set
 *   CLAUDE_CODE_MAX_RETRIES=0 in claude's env to make them fail at the first answer.
 *   Claude Code honours `retry-after`/`retry-after-ms` and `x-should-retry: false`; this
 *   server sends none of them, like an overloaded API.
 * - An unreachable base URL is retried the same way, so a dead fake model hangs a run.
 */

export interface AnthropicErrorBody {
  type: 'error';
  error: { type: string; message: string };
  request_id: string;
}

// The types Anthropic documents per status; other 4xx use invalid_request_error, other 5xx api_error.
const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

export function anthropicErrorType(status: number): string {
  return ERROR_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

export function anthropicErrorBody(status: number, message?: string): AnthropicErrorBody {
  const type = anthropicErrorType(status);
  return {
    type: 'error',
    error: { type, message: message ?? `fake model: scripted ${status} ${type}` },
    request_id: `req_fake_${Date.now().toString(36)}`,
  };
}
