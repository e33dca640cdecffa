/** A raw SSE reader for tests that must see what the openai client hides (comments, [DONE]). */
export interface SseEvent {
  /** `data:` payload, or undefined for a comment line. */
  data?: string;
  comment?: string;
  atMs: number;
}

/** The blank-line-separated blocks of a Server-Sent Events body, as they arrive. */
export async function* sseBlocks(res: Response): AsyncGenerator<string> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes as Uint8Array, { stream: true });
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      yield buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
    }
  }
}

export async function* sseEvents(res: Response): AsyncGenerator<SseEvent> {
  for await (const block of sseBlocks(res)) {
    for (const line of block.split('\n')) {
      if (line.startsWith('data: ')) yield { data: line.slice(6), atMs: Date.now() };
      else if (line.startsWith(':')) yield { comment: line.slice(1).trim(), atMs: Date.now() };
    }
  }
}

/** Every data payload of a finished stream, in order. */
export async function readSse(res: Response): Promise<string[]> {
  const out: string[] = [];
  for await (const e of sseEvents(res)) if (e.data !== undefined) out.push(e.data);
  return out;
}
