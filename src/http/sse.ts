import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/** Headers set by hooks (x-request-id, nosniff, x-run-id) would be lost on a hijacked reply. */
export function replyHeaders(reply: FastifyReply): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

/**
 * One Server-Sent Events response. Writes wait for `drain` when the socket's buffer is full,
 * so a slow client slows the relay instead of growing the server's memory; comment
 * heartbeats keep proxies and clients from timing out an idle stream (long tool runs).
 */
export class SseWriter {
  readonly #res: ServerResponse;
  #heartbeat: NodeJS.Timeout | undefined;
  #isEnded = false;
  #isCorked = false;

  constructor(res: ServerResponse, heartbeatMs: number, headers: Record<string, string> = {}) {
    this.#res = res;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // nginx would otherwise buffer the whole stream before relaying it.
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    // Small writes must leave at once: a token delayed by Nagle is a token delayed for the user.
    res.socket?.setNoDelay(true);
    this.#heartbeat = setInterval(() => void this.#write(': keep-alive\n\n'), heartbeatMs);
    this.#heartbeat.unref();
    res.once('close', () => this.#stop());
  }

  /** True once the client has gone or the stream was ended: further writes are dropped. */
  get isClosed(): boolean {
    return this.#isEnded || this.#res.destroyed || this.#res.writableEnded;
  }

  /** Sends one `data:` event; `data` is written as is (JSON text, or `[DONE]`). */
  send(data: string): Promise<void> {
    return this.#write(`data: ${data}\n\n`);
  }

  /**
   * Sends one event with its `id:` (what a reconnecting client sends back as Last-Event-ID)
   * and `event:` name when given; `data` must be one line (JSON text).
   */
  sendEvent(e: { id?: string; event?: string; data: string }): Promise<void> {
    const id = e.id === undefined ? '' : `id: ${e.id}\n`;
    const event = e.event === undefined ? '' : `event: ${e.event}\n`;
    return this.#write(`${id}${event}data: ${e.data}\n\n`);
  }

  /** Ends the response once everything written so far is flushed. */
  end(): void {
    if (this.isClosed) return;
    this.#stop();
    this.#res.end();
  }

  #stop(): void {
    this.#isEnded = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #write(chunk: string): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    // Events written in one burst (an agent's batch of deltas) leave in one packet: corked
    // until the current microtask chain ends, so a lone event is delayed by nothing.
    if (!this.#isCorked) {
      this.#isCorked = true;
      this.#res.cork();
      process.nextTick(() => {
        this.#isCorked = false;
        this.#res.uncork();
      });
    }
    if (this.#res.write(chunk)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#res.off('drain', done);
        this.#res.off('close', done);
        resolve();
      };
      this.#res.on('drain', done);
      this.#res.on('close', done);
    });
  }
}
