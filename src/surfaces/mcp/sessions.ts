import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { AppError } from '../../errors.ts';

/** Each session holds a server object: bounded per caller, and in all. */
export interface McpSessionLimits {
  /** A caller opening more evicts its own least recently used idle session, never another's. */
  maxPerOwner: number;
  /** Past this, new sessions are refused (busy) until some close or idle out. */
  maxTotal: number;
}

const DEFAULT_LIMITS: McpSessionLimits = { maxPerOwner: 64, maxTotal: 1024 };

interface Session {
  transport: StreamableHTTPServerTransport;
  ownerId: string;
  lastUsedAt: number;
  /** Open requests (a running tool call, the GET event stream): a session with any is not idle. */
  inFlight: number;
}

/**
 * Stateful MCP sessions keyed by Mcp-Session-Id, each bound to the user that opened it, and
 * closed after `idleMs` without a request so abandoned clients do not pile up. Limits are
 * per owner: one caller opening sessions in a loop only ever closes its own.
 */
export class McpSessions {
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #limits: McpSessionLimits;

  constructor(
    private readonly idleMs: number,
    limits: Partial<McpSessionLimits> = {},
  ) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
    this.#sweeper = setInterval(() => this.#sweep(), Math.max(50, Math.min(idleMs / 2, 60_000)));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /**
   * The live session with this id, if it belongs to `ownerId`; it counts as busy until
   * `res` closes, so a long tool call is never swept from under its caller.
   */
  use(id: string, ownerId: string, res: ServerResponse): StreamableHTTPServerTransport | undefined {
    const s = this.#sessions.get(id);
    if (!s || s.ownerId !== ownerId) return undefined;
    s.inFlight += 1;
    s.lastUsedAt = Date.now();
    res.once('close', () => {
      s.inFlight -= 1;
      s.lastUsedAt = Date.now();
    });
    return s.transport;
  }

  /**
   * A transport for a new session; it is registered once the initialize request assigns its
   * id. Throws `busy` when the owner's sessions are all in use, or the server is full.
   */
  async open(server: McpServer, ownerId: string): Promise<StreamableHTTPServerTransport> {
    this.#makeRoomFor(ownerId);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        // Sessions opened concurrently may all have passed #makeRoomFor: settle it here.
        while (this.#ownedBy(ownerId).length >= this.#limits.maxPerOwner && this.#evictOldestOf(ownerId)) {}
        this.#sessions.set(id, { transport, ownerId, lastUsedAt: Date.now(), inFlight: 0 });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.#sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    return transport;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    const all = [...this.#sessions.values()];
    this.#sessions.clear();
    await Promise.all(all.map((s) => s.transport.close().catch(() => {})));
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.#sessions) {
      if (s.inFlight > 0 || now - s.lastUsedAt <= this.idleMs) continue;
      this.#sessions.delete(id);
      void s.transport.close().catch(() => {});
    }
  }

  #ownedBy(ownerId: string): Array<[string, Session]> {
    return [...this.#sessions.entries()].filter(([, s]) => s.ownerId === ownerId);
  }

  /** Closes the owner's least recently used idle session; false when it has none idle. */
  #evictOldestOf(ownerId: string): boolean {
    const idle = this.#ownedBy(ownerId).filter(([, s]) => s.inFlight === 0);
    const [id, oldest] = idle.sort((a, b) => a[1].lastUsedAt - b[1].lastUsedAt)[0] ?? [];
    if (!id || !oldest) return false;
    this.#sessions.delete(id);
    void oldest.transport.close().catch(() => {});
    return true;
  }

  #makeRoomFor(ownerId: string): void {
    if (this.#ownedBy(ownerId).length >= this.#limits.maxPerOwner) {
      if (!this.#evictOldestOf(ownerId)) {
        throw new AppError('busy', 'All your MCP sessions are in use; close one first', 5);
      }
      return;
    }
    if (this.#sessions.size >= this.#limits.maxTotal) {
      throw new AppError('busy', 'Too many MCP sessions are open; try again shortly', 30);
    }
  }
}
