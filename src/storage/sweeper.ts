import type { ObjectStore } from './object-store.ts';

/**
 * Deletes expired objects every `intervalMs`. Expiry is judged by the store's clock, so a
 * test moves that clock and waits one interval; reads already treat expired keys as gone.
 */
export function startSweeper(opts: {
  store: ObjectStore;
  intervalMs: number;
  /** Buckets with a TTL, read on every sweep so a config reload takes effect. */
  buckets: () => string[];
  onError: (err: unknown) => void;
}): { stop(): void } {
  let isSweeping = false;
  const timer = setInterval(async () => {
    if (isSweeping) return;
    isSweeping = true;
    try {
      for (const bucket of opts.buckets()) await opts.store.sweep(bucket);
    } catch (err) {
      opts.onError(err);
    } finally {
      isSweeping = false;
    }
  }, opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
