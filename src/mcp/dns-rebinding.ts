import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * DNS-rebinding protection of every MCP endpoint, as the MCP specification asks of a
 * Streamable HTTP server: a web page whose name an attacker re-points at this server (or
 * a page of another origin) must not reach the tools. A request is served only when its
 * `Host` names this server (a loopback name on any port, or one of MCP_ALLOWED_HOSTS) and
 * its `Origin`, when a browser sent one, is a loopback origin or one of MCP_ALLOWED_ORIGINS.
 */
export interface RebindingAllowList {
  /** `name` (any port) or `name:port`, lower-case; IPv6 in brackets (`[2001:db8::1]`). */
  MCP_ALLOWED_HOSTS: readonly string[];
  /** `scheme://host[:port]`, lower-case, no trailing slash. */
  MCP_ALLOWED_ORIGINS: readonly string[];
  /** The listen address: when it names one address (not 0.0.0.0 / ::), that name is this server's too. */
  HOST?: string;
}

const WILDCARD_ADDRESSES = new Set(['', '0.0.0.0', '::', '[::]']);

/** The listen address as a Host name (IPv6 in brackets), or undefined for a wildcard. */
function listenName(host: string | undefined): string | undefined {
  const name = host?.trim().toLowerCase() ?? '';
  if (WILDCARD_ADDRESSES.has(name)) return undefined;
  return name.includes(':') && !name.startsWith('[') ? `[${name}]` : name;
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** `name` and `port` of a Host header value (`example.com:8080`, `[::1]:80`, `localhost`), or undefined when malformed. */
function splitHost(value: string): { name: string; port: string } | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m?.[1]) return undefined;
  return { name: m[1].toLowerCase().replace(/\.$/, ''), port: m[2] ?? '' };
}

function isAllowedHost(
  value: string | undefined,
  allowed: readonly string[],
  listen: string | undefined,
): boolean {
  if (!value) return false;
  const host = splitHost(value);
  if (!host) return false;
  if (LOOPBACK_NAMES.has(host.name) || host.name === listen) return true;
  const full = host.port ? `${host.name}:${host.port}` : host.name;
  return allowed.some((entry) => entry === host.name || entry === full);
}

function isAllowedOrigin(value: string, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false; // `null` (sandboxed frames, file:) and anything malformed
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (LOOPBACK_NAMES.has(url.hostname.toLowerCase())) return true;
  return allowed.includes(url.origin.toLowerCase());
}

/** Why these headers are refused (a fixed text naming the header, never its value), or undefined when they pass. */
export function rebindingRefusal(
  headers: IncomingHttpHeaders,
  allow: RebindingAllowList,
): string | undefined {
  if (!isAllowedHost(headers.host, allow.MCP_ALLOWED_HOSTS, listenName(allow.HOST)))
    return 'Invalid Host header';
  const origin = headers.origin;
  if (origin !== undefined && !isAllowedOrigin(origin, allow.MCP_ALLOWED_ORIGINS))
    return 'Invalid Origin header';
  return undefined;
}

/**
 * Answers 403 (a JSON-RPC error, as the MCP SDK's own check does) and returns true when the
 * request's Host or Origin is not allowed. Safe to call more than once for one request.
 */
export function refuseForeignOrigin(
  req: FastifyRequest,
  reply: FastifyReply,
  allow: RebindingAllowList,
): boolean {
  const reason = rebindingRefusal(req.headers, allow);
  if (reason === undefined) return false;
  if (!reply.sent) {
    void reply
      .code(403)
      .type('application/json')
      .send(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: reason }, id: null }));
  }
  return true;
}

/** The same check as an onRequest hook, so a foreign request is refused before credentials or a body are read. */
export function rebindingGuard(allow: () => RebindingAllowList) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (refuseForeignOrigin(req, reply, allow())) return reply;
  };
}

/**
 * The check as a scope-wide onRequest hook for these route patterns (as registered), for a
 * surface whose own scope-wide hooks (authentication, body limits) would otherwise run
 * first: call it before adding those.
 */
export function guardMcpRoutes(
  scope: FastifyInstance,
  paths: readonly string[],
  allow: () => RebindingAllowList,
): void {
  const guard = rebindingGuard(allow);
  const guarded = new Set(paths);
  scope.addHook('onRequest', async (req, reply) => {
    if (guarded.has(req.routeOptions.url ?? '')) return guard(req, reply);
  });
}
