import type { TestApp } from '../helpers/app.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests read loosely shaped JSON answers
export type Json = any;

export interface Answer {
  status: number;
  headers: Headers;
  /** The answer parsed as JSON, or its text when it is not JSON. */
  body: Json;
  text: string;
}

/**
 * One request to the test server with a bearer key: a body is sent as JSON (a string is
 * sent as it is, for malformed-JSON attacks).
 */
export async function call(
  t: TestApp,
  method: string,
  path: string,
  key?: string,
  body?: unknown,
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${t.url}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // kept as text
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}
