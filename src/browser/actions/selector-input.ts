import { z } from 'zod';
import { defineAction, waitBudgetMs } from './types.ts';

/** Selector-driven input through Playwright: faster and sure-footed, but detectable by behaviour. */

const selector = z.string().min(1).describe('CSS selector, or xpath=… / text=…');
const timeout = z
  .number()
  .positive()
  .optional()
  .describe('Seconds to wait for the element (default: the action timeout)');

export const click = defineAction({
  name: 'click',
  description: 'Click the element matching a selector (scrolled into view first).',
  params: z.object({ selector, timeout }),
  async run(ctx, { selector, timeout }) {
    await ctx.page.click(selector, { timeout: waitBudgetMs(ctx, timeout, ctx.timeoutMs / 1000) });
    return { clicked: selector };
  },
});

export const fill = defineAction({
  name: 'fill',
  description: "Replace an input's value with the given text.",
  params: z.object({ selector, value: z.string(), timeout }),
  async run(ctx, { selector, value, timeout }) {
    await ctx.page.fill(selector, value, { timeout: waitBudgetMs(ctx, timeout, ctx.timeoutMs / 1000) });
    return { filled: selector };
  },
});

export const type = defineAction({
  name: 'type',
  description: 'Type text into an element key by key through Playwright.',
  params: z.object({
    selector,
    text: z.string(),
    delay: z.number().min(0).max(2).default(0.05).describe('Seconds'),
    timeout,
  }),
  async run(ctx, { selector, text, delay, timeout }) {
    await ctx.page.locator(selector).pressSequentially(text, {
      delay: delay * 1000,
      timeout: waitBudgetMs(ctx, timeout, ctx.timeoutMs / 1000),
    });
    return { typed: selector };
  },
});
