import { AppError } from '../errors.ts';

const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.@+=-]{0,127}$/;
const FILE_SEGMENT = /^[^/\\\0]{1,255}$/;

/**
 * A workspace name is a relative path of safe segments (`myproject`, `a/b`): no empty,
 * `.` or `..` segment, no leading dot or dash, no backslash, NUL or control character.
 */
export function parseWorkspaceName(name: string): string[] {
  if (typeof name !== 'string' || name.length === 0 || name.length > 512) {
    throw new AppError('invalid_request', 'Workspace name must be 1-512 characters');
  }
  const segments = name.split('/');
  if (segments.length > 16 || segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) {
    throw new AppError(
      'invalid_request',
      `Invalid workspace name "${printable(name)}": use segments of letters, digits and _ . - separated by /`,
    );
  }
  return segments;
}

/**
 * A file path inside a workspace: relative, `/`-separated, no `.`/`..`/empty segments, no
 * backslash, NUL or control characters. Anything else is refused rather than normalised,
 * so what a caller names is exactly what is touched.
 */
export function parseFilePath(path: string): string[] {
  if (typeof path !== 'string' || path.length === 0 || path.length > 4096) {
    throw new AppError('invalid_request', 'File path must be 1-4096 characters');
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(path) || path.startsWith('/')) {
    throw new AppError('invalid_request', `Invalid file path "${printable(path)}"`);
  }
  const segments = path.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..' || !FILE_SEGMENT.test(s))) {
    throw new AppError(
      'invalid_request',
      `Invalid file path "${printable(path)}": no empty, . or .. segments`,
    );
  }
  return segments;
}

/**
 * URL paths arrive decoded by the router; an encoded separator (%2F, %5C) or an encoded
 * dot segment in the raw URL would have been turned into structure, so it is refused.
 */
export function assertNoEncodedSeparators(rawUrl: string): void {
  const path = rawUrl.split('?')[0] ?? '';
  if (/%2f|%5c|%00/i.test(path) || /(^|\/)(%2e|\.){1,2}(\/|$)/i.test(path.replace(/%2e/gi, '.'))) {
    throw new AppError(
      'invalid_request',
      'Paths may not contain . or .. segments or encoded separators (%2F, %5C, %00)',
    );
  }
}

function printable(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: make control characters visible in errors
  return s.slice(0, 200).replace(/[\u0000-\u001f\u007f]/g, '?');
}
