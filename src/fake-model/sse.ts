/**
 * Streams an assistant message in the Messages API's SSE event format, one event per
 * write so each text delta reaches the client as its own event.
 */
import type { ServerResponse } from 'node:http';
import { type AnthropicMessage, type OutputBlock, splitWords } from './responder.ts';

export const PING_INTERVAL_MS = 500;

export interface StreamOptions {
  delayMs: number;
  /** Aborted when the client goes away or the server closes; the stream then just stops. */
  signal: AbortSignal;
}

export async function streamMessage(
  res: ServerResponse,
  message: AnthropicMessage,
  options: StreamOptions,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'request-id': `req_${message.id}`,
  });
  const send = (event: string, data: Record<string, unknown>): boolean => {
    if (options.signal.aborted || res.destroyed) return false;
    res.write(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
    return true;
  };

  const { content, stop_reason, stop_sequence, usage, ...head } = message;
  send('message_start', {
    message: {
      ...head,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { ...usage, output_tokens: 1 },
    },
  });
  send('ping', {});
  if (!(await sleepWithPings(options.delayMs, () => send('ping', {}), options.signal))) return;

  for (const [index, block] of content.entries()) {
    send('content_block_start', { index, content_block: emptyBlock(block) });
    for (const delta of deltasOf(block)) {
      if (!send('content_block_delta', { index, delta })) return;
      // Yield between deltas so each is flushed as its own chunk instead of being coalesced.
      await new Promise((resolve) => setImmediate(resolve));
    }
    send('content_block_stop', { index });
  }
  send('message_delta', { delta: { stop_reason, stop_sequence }, usage });
  send('message_stop', {});
  res.end();
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
export function sleepWithPings(ms: number, ping: () => void, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const pinger = setInterval(ping, PING_INTERVAL_MS);
    const finish = (isDone: boolean): void => {
      clearTimeout(timer);
      clearInterval(pinger);
      signal.removeEventListener('abort', onAbort);
      resolve(isDone);
    };
    const onAbort = (): void => finish(false);
    const timer = setTimeout(() => finish(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function emptyBlock(block: OutputBlock): Record<string, unknown> {
  return block.type === 'text'
    ? { type: 'text', text: '' }
    : { type: 'tool_use', id: block.id, name: block.name, input: {} };
}

function deltasOf(block: OutputBlock): Array<Record<string, unknown>> {
  if (block.type === 'text') return splitWords(block.text).map((text) => ({ type: 'text_delta', text }));
  // The real API opens with an empty partial and splits the JSON anywhere; clients must accumulate.
  const json = JSON.stringify(block.input);
  const middle = Math.ceil(json.length / 2);
  return [json.slice(0, 0), json.slice(0, middle), json.slice(middle)]
    .filter((part, index) => index === 0 || part !== '')
    .map((partial_json) => ({ type: 'input_json_delta', partial_json }));
}
