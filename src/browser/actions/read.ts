import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { captureViewportPng, MAX_SCREENSHOT_SIDE } from '../screenshot.ts';
import { LIST_INTERACTIVE_ELEMENTS } from './interactive-elements.ts';
import { BINARY, defineAction } from './types.ts';

const TEXT_LIMIT = 10_000;

const side = z.number().int().min(1).max(MAX_SCREENSHOT_SIDE);

export const getText = defineAction({
  name: 'get_text',
  description: 'Visible text of the page body (first 10,000 characters) and its full length.',
  params: z.object({}),
  async run({ page }) {
    // innerText, not textContent: the seed promises the *visible* text.
    const text = await page.evaluate(() => document.body?.innerText ?? '');
    return { text: text.slice(0, TEXT_LIMIT), length: text.length };
  },
});

export const getHtml = defineAction({
  name: 'get_html',
  description: 'Full HTML of the current page.',
  params: z.object({}),
  async run({ page }) {
    const html = await page.content();
    return { html, length: html.length };
  },
});

export const screenshot = defineAction({
  name: 'screenshot',
  description: 'PNG of the viewport, base64-encoded (GET …/screenshot/browser returns the raw image).',
  params: z.object({
    whLargest: side.optional().describe('Scale so the larger side is this (aspect kept)'),
    width: side.optional().describe('Width; with height: exact size, alone: aspect kept'),
    height: side.optional(),
  }),
  async run({ page, timeoutMs, resizePng }, size) {
    const png = await captureViewportPng(page, size, timeoutMs, resizePng);
    return {
      format: 'png',
      width: png.readUInt32BE(16),
      height: png.readUInt32BE(20),
      image: png.toString('base64'),
    };
  },
});

export const evalJs = defineAction({
  name: 'eval_js',
  description: 'Evaluate a JavaScript expression in the page and return its JSON-serialisable result.',
  params: z.object({ expression: z.string().min(1).describe('e.g. "document.title"') }),
  async run({ page }, { expression }) {
    const result = await page.evaluate(expression);
    return { result: result === undefined ? null : result };
  },
});

export const getInteractiveElements = defineAction({
  name: 'get_interactive_elements',
  description:
    'Buttons, links, inputs, selects … with a selector and the viewport coordinates of their centre (for system_click).',
  params: z.object({ visible_only: z.boolean().default(true) }),
  async run({ page }, { visible_only }) {
    const elements = (await page.evaluate(`(${LIST_INTERACTIVE_ELEMENTS})(${visible_only})`)) as unknown[];
    return { count: elements.length, elements };
  },
});

export const saveScreenshot = defineAction({
  name: 'save_screenshot',
  description:
    'Capture the viewport (type "browser"; "desktop" is the same image). In run_script, output_id collects it as a PNG data URI.',
  params: z.object({
    type: z.enum(['browser', 'desktop']).default('browser'),
    whLargest: side.optional(),
    width: side.optional(),
    height: side.optional(),
    path: z.string().optional(),
  }),
  async run({ page, timeoutMs, resizePng }, { type, path, ...size }) {
    if (path !== undefined) {
      // The original writes to its container's disk; here that would be the server's.
      throw new AppError(
        'invalid_request',
        'save_screenshot cannot write files here: use output_id in run_script, or GET …/screenshot/browser',
      );
    }
    const png = await captureViewportPng(page, size, timeoutMs, resizePng);
    return {
      type,
      size: png.length,
      width: png.readUInt32BE(16),
      height: png.readUInt32BE(20),
      [BINARY]: png,
    };
  },
});
