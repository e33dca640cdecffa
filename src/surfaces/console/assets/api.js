// @ts-check
/**
 * Talks to agentgate's JSON APIs with the signed-in key. The key lives in this tab's
 * sessionStorage only and travels in the Authorization header only, never in a URL (URLs
 * end up in logs, history and Referer headers).
 */

const KEY_ITEM = 'agentgate.key';

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_ITEM) ?? '';
}

/** @param {string} key */
export function storeKey(key) {
  sessionStorage.setItem(KEY_ITEM, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_ITEM);
}

/** @type {() => void} */
let onUnauthorized = () => {};

/** What to do when the server stops accepting the key (revoked, rotated): sign out. */
export function whenUnauthorized(/** @type {() => void} */ handler) {
  onUnauthorized = handler;
}

/**
 * @param {string} key
 * @param {HeadersInit} [extra]
 */
export function authHeaders(key = storedKey(), extra = {}) {
  const headers = new Headers(extra);
  headers.set('authorization', `Bearer ${key}`);
  return headers;
}

/**
 * A failed response as an ApiError, from the server's `{error:{code,message}}` body.
 * @param {Response} res
 */
export async function errorOf(res) {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = await res.json();
    if (body && typeof body.error === 'object' && body.error) {
      code = String(body.error.code ?? code);
      message = String(body.error.message ?? message);
    } else if (body && typeof body.error === 'string') {
      message = body.error;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

/**
 * A request with the signed-in key. JSON bodies are sent as JSON; Blob/File bodies as is.
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, key?: string, signal?: AbortSignal, headers?: HeadersInit }} [opts]
 * @returns {Promise<Response>}
 */
export async function send(method, path, opts = {}) {
  const headers = authHeaders(opts.key, opts.headers);
  /** @type {BodyInit | undefined} */
  let body;
  if (opts.body instanceof Blob) {
    body = opts.body;
    if (!headers.has('content-type')) headers.set('content-type', 'application/octet-stream');
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers.set('content-type', 'application/json');
  }
  const res = await fetch(path, {
    method,
    headers,
    body,
    signal: opts.signal,
    cache: 'no-store',
    credentials: 'omit',
  });
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && opts.key === undefined) onUnauthorized();
    throw err;
  }
  return res;
}

/**
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, key?: string, signal?: AbortSignal }} [opts]
 * @returns {Promise<any>}
 */
export async function json(method, path, opts = {}) {
  const res = await send(method, path, opts);
  if (res.status === 204) return undefined;
  return res.json();
}

/** A path segment, escaped: names may hold anything but a slash. */
export function seg(/** @type {string} */ s) {
  return encodeURIComponent(s);
}

/** A file path inside a workspace, each segment escaped, the slashes kept. */
export function filePath(/** @type {string} */ path) {
  return path.split('/').map(seg).join('/');
}
