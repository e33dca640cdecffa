import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpRequest } from 'node:http';
import { connect, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { NetGuard } from '../browser/net-guard.ts';

export interface EgressPolicy {
  /** `open`: any public address; `allowlist`: only the listed domains (and their subdomains). */
  mode: 'open' | 'allowlist';
  allow: readonly string[];
}

/** No client may take longer than this to be connected to where it asked. */
const CONNECT_TIMEOUT_MS = 30_000;

/**
 * The agents' way out: an HTTP proxy (CONNECT for HTTPS, absolute-form for plain HTTP) that
 * git, npm, pip, curl and Claude Code's own web tools use through HTTPS_PROXY/HTTP_PROXY.
 * Each target is resolved here and vetted by the same NetGuard as the browser's traffic
 * (no loopback, private, link-local, CGNAT or metadata address), then connected to the
 * vetted address, so DNS rebinding between check and connect is not possible.
 */
export class AgentEgress {
  constructor(
    private readonly guard: NetGuard,
    private readonly policy: () => EgressPolicy,
    private readonly logger: Logger,
  ) {}

  /** `CONNECT host:port` — an opaque tunnel to a vetted address. */
  async tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    const target = parseAuthority(req.url ?? '');
    const vetted = target && (await this.#vet(target.host));
    if (!target || !vetted || 'refusal' in vetted) {
      const why = !target ? 'bad CONNECT target' : vetted && 'refusal' in vetted ? vetted.refusal : 'refused';
      this.logger.info({ target: req.url, why }, 'agent egress refused');
      client.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\n\r\nagentgate egress: ${why}\n`);
      return;
    }
    const upstream = connect({ host: vetted.address, port: target.port, timeout: CONNECT_TIMEOUT_MS });
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const fail = () => {
      if (!upstream.readyState || upstream.connecting) client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      else client.destroy();
      upstream.destroy();
    };
    upstream.once('timeout', fail);
    upstream.once('error', fail);
    client.once('close', () => upstream.destroy());
  }

  /** `GET http://host/path` — a plain HTTP request, forwarded to a vetted address. */
  async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      return refuse(res, 400, 'not an absolute URL');
    }
    if (url.protocol !== 'http:')
      return refuse(res, 400, `scheme ${url.protocol} is not proxied (use CONNECT)`);
    const vetted = await this.#vet(url.hostname);
    if ('refusal' in vetted) {
      this.logger.info({ target: url.host, why: vetted.refusal }, 'agent egress refused');
      return refuse(res, 403, vetted.refusal);
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const upstream = httpRequest(
      {
        host: vetted.address,
        port: url.port || 80,
        path: `${url.pathname}${url.search}`,
        method: req.method,
        headers: { ...headers, host: url.host },
        timeout: CONNECT_TIMEOUT_MS,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('timeout', () => upstream.destroy(new Error('timeout')));
    upstream.on('error', () => (res.headersSent ? res.destroy() : refuse(res, 502, 'upstream unreachable')));
    req.pipe(upstream);
  }

  async #vet(host: string): Promise<{ address: string } | { refusal: string }> {
    const { mode, allow } = this.policy();
    const name = host
      .replace(/^\[|\]$/g, '')
      .toLowerCase()
      .replace(/\.$/, '');
    if (mode === 'allowlist' && !allow.some((d) => name === d || name.endsWith(`.${d}`))) {
      return { refusal: `${name} is not on the allow-list (AGENT_EGRESS_ALLOW)` };
    }
    const verdict = await this.guard.vetHost(name);
    if (verdict.refusal !== undefined) return { refusal: verdict.refusal };
    const address = verdict.addresses[0];
    if (!address) return { refusal: `${name} does not resolve` };
    return { address };
  }
}

function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:/\s]+):(\d{1,5})$/.exec(authority);
  if (!m?.[1] || !m[2]) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = m[1];
  if (host.startsWith('[') && isIP(host.slice(1, -1)) !== 6) return undefined;
  return { host, port };
}

function refuse(res: ServerResponse, status: number, why: string): void {
  res.writeHead(status, { 'content-type': 'text/plain' });
  res.end(`agentgate egress: ${why}\n`);
}
