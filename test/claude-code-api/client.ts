import { claudeCodeApiSurface } from '../../src/surfaces/claude-code-api/index.ts';
import { healthSurface } from '../../src/surfaces/health/index.ts';

/** The surfaces a claude-code-api server serves: the shared /health and this API. */
export const surfaces = [healthSurface, claudeCodeApiSurface];

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: tests read loosely shaped JSON answers
  body: any;
}

/** One HTTP call with an `x-api-key` (or any headers); the body is sent as given when a string. */
export async function call(
  baseUrl: string,
  method: string,
  path: string,
  opts: { key?: string; bearer?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers['x-api-key'] = opts.key;
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: kept as text for the assertion message
  }
  return { status: res.status, headers: res.headers, body: parsed };
}
