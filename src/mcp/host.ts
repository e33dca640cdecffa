import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.ts';
import { type RebindingAllowList, rebindingGuard, refuseForeignOrigin } from './dns-rebinding.ts';

/** What one MCP server of a host needs built per session (or per stateless request). */
export interface HostedServer {
  server: McpServer;
  /** Called once when the session ends (closed, evicted, swept or the host closing). */
  onClose?: () => void;
}

/** How an MCP server is hosted; each server keeps its own limits. */
export interface McpHostOptions {
  /**
   * `sessions`: an initialize request opens a session (Mcp-Session-Id) bound to the owner
   * that opened it; `stateless`: every request is served by a throwaway server.
   */
  mode: 'sessions' | 'stateless';
  /** Sessions without an open request for this long are closed; unset: never swept. */
  idleMs?: number;
  /** Sessions one owner may hold; its next one evicts its own least recently used. */
  maxPerOwner?: number;
  /** Sessions in all. */
  maxTotal?: number;
  /**
   * Whether a session with an open request (a tool call, the GET event stream) may be
   * evicted to make room; when not, an owner at its cap with every session busy is refused.
   */
  mayEvictBusy?: boolean;
  /** At `maxTotal`: refuse new sessions (`busy`), or evict the least recently used session of the owner holding the most. */
  whenFull?: 'refuse' | 'evict-largest';
  /** A POST that is neither an initialize nor in a session: served statelessly, or refused. */
  servesSessionlessPosts?: boolean;
  /** The refusal for a sessionless request the host does not serve. */
  sessionRequiredMessage?: string;
  /** Answer with plain JSON rather than an SSE stream (stateless servers). */
  enableJsonResponse?: boolean;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  owner: string;
  lastUsedAt: number;
  /** Open requests: a session with any is not idle. */
  inFlight: number;
}

/**
 * The one MCP host over Streamable HTTP: a session map where each session is bound to the
 * owner that opened it (another owner presenting its id is told it does not exist), an
 * idle sweep, per-owner and total caps with eviction that only ever touches the caller's
 * own sessions first, and the response headers every reply carries (a hijacked reply
 * would lose them). Used by the claudebox/gateway, storage and browser MCP servers.
 *
 * Every request is first checked against DNS rebinding (see dns-rebinding.ts): a foreign
 * Host or Origin gets 403 from `handle`, and from `guard`, the same check as an onRequest
 * hook that each MCP route puts before its authentication and body parsing.
 */
export class McpHost {
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: NodeJS.Timeout | undefined;
  readonly #opts: McpHostOptions;
  readonly #allow: () => RebindingAllowList;
  /** onRequest hook: 403 for a foreign Host or Origin before anything else runs. */
  readonly guard: ReturnType<typeof rebindingGuard>;

  /** `allow`: the current MCP_ALLOWED_HOSTS / MCP_ALLOWED_ORIGINS (read per request, so a reload applies). */
  constructor(opts: McpHostOptions, allow: () => RebindingAllowList) {
    this.#opts = opts;
    this.#allow = allow;
    this.guard = rebindingGuard(allow);
    const { idleMs } = opts;
    if (idleMs !== undefined) {
      this.#sweeper = setInterval(() => this.#sweep(idleMs), Math.max(50, Math.min(idleMs / 2, 60_000)));
      this.#sweeper.unref();
    }
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Serves one MCP request of `owner`; `build` makes the server of a new session or stateless request. */
  async handle(
    req: FastifyRequest,
    reply: FastifyReply,
    opts: { owner: string; body: unknown; build: () => HostedServer },
  ): Promise<void> {
    const { owner, body, build } = opts;
    if (refuseForeignOrigin(req, reply, this.#allow())) return;
    if (this.#opts.mode === 'stateless') return this.#serveStateless(req, reply, body, build());
    const sid = req.headers['mcp-session-id'];
    if (typeof sid === 'string') {
      const transport = this.#use(sid, owner, reply.raw);
      if (!transport) throw new AppError('not_found', 'Unknown or expired MCP session');
      return this.#serve(req, reply, transport, body);
    }
    if (req.method === 'POST' && isInitializeRequest(body)) {
      const transport = await this.#open(build(), owner);
      return this.#serve(req, reply, transport, body);
    }
    if (req.method === 'POST' && this.#opts.servesSessionlessPosts) {
      return this.#serveStateless(req, reply, body, build());
    }
    throw new AppError(
      'invalid_request',
      this.#opts.sessionRequiredMessage ?? 'Mcp-Session-Id header is required',
    );
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map((s) => s.transport.close().catch(() => {})));
  }

  /** The live session with this id if it belongs to `owner`; busy until `res` closes. */
  #use(id: string, owner: string, res: ServerResponse): StreamableHTTPServerTransport | undefined {
    const s = this.#sessions.get(id);
    if (!s || s.owner !== owner) return undefined;
    s.inFlight += 1;
    s.lastUsedAt = Date.now();
    res.once('close', () => {
      s.inFlight -= 1;
      s.lastUsedAt = Date.now();
    });
    return s.transport;
  }

  /** A transport for a new session, registered once the initialize request assigns its id. */
  async #open(hosted: HostedServer, owner: string): Promise<StreamableHTTPServerTransport> {
    this.#makeRoomFor(owner, true);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        // Sessions opened concurrently may all have passed the first check: settle it here.
        this.#makeRoomFor(owner, false);
        this.#sessions.set(id, { transport, owner, lastUsedAt: Date.now(), inFlight: 0 });
      },
    });
    let isClosed = false;
    transport.onclose = () => {
      if (transport.sessionId) this.#sessions.delete(transport.sessionId);
      if (isClosed) return;
      isClosed = true;
      hosted.onClose?.();
    };
    await hosted.server.connect(transport);
    return transport;
  }

  async #serveStateless(req: FastifyRequest, reply: FastifyReply, body: unknown, hosted: HostedServer) {
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      ...(this.#opts.enableJsonResponse ? { enableJsonResponse: true } : {}),
    });
    reply.raw.on('close', () => {
      void transport.close();
      void hosted.server.close();
      hosted.onClose?.();
    });
    await hosted.server.connect(transport);
    return this.#serve(req, reply, transport, body);
  }

  async #serve(
    req: FastifyRequest,
    reply: FastifyReply,
    transport: StreamableHTTPServerTransport,
    body: unknown,
  ): Promise<void> {
    reply.hijack();
    // A hijacked reply skips Fastify's header handling: carry over what hooks set (x-request-id, nosniff).
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined) reply.raw.setHeader(name, value as string | number | readonly string[]);
    }
    await transport.handleRequest(req.raw, reply.raw, body);
  }

  #sweep(idleMs: number): void {
    const now = Date.now();
    for (const [id, s] of this.#sessions) {
      if (s.inFlight > 0 || now - s.lastUsedAt <= idleMs) continue;
      this.#sessions.delete(id);
      void s.transport.close().catch(() => {});
    }
  }

  #ownedBy(owner: string): Array<[string, Session]> {
    return [...this.#sessions.entries()].filter(([, s]) => s.owner === owner);
  }

  /** Closes the least recently used session among these that may be evicted; false when none may. */
  #evictLeastRecent(candidates: Array<[string, Session]>): boolean {
    const evictable = this.#opts.mayEvictBusy ? candidates : candidates.filter(([, s]) => s.inFlight === 0);
    const [id, oldest] = evictable.sort((a, b) => a[1].lastUsedAt - b[1].lastUsedAt)[0] ?? [];
    if (!id || !oldest) return false;
    this.#sessions.delete(id);
    void oldest.transport.close().catch(() => {});
    return true;
  }

  /** Makes room for one more session of `owner`, evicting its own first; throws `busy` when it may refuse and cannot. */
  #makeRoomFor(owner: string, mayRefuse: boolean): void {
    const maxPerOwner = this.#opts.maxPerOwner ?? Number.POSITIVE_INFINITY;
    const maxTotal = this.#opts.maxTotal ?? Number.POSITIVE_INFINITY;
    if (this.#ownedBy(owner).length >= maxPerOwner) {
      while (this.#ownedBy(owner).length >= maxPerOwner) {
        if (this.#evictLeastRecent(this.#ownedBy(owner))) continue;
        if (mayRefuse) throw new AppError('busy', 'All your MCP sessions are in use; close one first', 5);
        return;
      }
      return;
    }
    while (this.#sessions.size >= maxTotal) {
      if (this.#opts.whenFull === 'evict-largest' && this.#evictLeastRecent(this.#largestOwnersSessions()))
        continue;
      if (mayRefuse) throw new AppError('busy', 'Too many MCP sessions are open; try again shortly', 30);
      return;
    }
  }

  #largestOwnersSessions(): Array<[string, Session]> {
    const byOwner = new Map<string, Array<[string, Session]>>();
    for (const entry of this.#sessions.entries()) {
      byOwner.set(entry[1].owner, [...(byOwner.get(entry[1].owner) ?? []), entry]);
    }
    let largest: Array<[string, Session]> = [];
    for (const entries of byOwner.values()) if (entries.length > largest.length) largest = entries;
    return largest;
  }
}
