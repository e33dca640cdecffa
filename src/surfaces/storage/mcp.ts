import { Readable } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { BucketConfig } from '../../config/index.ts';
import { AppError } from '../../errors.ts';
import { McpHost, type McpHostOptions } from '../../mcp/host.ts';
import { toolCall, toolText } from '../../mcp/tool-result.ts';
import { type Principal, principalOfKey, requireRead, requireWrite, visibleBuckets } from './access.ts';
import type { StorageContext } from './context.ts';
import { parseExpires, presignUrl } from './presign-route.ts';
import { STORAGE_PREFIX } from './request-target.ts';
import { keyRingOf } from './s3-router.ts';

/** MCP answers carry whole objects: keep them small (the S3 API is there for big ones). */
const MAX_MCP_OBJECT_BYTES = 10 * 1024 * 1024;
const MAX_MCP_REQUEST_BYTES = 20 * 1024 * 1024;

const ok = (value: unknown): CallToolResult => toolText(value);

/** Storage tools tell the model only an AppError's message; anything else is an internal error. */
const guarded = (fn: () => Promise<CallToolResult>): Promise<CallToolResult> =>
  toolCall(fn, { describe: (err) => err.message, unexpected: 'Internal error' });

function isTextual(contentType: string): boolean {
  return /^text\/|[/+](json|xml)\b|javascript|yaml/.test(contentType);
}

/** One MCP server per request (stateless Streamable HTTP): tools close over the caller's Host. */
function buildServer(ctx: StorageContext, host: string, protocol: string): McpServer {
  const server = new McpServer({ name: 'agentgate-storage', version: '1.0.0' });
  const principalOf = (authKey: string | undefined): Principal =>
    authKey ? principalOfKey(authKey, keyRingOf(ctx)) : { kind: 'anonymous' };
  const bucketOf = (name: string): BucketConfig => {
    const bucket = ctx.config().buckets.find((b) => b.name === name);
    if (!bucket) throw new AppError('not_found', `No bucket named ${name}`);
    return bucket;
  };
  const authKey = z
    .string()
    .optional()
    .describe('The bucket key or HYBRIDS3_MASTER_KEY (optional for reads of public buckets)');

  server.registerTool(
    'list_buckets',
    {
      description: 'List the buckets this key can see (master: all).',
      inputSchema: { auth_key: z.string() },
    },
    (args) =>
      guarded(async () =>
        ok(
          visibleBuckets(principalOf(args.auth_key), ctx.config().buckets).map((b) => ({
            name: b.name,
            public: b.isPublic,
          })),
        ),
      ),
  );
  server.registerTool(
    'list_objects',
    {
      description: 'List objects of a bucket, optionally under a prefix.',
      inputSchema: {
        auth_key: authKey,
        bucket: z.string(),
        prefix: z.string().optional(),
        max_keys: z.number().int().min(1).max(1000).optional(),
      },
    },
    (args) =>
      guarded(async () => {
        const bucket = bucketOf(args.bucket);
        requireRead(principalOf(args.auth_key), bucket);
        const page = await ctx.store.list(bucket.name, {
          prefix: args.prefix ?? '',
          delimiter: '',
          maxKeys: args.max_keys ?? 1000,
          startAfter: '',
          continuationToken: undefined,
        });
        return ok(
          page.objects.map((m) => ({ key: m.key, size: m.size, etag: m.etag, contentType: m.contentType })),
        );
      }),
  );
  server.registerTool(
    'get_object',
    {
      description: 'Read an object: text as is, anything else as base64.',
      inputSchema: { auth_key: authKey, bucket: z.string(), key: z.string() },
    },
    (args) =>
      guarded(async () => {
        const bucket = bucketOf(args.bucket);
        requireRead(principalOf(args.auth_key), bucket);
        const { meta, stream } = await ctx.store.open(bucket.name, args.key);
        if (meta.size > MAX_MCP_OBJECT_BYTES) {
          stream.destroy();
          throw new AppError(
            'payload_too_large',
            `Object is over ${MAX_MCP_OBJECT_BYTES} bytes: use a presigned URL`,
          );
        }
        const parts: Buffer[] = [];
        for await (const chunk of stream) parts.push(chunk as Buffer);
        const data = Buffer.concat(parts);
        const isText = isTextual(meta.contentType);
        return ok({
          key: meta.key,
          contentType: meta.contentType,
          size: meta.size,
          etag: meta.etag,
          encoding: isText ? 'utf8' : 'base64',
          content: data.toString(isText ? 'utf8' : 'base64'),
        });
      }),
  );
  server.registerTool(
    'put_object',
    {
      description: 'Write an object (content as utf8 text or base64).',
      inputSchema: {
        auth_key: z.string(),
        bucket: z.string(),
        key: z.string(),
        content: z.string(),
        encoding: z.enum(['utf8', 'base64']).optional(),
        content_type: z.string().optional(),
      },
    },
    (args) =>
      guarded(async () => {
        const bucket = bucketOf(args.bucket);
        requireWrite(principalOf(args.auth_key), bucket);
        const data = Buffer.from(args.content, args.encoding ?? 'utf8');
        const meta = await ctx.store.put(bucket.name, args.key, Readable.from([data]), {
          contentType: args.content_type,
          ttlMs: bucket.ttlMs,
          checks: { maxBytes: ctx.config().HYBRIDS3_MAX_OBJECT_BYTES },
        });
        return ok({ key: meta.key, size: meta.size, etag: meta.etag, contentType: meta.contentType });
      }),
  );
  server.registerTool(
    'delete_object',
    {
      description: 'Delete an object (succeeds when absent).',
      inputSchema: { auth_key: z.string(), bucket: z.string(), key: z.string() },
    },
    (args) =>
      guarded(async () => {
        const bucket = bucketOf(args.bucket);
        requireWrite(principalOf(args.auth_key), bucket);
        await ctx.store.delete(bucket.name, args.key);
        return ok({ deleted: args.key });
      }),
  );
  server.registerTool(
    'presign_url',
    {
      description: 'A URL to GET the object without credentials (public buckets: plain, no expiry).',
      inputSchema: {
        auth_key: z.string(),
        bucket: z.string(),
        key: z.string(),
        expires: z.number().int().optional(),
      },
    },
    (args) =>
      guarded(async () =>
        ok(
          await presignUrl({
            ctx,
            principal: principalOf(args.auth_key),
            bucket: bucketOf(args.bucket),
            key: args.key,
            expiresS: parseExpires(args.expires === undefined ? undefined : String(args.expires)),
            host,
            protocol,
          }),
        ),
      ),
  );
  return server;
}

async function readJson(req: FastifyRequest): Promise<unknown> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > MAX_MCP_REQUEST_BYTES) throw new AppError('payload_too_large', 'MCP request is too large');
    parts.push(chunk as Buffer);
  }
  const text = Buffer.concat(parts).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('invalid_request', 'Malformed JSON body');
  }
}

/** Stateless: one server per request, its tools closing over the caller's Host; plain JSON answers. */
export const STORAGE_MCP_HOSTING: McpHostOptions = { mode: 'stateless', enableJsonResponse: true };

/** POST /storage/mcp/ (and without the slash): per-tool auth through each tool's auth_key. */
export async function registerStorageMcp(app: FastifyInstance, ctx: StorageContext): Promise<void> {
  const host = new McpHost(STORAGE_MCP_HOSTING);
  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    await host.handle(req, reply, {
      // Callers are told apart per tool call (auth_key), not per connection.
      owner: 'storage',
      body,
      build: () => ({ server: buildServer(ctx, req.headers.host ?? 'localhost', req.protocol) }),
    });
  };
  for (const path of [`${STORAGE_PREFIX}/mcp`, `${STORAGE_PREFIX}/mcp/`]) {
    app.route({ method: ['GET', 'POST', 'DELETE'], url: path, handler: handle });
  }
}
