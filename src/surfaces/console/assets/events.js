// @ts-check
/**
 * Follows a run's events (GET /api/v1/runs/:id/events, Server-Sent Events) with fetch()
 * rather than EventSource: EventSource cannot send an Authorization header, and the key
 * must not go in the URL. After a dropped connection it reconnects with Last-Event-ID (the
 * last seq it saw), so no event is lost or shown twice.
 */
import { authHeaders, errorOf } from './api.js';

/** @typedef {{ seq: number, type: string, data: any }} RunEventMessage */

export const FINISHED = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/**
 * Parses one SSE block (`id:`, `event:`, `data:` lines) into an event, or undefined for a
 * comment/heartbeat. The data is the run event as JSON; a wrapper `{seq, event}` is accepted too.
 * @param {string} block
 * @returns {RunEventMessage | undefined}
 */
export function parseSseBlock(block) {
  let id = '';
  let name = '';
  const data = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'id') id = value;
    else if (field === 'event') name = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return undefined;
  let payload;
  try {
    payload = JSON.parse(data.join('\n'));
  } catch {
    payload = { text: data.join('\n') };
  }
  const event = payload && typeof payload.event === 'object' && payload.event ? payload.event : payload;
  const seq = id !== '' ? Number(id) : Number(payload?.seq ?? Number.NaN);
  return { seq, type: String(event?.type ?? name ?? 'message'), data: event };
}

/**
 * Whether an event ends the run's stream.
 * @param {RunEventMessage} e
 */
export function isFinal(e) {
  return (e.type === 'status' && FINISHED.has(e.data?.status)) || e.type === 'end';
}

/**
 * Streams the run's events to `onEvent` until the run has finished or `signal` aborts.
 * Reconnects (1 s, 2 s, … 10 s apart) after a network error or a stream that closed
 * before the run finished, resuming after the last seq seen.
 * @param {string} runId
 * @param {{
 *   onEvent: (e: RunEventMessage) => void,
 *   onConnection?: (state: 'live' | 'reconnecting' | 'done', detail?: string) => void,
 *   isFinished?: () => Promise<boolean>,
 *   signal: AbortSignal,
 *   afterSeq?: number,
 * }} opts
 */
export async function followRun(runId, opts) {
  let lastSeq = opts.afterSeq ?? 0;
  let hasEnded = false;
  let failures = 0;
  const url = `/api/v1/runs/${encodeURIComponent(runId)}/events`;
  while (!opts.signal.aborted && !hasEnded) {
    try {
      const headers = authHeaders(undefined, { accept: 'text/event-stream' });
      if (lastSeq > 0) headers.set('last-event-id', String(lastSeq));
      const res = await fetch(url, { headers, signal: opts.signal, cache: 'no-store', credentials: 'omit' });
      if (!res.ok) {
        const err = await errorOf(res);
        // Not found or not allowed will not get better by retrying.
        if (res.status === 401 || res.status === 403 || res.status === 404)
          throw Object.assign(err, { isFatal: true });
        throw err;
      }
      if (!res.body) throw new Error('The events response has no body');
      opts.onConnection?.('live');
      failures = 0;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        let end = buffer.indexOf('\n\n');
        while (end !== -1) {
          const event = parseSseBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf('\n\n');
          if (!event) continue;
          if (Number.isFinite(event.seq)) {
            if (event.seq <= lastSeq) continue; // already shown before a reconnect
            lastSeq = event.seq;
          }
          opts.onEvent(event);
          if (isFinal(event)) hasEnded = true;
        }
      }
      // The server closes the stream when the run has finished; a close before that is a drop.
      if (!hasEnded && opts.isFinished) hasEnded = await opts.isFinished();
    } catch (err) {
      if (opts.signal.aborted) return;
      if (/** @type {any} */ (err)?.isFatal) {
        opts.onConnection?.('done', String(/** @type {Error} */ (err).message));
        return;
      }
      failures += 1;
    }
    if (hasEnded || opts.signal.aborted) break;
    opts.onConnection?.('reconnecting');
    await sleep(Math.min(10_000, 1000 * 2 ** Math.min(failures, 4)), opts.signal);
  }
  if (!opts.signal.aborted) opts.onConnection?.('done');
}

/**
 * @param {number} ms
 * @param {AbortSignal} signal
 */
function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
      { once: true },
    );
  });
}
