import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { atomicActions } from '../../browser/actions/registry.ts';
import type { ActionResult } from '../../browser/run-action.ts';
import { scriptParams } from '../../browser/script.ts';
import type { BrowserService } from '../../browser/service.ts';
import type { AppDeps } from '../../http/surface.ts';
import type { AggregatedServer, ToolSession, ToolSink } from '../../mcp/catalog.ts';
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

/** The replica one MCP session holds: claimed at its first tool call (listing tools costs no replica). */
interface ReplicaHold {
  /** The principal-derived owner that opened the session: the only one the replica is claimed for. */
  owner: string;
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
  const server = new McpServer({ name: 'stealthy-auto-browse', version: '1.0.0' });
  return { server, ...registerBrowserTools(server, service, owner) };
}

/** Claims (or re-claims, if it was handed over meanwhile) the session's replica and runs the request there. */
function executeFor(service: BrowserService, hold: ReplicaHold, body: Record<string, unknown>) {
  const claim = service.pool.claim(hold.owner, hold.instanceId);
  hold.instanceId = claim.instanceId;
  return service.execute(claim, body);
}

/**
 * One tool per action plus run_script, for one MCP session of `owner` (on this surface's
 * endpoint or the gateway's aggregate): every call runs on the one replica the session
 * claims, released when the session closes.
 */
export function registerBrowserTools(sink: ToolSink, service: BrowserService, owner: string): ToolSession {
  const hold: ReplicaHold = { owner };
  for (const action of atomicActions.values()) {
    sink.registerTool(
      action.name,
      { description: action.description, inputSchema: action.params.shape },
      async (args: Record<string, unknown>) =>
        toToolResult(await executeFor(service, hold, { ...args, action: action.name })),
    );
  }
  sink.registerTool(
    'run_script',
    {
      description: 'Run several actions in order on this session’s browser; stops at the first failing step.',
      inputSchema: scriptParams.shape,
    },
    async (args: Record<string, unknown>) =>
      toToolResult(await executeFor(service, hold, { ...args, action: 'run_script' })),
  );
  return {
    // Its replica is free for the next caller (and its state dropped before that one's first use).
    onClose: () => {
      if (hold.instanceId) service.pool.release(owner, hold.instanceId);
    },
  };
}

/**
 * The browser tools in the gateway's /mcp/, as aigate's LiteLLM named the server. Browser
 * state belongs to the principal /mcp/'s credential stands for: a stored key's user is the
 * same owner as on /stealthy-auto-browse/mcp/; the master key is the claudebox service
 * identity, never the browser token's.
 */
export function browserAggregate(service: BrowserService): AggregatedServer {
  return {
    name: 'stealthy_auto_browse',
    surface: 'browser',
    isEnabled: () => true,
    register: (sink, caller) => registerBrowserTools(sink, service, browserOwnerOf(caller.principal)),
  };
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
