/** Keeps what the fake model received, so tests can assert what the agent really sent. */

export interface RecordedRequest {
  method: string;
  /** Path without the query string (Claude Code appends `?beta=true`). */
  path: string;
  url: string;
  /** Credentials are replaced, never kept: recordings end up in logs and fixtures. */
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  receivedAt: string;
}

const SECRET_HEADERS = new Set(['authorization', 'x-api-key', 'proxy-authorization', 'cookie']);

export class RequestRecorder {
  #requests: RecordedRequest[] = [];

  record(request: { method: string; url: string; headers: RecordedRequest['headers']; body: unknown }): void {
    const headers: RecordedRequest['headers'] = {};
    for (const [name, value] of Object.entries(request.headers)) {
      headers[name] = SECRET_HEADERS.has(name.toLowerCase()) ? '[redacted]' : value;
    }
    this.#requests.push({
      method: request.method,
      path: request.url.split('?')[0] ?? request.url,
      url: request.url,
      headers,
      body: request.body ?? null,
      receivedAt: new Date().toISOString(),
    });
  }

  list(): RecordedRequest[] {
    return structuredClone(this.#requests);
  }

  clear(): void {
    this.#requests = [];
  }
}
