import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';
import type { Surface } from '../../http/surface.ts';
import { loadConsoleBundle } from './assets.ts';

const ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

/**
 * The console runs only the scripts and styles it ships: no inline code, no other origin,
 * no framing. connect-src 'self' keeps a compromised page from sending the caller's key or
 * a run's output anywhere but this server; untrusted text is rendered as text, never HTML.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin');
}

/**
 * The web console at /ui/: static files only, no credentials here. The page signs in with
 * an API key that stays in the tab's sessionStorage and talks to the same server's JSON
 * APIs with it (/api/v1/runs, /claudebox/files, the admin API). index.html is revalidated
 * on every load; every other file is named by its content hash and cached for a year.
 */
export const consoleSurface: Surface = async (app) => {
  const bundle = loadConsoleBundle(ASSETS_DIR);

  app.get('/ui', async (_req, reply) => secure(reply).redirect('/ui/', 308));
  const index = async (_req: unknown, reply: FastifyReply) =>
    secure(reply).header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(bundle.indexHtml);
  app.get('/ui/', index);
  app.get('/ui/index.html', index);

  app.get<{ Params: { name: string } }>('/ui/assets/:name', async (req, reply) => {
    const asset = bundle.assets.get(req.params.name);
    secure(reply);
    if (!asset) {
      // An old page asking for a replaced file: never cache the miss.
      return reply
        .status(404)
        .header('cache-control', 'no-store')
        .send({ error: { code: 'not_found', message: 'No such console asset' } });
    }
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type(asset.contentType)
      .send(asset.body);
  });
};
