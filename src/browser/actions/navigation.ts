import type { Frame, Page } from 'playwright-core';
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

export const goto = defineAction({
  name: 'goto',
  description: 'Navigate the page to a URL. Returns the final URL, title and HTTP status.',
  params: z.object({
    url: z.string().min(1).describe('Absolute http(s) URL'),
    wait_until: waitUntil.describe('When navigation counts as done'),
  }),
  async run({ page, timeoutMs, allowPrivate, netGuard }, { url, wait_until }) {
    await netGuard.assertNavigable(url, allowPrivate);
    const response = await navigate(page, hostOf(url), () =>
      page.goto(url, { waitUntil: wait_until, timeout: timeoutMs }),
    );
    return { url: page.url(), title: await page.title(), status: response?.status() ?? null };
  },
});

export const browserAction = defineAction({
  name: 'browser_action',
  description: 'Browser chrome commands: back, forward, reload (alias refresh) or stop.',
  params: z.object({
    command: z.enum(['back', 'forward', 'reload', 'refresh', 'stop']).describe('What to do'),
    wait_until: waitUntil,
  }),
  async run({ page, timeoutMs }, { command, wait_until }) {
    const opts = { waitUntil: wait_until, timeout: timeoutMs };
    if (command === 'back') await navigate(page, undefined, () => page.goBack(opts));
    else if (command === 'forward') await navigate(page, undefined, () => page.goForward(opts));
    else if (command === 'stop') await page.evaluate(() => window.stop());
    else await navigate(page, hostOf(page.url()), () => page.reload(opts));
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
