import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

/** Sessions beyond this evict the least recently used: each holds a server object. */
const MAX_SESSIONS = 1024;

interface Session {
  transport: StreamableHTTPServerTransport;
  ownerId: string;
  lastUsedAt: number;
  /** Open requests (a running tool call, the GET event stream): a session with any is not idle. */
  inFlight: number;
}

/**
 * Stateful MCP sessions keyed by Mcp-Session-Id, each bound to the user that opened it, and
 * closed after `idleMs` without a request so abandoned clients do not pile up.
 */
export class McpSessions {
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(private readonly idleMs: number) {
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

  /** A transport for a new session; it is registered once the initialize request assigns its id. */
  async open(server: McpServer, ownerId: string): Promise<StreamableHTTPServerTransport> {
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.#sessions.set(id, { transport, ownerId, lastUsedAt: Date.now(), inFlight: 0 });
        this.#evictOverflow();
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

  #evictOverflow(): void {
    while (this.#sessions.size > MAX_SESSIONS) {
      const [id, oldest] =
        [...this.#sessions.entries()].sort((a, b) => a[1].lastUsedAt - b[1].lastUsedAt)[0] ?? [];
      if (!id || !oldest) return;
      this.#sessions.delete(id);
      void oldest.transport.close().catch(() => {});
    }
  }
}
