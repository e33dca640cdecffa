import type { Page } from 'playwright-core';

/** Sizes the seed's screenshot URLs accept: `?whLargest=512`, `?width=800`, `?height=300`. */
export interface ScreenshotSize {
  whLargest?: number;
  width?: number;
  height?: number;
}

/** The scale that fits the viewport into the asked size, keeping its aspect ratio (never upscaled). */
export function screenshotScale(viewport: { width: number; height: number }, size: ScreenshotSize): number {
  const scales = [1];
  if (size.whLargest) scales.push(size.whLargest / Math.max(viewport.width, viewport.height));
  if (size.width) scales.push(size.width / viewport.width);
  if (size.height) scales.push(size.height / viewport.height);
  return Math.min(...scales);
}

/**
 * A PNG of what the viewport shows. Resizing is done by Chromium itself (the CDP capture's
 * clip scale), so no image library is needed.
 */
export async function captureViewportPng(
  page: Page,
  size: ScreenshotSize = {},
  timeoutMs = 30_000,
): Promise<Buffer> {
  const viewport = page.viewportSize() ?? { width: 1280, height: 720 };
  const scale = screenshotScale(viewport, size);
  if (scale >= 1) return page.screenshot({ type: 'png', timeout: timeoutMs });
  const cdp = await page.context().newCDPSession(page);
  try {
    const { x, y } = await page.evaluate(() => ({ x: window.scrollX, y: window.scrollY }));
    const { data } = await cdp.send('Page.captureScreenshot', {
      format: 'png',
      clip: { x, y, width: viewport.width, height: viewport.height, scale },
    });
    return Buffer.from(data, 'base64');
  } finally {
    await cdp.detach().catch(() => {});
  }
}
