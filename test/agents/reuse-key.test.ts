import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isClaimable, reuseKeyOf } from '../../src/agents/claude/reuse-key.ts';
import type { AgentRunRequest } from '../../src/agents/types.ts';

const base: AgentRunRequest = { runId: 'r', owner: 'alice', cwd: '/w', prompt: 'p' };

test('a live process is only reused by the same owner with the same start-time settings', () => {
  const key = reuseKeyOf(base, 'm');
  assert.equal(reuseKeyOf({ ...base, runId: 'other', prompt: 'different prompt' }, 'm'), key);
  for (const change of [
    { owner: 'bob' },
    { cwd: '/other' },
    { model: 'x' },
    { systemPrompt: 's' },
    { appendSystemPrompt: 'a' },
    { jsonSchema: { type: 'object' } },
    { effort: 'high' as const },
    { userMemory: 'm' },
  ]) {
    assert.notEqual(reuseKeyOf({ ...base, ...change }, 'm'), key, JSON.stringify(change));
  }
});

test('only what a claim can carry goes to a pre-started spare', () => {
  assert.equal(isClaimable(base), true);
  assert.equal(isClaimable({ ...base, appendSystemPrompt: 'x', effort: 'low', model: 'm' }), true);
  assert.equal(isClaimable({ ...base, systemPrompt: 'x' }), false);
  assert.equal(isClaimable({ ...base, jsonSchema: {} }), false);
  assert.equal(isClaimable({ ...base, resumeSessionId: 's' }), false);
});
