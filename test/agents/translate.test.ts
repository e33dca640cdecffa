import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { translateSdkMessage } from '../../src/agents/claude/translate.ts';
import type { RunEvent } from '../../src/engine/events.ts';

/** SDK message streams recorded from the real binary talking to the fake model (test/fixtures/sdk/record.ts). */
function translate(name: string): RunEvent[] {
  const lines = readFileSync(new URL(`../fixtures/sdk/${name}.jsonl`, import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  return lines.flatMap((l) => translateSdkMessage(JSON.parse(l)));
}

const of = <T extends RunEvent['type']>(events: RunEvent[], type: T) =>
  events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);

describe('translateSdkMessage on recorded streams', () => {
  test('echo: a session, text deltas that spell the answer, one successful result', () => {
    const events = translate('echo');
    assert.equal(of(events, 'session').length >= 1, true);
    const text = of(events, 'text_delta')
      .map((e) => e.text)
      .join('');
    const results = of(events, 'result');
    assert.equal(results.length, 1);
    const result = results[0]!.result;
    assert.equal(result.isError, false);
    assert.equal(result.subtype, 'success');
    assert.match(result.text, /^Echo: /);
    assert.equal(text, result.text, 'the streamed deltas add up to the final text');
    assert.ok(result.usage.outputTokens > 0);
    assert.equal(result.sessionId, of(events, 'session')[0]!.sessionId);
  });

  test('words: one delta per word', () => {
    const deltas = of(translate('words-5'), 'text_delta');
    assert.ok(deltas.length >= 5, `expected >= 5 deltas, got ${deltas.length}`);
  });

  test('bash tool: tool_use then tool_result, with both as messages for verbose output', () => {
    const events = translate('bash-tool');
    const uses = of(events, 'tool_use');
    const results = of(events, 'tool_result');
    assert.equal(uses.length, 1);
    assert.equal(uses[0]!.name, 'Bash');
    assert.equal(typeof (uses[0]!.input as { command?: unknown }).command, 'string');
    assert.equal(results.length, 1);
    assert.equal(results[0]!.toolUseId, uses[0]!.id);
    const messages = of(events, 'message');
    assert.ok(messages.some((m) => m.role === 'assistant' && m.content.some((b) => b.type === 'tool_use')));
    assert.ok(messages.some((m) => m.role === 'tool_result'));
    assert.ok(events.indexOf(uses[0]!) < events.indexOf(results[0]!));
  });

  test('structured output: the result carries the object and its JSON text', () => {
    const result = of(translate('structured-output'), 'result')[0]!.result;
    assert.equal(result.isError, false);
    assert.equal(typeof result.structuredOutput, 'object');
    assert.deepEqual(JSON.parse(result.text), result.structuredOutput);
  });

  test('a model error ends in an error result', () => {
    const results = of(translate('error-400'), 'result');
    assert.equal(results.length, 1);
    assert.equal(results[0]!.result.isError, true);
  });

  test('unknown or malformed messages translate to nothing', () => {
    assert.deepEqual(translateSdkMessage(null), []);
    assert.deepEqual(translateSdkMessage({ type: 'future_kind', x: 1 }), []);
    assert.deepEqual(translateSdkMessage({ type: 'assistant', message: { content: 'nope' } }), [
      { type: 'message', role: 'assistant', content: [{ type: 'text', text: 'nope' }] },
    ]);
    assert.deepEqual(
      translateSdkMessage({
        type: 'stream_event',
        parent_tool_use_id: 'toolu_1',
        event: { type: 'content_block_delta', delta: { type: 'text_delta', text: 'sub' } },
      }),
      [],
      'subagent text is not the main answer',
    );
  });
});
