import type { FastifyReply, FastifyRequest } from 'fastify';
import { credentialOf } from '../../auth/secrets.ts';
import { limitAnonymousBodies } from '../../http/auth-first.ts';
import { prepareErrorReply, toAppError } from '../../http/errors.ts';
import { passBodiesAsStreams } from '../../http/json-body.ts';
import type { Surface } from '../../http/surface.ts';
import { principalOfKey } from './access.ts';
import type { StorageContext } from './context.ts';
import { guardStorageMcp, registerStorageMcp, storageAggregate } from './mcp.ts';
import { handlePresign } from './presign-route.ts';
import { STORAGE_PREFIX } from './request-target.ts';
import { sendS3Error } from './s3-errors.ts';
import { handleS3, keyRingOf } from './s3-router.ts';

/** Paths whose callers speak JSON; everything else under /storage speaks S3 (XML errors). */
const JSON_PATHS = [`${STORAGE_PREFIX}/health`, `${STORAGE_PREFIX}/presign/`, `${STORAGE_PREFIX}/mcp`];

/** The hybrids3-compatible object storage at /storage: REST (Bearer), S3 (SigV4) and MCP. */
export const storageSurface: Surface = async (app, deps) => {
  const config = () => deps.config.current();
  // Built (with its expiry sweeper) by the composition root.
  const ctx: StorageContext = { store: deps.storage.store, uploads: deps.storage.uploads, config };

  // A foreign Host or Origin on /storage/mcp/ is refused before anything else.
  guardStorageMcp(app, ctx);
  // Uploads stream to disk; nothing under /storage is parsed by Fastify.
  passBodiesAsStreams(app);
  // S3 clients report this id (and the same one is the RequestId of every XML error).
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-amz-request-id', String(req.id));
    // An empty Content-Type is no type (S3 stores the upload); Fastify would answer 415.
    if (req.headers['content-type']?.trim() === '') delete req.headers['content-type'];
  });
  app.setErrorHandler((err, req, reply) => {
    const appErr = toAppError(err, req);
    const path = (req.raw.url ?? '').split('?')[0] ?? '';
    if (JSON_PATHS.some((p) => path.startsWith(p))) {
      prepareErrorReply(appErr, reply);
      return reply.send({ error: { code: appErr.code, message: appErr.message } });
    }
    return sendS3Error(appErr, req, reply, path.slice(STORAGE_PREFIX.length) || '/');
  });

  // MCP's keys travel inside the body (auth_key): without a valid Bearer, bodies stay small.
  limitAnonymousBodies(app, {
    paths: [`${STORAGE_PREFIX}/mcp`, `${STORAGE_PREFIX}/mcp/`],
    maxAnonymousBytes: 1024 * 1024,
    isAuthenticated: (req) => {
      const key = credentialOf(req.headers);
      try {
        return key !== undefined && principalOfKey(key, keyRingOf(ctx)).kind !== 'anonymous';
      } catch {
        return false;
      }
    },
  });
  app.get(`${STORAGE_PREFIX}/health`, async () => ({ status: 'ok' }));
  app.post(`${STORAGE_PREFIX}/presign/*`, (req, reply) => handlePresign(ctx, req, reply));
  await registerStorageMcp(app, ctx);
  app.mcpCatalog.add(storageAggregate(ctx));
  const s3 = (req: FastifyRequest, reply: FastifyReply) => handleS3(ctx, req, reply);
  // Without a trailing slash too: S3 clients list buckets at GET /storage.
  app.all(STORAGE_PREFIX, s3);
  app.all(`${STORAGE_PREFIX}/*`, s3);
};
