import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { assertNavigable } from '../net-guard.ts';
import { defineAction } from './types.ts';

const waitUntil = z.enum(['load', 'domcontentloaded', 'networkidle', 'commit']).default('domcontentloaded');

/** Chromium's refusal of a guarded redirect or frame, in words the caller can act on. */
function explainNavigationError(err: unknown): never {
  const message = (err as Error).message ?? String(err);
  if (message.includes('ERR_BLOCKED_BY_CLIENT')) {
    throw new AppError('forbidden', 'Navigation refused: it led to a loopback or private address');
  }
  throw err;
}

export const goto = defineAction({
  name: 'goto',
  description: 'Navigate the page to a URL. Returns the final URL, title and HTTP status.',
  params: z.object({
    url: z.string().min(1).describe('Absolute http(s) URL'),
    wait_until: waitUntil.describe('When navigation counts as done'),
  }),
  async run({ page, timeoutMs, allowPrivate }, { url, wait_until }) {
    await assertNavigable(url, allowPrivate);
    const response = await page
      .goto(url, { waitUntil: wait_until, timeout: timeoutMs })
      .catch(explainNavigationError);
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
    if (command === 'back') await page.goBack(opts).catch(explainNavigationError);
    else if (command === 'forward') await page.goForward(opts).catch(explainNavigationError);
    else if (command === 'stop') await page.evaluate(() => window.stop());
    else await page.reload(opts).catch(explainNavigationError);
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
