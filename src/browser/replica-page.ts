import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrowserSession } from './browser-session.ts';
import { type EgressFailure, EgressProxy } from './egress-proxy.ts';
import type { NetGuard } from './net-guard.ts';
import { STEALTH_INIT_SCRIPT } from './stealth.ts';

export interface ReplicaPageOptions {
  viewport: { width: number; height: number };
  userAgent: string;
  /**
   * Set when private networks are off: every request is checked against it, and all the
   * context's connections go through its own EgressProxy, which checks them too.
   */
  netGuard?: NetGuard;
}

const egressOf = new WeakMap<Page, EgressProxy>();

/** Why the page's proxy refused or failed a connection at or after `since` (to `host`, preferably). */
export function egressFailureSince(page: Page, since: number, host?: string): EgressFailure | undefined {
  return egressOf.get(page)?.failureSince(since, host);
}

/** A fresh isolated context (own cookies, storage, cache) with its home page, set up for stealth and safety. */
export async function openReplicaPage(
  browser: Browser,
  opts: ReplicaPageOptions,
): Promise<{ context: BrowserContext; page: Page; session: BrowserSession }> {
  const egress = opts.netGuard && new EgressProxy(opts.netGuard);
  const context = await browser
    .newContext({
      viewport: opts.viewport,
      userAgent: opts.userAgent,
      locale: 'en-US',
      // Downloads are kept only where the session's sink puts them (the principal's store).
      acceptDownloads: true,
      // Service workers' fetches bypass the route guard (the egress proxy would still catch them).
      serviceWorkers: 'block',
      // No bypass list: Playwright then adds <-loopback>, so even 127.0.0.1 goes through it.
      ...(egress ? { proxy: { server: await egress.url() } } : {}),
    })
    .catch(async (err) => {
      await egress?.close();
      throw err;
    });
  try {
    await context.addInitScript({ content: STEALTH_INIT_SCRIPT });
    if (opts.netGuard) await guardRequests(context, opts.netGuard);
    const page = await context.newPage();
    if (egress) {
      egressOf.set(page, egress);
      context.on('close', () => void egress.close());
    }
    // Dialogs are answered and popups closed by the session (tabs come only from new_tab).
    return { context, page, session: new BrowserSession(context, page) };
  } catch (err) {
    await context.close().catch(() => {});
    await egress?.close();
    throw err;
  }
}

/**
 * Every request the page's frames and dedicated workers make — documents (top-level and
 * iframe), images, scripts, fetch/XHR, beacons … — is checked before Chromium sends it, so
 * a public page cannot navigate, frame or load its way onto loopback or the private
 * network, and is told so as ERR_BLOCKED_BY_CLIENT. Hosts seen in the last seconds are
 * answered from the guard's cache without waiting.
 *
 * Redirect hops, WebSockets, shared workers and anything else Playwright's route does not
 * see are left to the egress proxy, which refuses the same hosts at connect time. We do not
 * use routeWebSocket: it replaces window.WebSocket with a script shim (visible to
 * fingerprinting) and does not reach workers.
 */
async function guardRequests(context: BrowserContext, netGuard: NetGuard): Promise<void> {
  await context.route('**/*', async (route) => {
    const request = route.request();
    const url = request.url();
    let refusal: string | undefined;
    if (request.isNavigationRequest()) refusal = await netGuard.refusalOf(url, false);
    else if (url.startsWith('http:') || url.startsWith('https:')) {
      const host = new URL(url).hostname;
      refusal = (netGuard.cachedVerdict(host) ?? (await netGuard.vetHost(host))).refusal;
    }
    if (refusal) {
      await route.abort('blockedbyclient');
      return;
    }
    await route.fallback();
  });
}
