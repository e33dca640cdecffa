import { errors, type Frame, type Page, type Response } from 'playwright-core';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { egressFailureSince } from '../replica-page.ts';
import { defineAction } from './types.ts';

const waitUntil = z.enum(['load', 'domcontentloaded', 'networkidle', 'commit']).default('domcontentloaded');

const isErrorPage = (page: Page) => (frame: Frame) =>
  frame === page.mainFrame() && frame.url().startsWith('chrome-error:');

/**
 * Runs one navigation and turns Chromium's refusal of a guarded target, frame or redirect
 * into words the caller can act on. Through the egress proxy every failed connection is
 * ERR_SOCKS_CONNECTION_FAILED; the page's proxy knows which host it was and why.
 *
 * Chromium commits its error page a few ms after Playwright reports a failed navigation,
 * and a goto started in between is "interrupted by another navigation": a failure returns
 * only once the error page is in.
 */
async function navigate<T>(page: Page, host: string | undefined, go: () => Promise<T>): Promise<T> {
  const since = Date.now();
  const onErrorPage = isErrorPage(page);
  let errorPageIn = false;
  const onNavigated = (frame: Frame) => {
    if (onErrorPage(frame)) errorPageIn = true;
  };
  page.on('framenavigated', onNavigated);
  try {
    return await go();
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (/net::ERR_(?!ABORTED)/.test(message) && !errorPageIn) {
      await page.waitForEvent('framenavigated', { predicate: onErrorPage, timeout: 1_000 }).catch(() => {});
    }
    if (message.includes('ERR_BLOCKED_BY_CLIENT')) {
      throw new AppError('forbidden', 'Navigation refused: it led to a loopback or private address');
    }
    const failure = message.includes('ERR_SOCKS_CONNECTION_FAILED')
      ? egressFailureSince(page, since, host)
      : undefined;
    if (failure?.kind === 'refused') {
      throw new AppError(
        'forbidden',
        `Navigation refused: it led to ${failure.reason} (private networks are off; STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE=1 allows them)`,
      );
    }
    if (failure) {
      const what =
        failure.kind === 'unresolved' ? 'net::ERR_NAME_NOT_RESOLVED' : 'net::ERR_CONNECTION_FAILED';
      throw new Error(`Navigation failed: ${what} (${failure.host})`);
    }
    throw err;
  } finally {
    page.off('framenavigated', onNavigated);
  }
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
}

/**
 * The original's navigation controls: each attempt gets `timeout` seconds (default 30), a
 * timed-out attempt is retried `retry_count` times (default 1) after `retry_delay` seconds
 * (default 1, doubling), and the worst case must fit in 120 s. Here every attempt is also
 * cut to what is left of the action's own deadline, so retries never overrun it.
 */
export const navigationControls = {
  wait_until: waitUntil.describe('When navigation counts as done'),
  timeout: z.number().min(0.1).max(120).default(30).describe('Seconds per attempt'),
  retry_count: z.number().int().min(0).max(2).default(1).describe('Retries after a timed-out attempt'),
  retry_delay: z.number().min(0).max(10).default(1).describe('Seconds before the first retry, doubling'),
};

export interface NavigationControls {
  timeout: number;
  retry_count: number;
  retry_delay: number;
}

function assertNavigationBudget({ timeout, retry_count, retry_delay }: NavigationControls): void {
  let worstS = timeout * (retry_count + 1);
  for (let i = 0; i < retry_count; i++) worstS += retry_delay * 2 ** i;
  if (worstS > 120) {
    throw new AppError(
      'invalid_request',
      `timeout, retry_count and retry_delay allow ${worstS} s of navigation; at most 120 s`,
    );
  }
}

/** Runs `attempt` with the original's retry rule (only timeouts retry), inside `budgetMs`. */
export async function withNavigationRetries<T>(
  controls: NavigationControls,
  budgetMs: number,
  attempt: (timeoutMs: number) => Promise<T>,
): Promise<T> {
  assertNavigationBudget(controls);
  const end = Date.now() + budgetMs;
  let delayMs = controls.retry_delay * 1000;
  for (let tries = 0; ; tries++) {
    const left = end - Date.now();
    try {
      return await attempt(Math.max(1, Math.min(controls.timeout * 1000, left)));
    } catch (err) {
      const isLast = tries >= controls.retry_count || end - Date.now() < delayMs + 100;
      if (!(err instanceof errors.TimeoutError) || isLast) throw err;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs *= 2;
    }
  }
}

export const goto = defineAction({
  name: 'goto',
  description: 'Navigate the page to a URL. Returns the final URL, title and HTTP status.',
  params: z.object({
    url: z.string().min(1).describe('Absolute http(s) URL'),
    referer: z.string().optional().describe('Referer header for this navigation'),
    ...navigationControls,
  }),
  async run({ page, timeoutMs, allowPrivate, netGuard }, params) {
    const { url, wait_until, referer } = params;
    await netGuard.assertNavigable(url, allowPrivate);
    const response = await withNavigationRetries(params, timeoutMs, (attemptMs) =>
      navigate(page, hostOf(url), () =>
        page.goto(url, { waitUntil: wait_until, timeout: attemptMs, ...(referer ? { referer } : {}) }),
      ),
    );
    return { url: page.url(), title: await page.title(), status: response?.status() ?? null };
  },
});

type WaitUntil = z.infer<typeof waitUntil>;

async function reload(page: Page, until: WaitUntil, timeoutMs: number): Promise<Response | null> {
  return navigate(page, hostOf(page.url()), () => page.reload({ waitUntil: until, timeout: timeoutMs }));
}

export const refresh = defineAction({
  name: 'refresh',
  description: 'Reload the current page. Returns its URL and title.',
  params: z.object(navigationControls),
  async run({ page, timeoutMs }, params) {
    await withNavigationRetries(params, timeoutMs, (attemptMs) => reload(page, params.wait_until, attemptMs));
    return { url: page.url(), title: await page.title() };
  },
});

export const ping = defineAction({
  name: 'ping',
  description: 'Health check: "pong" and the current page URL.',
  params: z.object({}),
  async run({ page }) {
    return { message: 'pong', url: page.url() };
  },
});

const chromeCommand = z.enum(['back', 'forward', 'reload', 'refresh', 'stop']);

/**
 * The seed lists browser_action without publishing its parameters, and the original service
 * has no such action. Callers name the command `browser_action` (the action's own name, as
 * tool-calling clients send it) or `command`; both are accepted.
 */
export const browserAction = defineAction({
  name: 'browser_action',
  description: 'Browser chrome commands: back, forward, reload (alias refresh) or stop.',
  params: z.object({
    browser_action: chromeCommand.optional().describe('What to do (also accepted as `command`)'),
    command: chromeCommand.optional().describe('Same as browser_action'),
    wait_until: waitUntil,
  }),
  async run({ page, timeoutMs }, params) {
    const command = params.browser_action ?? params.command;
    if (!command) {
      throw new AppError(
        'invalid_request',
        'browser_action needs `browser_action` (or `command`): back, forward, reload, refresh or stop',
      );
    }
    const opts = { waitUntil: params.wait_until, timeout: timeoutMs };
    if (command === 'back') await navigate(page, undefined, () => page.goBack(opts));
    else if (command === 'forward') await navigate(page, undefined, () => page.goForward(opts));
    else if (command === 'stop') await page.evaluate(() => window.stop());
    else await reload(page, params.wait_until, timeoutMs);
    return { command, url: page.url(), title: await page.title() };
  },
});

export const sleep = defineAction({
  name: 'sleep',
  description: 'Pause for a number of seconds (cut to the action timeout).',
  params: z.object({ duration: z.number().min(0).default(1).describe('Seconds') }),
  async run({ page, timeoutMs }, { duration }) {
    const ms = Math.min(timeoutMs, duration * 1000);
    await page.waitForTimeout(ms);
    return { slept: ms / 1000 };
  },
});
