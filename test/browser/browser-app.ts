import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { BrowserService, BrowserServiceOptions } from '../../src/browser/service.ts';
import { browserSurface } from '../../src/surfaces/browser/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { type FixtureServer, startFixtureServer } from './fixture-server.ts';

export const TOKEN = 'browser-test-token';
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface BrowserTestApp {
  app: TestApp;
  service: BrowserService;
  fixture: FixtureServer;
  /**
   * POSTs an action body. With no options it is the test's one default caller, which keeps
   * its INSTANCEID like a client with a cookie jar; `cookie` pins a replica explicitly,
   * `token` speaks as another principal, `newCaller` sends no cookie at all.
   */
  act(body: unknown, opts?: ActOptions): Promise<ActionResponse>;
  close(): Promise<void>;
}

export interface ActOptions {
  cookie?: string;
  token?: string | null;
  newCaller?: boolean;
}

export interface ActionResponse {
  status: number;
  body: {
    success: boolean;
    action?: string;
    data?: Record<string, unknown> & { [k: string]: unknown };
    error?: string;
    code?: string;
  };
  /** `INSTANCEID=…` from Set-Cookie, when the response pinned the caller. */
  cookie: string | undefined;
}

/**
 * The real app with only the browser surface, plus a fixture site. Fails loudly without
 * Chromium. `service` reaches BrowserService's test options (e.g. the address rule).
 */
export async function startBrowserApp(
  env: Record<string, string> = {},
  service?: BrowserServiceOptions,
): Promise<BrowserTestApp> {
  assert.ok(
    existsSync(CHROMIUM_PATH),
    `Chromium is required for the browser tests and was not found at ${CHROMIUM_PATH}: apt-get install -y chromium`,
  );
  const app = await startTestApp({
    surfaces: [browserSurface],
    ...(service ? { browser: service } : {}),
    env: {
      STEALTHY_AUTO_BROWSE_AUTH_TOKEN: TOKEN,
      STEALTHY_AUTO_BROWSE_NUM_REPLICAS: '1',
      STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE: '1',
      STEALTHY_AUTO_BROWSE_ACTION_TIMEOUT_MS: '10000',
      CHROMIUM_PATH,
      ...env,
    },
  });
  const fixture = await startFixtureServer();
  const browserService = app.deps.browser;
  let jar: string | undefined;
  const act = async (body: unknown, opts: ActOptions = {}) => {
    const isDefaultCaller = opts.cookie === undefined && opts.token === undefined && !opts.newCaller;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = opts.token === undefined ? TOKEN : opts.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const cookie = isDefaultCaller ? jar : opts.cookie;
    if (cookie) headers.cookie = cookie;
    const res = await fetch(`${app.url}/stealthy-auto-browse/`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    const setCookie = res.headers.get('set-cookie');
    const newCookie = setCookie ? setCookie.split(';')[0] : undefined;
    if (isDefaultCaller && newCookie) jar = newCookie;
    return {
      status: res.status,
      body: (await res.json()) as ActionResponse['body'],
      cookie: newCookie,
    };
  };
  return {
    app,
    service: browserService,
    fixture,
    act,
    async close() {
      await app.close();
      await fixture.close();
    },
  };
}

/** Asserts an action succeeded, showing the server's error when it did not. */
export function ok(res: ActionResponse): Record<string, unknown> {
  assert.equal(res.body.success, true, `expected success, got ${res.status}: ${JSON.stringify(res.body)}`);
  assert.equal(res.status, 200);
  return res.body.data ?? {};
}
