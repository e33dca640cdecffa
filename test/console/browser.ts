import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** What a page did that a test may assert on: every URL it requested, every error it logged. */
export interface PageRecord {
  page: Page;
  /** Every URL the page (and its workers) requested, in order. */
  urls: string[];
  /** Console messages of type error/warning, page errors (uncaught exceptions), CSP reports. */
  problems: string[];
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/**
 * A new page in `context` whose requests and problems are recorded from its first byte.
 * CSP violations surface both as console errors and as `securitypolicyviolation` events,
 * which a script added before any page script records too.
 */
export async function recordedPage(context: BrowserContext): Promise<PageRecord> {
  const page = await context.newPage();
  const record: PageRecord = { page, urls: [], problems: [] };
  page.on('request', (req) => record.urls.push(req.url()));
  page.on('console', (msg) => {
    if (msg.type() === 'error' || msg.type() === 'warning')
      record.problems.push(`console.${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => record.problems.push(`pageerror: ${err.message}`));
  page.on('dialog', (dialog) => {
    record.problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.exposeFunction('__reportCspViolation', (what: string) => record.problems.push(`csp: ${what}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { __reportCspViolation?: (s: string) => void })
        .__reportCspViolation;
      report?.(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return record;
}
