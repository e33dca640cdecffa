import type { RunEvent, StoredEvent } from '../engine/events.ts';
import type { RunRepository } from './repository.ts';

/**
 * A run's seq-numbered events: kept in memory while the run is active so followers get
 * them live, persisted to the store in batches, and read back from the store afterwards.
 */
export interface EventLog {
  /** Starts the live log of a run on this node; its next event gets seq `afterSeq + 1`. */
  open(runId: string, afterSeq?: number): void;
  /** Adds an event to an open log (in memory until the next flush) and wakes its followers. */
  append(runId: string, event: RunEvent): StoredEvent;
  /** Persists what was appended since the last flush. */
  flush(runId: string): Promise<void>;
  /** What an open log holds so far: the text streamed (a stopped run's partial output) and whether it has an error event. */
  summary(runId: string): { streamedText: string; hasError: boolean };
  /** The run has finished: followers drain what is left and end; later readers read the store. */
  close(runId: string): Promise<void> | void;
  /** Replays the events after `afterSeq`, then follows live ones until the run finishes. */
  read(runId: string, afterSeq: number): AsyncIterable<StoredEvent>;
}

/** How many stored events a replay reads from the store at once. */
export const REPLAY_PAGE_EVENTS = 500;

class LiveLog {
  readonly events: StoredEvent[] = [];
  constructor(readonly firstSeq: number) {}
  streamedText = '';
  persistedSeq = 0;
  isClosed = false;
  readonly #listeners = new Set<() => void>();

  push(event: RunEvent): StoredEvent {
    const stored = { seq: this.firstSeq + this.events.length, event };
    this.events.push(stored);
    if (event.type === 'text_delta') this.streamedText += event.text;
    this.notify();
    return stored;
  }

  notify(): void {
    for (const l of this.#listeners) l();
  }

  changed(): Promise<void> {
    return new Promise((resolve) => {
      const l = () => {
        this.#listeners.delete(l);
        resolve();
      };
      this.#listeners.add(l);
    });
  }
}

/** The embedded event log: in-process fan-out over the runs store. */
export class StoredEventLog implements EventLog {
  readonly #live = new Map<string, LiveLog>();

  constructor(private readonly repository: RunRepository) {}

  open(runId: string, afterSeq = 0): void {
    this.#live.set(runId, new LiveLog(afterSeq + 1));
  }

  append(runId: string, event: RunEvent): StoredEvent {
    return this.#log(runId).push(event);
  }

  async flush(runId: string): Promise<void> {
    const log = this.#live.get(runId);
    if (!log) return;
    const pending = log.events.slice(log.persistedSeq);
    if (pending.length === 0) return;
    log.persistedSeq = log.events.length;
    await this.repository.appendEvents(runId, pending);
  }

  summary(runId: string): { streamedText: string; hasError: boolean } {
    const log = this.#live.get(runId);
    return {
      streamedText: log?.streamedText ?? '',
      hasError: log?.events.some((e) => e.event.type === 'error') ?? false,
    };
  }

  close(runId: string): void {
    const log = this.#live.get(runId);
    if (!log) return;
    this.#live.delete(runId);
    log.isClosed = true;
    log.notify();
  }

  async *read(runId: string, afterSeq: number): AsyncGenerator<StoredEvent> {
    const log = this.#live.get(runId);
    if (!log) {
      // Page by page: a finished run may have hundreds of thousands of events, and a caller
      // may replay it on many streams at once; each reader holds one page, not the log.
      let seq = afterSeq;
      for (;;) {
        const page = await this.repository.events(runId, seq, REPLAY_PAGE_EVENTS);
        for (const e of page) yield e;
        const last = page.at(-1);
        if (page.length < REPLAY_PAGE_EVENTS || !last) return;
        seq = last.seq;
      }
    }
    let i = Math.max(0, afterSeq + 1 - log.firstSeq);
    for (;;) {
      while (i < log.events.length) {
        const e = log.events[i];
        i += 1;
        if (e) yield e;
      }
      if (log.isClosed) return;
      await log.changed();
    }
  }

  #log(runId: string): LiveLog {
    const log = this.#live.get(runId);
    if (!log) throw new Error(`run ${runId} has no open event log`);
    return log;
  }
}
