import type { Logger } from 'pino';
import type { KeyStore } from '../auth/key-store.ts';
import {
  assertModel,
  assertWorkspace,
  concurrencyRefusal,
  type KeyScope,
  periodStartMs,
} from '../auth/scope.ts';
import type { ModelCall } from '../engine/events.ts';
import type { RunRecord } from '../engine/record.ts';
import type { RunSpec } from '../engine/spec.ts';
import { RUN_TIERS, tierOf } from '../engine/tier.ts';
import { AppError } from '../errors.ts';
import type { UsageLedger, UsageRow } from './ledger.ts';
import { callCostUsd } from './prices.ts';

/** What the engine asks of whoever meters runs (see runs/engine.ts). */
export interface RunGuard {
  /** Throws an AppError when the run may not start (key gone, scope, budget). Async. */
  admit(spec: RunSpec): Promise<RunAdmission | undefined>;
  /** Synchronous check-and-count of the key's running runs, right before the run is queued. */
  claim(runId: string, spec: RunSpec, admission: RunAdmission | undefined): void;
  /** A claimed run that never got queued (its submit failed): its slot is freed. */
  release(runId: string): void;
  /**
   * Right before a queued run's agent starts: why it must not start after all (its key was
   * revoked, expired or spent its budget while the run waited), if so.
   */
  beforeStart(runId: string, spec: RunSpec): Promise<string | undefined>;
  /** Each model call as it completes; returns why the run must stop (its budget is spent), if so. */
  onModelCall(runId: string, call: ModelCall): string | undefined;
  /** Once per run, when it has settled: its usage is recorded and its slot released. */
  settled(record: RunRecord): Promise<void>;
}

export interface RunAdmission {
  keyId: string;
  maxConcurrentRuns: number | null;
  budgetUsd: number | null;
  /** What the key had spent in the budget period when the run was admitted (settled runs). */
  spentUsd: number;
}

interface LiveRun {
  keyId: string | undefined;
  admission: RunAdmission | undefined;
  calls: ModelCall[];
  costUsd: number;
}

/**
 * Per-key run limits, budgets and usage. A run of a stored key is admitted only while the
 * key is live, the model and workspace are in its scope, it is under its concurrent-run
 * limit and its period's spend is under budget. Model calls are counted as the relay
 * finishes each one, so a run that crosses the budget is stopped after that call.
 */
export class KeyRunGuard implements RunGuard {
  readonly #live = new Map<string, LiveRun>();

  constructor(
    private readonly keys: KeyStore,
    private readonly ledger: UsageLedger,
    private readonly defaultModel: () => string,
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  async admit(spec: RunSpec): Promise<RunAdmission | undefined> {
    if (!spec.keyId) return undefined;
    const scope = await this.keys.liveScope(spec.keyId);
    if (!scope) throw new AppError('unauthorized', 'This key has been revoked or has expired');
    this.#assertInScope(spec, scope);
    const spentUsd =
      scope.budgetUsd === null
        ? 0
        : await this.ledger.spentUsd(spec.keyId, periodStartMs(scope.budgetPeriod, this.clock()));
    if (scope.budgetUsd !== null && spentUsd + this.#liveCost(spec.keyId) >= scope.budgetUsd) {
      throw new AppError(
        'over_budget',
        `This key's budget of $${scope.budgetUsd} per ${scope.budgetPeriod} is spent`,
      );
    }
    return {
      keyId: spec.keyId,
      maxConcurrentRuns: scope.maxConcurrentRuns,
      budgetUsd: scope.budgetUsd,
      spentUsd,
    };
  }

  claim(runId: string, spec: RunSpec, admission: RunAdmission | undefined): void {
    const limit = admission?.maxConcurrentRuns;
    if (limit && spec.keyId) {
      let running = 0;
      for (const r of this.#live.values()) if (r.keyId === spec.keyId) running += 1;
      if (running >= limit) throw concurrencyRefusal(limit);
    }
    this.#live.set(runId, { keyId: spec.keyId, admission, calls: [], costUsd: 0 });
  }

  /** A run whose submit failed after its claim: its slot is freed, nothing recorded. */
  release(runId: string): void {
    this.#live.delete(runId);
  }

  async beforeStart(_runId: string, spec: RunSpec): Promise<string | undefined> {
    if (!spec.keyId) return undefined;
    const scope = await this.keys.liveScope(spec.keyId);
    if (!scope) return 'This key was revoked or expired while the run was queued; it did not start';
    try {
      // Narrowed while the run waited (a PATCH to tier observe): the run is held to the key as it is now.
      this.#assertInScope(spec, scope);
    } catch (err) {
      return `${err instanceof Error ? err.message : String(err)} (the key changed while the run was queued; it did not start)`;
    }
    if (scope.budgetUsd === null) return undefined;
    const spent =
      (await this.ledger.spentUsd(spec.keyId, periodStartMs(scope.budgetPeriod, this.clock()))) +
      this.#liveCost(spec.keyId);
    if (spent < scope.budgetUsd) return undefined;
    return `This key's budget of $${scope.budgetUsd} per ${scope.budgetPeriod} was spent while the run was queued; it did not start`;
  }

  onModelCall(runId: string, call: ModelCall): string | undefined {
    const run = this.#live.get(runId);
    if (!run) return undefined;
    run.calls.push(call);
    run.costUsd += callCostUsd(call) ?? 0;
    const a = run.admission;
    if (!a || a.budgetUsd === null) return undefined;
    const spent = a.spentUsd + this.#liveCost(a.keyId);
    if (spent < a.budgetUsd) return undefined;
    return `This key's budget of $${a.budgetUsd} is spent ($${spent.toFixed(6)}); the run was stopped after its last model call`;
  }

  async settled(record: RunRecord): Promise<void> {
    const run = this.#live.get(record.id);
    this.#live.delete(record.id);
    const rows = usageRows(record, run?.calls ?? [], this.defaultModel(), this.clock());
    // Runs of the same key still going: their budget base now includes this run's cost.
    const cost = rows.reduce((s, r) => s + r.costUsd, 0);
    for (const other of this.#live.values()) {
      if (record.spec.keyId && other.keyId === record.spec.keyId && other.admission)
        other.admission.spentUsd += cost;
    }
    try {
      await this.ledger.record(rows);
    } catch (err) {
      this.logger.error({ err, runId: record.id }, 'could not record a run’s usage');
    }
  }

  /** Tier, model and workspace against the key's scope as it is now; throws the refusal. */
  #assertInScope(spec: RunSpec, scope: KeyScope): void {
    // The key's tier now, not the one a surface stamped when the caller's session began (an
    // MCP session outlives a PATCH that narrows it) nor a missing stamp (unset runs `full`).
    if (RUN_TIERS.indexOf(tierOf(spec)) > RUN_TIERS.indexOf(scope.tier)) {
      throw new AppError(
        'forbidden',
        `This key's tier is ${scope.tier}; it may not start a ${tierOf(spec)} run`,
      );
    }
    assertModel(scope, spec.model ?? this.defaultModel());
    assertWorkspace(scope, spec.owner, spec.workspace);
  }

  #liveCost(keyId: string): number {
    let sum = 0;
    for (const r of this.#live.values()) if (r.keyId === keyId) sum += r.costUsd;
    return sum;
  }
}

/**
 * A run's usage, one row per model. Relay calls are the truth where there are any (priced
 * by the list-price table); a model without a list price takes what the agent's own
 * `total_cost_usd` leaves over. Without relay calls, the agent's result is used as is.
 */
export function usageRows(
  record: RunRecord,
  calls: readonly ModelCall[],
  defaultModel: string,
  nowMs: number,
): UsageRow[] {
  const base = {
    runId: record.id,
    keyId: record.spec.keyId ?? null,
    userId: record.owner,
    status: record.status,
    createdAt: record.finishedAt ?? nowMs,
  };
  const result = record.result;
  if (calls.length === 0) {
    if (!result) return [];
    const u = result.usage;
    return [
      {
        ...base,
        model: record.spec.model ?? defaultModel,
        inputTokens: u.inputTokens,
        outputTokens: u.outputTokens,
        cacheReadTokens: u.cacheReadInputTokens,
        cacheWriteTokens: u.cacheCreationInputTokens,
        costUsd: result.totalCostUsd,
        modelCalls: 0,
        source: 'sdk',
      },
    ];
  }
  const byModel = new Map<string, UsageRow & { isPriced: boolean }>();
  for (const c of calls) {
    const model = c.model || record.spec.model || defaultModel;
    const row = byModel.get(model) ?? {
      ...base,
      model,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: 0,
      modelCalls: 0,
      source: 'relay' as const,
      isPriced: true,
    };
    row.inputTokens += c.inputTokens;
    row.outputTokens += c.outputTokens;
    row.cacheReadTokens += c.cacheReadInputTokens;
    row.cacheWriteTokens += c.cacheCreationInputTokens;
    row.modelCalls += 1;
    const cost = callCostUsd(c);
    if (cost === undefined) row.isPriced = false;
    else row.costUsd += cost;
    byModel.set(model, row);
  }
  const rows = [...byModel.values()];
  const unpriced = rows.filter((r) => !r.isPriced);
  if (unpriced[0] && result) {
    const priced = rows.filter((r) => r.isPriced).reduce((s, r) => s + r.costUsd, 0);
    unpriced[0].costUsd += Math.max(0, result.totalCostUsd - priced);
  }
  return rows.map(({ isPriced: _, ...r }) => r);
}
