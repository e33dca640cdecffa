/** Wall-clock milliseconds; injected so tests can move time for TTLs and signatures. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
