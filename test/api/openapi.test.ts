import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { RouteOptions } from 'fastify';
import { chromium } from 'playwright-core';
import { isAgentgateRoute } from '../../src/http/openapi.ts';
import { allSurfaces } from '../../src/surfaces/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { skipWithout } from '../helpers/system-parts.ts';

interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components?: { schemas?: Record<string, unknown> };
}

/** Fastify's `/runs/:id` is OpenAPI's `/runs/{id}`. */
function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** Every `examples` array in the document, with the JSON pointer of the schema that holds it. */
function examplesIn(node: unknown, pointer = ''): Array<{ pointer: string; examples: unknown[] }> {
  if (node === null || typeof node !== 'object') return [];
  const out: Array<{ pointer: string; examples: unknown[] }> = [];
  const obj = node as Record<string, unknown>;
  if (
    Array.isArray(obj.examples) &&
    ('type' in obj || 'properties' in obj || '$ref' in obj || 'anyOf' in obj)
  ) {
    out.push({ pointer, examples: obj.examples });
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'examples') continue;
    out.push(...examplesIn(v, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  }
  return out;
}

describe('OpenAPI document and reference page', { timeout: 120_000 }, () => {
  let t: TestApp;
  const routes: Array<{ method: string; url: string }> = [];
  let doc: OpenApiDoc;
  before(async () => {
    t = await startTestApp({
      surfaces: allSurfaces,
      env: { API_KEYS: 'alice:k' },
      onRoute: (r: RouteOptions) => {
        for (const method of [r.method].flat()) routes.push({ method, url: r.url });
      },
    });
    const res = await fetch(`${t.url}/openapi.json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as OpenApiDoc;
  });
  after(() => t?.close());

  it('is OpenAPI 3.1 and lists every agentgate-owned route the app registered, and no foreign one', () => {
    assert.equal(doc.openapi, '3.1.0');
    const owned = routes.filter(
      (r) => isAgentgateRoute(r.url) && r.method !== 'HEAD' && r.method !== 'OPTIONS',
    );
    // The enumeration is real: the Runs API's routes and /health are among them.
    for (const expected of [
      'POST /api/v1/runs',
      'GET /api/v1/runs',
      'GET /api/v1/runs/:id',
      'GET /api/v1/runs/:id/events',
      'POST /api/v1/runs/:id/cancel',
      'GET /api/v1/runs/:id/webhooks',
      'GET /health',
    ]) {
      assert.ok(
        owned.some((r) => `${r.method} ${r.url}` === expected),
        `${expected} was registered`,
      );
    }
    const missing = owned.filter(
      (r) => doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()] === undefined,
    );
    assert.deepEqual(missing, [], 'every agentgate-owned route is documented');
    const foreign = Object.keys(doc.paths).filter((p) => !isAgentgateRoute(p.replace(/\{([^}]+)\}/g, ':$1')));
    assert.deepEqual(foreign, [], 'foreign protocols are left to their own documents');
    assert.ok(
      routes.some((r) => r.url === '/v1/chat/completions'),
      'foreign routes were seen too',
    );
  });

  it('describes requests and answers from the zod schemas', () => {
    const create = doc.paths['/api/v1/runs']?.post as {
      requestBody: { content: Record<string, { schema: unknown }> };
      responses: Record<string, unknown>;
    };
    assert.ok(create.requestBody.content['application/json']);
    assert.ok(create.responses['202']);
    const schemas = doc.components?.schemas ?? {};
    const run = (schemas.Run ?? schemas.RunOutput) as { properties: Record<string, unknown> } | undefined;
    assert.ok(run, 'the Run shape is a component');
    for (const field of ['status', 'result', 'usage', 'costUsd', 'timings', 'sandbox', 'tier', 'error']) {
      assert.ok(field in run.properties, field);
    }
  });

  it('every documented example validates against its schema', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema(doc as object, 'doc');
    const found = examplesIn(doc);
    assert.ok(found.length >= 5, `examples found: ${found.length}`);
    for (const { pointer, examples } of found) {
      const validate = ajv.compile({ $ref: `doc#${pointer}` });
      for (const example of examples) {
        assert.ok(validate(example), `${pointer}: ${JSON.stringify(validate.errors)}`);
      }
    }
    // The check can fail: a run example without its status does not validate.
    const runPointer = found.find((f) => /\/Run(Output)?$/.test(f.pointer))?.pointer;
    assert.ok(runPointer);
    const validateRun = ajv.compile({ $ref: `doc#${runPointer}` });
    const { status: _status, ...broken } = (found.find((f) => f.pointer === runPointer)?.examples[0] ??
      {}) as Record<string, unknown>;
    assert.equal(validateRun(broken), false);
  });

  it('serves the reference page at /docs/ with its script from here, under a CSP', async () => {
    const page = await fetch(`${t.url}/docs/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    // No script, style or font from anywhere but this server: it works offline.
    const srcs = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? '');
    assert.ok(srcs.length > 0);
    for (const s of srcs) assert.ok(!/^(https?:)?\/\//.test(s), `local asset: ${s}`);
    // Every inline script is allowed by its hash, and nothing else inline is.
    for (const m of html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)) {
      const hash = createHash('sha256')
        .update(m[1] ?? '')
        .digest('base64');
      assert.ok(csp.includes(`'sha256-${hash}'`));
    }
    assert.ok(!csp.includes("'unsafe-inline' 'unsafe-eval'"));
    const script = srcs.find((s) => s.endsWith('.js')) ?? '';
    const js = await fetch(new URL(script, `${t.url}/docs/`));
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.ok((await js.text()).length > 100_000, 'the whole bundle is served locally');
  });

  it('renders in Chromium from this server alone, with no CSP violation', {
    skip: skipWithout('chromium'),
  }, async () => {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const foreign: string[] = [];
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('console', (m) => {
        // The browser asks for /favicon.ico on its own; the page does not use one.
        if (m.type() === 'error' && !/status of 404/.test(m.text())) problems.push(m.text());
      });
      page.on('request', (r) => {
        if (!r.url().startsWith(t.url)) foreign.push(r.url());
      });
      await page.goto(`${t.url}/docs/`);
      await page.waitForFunction(() => document.body.innerText.includes('Start a run'), undefined, {
        timeout: 30_000,
      });
      assert.deepEqual(problems, [], 'no script error and no Content-Security-Policy violation');
      assert.deepEqual(foreign, [], 'nothing is fetched from elsewhere');
    } finally {
      await browser.close();
    }
  });
});
