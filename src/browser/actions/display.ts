import { z } from 'zod';
import { defineAction } from './types.ts';

/**
 * The original's display actions exist for a real X display around a windowed Firefox.
 * Here input is dispatched at viewport coordinates and there is no window chrome, so
 * calibrate has nothing to measure (offset 0,0, what the original reports for a window
 * without chrome) and the "resolution" is the viewport. Fullscreen is the page's own
 * Fullscreen API, as the original drives it.
 */

export const calibrate = defineAction({
  name: 'calibrate',
  description:
    'Viewport-to-screen offset for system_click: always 0,0 here (input is dispatched at viewport coordinates).',
  params: z.object({}),
  async run() {
    return { window_offset: { x: 0, y: 0 } };
  },
});

export const getResolution = defineAction({
  name: 'get_resolution',
  description: 'Size of the display: the viewport, since there is no desktop around a headless browser.',
  params: z.object({}),
  async run({ page }) {
    return page.viewportSize() ?? { width: 1280, height: 720 };
  },
});

export const enterFullscreen = defineAction({
  name: 'enter_fullscreen',
  description: "Put the page's root element in fullscreen (the page's Fullscreen API).",
  params: z.object({}),
  async run({ page }) {
    const wasFullscreen = await page.evaluate(() => document.fullscreenElement !== null);
    if (!wasFullscreen) await page.evaluate(() => document.documentElement.requestFullscreen());
    return { fullscreen: true, changed: !wasFullscreen };
  },
});

export const exitFullscreen = defineAction({
  name: 'exit_fullscreen',
  description: 'Leave fullscreen (the page’s Fullscreen API).',
  params: z.object({}),
  async run({ page }) {
    const wasFullscreen = await page.evaluate(() => document.fullscreenElement !== null);
    if (wasFullscreen) await page.evaluate(() => document.exitFullscreen());
    return { fullscreen: false, changed: wasFullscreen };
  },
});
