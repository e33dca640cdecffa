import { type Logger, type LoggerOptions, pino } from 'pino';

/** Query parameters that carry credentials (presigned URLs, tokens in links). */
const SECRET_QUERY =
  /([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|token|access_token|key|api_key)=)[^&#]*/gi;

/** A URL as it may be logged: credential-bearing query values censored. */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  // Names are judged decoded: `X-Amz-Signatur%65` is the same parameter to the server.
  const query = url
    .slice(q)
    .replace(/([?&])([^=&#]*)/g, (_m, sep: string, name: string) => `${sep}${safeDecode(name)}`);
  return url.slice(0, q) + query.replace(SECRET_QUERY, '$1[redacted]');
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Secrets never reach logs: credentials in headers, query strings and known secret fields are censored. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options: LoggerOptions = {
    level,
    serializers: {
      req(req: { method?: string; url?: string; hostname?: string; ip?: string }) {
        return {
          method: req.method,
          url: loggableUrl(req.url ?? ''),
          host: req.hostname,
          remoteAddress: req.ip,
        };
      },
    },
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
  };
  return destination ? pino(options, destination) : pino(options);
}
