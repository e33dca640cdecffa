import { randomUUID } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { atomicActions } from '../../browser/actions/registry.ts';
import type { ActionResult } from '../../browser/run-action.ts';
import { scriptParams } from '../../browser/script.ts';
import type { BrowserService } from '../../browser/service.ts';
import { AppError } from '../../errors.ts';
import type { AppDeps } from '../../http/surface.ts';
import { browserOwnerOf, requireBrowserAuth } from './auth.ts';
import { PREFIX } from './routes.ts';

/** Live sessions in all: each one holds a server object and possibly a replica. */
export const MAX_SESSIONS = 256;
/** Live sessions one principal may hold; its next one evicts its own oldest, never another's. */
export const MAX_SESSIONS_PER_OWNER = 32;

interface McpSession {
  transport: StreamableHTTPServerTransport;
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
 * principal presenting its id is told it does not exist.
 */
export function registerMcpRoutes(scope: FastifyInstance, deps: AppDeps, service: BrowserService): void {
  const sessions = new Map<string, McpSession>();

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const owner = browserOwnerOf(await requireBrowserAuth(deps, req));
    const sid = req.headers['mcp-session-id'];
    let session = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (session && session.owner !== owner) session = undefined;
    if (typeof sid === 'string' && !session)
      throw new AppError('not_found', 'Unknown or expired MCP session');
    if (!session) {
      if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
        throw new AppError('invalid_request', 'Start an MCP session with an initialize request');
      }
      session = openSession(service, owner, sessions);
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

function openSession(service: BrowserService, owner: string, sessions: Map<string, McpSession>): McpSession {
  const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    onsessioninitialized: (id) => {
      const victim = sessionToEvict(sessions, owner);
      if (victim !== undefined) {
        void sessions.get(victim)?.transport.close();
        sessions.delete(victim);
      }
      sessions.set(id, session);
    },
  });
  const session: McpSession = {
    transport,
    server: new McpServer({ name: 'stealthy-auto-browse', version: '1.0.0' }),
    owner,
  };
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
    // Its replica is free for the next caller (and its state dropped before that one's first use).
    if (session.instanceId) service.pool.release(owner, session.instanceId);
  };
  registerTools(service, session);
  void session.server.connect(transport);
  return session;
}

/**
 * Which session makes room for a new one of `owner`: its own oldest when it is at its
 * share; when the server is full, the oldest of whoever holds the most. So one caller
 * opening sessions in a loop evicts only its own.
 */
function sessionToEvict(sessions: Map<string, McpSession>, owner: string): string | undefined {
  const byOwner = new Map<string, string[]>();
  for (const [id, s] of sessions) byOwner.set(s.owner, [...(byOwner.get(s.owner) ?? []), id]);
  const own = byOwner.get(owner) ?? [];
  if (own.length >= MAX_SESSIONS_PER_OWNER) return own[0];
  if (sessions.size < MAX_SESSIONS) return undefined;
  let largest: string[] = [];
  for (const ids of byOwner.values()) if (ids.length > largest.length) largest = ids;
  return largest[0];
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
