import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  createKeySchema,
  DEFAULT_ROTATE_GRACE_S,
  keyInfoSchema,
  patchKeySchema,
  rotateKeySchema,
} from '../../auth/key-input.ts';
import { AppError } from '../../errors.ts';
import { authenticateFirst } from '../../http/auth-first.ts';
import type { AppDeps } from '../../http/surface.ts';
import { authenticateAdmin } from './auth.ts';
import { revokeKey } from './revoke.ts';

const idParams = z.object({ id: z.string().min(1).max(200) });
/** A new or rotated key: its info plus the secret, shown this once. */
const issuedKeySchema = keyInfoSchema.extend({ key: z.string() });
const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

/**
 * The keys API (docs/keys.md): admin keys only, JSON in and out, every body checked by its
 * zod schema before anything changes. The secret appears in exactly two answers (create
 * and rotate); lists and reads never carry it or its hash.
 */
export function registerKeyRoutes(scope: FastifyInstance, deps: AppDeps): void {
  const r = scope.withTypeProvider<ZodTypeProvider>();
  const onRequest = authenticateFirst((req) => authenticateAdmin(deps, req));
  const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 429: errorSchema };

  r.post(
    '/admin/keys',
    { onRequest, schema: { body: createKeySchema, response: { 201: issuedKeySchema, ...errors } } },
    async (req, reply) => {
      const issued = await deps.keys.createKey(req.body);
      // An audit line: who made which key for whom; never the secret.
      req.log.info({ keyId: issued.id, user: issued.info.user, admin: issued.info.admin }, 'key created');
      reply.status(201);
      return { ...issued.info, key: issued.key };
    },
  );

  r.get(
    '/admin/keys',
    { onRequest, schema: { response: { 200: z.object({ keys: z.array(keyInfoSchema) }), ...errors } } },
    async () => ({ keys: await deps.keys.list() }),
  );

  r.get(
    '/admin/keys/:id',
    { onRequest, schema: { params: idParams, response: { 200: keyInfoSchema, ...errors } } },
    async (req) => {
      const info = await deps.keys.get(req.params.id);
      if (!info) throw new AppError('not_found', `No key ${req.params.id}`);
      return info;
    },
  );

  r.patch(
    '/admin/keys/:id',
    {
      onRequest,
      schema: { params: idParams, body: patchKeySchema, response: { 200: keyInfoSchema, ...errors } },
    },
    async (req) => {
      const info = await deps.keys.update(req.params.id, req.body);
      req.log.info({ keyId: info.id, fields: Object.keys(req.body) }, 'key updated');
      return info;
    },
  );

  r.delete(
    '/admin/keys/:id',
    { onRequest, schema: { params: idParams, response: { 200: keyInfoSchema, ...errors } } },
    async (req) => {
      const { id } = req.params;
      if (!(await deps.keys.get(id))) throw new AppError('not_found', `No key ${id}`);
      if (!(await revokeKey(deps, id, req.log)))
        throw new AppError('conflict', `Key ${id} is already revoked`);
      const info = await deps.keys.get(id);
      if (!info) throw new AppError('not_found', `No key ${id}`);
      return info;
    },
  );

  r.post(
    '/admin/keys/:id/rotate',
    {
      onRequest,
      schema: {
        params: idParams,
        // A bodyless POST reaches the schema as null: both mean "the default grace period".
        body: rotateKeySchema.nullish(),
        response: { 200: issuedKeySchema, ...errors },
      },
    },
    async (req) => {
      const issued = await deps.keys.rotate(req.params.id, req.body?.gracePeriodS ?? DEFAULT_ROTATE_GRACE_S);
      req.log.info({ keyId: issued.id, until: issued.info.previousKeyValidUntil }, 'key rotated');
      return { ...issued.info, key: issued.key };
    },
  );
}
