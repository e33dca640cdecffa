import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { NetGuard } from '../browser/net-guard.ts';
import type { Config } from '../config/index.ts';
import type { Db } from '../db/open.ts';
import type { RunEngine } from '../engine/port.ts';
import type { RunRecord } from '../engine/record.ts';
import { AppError } from '../errors.ts';
import { type PostOutcome, postOnce } from './post.ts';
import { signWebhook } from './signature.ts';
import type { WebhookDelivery, Webhooks } from './types.ts';

/** Backoff doubles from WEBHOOK_RETRY_BASE_MS up to this, until WEBHOOK_RETRY_FOR_MS after the run ended. */
const MAX_RETRY_DELAY_MS = 3_600_000;

export interface WebhookServiceOptions {
  db: Db;
  engine: Pick<RunEngine, 'wait' | 'get'>;
  config: () => Config;
  logger: Logger;
  /** The private-network rule (the browser's): which targets may be reached, at which addresses. */
  guard: NetGuard;
  /** The body: the run as the Runs API renders it. */
  render: (record: RunRecord) => unknown;
}

/**
 * Why a target is refused, as the caller may read it: never the address a name resolved to.
 * The guard's own reason names it, which would make webhookUrl a DNS oracle for the server's
 * network (`http://db.corp.internal/` → "resolves to non-public address 10.2.3.4").
 */
function refusalForCaller(hostname: string): string {
  return `${hostname} is or resolves to a loopback, private or otherwise non-public address`;
}

function refused(message: string): AppError {
  return new AppError('invalid_request', message);
}

/**
 * Run webhooks: registered with a run, delivered when it settles, signed, retried with
 * exponential backoff for WEBHOOK_RETRY_FOR_MS, every attempt logged in the database. State
 * lives in the database, so `resume()` at start-up picks up runs still to settle and
 * deliveries still to retry.
 */
export class WebhookService implements Webhooks {
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #inFlight = new Set<Promise<void>>();
  #isClosed = false;

  constructor(private readonly opts: WebhookServiceOptions) {}

  async check(rawUrl: string): Promise<void> {
    const c = this.opts.config();
    if (!c.WEBHOOK_SECRET) {
      throw refused('webhookUrl needs WEBHOOK_SECRET set on the server: webhooks are signed with it');
    }
    let url: URL;
    try {
      url = new URL(rawUrl);
    } catch {
      throw refused('webhookUrl is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw refused(`webhookUrl scheme ${url.protocol} is not allowed (http or https)`);
    }
    if (url.username || url.password) throw refused('webhookUrl may not carry a user name or password');
    if (c.WEBHOOK_ALLOW_PRIVATE) return;
    const verdict = await this.opts.guard.vetHost(url.hostname);
    if (verdict.refusal !== undefined) {
      throw refused(
        `webhookUrl refused: ${refusalForCaller(url.hostname)} (private networks are off; WEBHOOK_ALLOW_PRIVATE=1 allows them)`,
      );
    }
    if (verdict.addresses.length === 0) throw refused(`webhookUrl host ${url.hostname} does not resolve`);
  }

  async register(runId: string, url: string): Promise<void> {
    const id = randomUUID();
    await this.opts.db
      .insertInto('webhooks')
      .values({
        id,
        run_id: runId,
        url,
        state: 'waiting',
        attempt_count: 0,
        next_attempt_at: null,
        deliver_until: null,
        created_at: Date.now(),
      })
      .execute();
    this.#watch(id, runId);
  }

  async list(runId: string): Promise<WebhookDelivery[]> {
    const rows = await this.opts.db
      .selectFrom('webhooks')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('created_at')
      .execute();
    const out: WebhookDelivery[] = [];
    for (const r of rows) {
      const attempts = await this.opts.db
        .selectFrom('webhook_attempts')
        .selectAll()
        .where('webhook_id', '=', r.id)
        .orderBy('attempt')
        .execute();
      out.push({
        id: r.id,
        runId: r.run_id,
        url: r.url,
        state: r.state as WebhookDelivery['state'],
        createdAt: r.created_at,
        nextAttemptAt: r.next_attempt_at ?? undefined,
        attempts: attempts.map((a) => ({
          attempt: a.attempt,
          at: a.at,
          httpStatus: a.http_status ?? undefined,
          error: a.error ?? undefined,
          responseExcerpt: a.response_excerpt ?? undefined,
          durationMs: a.duration_ms,
        })),
      });
    }
    return out;
  }

  /** Start-up, after the engine's recovery: watch runs not yet settled, reschedule pending deliveries. */
  async resume(): Promise<void> {
    const rows = await this.opts.db
      .selectFrom('webhooks')
      .select(['id', 'run_id', 'state', 'next_attempt_at'])
      .where('state', 'in', ['waiting', 'pending'])
      .execute();
    const now = Date.now();
    for (const r of rows) {
      if (r.state === 'waiting') this.#watch(r.id, r.run_id);
      else this.#schedule(r.id, Math.max(0, (r.next_attempt_at ?? now) - now));
    }
  }

  /** Stops scheduling and waits for attempts in flight; pending deliveries stay in the database. */
  async close(): Promise<void> {
    this.#isClosed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    await Promise.allSettled([...this.#inFlight]);
  }

  #track(p: Promise<void>): void {
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  #watch(id: string, runId: string): void {
    this.#track(
      this.opts.engine
        .wait(runId)
        .then((record) => this.#runSettled(id, record))
        .catch(async (err) => {
          if (err instanceof AppError && err.code === 'not_found') {
            // The run is gone (deleted with its data): nothing will ever be delivered.
            await this.opts.db
              .updateTable('webhooks')
              .set({ state: 'failed' })
              .where('id', '=', id)
              .execute();
            return;
          }
          this.opts.logger.error({ err, runId }, 'webhook: could not follow the run');
        }),
    );
  }

  async #runSettled(id: string, record: RunRecord): Promise<void> {
    if (this.#isClosed) return;
    const now = Date.now();
    await this.opts.db
      .updateTable('webhooks')
      .set({
        state: 'pending',
        next_attempt_at: now,
        deliver_until: (record.finishedAt ?? now) + this.opts.config().WEBHOOK_RETRY_FOR_MS,
      })
      .where('id', '=', id)
      .where('state', '=', 'waiting')
      .execute();
    this.#schedule(id, 0);
  }

  #schedule(id: string, delayMs: number): void {
    if (this.#isClosed) return;
    clearTimeout(this.#timers.get(id));
    const timer = setTimeout(() => {
      this.#timers.delete(id);
      this.#track(
        this.#attempt(id).catch((err) =>
          this.opts.logger.error({ err, webhookId: id }, 'webhook attempt failed'),
        ),
      );
    }, delayMs);
    timer.unref();
    this.#timers.set(id, timer);
  }

  async #attempt(id: string): Promise<void> {
    const row = await this.opts.db.selectFrom('webhooks').selectAll().where('id', '=', id).executeTakeFirst();
    if (row?.state !== 'pending' || this.#isClosed) return; // gone, settled, or shutting down
    const record = await this.opts.engine.get(row.run_id);
    const started = Date.now();
    const outcome: PostOutcome = record
      ? await this.#post(new URL(row.url), JSON.stringify(this.opts.render(record)), id)
      : { httpStatus: undefined, responseExcerpt: undefined, error: 'the run no longer exists' };
    const at = Date.now();
    const attempt = row.attempt_count + 1;
    const isDelivered =
      outcome.httpStatus !== undefined && outcome.httpStatus >= 200 && outcome.httpStatus < 300;
    const c = this.opts.config();
    const delayMs = Math.min(c.WEBHOOK_RETRY_BASE_MS * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
    const nextAt = at + delayMs;
    const isOver = !isDelivered && (record === undefined || nextAt > (row.deliver_until ?? 0));
    const state = isDelivered ? 'delivered' : isOver ? 'failed' : 'pending';
    await this.opts.db.transaction().execute(async (trx) => {
      await trx
        .insertInto('webhook_attempts')
        .values({
          webhook_id: id,
          attempt,
          at: started,
          http_status: outcome.httpStatus ?? null,
          error: outcome.error ?? null,
          response_excerpt: outcome.responseExcerpt ?? null,
          duration_ms: at - started,
        })
        .execute();
      await trx
        .updateTable('webhooks')
        .set({ state, attempt_count: attempt, next_attempt_at: state === 'pending' ? nextAt : null })
        .where('id', '=', id)
        .execute();
    });
    // The target's origin only: a URL's path or query may carry the receiver's own token.
    this.opts.logger.info(
      {
        runId: row.run_id,
        webhookId: id,
        target: new URL(row.url).origin,
        attempt,
        httpStatus: outcome.httpStatus,
        error: outcome.error,
        state,
      },
      'webhook attempt',
    );
    if (state === 'pending') this.#schedule(id, delayMs);
  }

  async #post(url: URL, body: string, deliveryId: string): Promise<PostOutcome> {
    const c = this.opts.config();
    const secret = c.WEBHOOK_SECRET;
    if (!secret) {
      return {
        httpStatus: undefined,
        responseExcerpt: undefined,
        error: 'WEBHOOK_SECRET is not set on the server',
      };
    }
    let pinnedAddress: string | undefined;
    if (!c.WEBHOOK_ALLOW_PRIVATE) {
      // Checked again at every attempt: what was public at submit time may not be any more.
      const verdict = await this.opts.guard.vetHost(url.hostname);
      if (verdict.refusal !== undefined) {
        return {
          httpStatus: undefined,
          responseExcerpt: undefined,
          error: `refused: ${refusalForCaller(url.hostname)}`,
        };
      }
      pinnedAddress = verdict.addresses[0];
      if (pinnedAddress === undefined) {
        return {
          httpStatus: undefined,
          responseExcerpt: undefined,
          error: `${url.hostname} does not resolve`,
        };
      }
    }
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'agentgate-webhook/1',
      'x-agentgate-event': 'run.finished',
      'x-agentgate-delivery': deliveryId,
      'x-agentgate-signature': signWebhook(secret, body, Math.floor(Date.now() / 1000)),
    };
    return postOnce(url, body, headers, {
      timeoutMs: c.WEBHOOK_TIMEOUT_MS,
      ...(pinnedAddress !== undefined ? { pinnedAddress } : {}),
    });
  }
}
