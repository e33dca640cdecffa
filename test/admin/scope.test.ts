import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { globMatches, periodStartMs, RequestRateLimiter } from '../../src/auth/scope.ts';
import { ZERO_USAGE } from '../../src/engine/events.ts';
import type { RunRecord } from '../../src/engine/record.ts';
import { usageRows } from '../../src/usage/run-guard.ts';

describe('scope rules and usage arithmetic', () => {
  it('model globs match whole names; regex characters are literal', () => {
    assert.ok(globMatches('claude-*', 'claude-sonnet-4-6'));
    assert.ok(globMatches('*sonnet*', 'sonnet'));
    assert.ok(globMatches('claude-?-haiku', 'claude-3-haiku'));
    assert.ok(!globMatches('claude-*', 'xclaude-opus'));
    assert.ok(!globMatches('claude.opus', 'claudeXopus'), 'a dot is a dot');
    assert.ok(!globMatches('sonnet', 'sonnet-evil'));
  });

  it('rpm: a sliding minute; Retry-After is when the oldest request leaves it', () => {
    const limiter = new RequestRateLimiter();
    assert.equal(limiter.take('k', 2, 0), undefined);
    assert.equal(limiter.take('k', 2, 10_000), undefined);
    assert.equal(limiter.take('k', 2, 20_000), 40);
    assert.equal(limiter.take('other', 2, 20_000), undefined, 'keys are counted apart');
    assert.equal(limiter.take('k', 2, 60_001), undefined);
  });

  it('budget periods start at UTC midnight, the 1st of the month, or never', () => {
    const now = Date.UTC(2026, 11, 2, 19, 30);
    assert.equal(periodStartMs('day', now), Date.UTC(2026, 11, 2));
    assert.equal(periodStartMs('month', now), Date.UTC(2026, 11, 1));
    assert.equal(periodStartMs('total', now), 0);
  });

  it('a model without a list price is charged what the agent’s total_cost_usd leaves over', () => {
    const record = {
      id: 'r1',
      owner: 'u',
      workspace: 'users/u/w',
      status: 'succeeded',
      spec: { owner: 'u', workspace: 'users/u/w', prompt: 'p', onBusy: 'wait', keyId: 'k1' },
      result: {
        subtype: 'success',
        isError: false,
        text: '',
        numTurns: 1,
        durationMs: 1,
        totalCostUsd: 0.5,
        sessionId: undefined,
        usage: ZERO_USAGE,
      },
      error: undefined,
      createdAt: 0,
      startedAt: 0,
      finishedAt: 1000,
    } as RunRecord;
    const call = (model: string, input: number, output: number) => ({
      model,
      status: 200,
      inputTokens: input,
      outputTokens: output,
      cacheReadInputTokens: 1_000_000,
      cacheCreationInputTokens: 0,
    });
    const rows = usageRows(
      record,
      [call('claude-sonnet-4-6', 1_000_000, 0), call('glm-4.6', 10, 10)],
      'x',
      0,
    );
    const sonnet = rows.find((r) => r.model === 'claude-sonnet-4-6');
    const glm = rows.find((r) => r.model === 'glm-4.6');
    // $3 for a million input tokens plus $0.30 for a million cache reads (0.1×).
    assert.ok(Math.abs((sonnet?.costUsd ?? 0) - 3.3) < 1e-9);
    assert.equal(glm?.costUsd, 0, 'the priced calls already exceed the agent’s own total');
    assert.equal(rows[0]?.keyId, 'k1');
    const sdkOnly = usageRows(record, [], 'claude-sonnet-4-6', 0);
    assert.deepEqual(
      sdkOnly.map((r) => [r.source, r.costUsd, r.model]),
      [['sdk', 0.5, 'claude-sonnet-4-6']],
    );
  });
});
