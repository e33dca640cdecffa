import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ZERO_USAGE } from '../../src/engine/events.ts';
import type { RunSpec } from '../../src/engine/spec.ts';
import { ServerMetrics } from '../../src/metrics/server-metrics.ts';

function result(totalCostUsd: number, outputTokens: number) {
  return {
    type: 'result' as const,
    result: {
      subtype: totalCostUsd > 0 ? 'success' : 'error_during_execution',
      isError: totalCostUsd === 0,
      text: '',
      numTurns: 1,
      durationMs: 1,
      totalCostUsd,
      sessionId: undefined,
      usage: { ...ZERO_USAGE, outputTokens },
    },
  };
}

/** One run through the metrics' observer port, as the engine reports it. */
function run(m: ServerMetrics, model: string, costUsd: number, outputTokens: number): void {
  const spec: RunSpec = {
    owner: 'mallory',
    workspace: 'users/mallory/x',
    prompt: 'x',
    model,
    surface: 'api',
    onBusy: 'wait',
  };
  m.runStarted(spec);
  m.runEvent(spec, { type: 'session', sessionId: 's', model });
  m.runEvent(spec, result(costUsd, outputTokens));
  m.runFinished(spec, costUsd > 0 ? 'succeeded' : 'failed', 5);
}

describe('/metrics model labels (attack replay)', () => {
  it('runs naming made-up models that count nothing do not use up the model label slots', async () => {
    const m = new ServerMetrics();
    // A key holder cycles through made-up model names: no upstream serves them, so each run
    // fails with no cost and no tokens.
    for (let i = 0; i < 200; i++) run(m, `junk-model-${i}`, 0, 0);
    // Then real runs: their cost and tokens must still be counted under their own model.
    run(m, 'claude-sonnet-4-6', 0.25, 40);
    const { body } = await m.render();
    assert.match(body, /agentgate_model_cost_usd_total\{model="claude-sonnet-4-6"\} 0\.25/);
    assert.match(body, /agentgate_model_tokens_total\{model="claude-sonnet-4-6",kind="output"\} 40/);
    assert.doesNotMatch(body, /junk-model-/, 'a model that counted nothing got a label');
    assert.doesNotMatch(body, /model="other"/);
  });

  it('distinct models that do count are still bounded', async () => {
    const m = new ServerMetrics();
    for (let i = 0; i < 200; i++) run(m, `model-${i}`, 0.01, 1);
    const { body } = await m.render();
    const labels = new Set(
      [...body.matchAll(/agentgate_model_cost_usd_total\{model="([^"]+)"\}/g)].map((x) => x[1]),
    );
    assert.ok(labels.has('other'), 'past the bound, models are counted as other');
    assert.ok(labels.size <= 51, `too many model labels: ${labels.size}`);
  });
});
