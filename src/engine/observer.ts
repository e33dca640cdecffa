import type { RunEvent, RunStatus } from './events.ts';
import type { RunSpec } from './spec.ts';

/**
 * Whoever watches runs go by (metrics): the engine tells it what happens and knows nothing
 * of what it does with it. Calls are synchronous and must not throw; the engine guards them
 * anyway, so a watcher's bug never fails a run.
 */
export interface RunObserver {
  /** The run's agent is about to start (it left the queue). */
  runStarted(spec: RunSpec): void;
  /** One of the run's events, as the agent produced it (the engine's own are not included). */
  runEvent(spec: RunSpec, event: RunEvent): void;
  /** The run settled; `durationMs` is undefined for a run that never started. */
  runFinished(spec: RunSpec, status: RunStatus, durationMs: number | undefined): void;
}
