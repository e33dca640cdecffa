import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A pass-through HTTP proxy in front of the fake model that notes when each `wordN` text
 * delta leaves the model. Timing at the proxy needs no change to the fake model, and the
 * proxy's own cost is the same for every path it measures, so it cancels in a difference.
 */
export interface TokenClockProxy {
  url: string;
  /** performance.now() at which word N passed, since the last reset. */
  emittedAt: Map<number, number>;
  reset(): void;
  close(): Promise<void>;
}

const WORD_DELTA = /"text":"\s*word(\d+)/g;

export async function startTokenClockProxy(targetUrl: string): Promise<TokenClockProxy> {
  const target = new URL(targetUrl);
  const emittedAt = new Map<number, number>();
  const server = createServer((req, res) => {
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        res.socket?.setNoDelay(true);
        up.on('data', (chunk: Buffer) => {
          const now = performance.now();
          for (const m of chunk.toString('utf8').matchAll(WORD_DELTA)) {
            const n = Number(m[1]);
            if (!emittedAt.has(n)) emittedAt.set(n, now);
          }
          res.write(chunk);
        });
        up.on('end', () => res.end());
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    emittedAt,
    reset: () => emittedAt.clear(),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
