import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { atomicActions } from '../../browser/actions/registry.ts';
import type { ActionResult } from '../../browser/run-action.ts';
import { scriptParams } from '../../browser/script.ts';
import type { BrowserService } from '../../browser/service.ts';
import type { AppDeps } from '../../http/surface.ts';
import { guardMcpRoutes } from '../../mcp/dns-rebinding.ts';
import { type HostedServer, McpHost, type McpHostOptions } from '../../mcp/host.ts';
import { toolError, toolText } from '../../mcp/tool-result.ts';
import { browserOwnerOf, requireBrowserAuth } from './auth.ts';
import { PREFIX } from './routes.ts';

/** Live sessions in all: each one holds a server object and possibly a replica. */
export const MAX_SESSIONS = 256;
/** Live sessions one principal may hold; its next one evicts its own oldest, never another's. */
export const MAX_SESSIONS_PER_OWNER = 32;

/**
 * How the browser MCP server is hosted: never swept (a session holds its replica's page);
 * 32 per principal, its next evicting its own least recently used one even mid-call; a
 * full server (256) evicts from whoever holds the most; no session, no service.
 */
export const BROWSER_MCP_HOSTING: McpHostOptions = {
  mode: 'sessions',
  maxPerOwner: MAX_SESSIONS_PER_OWNER,
  maxTotal: MAX_SESSIONS,
  mayEvictBusy: true,
  whenFull: 'evict-largest',
  servesSessionlessPosts: false,
  sessionRequiredMessage: 'Start an MCP session with an initialize request',
};

const MCP_PATHS = [`${PREFIX}/mcp/`, `${PREFIX}/mcp`];

/** DNS-rebinding protection of the MCP routes, ahead of the surface's authentication: call first. */
export function guardBrowserMcp(scope: FastifyInstance, deps: AppDeps): void {
  guardMcpRoutes(scope, MCP_PATHS, () => deps.config.current());
}

/** What a browser MCP session holds besides its server. */
interface McpSession {
  server: McpServer;
  /** The principal that opened it: the only one its Mcp-Session-Id works for. */
  owner: string;
  /** The replica it holds, claimed at its first tool call (listing tools costs no replica). */
  instanceId?: string;
}

/**
 * `/stealthy-auto-browse/mcp/`: Streamable HTTP, one tool per action. Every call of a
 * session (Mcp-Session-Id) runs on the replica the session claimed, the way the seed's
 * HAProxy pins MCP traffic. A session belongs to the principal that opened it: another
 * principal presenting its id is told it does not exist. One principal at its share
 * evicts its own least recently used session; a full server evicts from whoever holds
 * the most. Sessions are not swept when idle: a session holds its replica's page.
 */
export function registerMcpRoutes(scope: FastifyInstance, deps: AppDeps, service: BrowserService): void {
  const host = new McpHost(BROWSER_MCP_HOSTING, () => deps.config.current());

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const owner = browserOwnerOf(await requireBrowserAuth(deps, req));
    await host.handle(req, reply, { owner, body: req.body, build: () => openSession(service, owner) });
  };
  for (const path of MCP_PATHS) {
    scope.post(path, handle);
    scope.get(path, handle);
    scope.delete(path, handle);
  }
  // preClose, not onClose: open SSE streams would otherwise hold server.close() until they time out.
  scope.addHook('preClose', () => host.close());
}

function openSession(service: BrowserService, owner: string): HostedServer {
  const session: McpSession = {
    server: new McpServer({ name: 'stealthy-auto-browse', version: '1.0.0' }),
    owner,
  };
  registerTools(service, session);
  return {
    server: session.server,
    // Its replica is free for the next caller (and its state dropped before that one's first use).
    onClose: () => {
      if (session.instanceId) service.pool.release(owner, session.instanceId);
    },
  };
}

/** Claims (or re-claims, if it was handed over meanwhile) the session's replica and runs the request there. */
function executeFor(service: BrowserService, session: McpSession, body: Record<string, unknown>) {
  const claim = service.pool.claim(session.owner, session.instanceId);
  session.instanceId = claim.instanceId;
  return service.execute(claim, body);
}

function registerTools(service: BrowserService, session: McpSession): void {
  const { server } = session;
  for (const action of atomicActions.values()) {
    server.registerTool(
      action.name,
      { description: action.description, inputSchema: action.params.shape },
      async (args: Record<string, unknown>) =>
        toToolResult(await executeFor(service, session, { ...args, action: action.name })),
    );
  }
  server.registerTool(
    'run_script',
    {
      description: 'Run several actions in order on this session’s browser; stops at the first failing step.',
      inputSchema: scriptParams.shape,
    },
    async (args: Record<string, unknown>) =>
      toToolResult(await executeFor(service, session, { ...args, action: 'run_script' })),
  );
}

/** A screenshot comes back as an MCP image; everything else as the JSON of the HTTP response's data. */
function toToolResult(result: ActionResult): CallToolResult {
  if (!result.success) {
    return toolError(JSON.stringify({ error: result.error, code: result.code, data: result.data }));
  }
  const data = result.data as { image?: string; format?: string } | undefined;
  if (result.action === 'screenshot' && typeof data?.image === 'string') {
    return { content: [{ type: 'image', data: data.image, mimeType: 'image/png' }] };
  }
  return toolText(JSON.stringify(result.data));
}
