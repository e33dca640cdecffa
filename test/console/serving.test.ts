import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { consoleSurface } from '../../src/surfaces/console/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const ASSETS = fileURLToPath(new URL('../../src/surfaces/console/assets/', import.meta.url));

describe('console: /ui/ is served by the server itself, hashed and locked down', { timeout: 60_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ surfaces: [consoleSurface] });
  });
  after(async () => {
    await t?.close();
  });

  it('/ui redirects to /ui/; index.html is never cached and carries a strict CSP', async () => {
    const redirect = await fetch(`${t.url}/ui`, { redirect: 'manual' });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get('location'), '/ui/');

    const res = await fetch(`${t.url}/ui/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
    ]) {
      assert.ok(csp.includes(directive), `CSP lacks ${directive}: ${csp}`);
    }
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');

    const html = await res.text();
    // No inline code for the CSP to have to allow: every script is a file, no style attribute.
    for (const tag of html.match(/<script\b[^>]*>/g) ?? []) assert.match(tag, /\ssrc="\/ui\/assets\//);
    assert.doesNotMatch(html, /<style\b|\sstyle=|\son[a-z]+=/i);
  });

  it('every asset, reached from index.html through the imports, has its content hash in its URL', async () => {
    const html = await (await fetch(`${t.url}/ui/`)).text();
    const pending = [...html.matchAll(/"(\/ui\/assets\/[^"]+)"/g)].map((m) => m[1] ?? '');
    const seen = new Set<string>();
    while (pending.length > 0) {
      const url = pending.pop() ?? '';
      if (seen.has(url)) continue;
      seen.add(url);
      const res = await fetch(`${t.url}${url}`);
      assert.equal(res.status, 200, url);
      assert.equal(res.headers.get('cache-control'), 'public, max-age=31536000, immutable', url);
      assert.ok(res.headers.get('content-security-policy'), url);
      const body = Buffer.from(await res.arrayBuffer());
      const hash = /\.([0-9a-f]{12})\.[a-z]+$/.exec(url)?.[1];
      assert.equal(
        hash,
        createHash('sha256').update(body).digest('hex').slice(0, 12),
        `${url} is not named by its content`,
      );
      if (url.endsWith('.js')) {
        assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
        for (const m of body.toString('utf8').matchAll(/from\s*'\.\/([^']+)'/g))
          pending.push(`/ui/assets/${m[1]}`);
      }
    }
    const files = readdirSync(ASSETS).filter((f) => /\.(js|css|svg)$/.test(f));
    assert.equal(seen.size, files.length, `reachable ${[...seen].join(', ')} vs files ${files.join(', ')}`);
  });

  it('an unknown or stale asset name is a 404 that is not cached; the assets dir is not browsable', async () => {
    for (const path of [
      '/ui/assets/app.000000000000.js',
      '/ui/assets/app.js',
      '/ui/assets/tsconfig.json',
      '/ui/assets/',
    ]) {
      const res = await fetch(`${t.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.notEqual(res.headers.get('cache-control'), 'public, max-age=31536000, immutable', path);
    }
    const traversal = await fetch(`${t.url}/ui/assets/..%2Fassets.ts`);
    assert.equal(traversal.status, 404);
  });

  it('the console code never turns a string into markup (untrusted text goes in as text nodes)', () => {
    for (const file of readdirSync(ASSETS).filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(`${ASSETS}${file}`, 'utf8');
      assert.doesNotMatch(
        code,
        /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|\beval\(|new Function/,
        file,
      );
    }
  });
});
