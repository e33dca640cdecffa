import { AppError } from '../../errors.ts';
import { detectContentType, SNIFF_BYTES } from '../../storage/content-type.ts';

/** What the storage MCP tools make of content given as text or base64, and of its type. */

export function isTextual(contentType: string): boolean {
  return /^text\/|[/+](json|xml)\b|javascript|yaml/.test(contentType);
}

/** Types a key's extension names, used when the bytes alone only say "text" or nothing. */
const TYPE_OF_EXTENSION: Record<string, string> = {
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xml: 'application/xml',
  svg: 'image/svg+xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  txt: 'text/plain; charset=utf-8',
};

/** MIME type of an upload given none: its bytes first (magic numbers), then its key's extension. */
export async function uploadTypeOf(key: string, data: Buffer): Promise<string> {
  const sniffed = await detectContentType(data.subarray(0, SNIFF_BYTES));
  const base = sniffed.split(';')[0];
  if (base !== 'text/plain' && base !== 'application/octet-stream') return sniffed;
  const ext = /\.([a-z0-9]+)$/i.exec(key)?.[1]?.toLowerCase();
  const byExt = ext ? TYPE_OF_EXTENSION[ext] : undefined;
  // An extension may name a text type only for bytes that are text.
  if (byExt && (base === 'text/plain' || !isTextual(byExt))) return byExt;
  return sniffed;
}

export function decodeContent(content: string, encoding: string | undefined): Buffer {
  if (encoding !== 'base64') return Buffer.from(content, 'utf8');
  const clean = content.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 === 1) {
    throw new AppError('invalid_request', 'Invalid base64 content');
  }
  return Buffer.from(clean, 'base64');
}
