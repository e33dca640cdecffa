import { type Logger, pino } from 'pino';

/** Secrets never reach logs: credentials in headers and known secret fields are censored. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'req.headers.cookie',
        'req.headers["x-amz-security-token"]',
        '*.apiKey',
        '*.token',
        '*.secret',
        '*.password',
      ],
      censor: '[redacted]',
    },
  });
}
