import type { StoredEvent } from '../../src/engine/events.ts';
import type { RunEngine } from '../../src/engine/port.ts';

/** Every event of a run through the port: replayed, then followed until the run finishes. */
export async function eventsOf(engine: RunEngine, runId: string, afterSeq = 0): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const e of engine.events(runId, afterSeq)) events.push(e);
  return events;
}
