import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Db, openDatabase } from '../../src/db/open.ts';
import type { RunEvent, StoredEvent } from '../../src/engine/events.ts';
import { REPLAY_PAGE_EVENTS, StoredEventLog } from '../../src/runs/event-log.ts';
import { RunRepository } from '../../src/runs/repository.ts';
import { makeTempDir } from '../helpers/temp.ts';

/** The real repository, telling how many events each read of the store brought into memory. */
class CountingRepository extends RunRepository {
  readonly reads: number[] = [];
  override async events(runId: string, afterSeq: number, limit?: number): Promise<StoredEvent[]> {
    const out = await super.events(runId, afterSeq, limit);
    this.reads.push(out.length);
    return out;
  }
}

describe('replaying a finished run (attack replay)', () => {
  let db: Db;
  let cleanup: () => Promise<void>;
  before(async () => {
    const temp = await makeTempDir();
    cleanup = temp.cleanup;
    db = await openDatabase({ dataDir: temp.dir });
  });
  after(async () => {
    await db?.destroy();
    await cleanup?.();
  });

  it('a huge event log is read page by page, not whole per stream', async () => {
    // A run whose agent streamed many tokens: a key holder then opens its allowed 64 event
    // streams on it from seq 0. Whole-log reads held 64 copies of the log in memory at once.
    const repo = new CountingRepository(db);
    await repo.insert(
      'big',
      { owner: 'mallory', workspace: 'users/mallory', prompt: 'x', onBusy: 'wait' },
      Date.now(),
      null,
      'none',
    );
    const total = REPLAY_PAGE_EVENTS * 6 + 7;
    const events: StoredEvent[] = Array.from({ length: total }, (_, i) => ({
      seq: i + 1,
      event: { type: 'text_delta', text: `w${i} ` } as RunEvent,
    }));
    await repo.appendEvents('big', events);
    const log = new StoredEventLog(repo);

    const seen: number[] = [];
    for await (const e of log.read('big', 0)) seen.push(e.seq);
    assert.deepEqual(
      seen,
      events.map((e) => e.seq),
      'every event, once, in order',
    );
    assert.ok(
      Math.max(...repo.reads) <= REPLAY_PAGE_EVENTS,
      `one read brought ${Math.max(...repo.reads)} events into memory`,
    );

    // Resuming mid-log still starts right after the given seq.
    const resumed: number[] = [];
    for await (const e of log.read('big', total - 3)) resumed.push(e.seq);
    assert.deepEqual(resumed, [total - 2, total - 1, total]);
  });
});
