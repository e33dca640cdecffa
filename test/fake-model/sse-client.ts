/** A minimal SSE reader for asserting the fake model's exact event sequence. */

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

export async function readSse(response: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of iterateSse(response)) events.push(event);
  return events;
}

export async function* iterateSse(response: Response): AsyncGenerator<SseEvent> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary = buffer.indexOf('\n\n');
    while (boundary !== -1) {
      const frame = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(frame)?.[1] ?? '{}';
      yield { event, data: JSON.parse(data) };
      boundary = buffer.indexOf('\n\n');
    }
  }
}
