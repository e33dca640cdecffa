import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config/index.ts';
import { type Clock, systemClock } from './clock.ts';
import { MultipartUploads } from './multipart.ts';
import { ObjectStore } from './object-store.ts';
import type { LockLimits } from './rw-lock.ts';
import { startSweeper } from './sweeper.ts';

export interface StorageOptions {
  /** Time for TTLs and signature checks; tests pass a movable clock. */
  clock?: Clock;
  locks?: Partial<LockLimits>;
}

/** The object store behind /storage, its multipart uploads, and the sweeper of expired objects. */
export interface StorageService {
  store: ObjectStore;
  uploads: MultipartUploads;
  close(): void;
}

export function createStorageService(
  config: () => Config,
  logger: Logger,
  opts: StorageOptions = {},
): StorageService {
  const store = new ObjectStore({
    root: join(config().DATA_DIR, 'storage'),
    clock: opts.clock ?? systemClock,
    locks: opts.locks,
  });
  const sweeper = startSweeper({
    store,
    intervalMs: config().HYBRIDS3_SWEEP_INTERVAL ?? 60_000,
    buckets: () =>
      config()
        .buckets.filter((b) => b.ttlMs !== undefined)
        .map((b) => b.name),
    onError: (err) => logger.error({ err }, 'storage sweep failed'),
  });
  return { store, uploads: new MultipartUploads(store), close: () => sweeper.stop() };
}
