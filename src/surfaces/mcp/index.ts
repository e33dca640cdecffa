import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/principal.ts';
import { authenticatedCaller, authenticateFirst } from '../../http/auth-first.ts';
import { parseBodiesAsJson } from '../../http/json-body.ts';
import type { AppDeps, Surface } from '../../http/surface.ts';
import { type HostedServer, McpHost, type McpHostOptions } from '../../mcp/host.ts';
import { authenticateClaudebox } from '../claudebox/auth.ts';
import { renderClaudeboxError } from '../claudebox/errors.ts';
import {
  CLAUDEBOX,
  CLAUDEBOX_INSTANCES,
  CLAUDEBOX_ZAI,
  type ClaudeboxInstance,
} from '../claudebox/instances.ts';
import {
  aggregateCallerOf,
  authenticateGateway,
  buildAggregate,
  claudeboxAggregate,
  registerClaudeboxTools,
} from './aggregate.ts';

/** Room for storage's largest MCP upload through /mcp/ (50 MB as base64, plus the envelope). */
const BODY_LIMIT_BYTES = 72 * 1024 * 1024;
const DEFAULT_IDLE_MS = 30 * 60 * 1000;

/** Each session holds a server object: bounded per caller, and in all. */
export interface McpSessionLimits {
  /** A caller opening more evicts its own least recently used idle session, never another's. */
  maxPerOwner: number;
  /** Past this, new sessions are refused (busy) until some close or idle out. */
  maxTotal: number;
}

const DEFAULT_LIMITS: McpSessionLimits = { maxPerOwner: 64, maxTotal: 1024 };

function buildServer(deps: AppDeps, principal: Principal, instance: ClaudeboxInstance): McpServer {
  const server = new McpServer({ name: 'agentgate-claudebox', version: '1.0.0' });
  registerClaudeboxTools(server, deps, principal, instance);
  return server;
}

/**
 * How the claudebox and gateway MCP servers are hosted: sessions idle out; 64 per caller,
 * its next evicting its own least recently used idle one (refused when all are busy);
 * past 1024 in all, new ones are refused.
 */
export function claudeboxMcpHosting(
  opts: { idleMs?: number; limits?: Partial<McpSessionLimits> } = {},
): McpHostOptions {
  return {
    mode: 'sessions',
    idleMs: opts.idleMs ?? DEFAULT_IDLE_MS,
    ...DEFAULT_LIMITS,
    ...opts.limits,
    mayEvictBusy: false,
    whenFull: 'refuse',
    // A request without a session id that is not an initialize is served by a throwaway server.
    servesSessionlessPosts: true,
    sessionRequiredMessage: 'Mcp-Session-Id header is required',
  };
}

/**
 * Whom an MCP session belongs to: the credential that opened it, with the scope it had. Its
 * tools were built for that principal (its key id, tier and workspace prefix), so another
 * key of the same user — a narrower one — must not drive them, and a PATCH that changes
 * the key's scope retires its open sessions (the client re-initializes and gets the new one).
 */
export function sessionOwnerOf(principal: Principal): string {
  if (!principal.keyId) return `${principal.via}:${principal.userId}`;
  return `key:${principal.keyId}:${JSON.stringify(principal.scope ?? null)}`;
}

/** The paths of one MCP endpoint: with and without the trailing slash. */
const pathsOf = (base: string): string[] => [`${base}/mcp/`, `${base}/mcp`];

/**
 * MCP over Streamable HTTP: each claudebox instance's five tools at <prefix>/mcp/ (its
 * token), and the gateway's /mcp/ (master key or a stored key), seed 002's "MCP server (all
 * tools)": every enabled MCP server of the app (claudebox, storage, browser: see the app's
 * McpCatalog) under LiteLLM's `<server>-<tool>` names.
 * An initialize request opens a stateful session (Mcp-Session-Id); a request without a
 * session id that is not an initialize is served statelessly by a throwaway server.
 */
export function makeMcpSurface(opts: { idleMs?: number; limits?: Partial<McpSessionLimits> } = {}): Surface {
  // Named: metrics label a request with its surface's function name.
  return async function mcpSurface(scope, deps) {
    const allow = () => deps.config.current();
    // The aggregate has a host of its own: a session opened there (with every server's tools)
    // is unknown on an instance's endpoint, and the other way round, whoever presents its id.
    const claudeboxHost = new McpHost(claudeboxMcpHosting(opts), allow);
    const gatewayHost = new McpHost(claudeboxMcpHosting(opts), allow);
    scope.addHook('onClose', () => Promise.all([claudeboxHost.close(), gatewayHost.close()]));
    parseBodiesAsJson(scope, BODY_LIMIT_BYTES);
    scope.setErrorHandler(renderClaudeboxError);

    scope.mcpCatalog.add(claudeboxAggregate(deps, CLAUDEBOX, 'claudebox'));
    scope.mcpCatalog.add(claudeboxAggregate(deps, CLAUDEBOX_ZAI, 'claudebox_zai'));

    // Credentials are checked on onRequest: an unauthenticated body is never read.
    const route = (
      url: string,
      host: McpHost,
      auth: (req: FastifyRequest) => Promise<Principal>,
      build: (req: FastifyRequest, principal: Principal) => HostedServer,
    ) =>
      scope.route({
        method: ['POST', 'GET', 'DELETE'],
        url,
        onRequest: [host.guard, authenticateFirst(auth)],
        handler: async (req: FastifyRequest, reply: FastifyReply) => {
          const principal = authenticatedCaller<Principal>(req);
          await host.handle(req, reply, {
            owner: sessionOwnerOf(principal),
            body: req.body,
            build: () => build(req, principal),
          });
        },
      });

    for (const instance of CLAUDEBOX_INSTANCES) {
      for (const url of pathsOf(instance.prefix)) {
        route(
          url,
          claudeboxHost,
          (req) => authenticateClaudebox(deps, req, instance, 'mcp'),
          (_req, principal) => ({ server: buildServer(deps, principal, instance) }),
        );
      }
    }
    for (const url of pathsOf('')) {
      route(
        url,
        gatewayHost,
        (req) => authenticateGateway(deps, req),
        (req, principal) => buildAggregate(scope.mcpCatalog, aggregateCallerOf(req, principal)),
      );
    }
  };
}

export const mcpSurface: Surface = makeMcpSurface();
