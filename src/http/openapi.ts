import { createHash } from 'node:crypto';
import fastifySwagger from '@fastify/swagger';
import scalarApiReference from '@scalar/fastify-api-reference';
import type { FastifyInstance } from 'fastify';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';

/**
 * The routes agentgate owns (its own JSON API, not another project's protocol): every one of
 * them is in /openapi.json. Routes of the foreign protocols it serves (claude-code-api,
 * claudebox, OpenAI, MCP, S3, the browser) follow those projects' own documents and are left
 * out.
 */
export function isAgentgateRoute(url: string): boolean {
  return url === '/health' || url === '/usage' || /^\/(api|admin|key|spend)\//.test(url) || url === '/admin';
}

/**
 * For a scope whose routes declare zod schemas: they validate requests and serialize
 * answers, and /openapi.json is generated from the same schemas.
 */
export function useZodSchemas(scope: FastifyInstance): void {
  scope.setValidatorCompiler(validatorCompiler);
  scope.setSerializerCompiler(serializerCompiler);
}

const DOCS_PREFIX = '/docs';

/**
 * GET /openapi.json (OpenAPI 3.1, generated from the routes' zod schemas) and the reference
 * page at /docs, whose script is served from here (no CDN: it works offline) under a CSP
 * that allows only this origin and the page's own inline script, by hash.
 * Register before any surface: the document collects routes as they are added.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'agentgate API',
        version: '1',
        description:
          "agentgate's own API: async runs, their resumable event streams, cancel and webhooks. The foreign protocols agentgate also serves (claude-code-api, claudebox, OpenAI, MCP, S3) are documented by their own projects and are not listed here. See docs/api.md.",
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An API key (API_KEYS or a stored key)' },
        },
      },
      security: [{ bearer: [] }],
    },
    transform: (doc) => {
      if (!isAgentgateRoute(doc.url)) return { schema: { ...doc.schema, hide: true }, url: doc.url };
      return jsonSchemaTransform(doc);
    },
    transformObject: jsonSchemaTransformObject,
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(async (scope) => {
    scope.addHook('onSend', async (_req, reply, payload) => {
      if (typeof payload !== 'string' || !String(reply.getHeader('content-type')).startsWith('text/html')) {
        reply.header('content-security-policy', "default-src 'none'; script-src 'self'; connect-src 'self'");
        return payload;
      }
      reply.header('content-security-policy', docsPageCsp(payload));
      return payload;
    });
    await scope.register(scalarApiReference, {
      routePrefix: DOCS_PREFIX,
      configuration: {
        url: '/openapi.json',
        pageTitle: 'agentgate API',
        // Everything from this server: no font CDN, no proxy, no telemetry.
        withDefaultFonts: false,
        hideClientButton: true,
        telemetry: false,
      } as Record<string, unknown>,
    });
  });
}

/** The reference page may run its bundled script (same origin) and its inline boot script, by hash. */
function docsPageCsp(html: string): string {
  const hashes = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(
    (m) =>
      `'sha256-${createHash('sha256')
        .update(m[1] ?? '')
        .digest('base64')}'`,
  );
  return [
    "default-src 'none'",
    `script-src 'self' ${hashes.join(' ')}`.trim(),
    // The bundle injects its own stylesheet at run time.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}
