/**
 * The fake model driven by the real Claude Code binary, through the Agent SDK: proves the
 * directives survive Claude Code's actual requests (system reminders, side calls, tool loop).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { query, type SDKResultMessage } from '@anthropic-ai/claude-agent-sdk';
import { type FakeModel, startFakeModel } from '../../src/fake-model/server.ts';
import {
  type ClaudeSandbox,
  createClaudeSandbox,
  type RunOutcome,
  runToEnd,
  waitForNoProcessesInside,
} from './claude-harness.ts';

let model: FakeModel;
let sandbox: ClaudeSandbox;

before(async () => {
  model = await startFakeModel();
});
after(async () => {
  await model.close();
});
beforeEach(async () => {
  model.clearRequests();
  sandbox = await createClaudeSandbox(model.url);
});
afterEach(async () => {
  // The SDK reaps claude when iteration ends; a straggler here would leak across the suite.
  assert.deepEqual(await waitForNoProcessesInside(sandbox.root), []);
  await sandbox.cleanup();
});

function resultOf({ messages, error }: RunOutcome, isErrorExpected = false): SDKResultMessage {
  if (!isErrorExpected) assert.equal(error, undefined);
  const result = messages.find((message): message is SDKResultMessage => message.type === 'result');
  assert.ok(result, 'run produced no result message');
  return result;
}

function messagesCalls() {
  return model.requests().filter((request) => request.path === '/v1/messages');
}

describe('real claude against the fake model', { timeout: 60_000 }, () => {
  it('echoes the prompt', async () => {
    const result = resultOf(await runToEnd('hello from the test', sandbox.options()));
    assert.equal(result.subtype, 'success');
    assert.equal(result.subtype === 'success' && result.result, 'Echo: hello from the test');
    assert.equal(messagesCalls().length, 1);
  });

  it('runs a Bash tool loop that really creates the file', async () => {
    const outcome = await runToEnd('[[tool:Bash {"command":"echo hi > made.txt"}]]', sandbox.options());
    assert.equal(await readFile(join(sandbox.cwd, 'made.txt'), 'utf8'), 'hi\n');
    const result = resultOf(outcome);
    assert.equal(result.subtype, 'success');
    assert.match(result.subtype === 'success' ? result.result : '', /^Tool result:/);
    assert.equal(messagesCalls().length, 2);
  });

  it('streams [[words:20]] as separate text deltas', async () => {
    const outcome = await runToEnd('[[words:20]]', sandbox.options());
    const deltas = outcome.messages.flatMap((message) =>
      message.type === 'stream_event' &&
      message.event.type === 'content_block_delta' &&
      message.event.delta.type === 'text_delta'
        ? [message.event.delta.text]
        : [],
    );
    assert.equal(deltas.length, 20);
    const result = resultOf(outcome);
    assert.equal(result.subtype === 'success' && result.result, deltas.join(''));
  });

  it('returns structured output through the StructuredOutput tool', async () => {
    const schema = {
      type: 'object',
      properties: {
        title: { type: 'string' },
        score: { type: 'integer', minimum: 1 },
        done: { type: 'boolean' },
      },
      required: ['title', 'score', 'done'],
    };
    const result = resultOf(
      await runToEnd('summarize', sandbox.options({ outputFormat: { type: 'json_schema', schema } })),
    );
    assert.equal(result.subtype, 'success');
    assert.deepEqual(result.subtype === 'success' && result.structured_output, {
      title: 'example',
      score: 1,
      done: false,
    });
  });

  it('fails fast on [[error:400]]', async () => {
    const outcome = await runToEnd('[[error:400]]', sandbox.options());
    const result = resultOf(outcome, true);
    assert.equal(result.is_error, true);
    assert.match(outcome.error?.message ?? '', /400/);
  });

  it('keeps the tool loop intact when Claude Code also makes its title side call', async () => {
    const options = sandbox.options();
    const env = { ...options.env };
    delete env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC;
    const outcome = await runToEnd('[[tool:Bash {"command":"echo side > side.txt"}]]', { ...options, env });
    assert.equal(resultOf(outcome).subtype, 'success');
    assert.equal(await readFile(join(sandbox.cwd, 'side.txt'), 'utf8'), 'side\n');
    const sideCalls = messagesCalls().filter(
      (request) =>
        (request.body as { output_config?: { format?: unknown } }).output_config?.format !== undefined,
    );
    assert.ok(sideCalls.length >= 1, 'expected a title-generation side call');
  });

  it('stops a sleeping run when the caller aborts, before any tool runs', async () => {
    const abortController = new AbortController();
    const seen: string[] = [];
    await assert.rejects(async () => {
      const prompt = '[[sleep:30000]] [[tool:Bash {"command":"touch never.txt"}]]';
      for await (const message of query({ prompt, options: sandbox.options({ abortController }) })) {
        seen.push(message.type);
        if (message.type === 'stream_event' && message.event.type === 'message_start')
          abortController.abort();
      }
    });
    assert.ok(seen.includes('stream_event'));
    assert.deepEqual(await waitForNoProcessesInside(sandbox.root), []);
    await assert.rejects(readFile(join(sandbox.cwd, 'never.txt')));
  });

  it('sends the history of a resumed session ([[recall]])', async () => {
    const first = resultOf(await runToEnd('remember the red fox', sandbox.options()));
    const second = resultOf(
      await runToEnd('and the blue bird', sandbox.options({ resume: first.session_id })),
    );
    const third = resultOf(
      await runToEnd('[[recall]]', sandbox.options({ resume: second.session_id ?? first.session_id })),
    );
    assert.equal(third.subtype === 'success' && third.result, 'remember the red fox\nand the blue bird');
  });
});
