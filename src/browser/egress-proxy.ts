import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import type { NetGuard } from './net-guard.ts';

/** SOCKS5 reply codes (RFC 1928 §6) we send. */
const REP = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  hostUnreachable: 0x04,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const;

/** No client may take longer than this to say where it wants to go and be connected there. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** Enough to explain the failure of the navigation that just happened. */
const MAX_REMEMBERED_FAILURES = 32;
/** Longest SOCKS5 greeting plus CONNECT request (255 methods, 255-byte name). */
const MAX_HANDSHAKE_BYTES = 2 + 255 + 4 + 1 + 255 + 2;

/** Why the proxy last turned a connection down; Chromium reports every case as ERR_SOCKS_CONNECTION_FAILED. */
export interface EgressFailure {
  host: string;
  kind: 'refused' | 'unresolved' | 'unreachable';
  /** The guard's reason, for `refused`. */
  reason?: string;
  at: number;
}

/**
 * A SOCKS5 proxy on 127.0.0.1 that one guarded browser context sends all its traffic
 * through (Chromium's per-context proxy: HTTP, HTTPS, WebSockets, workers, shared workers,
 * beacons, redirect hops … everything that opens a connection). Chromium hands SOCKS5
 * proxies the host name, so the name is resolved here, vetted by the NetGuard, and the
 * connection goes to an address that was vetted: DNS rebinding between the check and the
 * connect is not possible on this path. Refused targets get "connection not allowed by
 * ruleset", which the page sees as a network error.
 *
 * One per context, so a failure can be told to the caller whose page caused it.
 */
export class EgressProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #listening: Promise<string> | undefined;
  /** The connections this proxy most recently did not make, and why (newest last). */
  readonly failures: EgressFailure[] = [];

  constructor(private readonly guard: NetGuard) {
    this.#server = createServer((client) => this.#serve(client));
  }

  /** `socks5://127.0.0.1:PORT`, listening once this resolves. */
  url(): Promise<string> {
    this.#listening ??= new Promise<string>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve(`socks5://127.0.0.1:${(this.#server.address() as AddressInfo).port}`);
      });
    });
    return this.#listening;
  }

  async close(): Promise<void> {
    if (!this.#listening) return;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** The newest failure at or after `since`: for `host` if given and there is one, else the newest refusal, else the newest. */
  failureSince(since: number, host?: string): EgressFailure | undefined {
    const recent = this.failures.filter((f) => f.at >= since).reverse();
    return (
      recent.find((f) => host !== undefined && f.host === host) ??
      recent.find((f) => f.kind === 'refused') ??
      recent[0]
    );
  }

  get lastFailure(): EgressFailure | undefined {
    return this.failures.at(-1);
  }

  #fail(failure: Omit<EgressFailure, 'at'>): void {
    this.failures.push({ ...failure, at: Date.now() });
    if (this.failures.length > MAX_REMEMBERED_FAILURES) this.failures.shift();
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
  }

  #serve(client: Socket): void {
    this.#track(client);
    client.setTimeout(HANDSHAKE_TIMEOUT_MS, () => client.destroy());
    let buf = Buffer.alloc(0);
    let greeted = false;
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length > MAX_HANDSHAKE_BYTES) return client.destroy();
      if (!greeted) {
        const greeting = parseGreeting(buf);
        if (!greeting) return;
        if (greeting.version !== 5 || !greeting.methods.includes(0x00)) {
          client.off('data', onData);
          client.end(Buffer.from([0x05, 0xff]));
          return;
        }
        client.write(Buffer.from([0x05, 0x00])); // no authentication
        greeted = true;
        buf = buf.subarray(greeting.length);
      }
      const request = parseRequest(buf);
      if (!request) return;
      client.off('data', onData);
      client.pause();
      const rest = buf.subarray(request.length);
      if ('error' in request) return reply(client, request.error);
      void this.#connect(client, request.host, request.port, rest);
    };
    client.on('data', onData);
  }

  async #connect(client: Socket, host: string, port: number, rest: Buffer): Promise<void> {
    const verdict = await this.guard.vetHost(host);
    if (verdict.refusal !== undefined) {
      this.#fail({ host, kind: 'refused', reason: verdict.refusal });
      return reply(client, REP.notAllowed);
    }
    if (verdict.addresses.length === 0) {
      this.#fail({ host, kind: 'unresolved' });
      return reply(client, REP.hostUnreachable);
    }
    const upstream = await connectFirst(verdict.addresses, port);
    if (!upstream) {
      this.#fail({ host, kind: 'unreachable' });
      return reply(client, REP.hostUnreachable);
    }
    if (client.destroyed) return void upstream.destroy();
    this.#track(upstream);
    client.setTimeout(0);
    client.write(Buffer.from([0x05, REP.succeeded, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
    if (rest.length > 0) upstream.write(rest);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    client.resume();
  }
}

function reply(client: Socket, rep: number): void {
  client.end(Buffer.from([0x05, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
}

/** Tries the vetted addresses in DNS order; the first that accepts wins. */
async function connectFirst(addresses: string[], port: number): Promise<Socket | undefined> {
  for (const address of addresses) {
    const socket = await new Promise<Socket | undefined>((resolve) => {
      const s = connect({ host: address, port });
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', () => {
        s.destroy();
        resolve(undefined);
      });
    });
    if (socket) return socket;
  }
  return undefined;
}

function parseGreeting(buf: Buffer): { version: number; methods: number[]; length: number } | undefined {
  if (buf.length < 2) return undefined;
  const n = buf[1] as number;
  if (buf.length < 2 + n) return undefined;
  return { version: buf[0] as number, methods: [...buf.subarray(2, 2 + n)], length: 2 + n };
}

type ParsedRequest = { host: string; port: number; length: number } | { error: number; length: number };

function parseRequest(buf: Buffer): ParsedRequest | undefined {
  if (buf.length < 5) return undefined;
  const version = buf[0];
  const command = buf[1];
  const addressType = buf[3];
  if (version !== 5) return { error: REP.generalFailure, length: buf.length };
  let host: string;
  let at: number;
  if (addressType === 0x01) {
    at = 4 + 4;
    if (buf.length < at + 2) return undefined;
    host = [...buf.subarray(4, at)].join('.');
  } else if (addressType === 0x03) {
    const len = buf[4] as number;
    at = 5 + len;
    if (buf.length < at + 2) return undefined;
    host = buf.subarray(5, at).toString('latin1');
  } else if (addressType === 0x04) {
    at = 4 + 16;
    if (buf.length < at + 2) return undefined;
    const groups: string[] = [];
    for (let i = 4; i < at; i += 2) groups.push(buf.readUInt16BE(i).toString(16));
    host = groups.join(':');
  } else {
    return { error: REP.addressTypeNotSupported, length: buf.length };
  }
  const length = at + 2;
  if (command !== 0x01) return { error: REP.commandNotSupported, length };
  return { host, port: buf.readUInt16BE(at), length };
}
