import { z } from 'zod';
import { defineAction, waitBudgetMs } from './types.ts';

const timeout = z.number().positive().optional().describe('Seconds (default 30, cut to the action timeout)');

export const waitForElement = defineAction({
  name: 'wait_for_element',
  description: 'Wait until an element matching a selector is visible, hidden, attached or detached.',
  params: z.object({
    selector: z.string().min(1),
    state: z.enum(['visible', 'hidden', 'attached', 'detached']).default('visible'),
    timeout,
  }),
  async run(ctx, { selector, state, timeout }) {
    await ctx.page.waitForSelector(selector, { state, timeout: waitBudgetMs(ctx, timeout) });
    return { selector, state };
  },
});

export const waitForText = defineAction({
  name: 'wait_for_text',
  description: "Wait until the page body's visible text contains the given text.",
  params: z.object({ text: z.string().min(1), timeout }),
  async run(ctx, { text, timeout }) {
    // innerText, not textContent: the seed promises the *visible* text.
    await ctx.page.waitForFunction((t) => document.body?.innerText.includes(t) ?? false, text, {
      timeout: waitBudgetMs(ctx, timeout),
      polling: 100,
    });
    return { text, found: true };
  },
});

export const waitForUrl = defineAction({
  name: 'wait_for_url',
  description: 'Wait until the page URL matches a glob (* within a segment, ** across) or exact URL.',
  params: z.object({ url: z.string().min(1), timeout }),
  async run(ctx, { url, timeout }) {
    await ctx.page.waitForURL(url, { timeout: waitBudgetMs(ctx, timeout) });
    return { url: ctx.page.url() };
  },
});

export const waitForNetworkIdle = defineAction({
  name: 'wait_for_network_idle',
  description: 'Wait until the page has made no network request for 500 ms.',
  params: z.object({ timeout }),
  async run(ctx, { timeout }) {
    await ctx.page.waitForLoadState('networkidle', { timeout: waitBudgetMs(ctx, timeout) });
    return { idle: true };
  },
});
