import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../../app.ts';
import { atomicActions } from '../../browser/actions/registry.ts';
import type { Replica } from '../../browser/replica.ts';
import type { ActionResult } from '../../browser/run-action.ts';
import { scriptParams } from '../../browser/script.ts';
import type { BrowserService } from '../../browser/service.ts';
import { AppError } from '../../errors.ts';
import { requireBrowserAuth } from './auth.ts';
import { PREFIX } from './routes.ts';

/** Sessions beyond this evict the oldest: each one holds a server object and a replica pin. */
const MAX_SESSIONS = 256;

interface McpSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

/**
 * `/stealthy-auto-browse/mcp/`: Streamable HTTP, one tool per action. The replica is chosen
 * when the session starts and every call of that session (Mcp-Session-Id) runs on it, the
 * way the seed's HAProxy pins MCP traffic.
 */
export function registerMcpRoutes(scope: FastifyInstance, deps: AppDeps, service: BrowserService): void {
  const sessions = new Map<string, McpSession>();

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    await requireBrowserAuth(deps, req);
    const sid = req.headers['mcp-session-id'];
    let session = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (typeof sid === 'string' && !session)
      throw new AppError('not_found', 'Unknown or expired MCP session');
    if (!session) {
      if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
        throw new AppError('invalid_request', 'Start an MCP session with an initialize request');
      }
      session = openSession(service, service.pool.pick(), sessions);
    }
    reply.hijack();
    await session.transport.handleRequest(req.raw, reply.raw, req.body);
  };
  for (const path of [`${PREFIX}/mcp/`, `${PREFIX}/mcp`]) {
    scope.post(path, handle);
    scope.get(path, handle);
    scope.delete(path, handle);
  }
  // preClose, not onClose: open SSE streams would otherwise hold server.close() until they time out.
  scope.addHook('preClose', async () => {
    await Promise.all([...sessions.values()].map((s) => s.transport.close().catch(() => {})));
    sessions.clear();
  });
}

function openSession(
  service: BrowserService,
  replica: Replica,
  sessions: Map<string, McpSession>,
): McpSession {
  const server = buildToolServer(service, replica);
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => {
      if (sessions.size >= MAX_SESSIONS) {
        const oldest = sessions.keys().next().value;
        if (oldest !== undefined) {
          void sessions.get(oldest)?.transport.close();
          sessions.delete(oldest);
        }
      }
      sessions.set(id, session);
    },
  });
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
  };
  const session: McpSession = { transport, server };
  void server.connect(transport);
  return session;
}

function buildToolServer(service: BrowserService, replica: Replica): McpServer {
  const server = new McpServer({ name: 'stealthy-auto-browse', version: '1.0.0' });
  for (const action of atomicActions.values()) {
    server.registerTool(
      action.name,
      { description: action.description, inputSchema: action.params.shape },
      async (args: Record<string, unknown>) =>
        toToolResult(await service.execute(replica, { ...args, action: action.name })),
    );
  }
  server.registerTool(
    'run_script',
    {
      description: 'Run several actions in order on this session’s browser; stops at the first failing step.',
      inputSchema: scriptParams.shape,
    },
    async (args: Record<string, unknown>) =>
      toToolResult(await service.execute(replica, { ...args, action: 'run_script' })),
  );
  return server;
}

/** A screenshot comes back as an MCP image; everything else as the JSON of the HTTP response's data. */
function toToolResult(result: ActionResult): CallToolResult {
  if (!result.success) {
    return {
      isError: true,
      content: [
        { type: 'text', text: JSON.stringify({ error: result.error, code: result.code, data: result.data }) },
      ],
    };
  }
  const data = result.data as { image?: string; format?: string } | undefined;
  if (result.action === 'screenshot' && typeof data?.image === 'string') {
    return { content: [{ type: 'image', data: data.image, mimeType: 'image/png' }] };
  }
  return { content: [{ type: 'text', text: JSON.stringify(result.data) }] };
}
