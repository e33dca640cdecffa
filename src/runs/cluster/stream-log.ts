import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RunEvent, RunStatus, StoredEvent } from '../../engine/events.ts';
import type { EventLog } from '../event-log.ts';
import type { RunRepository } from '../repository.ts';

const SETTLED: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled', 'timed_out']);

/** The last event of every run: its final status. */
function isFinalEvent(event: RunEvent): boolean {
  return event.type === 'status' && SETTLED.has(event.status);
}

interface OpenLog {
  nextSeq: number;
  /** Appended since the last flush, for the store. */
  pending: StoredEvent[];
  /** The final status, put on the stream only once the record is stored (close). */
  heldBack: StoredEvent[];
  streamedText: string;
  hasError: boolean;
  /** The last stream write: ioredis keeps one connection's commands in order, so awaiting it awaits all. */
  lastWrite: Promise<unknown>;
}

/**
 * The cluster's event log: a run's events go to a Redis stream whose entry ids are `0-<seq>`,
 * so a follower on any node resumes after any seq (Last-Event-ID, afterSeq) with one XREAD,
 * and to the store in batches (what outlives the stream). Only the executing node appends
 * while a run runs; a run's stream ends with its final status, written after the record is
 * settled, so a follower that sees it finds the record settled too. A settled run's stream
 * expires after `streamTtlS`; readers then read the store.
 */
export class StreamEventLog implements EventLog {
  readonly #open = new Map<string, OpenLog>();
  readonly #idleReaders: Redis[] = [];
  readonly #busyReaders = new Set<Redis>();
  #isClosed = false;

  constructor(
    private readonly redis: Redis,
    private readonly repository: RunRepository,
    private readonly opts: { prefix: string; streamTtlS: number; blockMs: number; logger: Logger },
  ) {}

  #key(runId: string): string {
    return `${this.opts.prefix}events:${runId}`;
  }

  open(runId: string, afterSeq = 0): void {
    this.#open.set(runId, {
      nextSeq: afterSeq + 1,
      pending: [],
      heldBack: [],
      streamedText: '',
      hasError: false,
      lastWrite: Promise.resolve(),
    });
  }

  /** The seq the next event of a run must take, whoever wrote last (the stream may be ahead of the store). */
  async lastSeq(runId: string): Promise<number> {
    const [entry] = await this.redis.xrevrange(this.#key(runId), '+', '-', 'COUNT', 1);
    const inStream = entry ? Number(entry[0].split('-')[1]) : 0;
    return Math.max(inStream, await this.repository.lastSeq(runId));
  }

  append(runId: string, event: RunEvent): StoredEvent {
    const log = this.#open.get(runId);
    if (!log) throw new Error(`run ${runId} has no open event log`);
    const stored = { seq: log.nextSeq, event };
    log.nextSeq += 1;
    log.pending.push(stored);
    if (event.type === 'text_delta') log.streamedText += event.text;
    if (event.type === 'error') log.hasError = true;
    if (isFinalEvent(event)) log.heldBack.push(stored);
    else log.lastWrite = this.#write(runId, [stored]);
    return stored;
  }

  #write(runId: string, events: StoredEvent[]): Promise<unknown> {
    const key = this.#key(runId);
    const writes = events.map((e) =>
      this.redis.xadd(key, `0-${e.seq}`, 'e', JSON.stringify(e.event)).catch((err: unknown) => {
        // Another node declared this run lost and wrote after it: this node's late events go nowhere.
        this.opts.logger.warn({ err, runId, seq: e.seq }, 'could not add a run event to its stream');
      }),
    );
    return Promise.all(writes);
  }

  async flush(runId: string): Promise<void> {
    const log = this.#open.get(runId);
    if (!log) return;
    const pending = log.pending.splice(0);
    await log.lastWrite;
    await this.repository.appendEvents(runId, pending);
  }

  summary(runId: string): { streamedText: string; hasError: boolean } {
    const log = this.#open.get(runId);
    return { streamedText: log?.streamedText ?? '', hasError: log?.hasError ?? false };
  }

  /** Stops appending to a run's log on this node while the run goes on elsewhere (its stream stays open). */
  detach(runId: string): void {
    this.#open.delete(runId);
  }

  async close(runId: string): Promise<void> {
    const log = this.#open.get(runId);
    if (!log) return;
    this.#open.delete(runId);
    // In order on one connection: the final status lands after every earlier event.
    const writing = this.#write(runId, log.heldBack);
    const expiring = this.redis.expire(this.#key(runId), this.opts.streamTtlS).catch(() => undefined);
    await Promise.all([writing, expiring]);
  }

  async *read(runId: string, afterSeq: number): AsyncGenerator<StoredEvent> {
    const rec = await this.repository.get(runId);
    if (!rec) return;
    if (SETTLED.has(rec.status)) {
      for (const e of await this.repository.events(runId, afterSeq)) yield e;
      return;
    }
    const reader = this.#acquireReader();
    let last = afterSeq;
    try {
      for (;;) {
        const res = await reader.xread(
          'COUNT',
          500,
          'BLOCK',
          this.opts.blockMs,
          'STREAMS',
          this.#key(runId),
          `0-${last}`,
        );
        if (!res) {
          // Quiet for a while: the stream may be gone (expired, Redis restarted) while the store has the end.
          const now = await this.repository.get(runId);
          if (!now || SETTLED.has(now.status)) {
            for (const e of await this.repository.events(runId, last)) yield e;
            return;
          }
          continue;
        }
        for (const [, entries] of res) {
          for (const [id, fields] of entries) {
            const seq = Number(id.split('-')[1]);
            const event = JSON.parse(fields[1] ?? 'null') as RunEvent;
            last = seq;
            yield { seq, event };
            if (isFinalEvent(event)) return;
          }
        }
      }
    } finally {
      this.#releaseReader(reader);
    }
  }

  /** A blocking XREAD holds its connection: followers each take one, kept for reuse. */
  #acquireReader(): Redis {
    if (this.#isClosed) throw new Error('the event log is closed');
    const reader = this.#idleReaders.pop() ?? this.redis.duplicate();
    this.#busyReaders.add(reader);
    return reader;
  }

  #releaseReader(reader: Redis): void {
    this.#busyReaders.delete(reader);
    if (this.#isClosed || this.#idleReaders.length >= 16) reader.disconnect();
    else this.#idleReaders.push(reader);
  }

  /** Ends every follower's connection. */
  closeReaders(): void {
    this.#isClosed = true;
    for (const r of [...this.#idleReaders, ...this.#busyReaders]) r.disconnect();
    this.#idleReaders.length = 0;
  }
}
