import type { RunEvent, RunStatus, StoredEvent } from '../engine/events.ts';
import type { RunRecord } from '../engine/record.ts';
import type { RunSpec } from '../engine/spec.ts';

/** A run the engine holds in memory from submit until it finishes: its events fan out live from here. */
export class ActiveRun {
  status: RunStatus = 'queued';
  readonly events: StoredEvent[] = [];
  readonly abort = new AbortController();
  startedAt: number | undefined;
  /** Text streamed so far: the partial output of a run that times out. */
  streamedText = '';
  /** Events up to this seq are in the store. */
  persistedSeq = 0;
  #listeners = new Set<() => void>();
  #resolveDone!: (r: RunRecord) => void;
  readonly done: Promise<RunRecord>;

  constructor(
    readonly id: string,
    readonly spec: RunSpec,
    readonly createdAt: number,
  ) {
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  emit(event: RunEvent): StoredEvent {
    const stored = { seq: this.events.length + 1, event };
    this.events.push(stored);
    if (event.type === 'text_delta') this.streamedText += event.text;
    for (const l of this.#listeners) l();
    return stored;
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  finish(record: RunRecord): void {
    this.status = record.status;
    for (const l of this.#listeners) l();
    this.#resolveDone(record);
  }
}
