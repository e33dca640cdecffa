import { request } from 'node:http';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { agentProcessesUnder } from '../helpers/processes.ts';

export const TOKEN = 'claudebox-test-token';
export const MASTER = 'litellm-master-key';
export const AUTH = { authorization: `Bearer ${TOKEN}` };

export function startClaudeboxApp(env: Record<string, string> = {}): Promise<TestApp> {
  return startTestApp({
    surfaces: [claudeboxSurface],
    env: { CLAUDEBOX_API_TOKEN: TOKEN, LITELLM_MASTER_KEY: MASTER, ...env },
  });
}

/** POST /claudebox/run the way the seed's curl does: JSON labelled as a form. */
export async function run(
  t: TestApp,
  body: Record<string, unknown>,
  init: { signal?: AbortSignal } = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${t.url}/claudebox/run`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' },
    body: JSON.stringify(body),
    signal: init.signal,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A request with the path sent exactly as written (fetch would normalise `..` and `%2e`). */
export function rawRequest(
  t: TestApp,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; text: string }> {
  const { port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: AUTH }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls until `check` holds (or throws after `withinMs`). */
export async function eventually<T>(check: () => Promise<T | undefined>, withinMs = 10_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Agent processes started since `before` that are still alive, after waiting for them to go.
 * Processes parked for reuse by earlier runs are in `before` and do not count.
 */
export async function newProcessesLeft(
  t: TestApp,
  before: readonly number[],
  withinMs = 3000,
): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = (await agentProcessesUnder(t.dataDir)).filter((p) => !before.includes(p));
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function status(t: TestApp): Promise<{
  running: Array<{ workspace: string; runId: string }>;
  recent: Array<{ workspace: string; runId: string; status: string }>;
}> {
  const res = await fetch(`${t.url}/claudebox/status`, { headers: AUTH });
  return (await res.json()) as Awaited<ReturnType<typeof status>>;
}
