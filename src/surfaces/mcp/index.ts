import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticate } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import { admitCaller } from '../../auth/scope.ts';
import { credentialOf } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';
import { authenticatedCaller, authenticateFirst } from '../../http/auth-first.ts';
import { parseBodiesAsJson } from '../../http/json-body.ts';
import type { AppDeps, Surface } from '../../http/surface.ts';
import { McpHost, type McpHostOptions } from '../../mcp/host.ts';
import { authenticateClaudebox } from '../claudebox/auth.ts';
import { renderClaudeboxError } from '../claudebox/errors.ts';
import { CLAUDEBOX, CLAUDEBOX_INSTANCES, type ClaudeboxInstance } from '../claudebox/instances.ts';
import { registerFileTools } from './file-tools.ts';
import { registerRunTool } from './run-tool.ts';

const BODY_LIMIT_BYTES = 64 * 1024 * 1024;
const DEFAULT_IDLE_MS = 30 * 60 * 1000;

/** Each session holds a server object: bounded per caller, and in all. */
export interface McpSessionLimits {
  /** A caller opening more evicts its own least recently used idle session, never another's. */
  maxPerOwner: number;
  /** Past this, new sessions are refused (busy) until some close or idle out. */
  maxTotal: number;
}

const DEFAULT_LIMITS: McpSessionLimits = { maxPerOwner: 64, maxTotal: 1024 };

type Authenticate = (deps: AppDeps, req: FastifyRequest) => Promise<Principal>;

type Endpoint = { auth: Authenticate; instance: ClaudeboxInstance };

/** The gateway's /mcp/ takes LITELLM_MASTER_KEY (the claudebox principal) or a stored key. */
async function authenticateGateway(deps: AppDeps, req: FastifyRequest): Promise<Principal> {
  const principal = await authenticate(deps.keys, credentialOf(req.headers), [
    {
      secret: deps.config.current().LITELLM_MASTER_KEY,
      principal: CLAUDEBOX.principal,
    },
  ]);
  if (!principal) throw new AppError('unauthorized', 'Missing or invalid bearer token');
  return admitCaller(deps.keys.limiter, principal, 'mcp');
}

function buildServer(deps: AppDeps, principal: Principal, instance: ClaudeboxInstance): McpServer {
  const server = new McpServer({ name: 'agentgate-claudebox', version: '1.0.0' });
  registerRunTool(server, deps, principal, instance);
  registerFileTools(server, deps, principal);
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
 * MCP over Streamable HTTP at /claudebox/mcp/ (claudebox token) and the gateway's /mcp/
 * (master key), both serving the same five tools for the caller's own workspaces.
 * An initialize request opens a stateful session (Mcp-Session-Id); a request without a
 * session id that is not an initialize is served statelessly by a throwaway server.
 */
export function makeMcpSurface(opts: { idleMs?: number; limits?: Partial<McpSessionLimits> } = {}): Surface {
  return async (scope, deps) => {
    const host = new McpHost(claudeboxMcpHosting(opts), () => deps.config.current());
    scope.addHook('onClose', () => host.close());
    parseBodiesAsJson(scope, BODY_LIMIT_BYTES);
    scope.setErrorHandler(renderClaudeboxError);

    const handler =
      ({ instance }: Endpoint) =>
      async (req: FastifyRequest, reply: FastifyReply) => {
        const principal = authenticatedCaller<Principal>(req);
        await host.handle(req, reply, {
          owner: principal.userId,
          body: req.body,
          build: () => ({ server: buildServer(deps, principal, instance) }),
        });
      };
    // Each claudebox instance at <prefix>/mcp/ with its own credentials, provider and user;
    // the gateway's /mcp/ is the Claude instance's, as LiteLLM's MCP was.
    const endpoints: Array<[string, Endpoint]> = [];
    for (const instance of CLAUDEBOX_INSTANCES) {
      const endpoint = {
        auth: (d: AppDeps, req: FastifyRequest) => authenticateClaudebox(d, req, instance, 'mcp'),
        instance,
      };
      endpoints.push([`${instance.prefix}/mcp/`, endpoint], [`${instance.prefix}/mcp`, endpoint]);
    }
    const gateway = { auth: authenticateGateway, instance: CLAUDEBOX };
    endpoints.push(['/mcp/', gateway], ['/mcp', gateway]);
    for (const [url, endpoint] of endpoints) {
      // Credentials are checked on onRequest: an unauthenticated body is never read.
      scope.route({
        method: ['POST', 'GET', 'DELETE'],
        url,
        onRequest: [host.guard, authenticateFirst((req) => endpoint.auth(deps, req))],
        handler: handler(endpoint),
      });
    }
  };
}

export const mcpSurface: Surface = makeMcpSurface();
