import { type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Promotion } from './coordinator.ts';

const QUEUE_NAME = 'runs';

/**
 * The cluster's BullMQ queue of runs ready to execute (one job per run, the run id as job
 * id) and this node's worker taking them. Which run may be queued when is the
 * Coordinator's; this is only the hand-over to whichever node has a free slot.
 */
export class RunQueue {
  readonly #queue: Queue;
  #worker: Worker | undefined;
  #workerConnection: Redis | undefined;

  constructor(
    private readonly redis: Redis,
    /** BullMQ's key prefix (several deployments may share one Redis). */
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {
    this.#queue = new Queue(QUEUE_NAME, { connection: redis, prefix });
  }

  /** Puts a run on the queue; nothing when its job is already there (waiting, active, delayed). */
  async add(promotion: Promotion): Promise<void> {
    // A job of the same id that ended (a stalled one, failed by BullMQ) would make add() a
    // no-op: the run would stay queued for ever.
    const previous = await this.#queue.getJob(promotion.id);
    if (previous) {
      const state = await previous.getState();
      if (state !== 'failed' && state !== 'completed') return;
      await previous.remove();
    }
    await this.#queue.add(
      'run',
      { runId: promotion.id },
      {
        jobId: promotion.id,
        priority: promotion.priority,
        attempts: 1,
        removeOnComplete: true,
        removeOnFail: 1000,
      },
    );
  }

  /** The priority a run's job was queued with (1 when it has none left). */
  async priorityOf(runId: string): Promise<number> {
    return (await this.#queue.getJob(runId))?.opts.priority ?? 1;
  }

  /**
   * Starts taking runs, `concurrency` at a time. A job whose worker died is reported to
   * `onStalled` and never run again by BullMQ (agents are not idempotent).
   */
  startWorker(
    opts: { concurrency: number; leaseMs: number },
    process: (job: Job, token: string | undefined) => Promise<void>,
    onStalled: (runId: string) => void,
  ): void {
    this.#workerConnection = this.redis.duplicate();
    this.#workerConnection.on('error', () => undefined);
    this.#worker = new Worker(QUEUE_NAME, process, {
      connection: this.#workerConnection,
      prefix: this.prefix,
      concurrency: opts.concurrency,
      // A stalled job is a lost node's run: fail it, never run it again; the lease sweep
      // records a started one as node_lost.
      maxStalledCount: 0,
      lockDuration: opts.leaseMs,
      stalledInterval: opts.leaseMs,
      removeOnComplete: { count: 0 },
      removeOnFail: { count: 1000 },
      drainDelay: 5,
    });
    this.#worker.on('error', (err) => this.logger.warn({ err: err.message }, 'run queue worker error'));
    this.#worker.on('stalled', (jobId: string) => onStalled(jobId));
  }

  /** Stops taking runs; resolves once the jobs this worker holds have returned. */
  async stopWorker(): Promise<void> {
    await this.#worker?.close();
  }

  async close(): Promise<void> {
    await this.#queue.close();
    this.#workerConnection?.disconnect();
  }
}
