import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders } from 'node:http';

/** What the engine may need to know of the HTTP caller behind the current request. */
interface CallerContext {
  /** The request carried a proxy's forwarding header: its real origin may be anywhere. */
  isProxied: boolean;
}

const storage = new AsyncLocalStorage<CallerContext>();

/** Headers a reverse proxy or tunnel on this host adds: with them, a loopback peer is not local. */
const PROXY_HEADERS = ['x-forwarded-for', 'forwarded', 'cf-connecting-ip', 'x-real-ip', 'true-client-ip'];

export function callerContextOf(headers: IncomingHttpHeaders): CallerContext {
  return { isProxied: PROXY_HEADERS.some((h) => headers[h] !== undefined) };
}

/** Runs the rest of a request's handling with its caller context (an onRequest hook's `done`). */
export function withCallerContext(ctx: CallerContext, next: () => void): void {
  storage.run(ctx, next);
}

/** True inside a request that came through a proxy. */
export function isProxiedCaller(): boolean {
  return storage.getStore()?.isProxied ?? false;
}
