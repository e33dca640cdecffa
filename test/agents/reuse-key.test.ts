import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isClaimable, reuseKeyOf } from '../../src/agents/claude/reuse-key.ts';
import type { AgentRunRequest } from '../../src/agents/types.ts';

const base: AgentRunRequest = { runId: 'r', owner: 'alice', cwd: '/w', prompt: 'p' };
const access = { baseUrl: 'http://model', apiKey: 'k1' };

test('a live process is only reused by the same owner with the same start-time settings', () => {
  const key = reuseKeyOf(base, 'm', access);
  assert.equal(reuseKeyOf({ ...base, runId: 'other', prompt: 'different prompt' }, 'm', access), key);
  for (const change of [
    { owner: 'bob' },
    { cwd: '/other' },
    { model: 'x' },
    { systemPrompt: 's' },
    { appendSystemPrompt: 'a' },
    { jsonSchema: { type: 'object' } },
    { effort: 'high' as const },
    { userMemory: 'm' },
    { provider: 'zai' as const },
    { tier: 'observe' as const },
    { tier: 'edit' as const },
  ]) {
    assert.notEqual(reuseKeyOf({ ...base, ...change }, 'm', access), key, JSON.stringify(change));
  }
  // The process holds a relay token, not the key: a rotated key keeps it reusable (the relay
  // sends the new key), but a change of credential kind (API key → OAuth) does not.
  assert.equal(reuseKeyOf(base, 'm', { ...access, apiKey: 'k2' }), key);
  assert.notEqual(reuseKeyOf(base, 'm', { baseUrl: 'http://model', oauthToken: 'o' }), key);
});

test('only what a claim can carry goes to a pre-started spare', () => {
  assert.equal(isClaimable(base), true);
  assert.equal(isClaimable({ ...base, appendSystemPrompt: 'x', effort: 'low', model: 'm' }), true);
  assert.equal(isClaimable({ ...base, systemPrompt: 'x' }), false);
  assert.equal(isClaimable({ ...base, jsonSchema: {} }), false);
  assert.equal(isClaimable({ ...base, resumeSessionId: 's' }), false);
  // A spare's env holds the server's own model access, fixed at start.
  assert.equal(isClaimable({ ...base, provider: 'anthropic' }), true);
  assert.equal(isClaimable({ ...base, provider: 'zai' }), false);
  // Spares start with every tool: a restricted tier never takes one.
  assert.equal(isClaimable({ ...base, tier: 'full' }), true);
  assert.equal(isClaimable({ ...base, tier: 'edit' }), false);
  assert.equal(isClaimable({ ...base, tier: 'observe' }), false);
});

test('an unset tier is full: the same process serves both', () => {
  assert.equal(reuseKeyOf({ ...base, tier: 'full' }, 'm', access), reuseKeyOf(base, 'm', access));
});
