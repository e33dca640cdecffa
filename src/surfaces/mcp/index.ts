import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authenticate } from '../../auth/authenticate.ts';
import type { Principal } from '../../auth/principal.ts';
import { credentialOf } from '../../auth/secrets.ts';
import { AppError } from '../../errors.ts';
import { authenticatedCaller, authenticateFirst } from '../../http/auth-first.ts';
import { parseBodiesAsJson } from '../../http/json-body.ts';
import type { AppDeps, Surface } from '../../http/surface.ts';
import { authenticateClaudebox } from '../claudebox/auth.ts';
import { renderClaudeboxError } from '../claudebox/errors.ts';
import { CLAUDEBOX, CLAUDEBOX_INSTANCES, type ClaudeboxInstance } from '../claudebox/instances.ts';
import { registerFileTools } from './file-tools.ts';
import { registerRunTool } from './run-tool.ts';
import { type McpSessionLimits, McpSessions } from './sessions.ts';

const BODY_LIMIT_BYTES = 64 * 1024 * 1024;
const DEFAULT_IDLE_MS = 30 * 60 * 1000;

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
  return principal;
}

function buildServer(deps: AppDeps, principal: Principal, instance: ClaudeboxInstance): McpServer {
  const server = new McpServer({ name: 'agentgate-claudebox', version: '1.0.0' });
  registerRunTool(server, deps, principal, instance);
  registerFileTools(server, deps, principal);
  return server;
}

/**
 * MCP over Streamable HTTP at /claudebox/mcp/ (claudebox token) and the gateway's /mcp/
 * (master key), both serving the same five tools for the caller's own workspaces.
 * An initialize request opens a stateful session (Mcp-Session-Id); a request without a
 * session id that is not an initialize is served statelessly by a throwaway server.
 */
export function makeMcpSurface(opts: { idleMs?: number; limits?: Partial<McpSessionLimits> } = {}): Surface {
  return async (scope, deps) => {
    const sessions = new McpSessions(opts.idleMs ?? DEFAULT_IDLE_MS, opts.limits);
    scope.addHook('onClose', () => sessions.close());
    parseBodiesAsJson(scope, BODY_LIMIT_BYTES);
    scope.setErrorHandler(renderClaudeboxError);

    const handler =
      ({ instance }: Endpoint) =>
      async (req: FastifyRequest, reply: FastifyReply) => {
        const principal = authenticatedCaller<Principal>(req);
        const sid = req.headers['mcp-session-id'];
        if (typeof sid === 'string') {
          const transport = sessions.use(sid, principal.userId, reply.raw);
          if (!transport) throw new AppError('not_found', 'Unknown or expired MCP session');
          reply.hijack();
          return transport.handleRequest(req.raw, reply.raw, req.body);
        }
        if (req.method === 'POST' && isInitializeRequest(req.body)) {
          const transport = await sessions.open(buildServer(deps, principal, instance), principal.userId);
          reply.hijack();
          return transport.handleRequest(req.raw, reply.raw, req.body);
        }
        if (req.method !== 'POST') throw new AppError('invalid_request', 'Mcp-Session-Id header is required');
        const server = buildServer(deps, principal, instance);
        const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
        reply.raw.on('close', () => {
          void transport.close();
          void server.close();
        });
        await server.connect(transport);
        reply.hijack();
        return transport.handleRequest(req.raw, reply.raw, req.body);
      };
    // Each claudebox instance at <prefix>/mcp/ with its own credentials, provider and user;
    // the gateway's /mcp/ is the Claude instance's, as LiteLLM's MCP was.
    const endpoints: Array<[string, Endpoint]> = [];
    for (const instance of CLAUDEBOX_INSTANCES) {
      const endpoint = {
        auth: (d: AppDeps, req: FastifyRequest) => authenticateClaudebox(d, req, instance),
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
        onRequest: authenticateFirst((req) => endpoint.auth(deps, req)),
        handler: handler(endpoint),
      });
    }
  };
}

export const mcpSurface: Surface = makeMcpSurface();
