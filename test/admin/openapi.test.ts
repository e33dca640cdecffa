import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import swagger from '@fastify/swagger';
import Fastify from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../src/http/surface.ts';
import { adminSurface } from '../../src/surfaces/admin/index.ts';

describe('control plane: route schemas feed an OpenAPI document', { timeout: 60_000 }, () => {
  it('every keys, usage and LiteLLM route appears with its body and query', async () => {
    const app = Fastify();
    try {
      await app.register(swagger, {
        openapi: { info: { title: 't', version: '1' } },
        transform: jsonSchemaTransform,
      });
      // Routes read deps only when a request comes; describing them needs none.
      await app.register(async (scope) => adminSurface(scope, {} as AppDeps));
      await app.ready();
      const doc = app.swagger() as unknown as {
        paths: Record<string, Record<string, Record<string, unknown>>>;
      };
      for (const path of [
        '/admin/keys',
        '/admin/keys/{id}',
        '/admin/keys/{id}/rotate',
        '/admin/usage',
        '/usage',
        '/key/generate',
        '/key/info',
        '/key/update',
        '/key/delete',
        '/spend/logs',
      ]) {
        assert.ok(doc.paths[path], `${path} is in the document`);
      }
      const create = doc.paths['/admin/keys']?.post as {
        requestBody?: unknown;
        responses?: Record<string, unknown>;
      };
      assert.match(JSON.stringify(create.requestBody), /maxConcurrentRuns/);
      assert.ok(create.responses?.['201']);
      assert.match(JSON.stringify(doc.paths['/admin/usage']?.get), /groupBy/);
    } finally {
      await app.close();
    }
  });
});
