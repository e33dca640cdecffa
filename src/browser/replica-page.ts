import type { Browser, BrowserContext, Page } from 'playwright-core';
import { refusalOf } from './net-guard.ts';
import { STEALTH_INIT_SCRIPT } from './stealth.ts';

export interface ReplicaPageOptions {
  viewport: { width: number; height: number };
  userAgent: string;
  allowPrivate: boolean;
}

/** A fresh isolated context (own cookies, storage, cache) with one page, set up for stealth and safety. */
export async function openReplicaPage(
  browser: Browser,
  opts: ReplicaPageOptions,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: opts.viewport,
    userAgent: opts.userAgent,
    locale: 'en-US',
    acceptDownloads: false,
    // Service workers could fetch documents behind the route guard's back.
    serviceWorkers: 'block',
  });
  try {
    await context.addInitScript({ content: STEALTH_INIT_SCRIPT });
    if (!opts.allowPrivate) await guardNavigations(context);
    const page = await context.newPage();
    // An open alert blocks every later action on the page; accept it like a user would.
    page.on('dialog', (dialog) => void dialog.accept().catch(() => {}));
    // One page per replica: popups would escape the queue and the memory bound.
    context.on('page', (extra) => {
      if (extra !== page) void extra.close().catch(() => {});
    });
    return { context, page };
  } catch (err) {
    await context.close().catch(() => {});
    throw err;
  }
}

/**
 * Every document request (top-level, iframe, and each redirect hop, which Chromium
 * re-submits to the route) is checked again, so a public page cannot redirect, link or
 * frame its way onto loopback or the private network.
 */
async function guardNavigations(context: BrowserContext): Promise<void> {
  await context.route('**/*', async (route) => {
    const request = route.request();
    if (request.isNavigationRequest() && (await refusalOf(request.url(), false))) {
      await route.abort('blockedbyclient');
      return;
    }
    await route.fallback();
  });
}
