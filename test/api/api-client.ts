import type { Surface } from '../../src/http/surface.ts';
import { apiSurface } from '../../src/surfaces/api/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { sseBlocks } from '../openai/sse-client.ts';

export const ALICE = 'alice-key';
export const BOB = 'bob-key';

/** The Runs API (plus any other surfaces) with two env keys: alice and bob. */
export function startApiApp(
  env: Record<string, string> = {},
  surfaces: readonly Surface[] = [],
): Promise<TestApp> {
  return startTestApp({
    surfaces: [apiSurface, ...surfaces],
    env: { API_KEYS: `alice:${ALICE},bob:${BOB}`, ...env },
  });
}

export async function api(
  t: TestApp,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${t.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return {
    status: res.status,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
    headers: res.headers,
  };
}

export interface SseMessage {
  id?: string;
  event?: string;
  data: string;
}

/** Parses a Server-Sent Events body into messages (comments skipped), as they arrive. */
export async function* sseMessages(res: Response): AsyncGenerator<SseMessage> {
  for await (const block of sseBlocks(res)) {
    const msg: SseMessage = { data: '' };
    let hasData = false;
    for (const line of block.split('\n')) {
      if (line.startsWith('id: ')) msg.id = line.slice(4);
      else if (line.startsWith('event: ')) msg.event = line.slice(7);
      else if (line.startsWith('data: ')) {
        msg.data = line.slice(6);
        hasData = true;
      }
    }
    if (hasData) yield msg;
  }
}

export function openEvents(
  t: TestApp,
  runId: string,
  key: string,
  opts: { lastEventId?: string; after?: number; signal?: AbortSignal } = {},
): Promise<Response> {
  const q = opts.after !== undefined ? `?after=${opts.after}` : '';
  return fetch(`${t.url}/api/v1/runs/${runId}/events${q}`, {
    headers: {
      authorization: `Bearer ${key}`,
      ...(opts.lastEventId !== undefined ? { 'last-event-id': opts.lastEventId } : {}),
    },
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}
