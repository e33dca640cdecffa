import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A pass-through HTTP proxy in front of the fake model that notes when each `wordN` text
 * delta leaves the model. Timing at the proxy needs no change to the fake model, and the
 * proxy's own cost is the same for every path it measures, so it cancels in a difference.
 *
 * With `paceMs`, streamed text deltas leave one per `paceMs`, as a real model's tokens do
 * (the fake model emits them back to back): a per-token delay then measures each hop's
 * latency, not the time it takes to drain a burst of thousands of queued tokens.
 */
export interface TokenClockProxy {
  url: string;
  /** performance.now() at which word N passed, since the last reset. */
  emittedAt: Map<number, number>;
  reset(): void;
  close(): Promise<void>;
}

const WORD_DELTA = /"text":"\s*word(\d+)/g;

export async function startTokenClockProxy(targetUrl: string, paceMs = 0): Promise<TokenClockProxy> {
  const target = new URL(targetUrl);
  const emittedAt = new Map<number, number>();
  const noteWords = (text: string): void => {
    const now = performance.now();
    for (const m of text.matchAll(WORD_DELTA)) {
      const n = Number(m[1]);
      if (!emittedAt.has(n)) emittedAt.set(n, now);
    }
  };
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
        const isStream = String(up.headers['content-type'] ?? '').startsWith('text/event-stream');
        if (!isStream || paceMs <= 0) {
          up.on('data', (chunk: Buffer) => {
            noteWords(chunk.toString('utf8'));
            res.write(chunk);
          });
          up.on('end', () => res.end());
          return;
        }
        // Paced: whole SSE events in order, a text delta at most every paceMs.
        let partial = '';
        const events: string[] = [];
        let isUpstreamDone = false;
        let timer: NodeJS.Timeout | undefined;
        const pump = (): void => {
          timer = undefined;
          while (events.length > 0) {
            const event = events.shift() as string;
            const isDelta = event.includes('"content_block_delta"');
            res.write(event);
            if (isDelta) {
              noteWords(event);
              if (events.length > 0) {
                timer = setTimeout(pump, paceMs);
                return;
              }
            }
          }
          if (isUpstreamDone) res.end(partial);
        };
        up.setEncoding('utf8');
        up.on('data', (text: string) => {
          partial += text;
          let end = partial.indexOf('\n\n');
          while (end >= 0) {
            events.push(partial.slice(0, end + 2));
            partial = partial.slice(end + 2);
            end = partial.indexOf('\n\n');
          }
          if (!timer) pump();
        });
        up.on('end', () => {
          isUpstreamDone = true;
          if (!timer) pump();
        });
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
