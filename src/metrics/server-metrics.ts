import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RunEvent, RunStatus, Usage } from '../engine/events.ts';
import type { RunObserver } from '../engine/observer.ts';
import type { EngineHealth } from '../engine/port.ts';
import type { RunSpec } from '../engine/spec.ts';

/** What the HTTP layer reports of each answered request. */
export interface HttpObservation {
  method: string;
  /** The matched route's pattern (`/v1/chat/completions`, `/claudebox/files/*`), never the raw URL. */
  route: string;
  status: number;
  /** The surface whose route answered, or undefined for a path no route serves. */
  surface: string | undefined;
}

/** The server's metrics as the HTTP layer and /metrics see them. */
export interface MetricsSink {
  observeHttp(obs: HttpObservation): void;
  /** The Prometheus text exposition of every metric, and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Model names come from callers (a run's `model`, what the agent asked the relay for): past
 * this many distinct ones, the rest are counted as `other`, so a caller cycling through
 * made-up names cannot grow the exposition without bound.
 */
const MAX_MODEL_LABELS = 50;

/** A run's model as its agent reported it, and whether the relay reported its calls. */
interface RunModel {
  model: string | undefined;
  hasModelCalls: boolean;
}

/**
 * agentgate's Prometheus metrics, in a registry of their own (not prom-client's global one,
 * so two servers in one process, as in tests, never share counters). Runs are observed
 * through the engine's `RunObserver` port; queue, running runs and agent processes are read
 * from the engine's health at scrape time.
 */
export class ServerMetrics implements RunObserver, MetricsSink {
  readonly registry = new Registry();
  readonly #modelLabels = new Set<string>();
  /** Per run, keyed by its spec object (the engine hands the same one to every call). */
  readonly #runModels = new WeakMap<RunSpec, RunModel>();
  #health: (() => EngineHealth) | undefined;

  readonly #runsStarted = new Counter({
    name: 'agentgate_runs_started_total',
    help: 'Runs whose agent started, by surface.',
    labelNames: ['surface'] as const,
    registers: [this.registry],
  });
  readonly #runsFinished = new Counter({
    name: 'agentgate_runs_finished_total',
    help: 'Runs that settled, by surface and final status.',
    labelNames: ['surface', 'status'] as const,
    registers: [this.registry],
  });
  readonly #runDuration = new Histogram({
    name: 'agentgate_run_duration_seconds',
    help: 'From a run leaving the queue to its settling, by surface and final status.',
    labelNames: ['surface', 'status'] as const,
    buckets: [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });
  readonly #servedBy = new Counter({
    name: 'agentgate_agent_runs_served_total',
    help: 'Runs by the agent process that served them: live (reused), warm (a pre-started spare) or cold (started for the run).',
    labelNames: ['process'] as const,
    registers: [this.registry],
  });
  readonly #coldStarts = new Counter({
    name: 'agentgate_agent_cold_starts_total',
    help: 'Agent processes started for a run that found neither a live process nor a warm spare.',
    registers: [this.registry],
  });
  readonly #modelCalls = new Counter({
    name: 'agentgate_model_calls_total',
    help: 'Model calls agents made through the relay, by model and HTTP status.',
    labelNames: ['model', 'status'] as const,
    registers: [this.registry],
  });
  readonly #modelTokens = new Counter({
    name: 'agentgate_model_tokens_total',
    help: 'Model tokens by model and kind (input, output, cache_read, cache_write).',
    labelNames: ['model', 'kind'] as const,
    registers: [this.registry],
  });
  readonly #modelCost = new Counter({
    name: 'agentgate_model_cost_usd_total',
    help: "Model cost in US dollars as the agents reported it in their runs' results, by model.",
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly #authFailures = new Counter({
    name: 'agentgate_auth_failures_total',
    help: 'Requests refused for their credentials (401) or their rights (403), by surface.',
    labelNames: ['surface', 'status'] as const,
    registers: [this.registry],
  });
  readonly #httpRequests = new Counter({
    name: 'agentgate_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  constructor() {
    const health = () => this.#health?.();
    new Gauge({
      name: 'agentgate_runs_queued',
      help: 'Runs waiting for a slot.',
      registers: [this.registry],
      collect() {
        const h = health();
        if (h) this.set(h.queue.queued);
      },
    });
    new Gauge({
      name: 'agentgate_runs_running',
      help: 'Runs whose agent is running.',
      registers: [this.registry],
      collect() {
        const h = health();
        if (h) this.set(h.queue.running);
      },
    });
    new Gauge({
      name: 'agentgate_agent_processes',
      help: 'Agent processes by state: warm (pre-started spares), warming, live (parked for reuse), busy (serving a run).',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const h = health();
        if (!h) return;
        this.set({ state: 'warm' }, h.pool.idle);
        this.set({ state: 'warming' }, h.pool.warming);
        this.set({ state: 'live' }, h.pool.live);
        this.set({ state: 'busy' }, h.pool.busy);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'agentgate_' });
  }

  /** Where the scrape-time gauges read from (the engine is built after its observer). */
  readEngineHealth(health: () => EngineHealth): void {
    this.#health = health;
  }

  runStarted(spec: RunSpec): void {
    this.#runsStarted.inc({ surface: surfaceOf(spec) });
  }

  runEvent(spec: RunSpec, event: RunEvent): void {
    const run = this.#runModels.get(spec) ?? { model: undefined, hasModelCalls: false };
    this.#runModels.set(spec, run);
    if (event.type === 'status' && event.detail) {
      const process = processOf(event.detail);
      this.#servedBy.inc({ process });
      if (process === 'cold') this.#coldStarts.inc();
    } else if (event.type === 'session' && event.model) {
      run.model = event.model;
    } else if (event.type === 'model_call') {
      run.hasModelCalls = true;
      const { call } = event;
      const model = this.#modelLabel(call.model);
      this.#modelCalls.inc({ model, status: String(call.status) });
      this.#countTokens(model, call);
    } else if (event.type === 'result') {
      const { totalCostUsd, usage } = event.result;
      // Without the relay's record of the calls (an agent that bypassed it cannot, but a
      // backend without a relay may), the agent's own account of its tokens.
      const countsTokens = !run.hasModelCalls && hasTokens(usage);
      // A model name takes one of the bounded label slots only when something is counted
      // under it: runs naming made-up models that no upstream serves (cost 0, no tokens)
      // would otherwise fill every slot and leave the real models counted as `other`.
      if (totalCostUsd <= 0 && !countsTokens) return;
      const model = this.#modelLabel(run.model ?? spec.model);
      if (totalCostUsd > 0) this.#modelCost.inc({ model }, totalCostUsd);
      if (countsTokens) this.#countTokens(model, usage);
    }
  }

  runFinished(spec: RunSpec, status: RunStatus, durationMs: number | undefined): void {
    const labels = { surface: surfaceOf(spec), status };
    this.#runsFinished.inc(labels);
    if (durationMs !== undefined) this.#runDuration.observe(labels, durationMs / 1000);
  }

  observeHttp(obs: HttpObservation): void {
    this.#httpRequests.inc({ method: obs.method, route: obs.route, status: String(obs.status) });
    if (obs.status === 401 || obs.status === 403) {
      this.#authFailures.inc({ surface: obs.surface ?? 'none', status: String(obs.status) });
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  #countTokens(
    model: string,
    u: {
      inputTokens: number;
      outputTokens: number;
      cacheReadInputTokens: number;
      cacheCreationInputTokens: number;
    },
  ): void {
    const add = (kind: string, n: number) => {
      if (n > 0) this.#modelTokens.inc({ model, kind }, n);
    };
    add('input', u.inputTokens);
    add('output', u.outputTokens);
    add('cache_read', u.cacheReadInputTokens);
    add('cache_write', u.cacheCreationInputTokens);
  }

  #modelLabel(model: string | undefined): string {
    const name = model || 'unknown';
    if (this.#modelLabels.has(name)) return name;
    if (this.#modelLabels.size >= MAX_MODEL_LABELS) return 'other';
    this.#modelLabels.add(name);
    return name;
  }
}

function hasTokens(u: Usage): boolean {
  return (
    u.inputTokens > 0 || u.outputTokens > 0 || u.cacheReadInputTokens > 0 || u.cacheCreationInputTokens > 0
  );
}

function surfaceOf(spec: RunSpec): string {
  return spec.surface ?? 'internal';
}

/** The backend's "served by" detail (`cold start`, `warm spare`, `live process, …`) as a label. */
function processOf(detail: string): 'cold' | 'warm' | 'live' | 'other' {
  if (detail.startsWith('cold')) return 'cold';
  if (detail.startsWith('warm')) return 'warm';
  if (detail.startsWith('live')) return 'live';
  return 'other';
}
