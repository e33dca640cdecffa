import { Readable } from 'node:stream';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { BucketConfig } from '../../config/index.ts';
import { AppError } from '../../errors.ts';
import type { AggregatedServer, ToolSink } from '../../mcp/catalog.ts';
import { guardMcpRoutes } from '../../mcp/dns-rebinding.ts';
import { McpHost, type McpHostOptions } from '../../mcp/host.ts';
import { toolCall, toolText } from '../../mcp/tool-result.ts';
import { type Principal, principalOfKey, requireRead, requireWrite, visibleBuckets } from './access.ts';
import type { StorageContext } from './context.ts';
import { decodeContent, isTextual, uploadTypeOf } from './mcp-content.ts';
import { DEFAULT_PRESIGN_S, parseExpires, presignUrl } from './presign-route.ts';
import { STORAGE_PREFIX } from './request-target.ts';
import { keyRingOf } from './s3-router.ts';

/** download_object reads whole objects into the answer: past this, the S3 API or a presigned URL. */
export const MAX_MCP_DOWNLOAD_BYTES = 50 * 1024 * 1024;
/** Room for a 50 MB object as base64 (4/3) plus the JSON-RPC envelope. */
const MAX_MCP_REQUEST_BYTES = 72 * 1024 * 1024;
const DEFAULT_LIST_KEYS = 100;

const ok = (value: unknown): CallToolResult => toolText(value);

/** Storage tools tell the model only an AppError's message; anything else is an internal error. */
const guarded = (fn: () => Promise<CallToolResult>): Promise<CallToolResult> =>
  toolCall(fn, { describe: (err) => err.message, unexpected: 'Internal error' });

/** `utf-8` (the original's spelling) or `utf8` (agentgate's first) for text, `base64` for bytes. */
const encodingArg = z
  .enum(['utf-8', 'utf8', 'base64'])
  .optional()
  .describe('"utf-8" (default) for text, "base64" for binary content');

const isoOrNull = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * The storage tools, on /storage/mcp/'s server or the gateway's aggregate: each call is
 * authorised by its own `auth_key` argument (a bucket key or HYBRIDS3_MASTER_KEY), never by
 * the connection's credential, so reaching them through another endpoint grants nothing.
 * `host`/`protocol` (of the request that opened the server) build presigned URLs.
 */
export function registerStorageTools(
  server: ToolSink,
  ctx: StorageContext,
  host: string,
  protocol: string,
): void {
  const principalOf = (authKey: string | undefined): Principal =>
    authKey ? principalOfKey(authKey, keyRingOf(ctx)) : { kind: 'anonymous' };
  const bucketOf = (name: string): BucketConfig => {
    const bucket = ctx.config().buckets.find((b) => b.name === name);
    if (!bucket) throw new AppError('not_found', `No bucket named ${name}`);
    return bucket;
  };
  const readKey = z
    .string()
    .optional()
    .describe('The bucket key or HYBRIDS3_MASTER_KEY (not needed to read a public bucket)');
  const writeKey = z.string().describe('The bucket key or HYBRIDS3_MASTER_KEY');
  const target = {
    bucket: z.string().describe('The bucket name'),
    key: z.string().describe('The object key'),
  };

  const upload = async (args: {
    auth_key: string;
    bucket: string;
    key: string;
    content: string;
    encoding?: string | undefined;
    content_type?: string | undefined;
  }) => {
    const bucket = bucketOf(args.bucket);
    requireWrite(principalOf(args.auth_key), bucket);
    const data = decodeContent(args.content, args.encoding);
    const contentType = args.content_type || (await uploadTypeOf(args.key, data));
    return ctx.store.put(bucket.name, args.key, Readable.from([data]), {
      contentType,
      ttlMs: bucket.ttlMs,
      checks: { maxBytes: ctx.config().HYBRIDS3_MAX_OBJECT_BYTES },
    });
  };
  const download = async (args: { auth_key?: string | undefined; bucket: string; key: string }) => {
    const bucket = bucketOf(args.bucket);
    requireRead(principalOf(args.auth_key), bucket);
    const { meta, stream } = await ctx.store.open(bucket.name, args.key);
    if (meta.size > MAX_MCP_DOWNLOAD_BYTES) {
      stream.destroy();
      throw new AppError(
        'payload_too_large',
        `Object is ${meta.size} bytes, over the ${MAX_MCP_DOWNLOAD_BYTES}-byte MCP limit: use a presigned URL or GET /storage/${bucket.name}/${args.key}`,
      );
    }
    const parts: Buffer[] = [];
    for await (const chunk of stream) parts.push(chunk as Buffer);
    return { meta, data: Buffer.concat(parts) };
  };
  const uploadShape = {
    ...target,
    content: z.string().describe('The content: text, or base64 with encoding "base64"'),
    auth_key: writeKey,
    content_type: z
      .string()
      .optional()
      .describe('MIME type; detected from the content and the key’s extension when not given'),
    encoding: encodingArg,
  };

  server.registerTool(
    'upload_object',
    {
      description:
        'Upload text or base64-encoded binary to bucket/key (bucket key or master key). The MIME type is detected when not given.',
      inputSchema: uploadShape,
      annotations: { idempotentHint: true },
    },
    (args) =>
      guarded(async () => {
        const meta = await upload(args);
        return ok({
          ok: true,
          key: meta.key,
          size: meta.size,
          etag: meta.etag,
          content_type: meta.contentType,
        });
      }),
  );
  server.registerTool(
    'download_object',
    {
      description: `Download an object as text, or base64 for binary content (encoding "base64", or bytes that are not UTF-8). At most ${MAX_MCP_DOWNLOAD_BYTES / 1024 / 1024} MB; public buckets need no auth_key.`,
      inputSchema: { ...target, auth_key: readKey, encoding: encodingArg },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const { meta, data } = await download(args);
        let encoding: 'utf-8' | 'base64' = args.encoding === 'base64' ? 'base64' : 'utf-8';
        let content = '';
        if (encoding === 'utf-8') {
          try {
            content = new TextDecoder('utf-8', { fatal: true }).decode(data);
          } catch {
            encoding = 'base64';
          }
        }
        if (encoding === 'base64') content = data.toString('base64');
        return ok({
          ok: true,
          key: meta.key,
          content,
          encoding,
          content_type: meta.contentType,
          size: meta.size,
          etag: meta.etag,
        });
      }),
  );
  server.registerTool(
    'delete_object',
    {
      description: 'Delete an object (bucket key or master key); succeeds when it is already absent.',
      inputSchema: { ...target, auth_key: writeKey },
      annotations: { destructiveHint: true },
    },
    (args) =>
      guarded(async () => {
        const bucket = bucketOf(args.bucket);
        requireWrite(principalOf(args.auth_key), bucket);
        await ctx.store.delete(bucket.name, args.key);
        return ok({ ok: true, deleted: args.key });
      }),
  );
  server.registerTool(
    'list_objects',
    {
      description: 'List objects of a bucket, optionally under a key prefix (at most 1000; default 100).',
      inputSchema: {
        bucket: target.bucket,
        auth_key: readKey,
        prefix: z.string().optional().describe('Only keys starting with this, e.g. "images/"'),
        max_keys: z
          .number()
          .int()
          .min(1)
          .max(1000)
          .optional()
          .describe('At most this many (1-1000, default 100)'),
      },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const bucket = bucketOf(args.bucket);
        requireRead(principalOf(args.auth_key), bucket);
        const page = await ctx.store.list(bucket.name, {
          prefix: args.prefix ?? '',
          delimiter: '',
          maxKeys: args.max_keys ?? DEFAULT_LIST_KEYS,
          startAfter: '',
          continuationToken: undefined,
        });
        const objects = page.objects.map((m) => ({
          key: m.key,
          size: m.size,
          content_type: m.contentType,
          etag: m.etag,
        }));
        return ok({ ok: true, bucket: bucket.name, count: objects.length, objects });
      }),
  );
  server.registerTool(
    'list_buckets',
    {
      description: 'List the buckets this key can see: all for the master key, its own for a bucket key.',
      inputSchema: { auth_key: writeKey },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const principal = principalOf(args.auth_key);
        if (principal.kind === 'anonymous') throw new AppError('unauthorized', 'Access denied');
        const buckets = visibleBuckets(principal, ctx.config().buckets).map((b) => ({
          name: b.name,
          public: b.isPublic,
          ttl_seconds: b.ttlMs === undefined ? null : Math.round(b.ttlMs / 1000),
          max_file_size_bytes: ctx.config().HYBRIDS3_MAX_OBJECT_BYTES,
        }));
        return ok({ ok: true, buckets });
      }),
  );
  server.registerTool(
    'object_info',
    {
      description:
        'An object’s metadata without its content: size, content type, ETag, upload time and expiry.',
      inputSchema: { ...target, auth_key: readKey },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const bucket = bucketOf(args.bucket);
        requireRead(principalOf(args.auth_key), bucket);
        const meta = await ctx.store.head(bucket.name, args.key);
        if (!meta) throw new AppError('not_found', `Object '${args.key}' not found`);
        return ok({
          ok: true,
          key: meta.key,
          content_type: meta.contentType,
          size: meta.size,
          etag: meta.etag,
          uploaded_at: isoOrNull(meta.lastModifiedMs),
          expires_at: isoOrNull(meta.expiresAtMs),
        });
      }),
  );
  server.registerTool(
    'presign_url',
    {
      description:
        'A shareable URL to GET the object: plain for a public bucket, signed and expiring for a private one.',
      inputSchema: {
        ...target,
        auth_key: writeKey,
        expires: z
          .number()
          .int()
          .optional()
          .describe(`Seconds until it expires (default ${DEFAULT_PRESIGN_S})`),
      },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const signed = await presignUrl({
          ctx,
          principal: principalOf(args.auth_key),
          bucket: bucketOf(args.bucket),
          key: args.key,
          expiresS: parseExpires(args.expires === undefined ? undefined : String(args.expires)),
          host,
          protocol,
        });
        return ok({ ok: true, ...signed });
      }),
  );

  // The names agentgate first shipped, kept for existing clients, with their first answers.
  server.registerTool(
    'put_object',
    { description: 'Older name of upload_object (answers in camelCase).', inputSchema: uploadShape },
    (args) =>
      guarded(async () => {
        const meta = await upload(args);
        return ok({ key: meta.key, size: meta.size, etag: meta.etag, contentType: meta.contentType });
      }),
  );
  server.registerTool(
    'get_object',
    {
      description:
        'Older name of download_object: text types as text, anything else as base64 (camelCase answer).',
      inputSchema: { ...target, auth_key: readKey },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      guarded(async () => {
        const { meta, data } = await download(args);
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
}

/** One MCP server per request (stateless Streamable HTTP): tools close over the caller's Host. */
function buildServer(ctx: StorageContext, host: string, protocol: string): McpServer {
  const server = new McpServer({ name: 'agentgate-storage', version: '1.0.0' });
  registerStorageTools(server, ctx, host, protocol);
  return server;
}

/** The storage tools in the gateway's /mcp/, as aigate's LiteLLM named the server. */
export function storageAggregate(ctx: StorageContext): AggregatedServer {
  return {
    name: 'hybrids3',
    isEnabled: () => true,
    register: (sink, caller) => {
      registerStorageTools(sink, ctx, caller.host, caller.protocol);
      return {};
    },
  };
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

const MCP_PATHS = [`${STORAGE_PREFIX}/mcp`, `${STORAGE_PREFIX}/mcp/`];

/** DNS-rebinding protection of the MCP routes, ahead of the surface's body limits: call first. */
export function guardStorageMcp(app: FastifyInstance, ctx: StorageContext): void {
  guardMcpRoutes(app, MCP_PATHS, () => ctx.config());
}

/** POST /storage/mcp/ (and without the slash): per-tool auth through each tool's auth_key. */
export async function registerStorageMcp(app: FastifyInstance, ctx: StorageContext): Promise<void> {
  const host = new McpHost(STORAGE_MCP_HOSTING, () => ctx.config());
  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.method === 'POST' ? await readJson(req) : undefined;
    await host.handle(req, reply, {
      // Callers are told apart per tool call (auth_key), not per connection.
      owner: 'storage',
      body,
      build: () => ({ server: buildServer(ctx, req.headers.host ?? 'localhost', req.protocol) }),
    });
  };
  for (const path of MCP_PATHS) {
    app.route({ method: ['GET', 'POST', 'DELETE'], url: path, handler: handle });
  }
}
