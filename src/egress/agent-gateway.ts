import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { AGENT_BRIDGE_PORT, GATEWAY_SOCKET_NAME } from '../process/sandbox.ts';
import type { AgentEgress } from './agent-egress.ts';
import type { ModelRelay } from './model-relay.ts';

/**
 * Everything an agent may reach outside its sandbox, on one HTTP server: origin-form
 * requests (`POST /v1/messages`) are model calls for the relay; `CONNECT host:port` and
 * absolute-form requests are the agent's other traffic for the egress proxy. Sandboxed
 * agents reach it through a Unix socket bridged into their network namespace; unconfined
 * ones (a loopback-only server without a sandbox) through a loopback TCP port.
 */
export class AgentGateway {
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  #tcpPort = 0;

  constructor(
    private readonly relay: ModelRelay,
    private readonly egress: AgentEgress,
    private readonly logger: Logger,
  ) {}

  /** Listens on `<socketDir>/agent-gateway.sock` (0700 dir) and on 127.0.0.1:<ephemeral>. */
  async listen(socketDir: string): Promise<void> {
    await mkdir(socketDir, { recursive: true, mode: 0o700 });
    await chmod(socketDir, 0o700);
    const socketPath = join(socketDir, GATEWAY_SOCKET_NAME);
    await rm(socketPath, { force: true });
    await this.#listenOn((s, cb) => s.listen(socketPath, cb));
    const tcp = await this.#listenOn((s, cb) => s.listen(0, '127.0.0.1', cb));
    this.#tcpPort = (tcp.address() as AddressInfo).port;
  }

  /** The model base URL for an agent: the in-sandbox bridge, or the loopback port when unconfined. */
  baseUrl(isSandboxed: boolean): string {
    return `http://127.0.0.1:${isSandboxed ? AGENT_BRIDGE_PORT : this.#tcpPort}`;
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await Promise.all(this.#servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  async #listenOn(start: (s: Server, cb: () => void) => void): Promise<Server> {
    const server = createServer((req, res) => this.#onRequest(req, res));
    server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      void this.egress.tunnel(req, socket, head);
    });
    server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.once('close', () => this.#sockets.delete(s));
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      start(server, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#servers.push(server);
    return server;
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/';
    if (url.startsWith('/')) {
      this.relay.handle(req, res);
      return;
    }
    // Absolute-form: a proxied request. One addressed to the bridge itself is a model call
    // from a client that sent it through the proxy anyway.
    let target: URL | undefined;
    try {
      target = new URL(url);
    } catch {
      target = undefined;
    }
    if (target && isSelf(target)) {
      req.url = `${target.pathname}${target.search}`;
      this.relay.handle(req, res);
      return;
    }
    this.egress.forward(req, res).catch((err: Error) => {
      this.logger.warn({ err: err.message }, 'agent egress failed');
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
  }
}

function isSelf(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return (
    (host === '127.0.0.1' || host === 'localhost' || host === '::1') && url.port === String(AGENT_BRIDGE_PORT)
  );
}
