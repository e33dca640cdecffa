import { z } from 'zod';
import { AppError } from '../../errors.ts';
import { defineAction } from './types.ts';

/** Cookies of the replica's context and the active page's local/session storage. */

export const getCookies = defineAction({
  name: 'get_cookies',
  description: 'Every cookie of this browser, or only those for the given URLs.',
  params: z.object({ urls: z.array(z.string().url()).max(50).optional() }),
  async run({ page }, { urls }) {
    const cookies = await page.context().cookies(urls);
    return { cookies, count: cookies.length };
  },
});

export const setCookie = defineAction({
  name: 'set_cookie',
  description:
    'Set a cookie: name, value and url or domain; optional path, expires, httpOnly, secure, sameSite.',
  params: z.object({
    name: z.string().min(1),
    value: z.string(),
    url: z.string().url().optional(),
    domain: z.string().min(1).optional(),
    path: z.string().optional(),
    expires: z.number().optional().describe('Unix time in seconds'),
    httpOnly: z.boolean().optional(),
    secure: z.boolean().optional(),
    sameSite: z.enum(['Strict', 'Lax', 'None']).optional(),
  }),
  async run({ page }, cookie) {
    if (!cookie.url && !cookie.domain)
      throw new AppError('invalid_request', 'set_cookie needs url or domain');
    // Playwright takes either a url, or a domain with a path.
    const where = cookie.url ? { url: cookie.url } : { domain: cookie.domain, path: cookie.path ?? '/' };
    const { url: _url, domain: _domain, path: _path, ...rest } = cookie;
    await page.context().addCookies([{ ...rest, ...where }]);
    return { set: cookie.name };
  },
});

export const deleteCookies = defineAction({
  name: 'delete_cookies',
  description: 'Clear every cookie of this browser.',
  params: z.object({}),
  async run({ page }) {
    await page.context().clearCookies();
    return { cleared: true };
  },
});

const storageType = z.enum(['local', 'session']).default('local');

export const getStorage = defineAction({
  name: 'get_storage',
  description: "The active page's localStorage (default) or sessionStorage, as key/value pairs.",
  params: z.object({ type: storageType }),
  async run({ page }, { type }) {
    const items = await page.evaluate((kind) => {
      const store = kind === 'local' ? localStorage : sessionStorage;
      const out: Record<string, string> = {};
      for (let i = 0; i < store.length; i++) {
        const key = store.key(i);
        if (key !== null) out[key] = store.getItem(key) ?? '';
      }
      return out;
    }, type);
    return { items, type };
  },
});

export const setStorage = defineAction({
  name: 'set_storage',
  description: "Set one item of the active page's localStorage (default) or sessionStorage.",
  params: z.object({ type: storageType, key: z.string().min(1), value: z.string() }),
  async run({ page }, { type, key, value }) {
    await page.evaluate((a) => (a.type === 'local' ? localStorage : sessionStorage).setItem(a.key, a.value), {
      type,
      key,
      value,
    });
    return { set: key, type };
  },
});

export const clearStorage = defineAction({
  name: 'clear_storage',
  description: "Clear the active page's localStorage (default) or sessionStorage.",
  params: z.object({ type: storageType }),
  async run({ page }, { type }) {
    await page.evaluate((kind) => (kind === 'local' ? localStorage : sessionStorage).clear(), type);
    return { cleared: type };
  },
});
