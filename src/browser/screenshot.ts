import type { Browser, BrowserContext, Page } from 'playwright-core';

/** Sizes the seed's screenshot URLs and actions accept: `?whLargest=512`, `?width=800`, `?height=300`. */
export interface ScreenshotSize {
  whLargest?: number;
  width?: number;
  height?: number;
}

/** Resizes a PNG to exactly width × height. */
export type PngResizer = (png: Buffer, width: number, height: number) => Promise<Buffer>;

/**
 * The original's resize rule: `whLargest` sets the larger side (aspect kept); `width` and
 * `height` together are exact (the image may stretch); either alone keeps the aspect. Up or
 * down. Undefined when nothing is asked.
 */
export function targetSize(
  source: { width: number; height: number },
  size: ScreenshotSize,
): { width: number; height: number } | undefined {
  const { width: w, height: h } = source;
  if (size.whLargest) {
    return w >= h
      ? { width: size.whLargest, height: Math.max(1, Math.floor((h * size.whLargest) / w)) }
      : { width: Math.max(1, Math.floor((w * size.whLargest) / h)), height: size.whLargest };
  }
  if (size.width && size.height) return { width: size.width, height: size.height };
  if (size.width) return { width: size.width, height: Math.max(1, Math.floor((h * size.width) / w)) };
  if (size.height) return { width: Math.max(1, Math.floor((w * size.height) / h)), height: size.height };
  return undefined;
}

/** A PNG of what the viewport shows, resized as the original does when a size is asked. */
export async function captureViewportPng(
  page: Page,
  size: ScreenshotSize,
  timeoutMs: number,
  resize: PngResizer,
): Promise<Buffer> {
  const png = await page.screenshot({ type: 'png', timeout: timeoutMs });
  const target = targetSize({ width: png.readUInt32BE(16), height: png.readUInt32BE(20) }, size);
  if (!target || (target.width === png.readUInt32BE(16) && target.height === png.readUInt32BE(20)))
    return png;
  return resize(png, target.width, target.height);
}

/** Largest side a resized screenshot may have: bounds the canvas (and memory) a caller can ask for. */
export const MAX_SCREENSHOT_SIDE = 4_096;

/**
 * Resizes PNGs with Chromium's own image pipeline (no image library on the server): a page
 * of its own, in a context with no network, decodes the PNG, draws it on a canvas at the
 * target size with high-quality smoothing, and encodes it again. Callers' pages never see
 * the image or the code.
 */
export class ChromiumPngResizer {
  #page: Promise<Page> | undefined;
  #context: BrowserContext | undefined;

  constructor(private readonly browser: () => Promise<Browser>) {}

  readonly resize: PngResizer = async (png, width, height) => {
    const page = await this.#livePage();
    const base64 = await page.evaluate(
      async (a) => {
        const bytes = Uint8Array.from(atob(a.png), (c) => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
        const canvas = new OffscreenCanvas(a.width, a.height);
        const g = canvas.getContext('2d');
        if (!g) throw new Error('no 2d canvas');
        g.imageSmoothingEnabled = true;
        g.imageSmoothingQuality = 'high';
        g.drawImage(bitmap, 0, 0, a.width, a.height);
        const out = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
        let binary = '';
        for (let i = 0; i < out.length; i += 0x8000)
          binary += String.fromCharCode(...out.subarray(i, i + 0x8000));
        return btoa(binary);
      },
      { png: png.toString('base64'), width, height },
    );
    return Buffer.from(base64, 'base64');
  };

  async close(): Promise<void> {
    const context = this.#context;
    this.#context = undefined;
    this.#page = undefined;
    await context?.close().catch(() => {});
  }

  async #livePage(): Promise<Page> {
    const current = await this.#page?.catch(() => undefined);
    if (current && !current.isClosed()) return current;
    this.#page = (async () => {
      const context = await (await this.browser()).newContext();
      // It never needs the network: refuse everything, so it cannot reach anything either.
      await context.route('**/*', (route) => route.abort());
      this.#context = context;
      return context.newPage();
    })();
    return this.#page;
  }
}
