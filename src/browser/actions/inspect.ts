import type { Page } from 'playwright-core';
import { z } from 'zod';
import { defineAction } from './types.ts';

/**
 * DOM inspection without custom JavaScript (the original's get_page_info, get_element,
 * get_elements, get_computed_style).
 */

const TEXT_LIMIT = 10_000;
const SUMMARY_TEXT_LIMIT = 1_000;

const selector = z.string().min(1).describe('CSS selector, or xpath=… / text=…');

interface ElementSummary {
  tag: string;
  text: string;
  text_length: number;
  attributes: Record<string, string>;
  bounding_box: { x: number; y: number; width: number; height: number };
  visible: boolean;
}

/**
 * How many elements match, and the first `limit` as the original reports them: tag, text,
 * attributes, bounding box, visibility. The page function is an anonymous inline arrow on
 * purpose: tsx's keepNames wraps named functions in a helper the page does not have.
 */
async function describeMatches(
  page: Page,
  selector: string,
  limit: number,
  textLimit: number,
): Promise<{ count: number; elements: ElementSummary[] }> {
  const [count, elements] = await page.locator(selector).evaluateAll(
    (els, o) => {
      const out = els.slice(0, o.limit).map((el) => {
        const r = el.getBoundingClientRect();
        const style = window.getComputedStyle(el);
        const attributes: Record<string, string> = {};
        for (const a of Array.from(el.attributes)) attributes[a.name] = a.value;
        const text = ((el as HTMLElement).innerText ?? el.textContent ?? '').trim();
        return {
          tag: el.tagName.toLowerCase(),
          text: text.slice(0, o.textLimit),
          text_length: text.length,
          attributes,
          bounding_box: { x: r.x, y: r.y, width: r.width, height: r.height },
          visible: r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none',
        };
      });
      return [els.length, out] as const;
    },
    { limit, textLimit },
  );
  return { count, elements: [...elements] };
}

export const getPageInfo = defineAction({
  name: 'get_page_info',
  description: 'URL, title, ready state, viewport and document size, and scroll position.',
  params: z.object({}),
  async run({ page }) {
    return page.evaluate(`({
      url: location.href,
      title: document.title,
      ready_state: document.readyState,
      viewport: { width: innerWidth, height: innerHeight },
      document: {
        width: document.documentElement.scrollWidth,
        height: document.documentElement.scrollHeight,
      },
      scroll: { x: scrollX, y: scrollY },
    })`);
  },
});

export const getElement = defineAction({
  name: 'get_element',
  description: "The first matching element's tag, text, attributes, bounding box and visibility.",
  params: z.object({ selector }),
  async run({ page }, { selector }) {
    const { elements } = await describeMatches(page, selector, 1, TEXT_LIMIT);
    if (!elements[0]) throw new Error(`No element matches ${selector}`);
    return { selector, ...elements[0] };
  },
});

export const getElements = defineAction({
  name: 'get_elements',
  description:
    'Summaries (tag, text, attributes, bounding box, visibility) of up to `limit` matching elements.',
  params: z.object({ selector, limit: z.number().int().min(1).max(100).default(20) }),
  async run({ page }, { selector, limit }) {
    const { count, elements } = await describeMatches(page, selector, limit, SUMMARY_TEXT_LIMIT);
    return { selector, count, returned: elements.length, elements };
  },
});

const CSS_PROPERTY = /^(--)?[a-zA-Z][a-zA-Z0-9-]*$/;

export const getComputedStyleOf = defineAction({
  name: 'get_computed_style',
  description:
    'Computed CSS values of the first matching element (default: display, visibility, color, background-color).',
  params: z.object({
    selector,
    properties: z
      .array(z.string().regex(CSS_PROPERTY, 'not a CSS property name'))
      .min(1)
      .max(50)
      .default(['display', 'visibility', 'color', 'background-color']),
  }),
  async run({ page }, { selector, properties }) {
    const [styles] = await page.locator(selector).evaluateAll(
      (els, props) =>
        els.slice(0, 1).map((el) => {
          const computed = window.getComputedStyle(el);
          const out: Record<string, string> = {};
          for (const p of props) out[p] = computed.getPropertyValue(p);
          return out;
        }),
      properties,
    );
    if (!styles) throw new Error(`No element matches ${selector}`);
    return { selector, styles };
  },
});
