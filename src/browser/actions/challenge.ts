import { z } from 'zod';
import { defineAction } from './types.ts';

/**
 * detect_challenge, as the original describes it: read-only, best-effort detection of
 * documented challenge integrations in the top-level document (iframe/script origins,
 * fixed widget selectors, published globals) plus a low-confidence visible generic cue. It
 * never clicks, focuses, solves or enters a frame, and reports no query strings, site
 * keys, element text, attributes or HTML: frame and script evidence is host + path only.
 */

interface Signature {
  vendor: string;
  /** Hosts (suffix match) whose iframes or scripts belong to the vendor, with an optional path prefix. */
  origins: Array<{ host: string; path?: string }>;
  selectors: string[];
  globals: string[];
}

const SIGNATURES: Signature[] = [
  {
    vendor: 'cloudflare_turnstile',
    origins: [{ host: 'challenges.cloudflare.com' }],
    selectors: ['.cf-turnstile', '[data-turnstile-sitekey]'],
    globals: ['turnstile'],
  },
  {
    vendor: 'google_recaptcha',
    origins: [
      { host: 'google.com', path: '/recaptcha' },
      { host: 'recaptcha.net', path: '/recaptcha' },
      { host: 'gstatic.com', path: '/recaptcha' },
    ],
    selectors: ['.g-recaptcha', '#g-recaptcha-response'],
    globals: ['grecaptcha'],
  },
  {
    vendor: 'hcaptcha',
    origins: [{ host: 'hcaptcha.com' }],
    selectors: ['.h-captcha', '[data-hcaptcha-widget-id]'],
    globals: ['hcaptcha'],
  },
  {
    vendor: 'friendly_captcha',
    origins: [{ host: 'frcapi.com' }, { host: 'friendlycaptcha.com' }],
    selectors: ['.frc-captcha'],
    globals: ['friendlyChallenge'],
  },
  { vendor: 'altcha', origins: [], selectors: ['altcha-widget'], globals: [] },
  {
    vendor: 'arkose',
    origins: [{ host: 'arkoselabs.com' }, { host: 'funcaptcha.com' }],
    selectors: ['#FunCaptcha', '[data-pkey]'],
    globals: ['ArkoseEnforcement'],
  },
  {
    vendor: 'aws_waf',
    origins: [{ host: 'awswaf.com' }],
    selectors: ['#captcha-container awswaf-captcha', 'awswaf-captcha'],
    globals: ['AwsWafCaptcha', 'AwsWafIntegration'],
  },
  {
    vendor: 'geetest',
    origins: [{ host: 'geetest.com' }, { host: 'geevisit.com' }],
    selectors: ['.geetest_captcha', '.geetest_holder', '.geetest_panel'],
    globals: ['initGeetest', 'initGeetest4'],
  },
];

const MAX_BOXES = 5;

export const detectChallenge = defineAction({
  name: 'detect_challenge',
  description:
    'Read-only: is a known challenge widget (Turnstile, reCAPTCHA, hCaptcha, …) or a visible generic captcha cue on the page? Never clicks or solves.',
  params: z.object({
    scroll_into_view: z
      .boolean()
      .default(false)
      .describe('Scroll the first visible detected widget into view (never clicks it)'),
  }),
  async run({ page }, { scroll_into_view }) {
    let found: { matches: unknown[]; scrolled: boolean };
    try {
      // No named functions inside: tsx's keepNames would wrap them in a helper the page lacks.
      found = await page.evaluate(
        (a) => {
          const sources: Array<{ el: Element; kind: 'iframe' | 'script'; url: URL }> = [];
          for (const el of Array.from(document.querySelectorAll('iframe[src], script[src]'))) {
            try {
              const url = new URL(el.getAttribute('src') ?? '', location.href);
              sources.push({ el, kind: el.tagName === 'IFRAME' ? 'iframe' : 'script', url });
            } catch {}
          }
          const matches: Array<Record<string, unknown>> = [];
          const visibleHits: Element[] = [];
          for (const sig of a.signatures) {
            const evidence = new Set<string>();
            const frames: string[] = [];
            const hits: Element[] = [];
            for (const src of sources) {
              const host = src.url.hostname;
              const isVendor = sig.origins.some(
                (o) =>
                  (host === o.host || host.endsWith(`.${o.host}`)) &&
                  (!o.path || src.url.pathname.startsWith(o.path)),
              );
              if (!isVendor) continue;
              evidence.add(`${src.kind}_origin`);
              if (src.kind === 'iframe') {
                frames.push(src.url.host + src.url.pathname);
                hits.push(src.el);
              }
            }
            for (const selector of sig.selectors) {
              const els = Array.from(document.querySelectorAll(selector));
              if (els.length > 0) evidence.add('widget_selector');
              hits.push(...els);
            }
            for (const name of sig.globals) {
              if ((window as unknown as Record<string, unknown>)[name] !== undefined) evidence.add('global');
            }
            if (evidence.size === 0) continue;
            const boxes = hits.slice(0, a.maxBoxes).map((el) => {
              const r = el.getBoundingClientRect();
              return {
                x: Math.round(r.x),
                y: Math.round(r.y),
                width: Math.round(r.width),
                height: Math.round(r.height),
              };
            });
            visibleHits.push(
              ...hits.filter((el) => {
                const r = el.getBoundingClientRect();
                const style = window.getComputedStyle(el);
                return (
                  r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none'
                );
              }),
            );
            matches.push({
              vendor: sig.vendor,
              confidence: 'high',
              locations: ['top_document'],
              evidence: [...evidence].sort(),
              frames: frames.slice(0, a.maxBoxes),
              boxes,
            });
          }
          if (matches.length === 0) {
            const text = document.body?.innerText ?? '';
            if (
              /verify (that )?you are (a )?human|are you a robot|complete the captcha|security check/i.test(
                text,
              )
            ) {
              matches.push({
                vendor: 'unknown',
                confidence: 'low',
                locations: ['top_document'],
                evidence: ['visible_text_cue'],
                frames: [],
                boxes: [],
              });
            }
          }
          let scrolled = false;
          const target = visibleHits[0];
          if (a.scroll && target) {
            target.scrollIntoView({ block: 'center', inline: 'center' });
            const r = target.getBoundingClientRect();
            scrolled = r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
          }
          return { matches, scrolled };
        },
        { signatures: SIGNATURES, maxBoxes: MAX_BOXES, scroll: scroll_into_view },
      );
    } catch {
      // A page that cannot be evaluated is not proof of absence.
      return {
        status: 'unknown',
        detected: false,
        matches: [],
        ...(scroll_into_view ? { scrolled_into_view: false } : {}),
      };
    }
    const detected = found.matches.length > 0;
    return {
      status: detected ? 'present' : 'absent',
      detected,
      matches: found.matches,
      ...(scroll_into_view ? { scrolled_into_view: found.scrolled } : {}),
    };
  },
});
