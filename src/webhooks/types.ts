/** One POST of a run's webhook and what came back (the body kept only as a short excerpt). */
export interface WebhookAttempt {
  attempt: number;
  at: number;
  httpStatus: number | undefined;
  error: string | undefined;
  responseExcerpt: string | undefined;
  durationMs: number;
}

/** A run's webhook: where its final record goes, and how delivering it stands. */
export interface WebhookDelivery {
  id: string;
  runId: string;
  url: string;
  /** waiting: the run has not settled; pending: delivering or retrying; delivered; failed (retries ran out). */
  state: 'waiting' | 'pending' | 'delivered' | 'failed';
  createdAt: number;
  nextAttemptAt: number | undefined;
  attempts: WebhookAttempt[];
}

/**
 * Run webhooks as a surface sees them: check a target before submitting, register it once
 * the run exists, list its deliveries. Delivery (signing, retries, the private-network rule)
 * is the implementation's (src/webhooks/service.ts).
 */
export interface Webhooks {
  /** Throws an AppError (`invalid_request`) when `url` may not be a webhook target here. */
  check(url: string): Promise<void>;
  /** Delivers the run's final record to `url` once it settles (persisted: survives a restart). */
  register(runId: string, url: string): Promise<void>;
  list(runId: string): Promise<WebhookDelivery[]>;
}
