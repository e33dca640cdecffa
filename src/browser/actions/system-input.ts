import type { Page } from 'playwright-core';
import { z } from 'zod';
import { defineAction } from './types.ts';

/**
 * Real input events at viewport coordinates (Input.dispatchMouseEvent/KeyEvent through
 * page.mouse/page.keyboard): the page receives trusted events exactly as from a user,
 * never DOM calls on an element.
 */

const lastPointer = new WeakMap<Page, { x: number; y: number }>();
const coord = z.number().finite().min(0);

const jitter = (base: number, spread = 0.3) => base * (1 - spread + Math.random() * 2 * spread);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Moves along a curved, eased path over `durationS`, like a hand does: a cubic Bézier whose
 * two control points sit off the straight line by a random 5–25% of the distance (so no
 * two paths are alike), ease-in-out progress, ±1 px jitter on every step but the last, and
 * jittered pauses between steps.
 */
async function humanMove(page: Page, x: number, y: number, durationS: number | undefined): Promise<void> {
  const from = lastPointer.get(page) ?? { x: 0, y: 0 };
  const totalMs = (durationS ?? 0.2 + Math.random() * 0.4) * 1000;
  const steps = Math.max(1, Math.min(60, Math.round(totalMs / 12)));
  const dx = x - from.x;
  const dy = y - from.y;
  const distance = Math.hypot(dx, dy);
  // Unit normal to the straight line; the control points sit 5–25% of the distance off it, either side.
  const nx = distance > 0 ? -dy / distance : 0;
  const ny = distance > 0 ? dx / distance : 0;
  const bow = () => (Math.random() < 0.5 ? -1 : 1) * (0.05 + Math.random() * 0.2) * distance;
  const bow1 = bow();
  const bow2 = bow();
  const c1 = { x: from.x + dx * 0.3 + nx * bow1, y: from.y + dy * 0.3 + ny * bow1 };
  const c2 = { x: from.x + dx * 0.7 + nx * bow2, y: from.y + dy * 0.7 + ny * bow2 };
  for (let i = 1; i <= steps; i++) {
    const t = i / steps;
    const e = t < 0.5 ? 2 * t * t : 1 - (-2 * t + 2) ** 2 / 2;
    const u = 1 - e;
    const bx = u ** 3 * from.x + 3 * u * u * e * c1.x + 3 * u * e * e * c2.x + e ** 3 * x;
    const by = u ** 3 * from.y + 3 * u * u * e * c1.y + 3 * u * e * e * c2.y + e ** 3 * y;
    const isLast = i === steps;
    const wobble = () => (isLast ? 0 : (Math.random() - 0.5) * 2);
    await page.mouse.move(isLast ? x : bx + wobble(), isLast ? y : by + wobble());
    if (totalMs > 0 && !isLast) await pause(jitter(totalMs / steps, 0.5));
  }
  lastPointer.set(page, { x, y });
}

export const mouseMove = defineAction({
  name: 'mouse_move',
  description: 'Move the mouse to viewport coordinates along a human-like path, without clicking (hover).',
  params: z.object({
    x: coord,
    y: coord,
    duration: z.number().min(0).max(10).optional().describe('Seconds'),
  }),
  async run({ page }, { x, y, duration }) {
    await humanMove(page, x, y, duration);
    return { moved_to: { x, y } };
  },
});

export const systemClick = defineAction({
  name: 'system_click',
  description: 'Move the mouse to viewport coordinates (from get_interactive_elements) and click there.',
  params: z.object({
    x: coord,
    y: coord,
    duration: z.number().min(0).max(10).optional().describe('Seconds for the move'),
    button: z.enum(['left', 'right', 'middle']).default('left'),
    clicks: z.number().int().min(1).max(3).default(1),
  }),
  async run({ page }, { x, y, duration, button, clicks }) {
    await humanMove(page, x, y, duration);
    await page.mouse.click(x, y, { button, clickCount: clicks, delay: Math.round(jitter(60)) });
    return { system_clicked: { x, y } };
  },
});

export const mouseClick = defineAction({
  name: 'mouse_click',
  description: 'Click at coordinates without a move first, or where the mouse is when x/y are omitted.',
  params: z.object({ x: coord.optional(), y: coord.optional() }),
  async run({ page }, { x, y }) {
    const at = x !== undefined && y !== undefined ? { x, y } : undefined;
    const where = at ?? lastPointer.get(page) ?? { x: 0, y: 0 };
    await page.mouse.click(where.x, where.y);
    lastPointer.set(page, where);
    return { clicked_at: at ?? 'current' };
  },
});

export const systemType = defineAction({
  name: 'system_type',
  description: 'Type text as real key presses into whatever has focus (click the field first).',
  params: z.object({
    text: z.string(),
    interval: z.number().min(0).max(2).default(0.08).describe('Base seconds between keys, jittered'),
  }),
  async run({ page }, { text, interval }) {
    for (const ch of text) {
      // Each key is held a jittered moment, and the gaps between keys vary around `interval`.
      await page.keyboard.type(ch, { delay: Math.round(jitter(35, 0.5)) });
      if (interval > 0) await pause(jitter(interval * 1000, 0.4));
    }
    return { typed_len: text.length };
  },
});

/** PyAutoGUI's key names (what the seed's callers send) to Playwright's. */
const KEY_NAMES: Record<string, string> = {
  enter: 'Enter',
  return: 'Enter',
  tab: 'Tab',
  escape: 'Escape',
  esc: 'Escape',
  backspace: 'Backspace',
  delete: 'Delete',
  del: 'Delete',
  up: 'ArrowUp',
  down: 'ArrowDown',
  left: 'ArrowLeft',
  right: 'ArrowRight',
  home: 'Home',
  end: 'End',
  pageup: 'PageUp',
  pagedown: 'PageDown',
  insert: 'Insert',
  space: 'Space',
  ctrl: 'Control',
  control: 'Control',
  alt: 'Alt',
  shift: 'Shift',
  meta: 'Meta',
  cmd: 'Meta',
  command: 'Meta',
  win: 'Meta',
};

export function toPlaywrightKey(combo: string): string {
  return combo
    .split('+')
    .map((part) => {
      const k = part.trim();
      const lower = k.toLowerCase();
      if (KEY_NAMES[lower]) return KEY_NAMES[lower];
      if (/^f\d{1,2}$/.test(lower)) return lower.toUpperCase();
      return k;
    })
    .join('+');
}

export const sendKey = defineAction({
  name: 'send_key',
  description:
    'Press a key or combination, PyAutoGUI names: "enter", "tab", "escape", "ctrl+a", "shift+tab" …',
  params: z.object({ key: z.string().min(1) }),
  async run({ page }, { key }) {
    await page.keyboard.press(toPlaywrightKey(key), { delay: Math.round(jitter(40)) });
    return { send_key: key };
  },
});

export const scroll = defineAction({
  name: 'scroll',
  description: 'Mouse-wheel scroll; negative amount scrolls down (seed convention), optionally at x/y first.',
  params: z.object({
    amount: z.number().finite().default(-3).describe('Wheel notches; negative = down'),
    x: coord.optional(),
    y: coord.optional(),
  }),
  async run({ page }, { amount, x, y }) {
    if (x !== undefined && y !== undefined) await humanMove(page, x, y, 0.1);
    else if (!lastPointer.has(page)) {
      // Wheel events go to what is under the pointer: start from the viewport's centre.
      const vp = page.viewportSize() ?? { width: 1280, height: 720 };
      await page.mouse.move(vp.width / 2, vp.height / 2);
      lastPointer.set(page, { x: vp.width / 2, y: vp.height / 2 });
    }
    await page.mouse.wheel(0, -amount * 100);
    // Wheel scrolling is asynchronous in Chromium: let it land so the next action sees it.
    await page.waitForTimeout(150);
    return { scrolled: amount };
  },
});

/** Scrolls by viewport heights with window.scrollBy until the page stops moving, then back to the top. */
export const scrollToBottom = defineAction({
  name: 'scroll_to_bottom',
  description: 'Scroll the whole page down with JavaScript (to trigger lazy loading), then back to the top.',
  params: z.object({ delay: z.number().min(0).max(5).default(0.4).describe('Seconds between steps') }),
  async run({ page, timeoutMs }, { delay }) {
    const end = Date.now() + timeoutMs - 500;
    let previous = -1;
    let current = (await page.evaluate('scrollY')) as number;
    while (current !== previous && Date.now() < end) {
      previous = current;
      current = (await page.evaluate('scrollBy(0, innerHeight), scrollY')) as number;
      await pause(delay * 1000);
    }
    await page.evaluate('scrollTo(0, 0)');
    return { scrolled: 'bottom' };
  },
});

/** The same with real wheel input: a random number of notches per step, jittered pauses. */
export const scrollToBottomHumanized = defineAction({
  name: 'scroll_to_bottom_humanized',
  description:
    'Scroll to the bottom with mouse-wheel input of random size and jittered pauses, then back to the top.',
  params: z.object({
    min_clicks: z.number().int().min(1).max(50).default(2),
    max_clicks: z.number().int().min(1).max(50).default(6),
    delay: z.number().min(0).max(5).default(0.5).describe('Base seconds between steps, jittered'),
  }),
  async run({ page, timeoutMs }, { min_clicks, max_clicks, delay }) {
    const low = Math.min(min_clicks, max_clicks);
    const high = Math.max(min_clicks, max_clicks);
    if (!lastPointer.has(page)) {
      const vp = page.viewportSize() ?? { width: 1280, height: 720 };
      await humanMove(page, vp.width / 2, vp.height / 2, 0.2);
    }
    const end = Date.now() + timeoutMs - 1_000;
    while (Date.now() < end) {
      const before = (await page.evaluate('scrollY')) as number;
      const clicks = low + Math.floor(Math.random() * (high - low + 1));
      await page.mouse.wheel(0, clicks * 100);
      await pause(jitter(delay * 1000));
      if ((await page.evaluate('scrollY')) === before) break;
    }
    await page.evaluate('scrollTo(0, 0)');
    return { scrolled: 'bottom_humanized' };
  },
});
