import type { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { ObjectMeta } from '../../storage/object-store.ts';
import { requireRead, requireWrite } from './access.ts';
import type { S3Call, StorageContext } from './context.ts';
import { copyObject } from './copy-routes.ts';
import { attrsFromRequest, setObjectHeaders } from './object-attrs.ts';
import { checkConditions, NotModified, READ_CONDITIONS, writeCondition } from './preconditions.ts';
import { headerOf, requireContentLength, uploadBody } from './request-body.ts';
import { queryValue } from './request-target.ts';
import { s3Error } from './s3-errors.ts';

/** `bytes=a-b`, `bytes=a-` or `bytes=-n` (one range; S3 ignores multi-range requests). */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable();
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw unsatisfiable();
  return { start, end };
}

function unsatisfiable() {
  return s3Error('InvalidRange', 'The requested range is not satisfiable', 416);
}

/**
 * response-* query parameters rewrite the headers of the answer (a stored text served as
 * text/html on this origin): S3 honours them only for authenticated requests.
 */
function refuseAnonymousOverrides(call: S3Call): void {
  if (call.caller.principal.kind !== 'anonymous') return;
  if (call.target.query.some(([name]) => name.startsWith('response-'))) {
    throw s3Error(
      'InvalidRequest',
      'Request specific response headers cannot be used for anonymous GET requests.',
      400,
    );
  }
}

/** Which bytes of a version a GET or HEAD answers with: all, a Range, or one part. */
interface Selection {
  range: { start: number; end: number } | undefined;
  /** Set when the caller asked for a part: how many parts the object has. */
  partsCount: number | undefined;
}

function partNumberOf(call: S3Call): number | undefined {
  const text = queryValue(call.target, 'partNumber');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 10_000) {
    throw s3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive', 400);
  }
  return n;
}

/** Conditions first (304/412 before any range error), then Range or partNumber. */
function select(call: S3Call, meta: ObjectMeta): Selection {
  checkConditions(call.req.headers, READ_CONDITIONS, meta, 'not-modified');
  const partNumber = partNumberOf(call);
  const rangeHeader = headerOf(call.req, 'range');
  if (partNumber === undefined) return { range: parseRange(rangeHeader, meta.size), partsCount: undefined };
  if (rangeHeader !== undefined) {
    throw s3Error('InvalidRequest', 'Cannot specify both Range header and partNumber query parameter', 400);
  }
  const sizes = meta.partSizes ?? [meta.size];
  if (partNumber > sizes.length)
    throw s3Error('InvalidPart', 'The requested partnumber is not satisfiable', 400);
  // A single-part object's part 1 is the whole object, answered as a plain 200.
  if (!meta.partSizes) return { range: undefined, partsCount: 1 };
  const start = sizes.slice(0, partNumber - 1).reduce((n, s) => n + s, 0);
  const size = sizes[partNumber - 1] ?? 0;
  return { range: { start, end: start + size - 1 }, partsCount: sizes.length };
}

function sendNotModified(call: S3Call, meta: ObjectMeta): FastifyReply {
  call.reply.header('etag', meta.etag);
  call.reply.header('last-modified', new Date(meta.lastModifiedMs).toUTCString());
  return call.reply.status(304).send();
}

export async function getObject(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireRead(call.caller.principal, call.bucket);
  refuseAnonymousOverrides(call);
  const { reply } = call;
  let meta: ObjectMeta;
  let selection: Selection;
  let stream: Readable | undefined;
  try {
    if (call.req.method === 'HEAD') {
      const found = await ctx.store.head(call.bucket.name, call.key);
      if (!found) throw s3Error('NoSuchKey', 'The specified key does not exist.', 404);
      meta = found;
      selection = select(call, meta);
    } else {
      let chosen: Selection | undefined;
      const opened = await ctx.store.open(call.bucket.name, call.key, (m) => {
        chosen = select(call, m);
        return chosen.range;
      });
      meta = opened.meta;
      stream = opened.stream;
      selection = chosen ?? { range: undefined, partsCount: undefined };
    }
  } catch (err) {
    if (err instanceof NotModified) return sendNotModified(call, err.meta);
    throw err;
  }
  try {
    const wantsChecksums = headerOf(call.req, 'x-amz-checksum-mode')?.toUpperCase() === 'ENABLED';
    // A checksum covers the whole object: a client would check it against a range and fail.
    const isWhole = selection.range === undefined && selection.partsCount === undefined;
    setObjectHeaders(reply, call.target, meta, wantsChecksums && isWhole);
    if (selection.partsCount !== undefined)
      reply.header('x-amz-mp-parts-count', String(selection.partsCount));
    const { range } = selection;
    if (range) {
      reply.status(206);
      reply.header('content-range', `bytes ${range.start}-${range.end}/${meta.size}`);
      reply.header('content-length', String(range.end - range.start + 1));
    } else {
      reply.status(200);
      reply.header('content-length', String(meta.size));
    }
  } catch (err) {
    stream?.destroy();
    throw err;
  }
  return reply.send(stream);
}

export async function putObject(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  if (headerOf(call.req, 'x-amz-copy-source')) return copyObject(ctx, call);
  requireContentLength(call.req);
  const condition = writeCondition(call.req.headers);
  // Checked before the body is read (a refused upload costs nothing) and again at commit.
  if (condition) condition(await ctx.store.head(call.bucket.name, call.key));
  const attrs = attrsFromRequest(call.req);
  const { body, checks } = uploadBody(call.req, call.caller, ctx.config().HYBRIDS3_MAX_OBJECT_BYTES);
  const meta = await ctx.store.put(call.bucket.name, call.key, body, {
    contentType: headerOf(call.req, 'content-type'),
    ttlMs: call.bucket.ttlMs,
    checks,
    attrs,
    condition,
  });
  call.reply.header('etag', meta.etag);
  for (const [algorithm, value] of Object.entries(meta.attrs?.checksums ?? {})) {
    call.reply.header(`x-amz-checksum-${algorithm}`, value);
  }
  return call.reply.status(200).send();
}

/** DELETE is 204 whether or not the key existed, as in S3. */
export async function deleteObject(ctx: StorageContext, call: S3Call): Promise<FastifyReply> {
  requireWrite(call.caller.principal, call.bucket);
  await ctx.store.delete(call.bucket.name, call.key);
  return call.reply.status(204).send();
}
