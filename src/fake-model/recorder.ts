import { createHash } from 'node:crypto';

/** Keeps what the fake model received, so tests can assert what the agent really sent. */

export interface RecordedRequest {
  method: string;
  /** Path without the query string (Claude Code appends `?beta=true`). */
  path: string;
  url: string;
  /** Credentials are replaced, never kept: recordings end up in logs and fixtures. */
  headers: Record<string, string | string[] | undefined>;
  /**
   * A short SHA-256 digest of each credential header, so a test can tell which credential
   * arrived (the relay's swap) without the recording holding it.
   */
  credentialDigests: Record<string, string>;
  body: unknown;
  receivedAt: string;
  /** How long the fake model took to answer, by its own clock (set once the answer is sent). */
  answerMs?: number;
}

const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'proxy-authorization', 'cookie']);

export class RequestRecorder {
  #requests: RecordedRequest[] = [];

  /** Keeps the request; the returned record is the kept one, so its answer time can be added. */
  record(request: {
    method: string;
    url: string;
    headers: RecordedRequest['headers'];
    body: unknown;
  }): RecordedRequest {
    const headers: RecordedRequest['headers'] = {};
    const credentialDigests: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      const isSecret = SECRET_HEADERS.has(name.toLowerCase());
      headers[name] = isSecret ? '[redacted]' : value;
      if (isSecret && typeof value === 'string')
        credentialDigests[name.toLowerCase()] = credentialDigest(value);
    }
    const recorded: RecordedRequest = {
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      url: request.url,
      headers,
      credentialDigests,
      body: request.body ?? null,
      receivedAt: new Date().toISOString(),
    };
    this.#requests.push(recorded);
    return recorded;
  }

  list(): RecordedRequest[] {
    return structuredClone(this.#requests);
  }

  clear(): void {
    this.#requests = [];
  }
}

/** The first 16 hex digits of a credential's SHA-256. */
export function credentialDigest(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}
