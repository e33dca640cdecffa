import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type FakeModel, startFakeModel } from '../../src/fake-model/server.ts';
import { iterateSse, readSse, type SseEvent } from './sse-client.ts';

let model: FakeModel;

before(async () => {
  model = await startFakeModel();
});
after(async () => {
  await model.close();
});
beforeEach(() => model.clearRequests());

type Message = { role: string; content: unknown };

function user(text: string): Message {
  return { role: 'user', content: [{ type: 'text', text }] };
}

function post(body: Record<string, unknown>, path = '/v1/messages?beta=true', signal?: AbortSignal) {
  return fetch(`${model.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'secret-key' },
    body: JSON.stringify({ model: 'claude-test', max_tokens: 1024, ...body }),
    signal,
  });
}

async function answer(messages: Message[], extra: Record<string, unknown> = {}) {
  const response = await post({ messages, ...extra });
  assert.equal(response.status, 200);
  return (await response.json()) as {
    content: Array<{ type: string; text?: string; name?: string; id?: string; input?: unknown }>;
    stop_reason: string;
    usage: Record<string, number>;
  };
}

function textOf(events: SseEvent[]): string {
  return events
    .filter((event) => event.event === 'content_block_delta')
    .map((event) => (event.data.delta as { text?: string }).text ?? '')
    .join('');
}

const BASH_TOOL = { name: 'Bash', description: 'run', input_schema: { type: 'object' } };

describe('echo', () => {
  it('answers the last user text as JSON with usage', async () => {
    const body = await answer([user('hello there')]);
    assert.deepEqual(body.content, [{ type: 'text', text: 'Echo: hello there' }]);
    assert.equal(body.stop_reason, 'end_turn');
    assert.ok(body.usage.input_tokens! > 0);
    assert.equal(body.usage.output_tokens, 3);
    assert.equal(body.usage.cache_read_input_tokens, 0);
  });

  it('streams the exact Anthropic event sequence', async () => {
    const events = await readSse(await post({ messages: [user('hi you')], stream: true }));
    assert.deepEqual(
      events.map((event) => event.event),
      [
        'message_start',
        'ping',
        'content_block_start',
        'content_block_delta',
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ],
    );
    assert.equal(textOf(events), 'Echo: hi you');
    const start = events[0]!.data.message as { role: string; content: unknown[]; model: string };
    assert.equal(start.role, 'assistant');
    assert.equal(start.model, 'claude-test');
    assert.deepEqual(start.content, []);
    const delta = events.find((event) => event.event === 'message_delta')!.data;
    assert.deepEqual(delta.delta, { stop_reason: 'end_turn', stop_sequence: null });
    assert.equal((delta.usage as { output_tokens: number }).output_tokens, 3);
  });

  it('ignores system-reminder blocks and non-user roles when locating the prompt', async () => {
    const body = await answer([
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>\n[[error:500]]\n</system-reminder>' },
          { type: 'text', text: 'real prompt' },
        ],
      },
      { role: 'system', content: [{ type: 'text', text: 'environment' }] },
    ]);
    assert.deepEqual(body.content, [{ type: 'text', text: 'Echo: real prompt' }]);
  });

  it('accepts string content', async () => {
    const body = await answer([{ role: 'user', content: 'plain' }]);
    assert.equal(body.content[0]?.text, 'Echo: plain');
  });
});

describe('tool directives', () => {
  const prompt = user('go [[tool:Bash {"command":"echo hi > made.txt"}]] [[tool:Read {"file_path":"/x"}]]');

  it('calls each tool in turn, then reports the last result', async () => {
    const first = await answer([prompt], { tools: [BASH_TOOL] });
    assert.equal(first.stop_reason, 'tool_use');
    const call = first.content[0]!;
    assert.equal(call.type, 'tool_use');
    assert.equal(call.name, 'Bash');
    assert.deepEqual(call.input, { command: 'echo hi > made.txt' });

    const afterFirst: Message[] = [
      prompt,
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '' }] },
    ];
    const second = await answer(afterFirst, { tools: [BASH_TOOL] });
    assert.equal(second.content[0]?.name, 'Read');
    assert.notEqual(second.content[0]?.id, call.id);

    const final = await answer(
      [
        ...afterFirst,
        { role: 'assistant', content: second.content },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: second.content[0]?.id,
              content: [{ type: 'text', text: 'file body' }],
            },
            { type: 'text', text: '<system-reminder>noise</system-reminder>' },
          ],
        },
      ],
      { tools: [BASH_TOOL] },
    );
    assert.equal(final.stop_reason, 'end_turn');
    assert.deepEqual(final.content, [{ type: 'text', text: 'Tool result: file body' }]);
  });

  it('streams tool input as input_json_delta pieces that rebuild the input', async () => {
    const events = await readSse(await post({ messages: [prompt], tools: [BASH_TOOL], stream: true }));
    const start = events.find((event) => event.event === 'content_block_start')!.data;
    assert.deepEqual(start.content_block, {
      type: 'tool_use',
      id: (start.content_block as { id: string }).id,
      name: 'Bash',
      input: {},
    });
    const deltas = events
      .filter((event) => event.event === 'content_block_delta')
      .map((event) => event.data.delta as { type: string; partial_json: string });
    assert.ok(deltas.length > 1);
    assert.ok(deltas.every((delta) => delta.type === 'input_json_delta'));
    assert.deepEqual(JSON.parse(deltas.map((delta) => delta.partial_json).join('')), {
      command: 'echo hi > made.txt',
    });
    const messageDelta = events.find((event) => event.event === 'message_delta')!.data;
    assert.equal((messageDelta.delta as { stop_reason: string }).stop_reason, 'tool_use');
  });

  it('does not call tools when the request offers none (helper calls)', async () => {
    const body = await answer([prompt]);
    assert.equal(body.content[0]?.type, 'text');
  });
});

describe('structured output', () => {
  const schema = {
    type: 'object',
    properties: {
      name: { type: 'string' },
      count: { type: 'integer', minimum: 2 },
      kind: { enum: ['first', 'second'] },
      tags: { type: 'array', items: { type: 'string' }, minItems: 1 },
      nested: { type: 'object', properties: { ok: { type: 'boolean' } }, required: ['ok'] },
      optional: { type: 'string' },
    },
    required: ['name', 'count', 'kind', 'tags', 'nested'],
  };
  const tools = [BASH_TOOL, { name: 'StructuredOutput', input_schema: schema }];

  it('calls StructuredOutput with a minimal valid object, then answers briefly', async () => {
    const first = await answer([user('summarize')], { tools });
    const call = first.content[0]!;
    assert.equal(call.name, 'StructuredOutput');
    assert.deepEqual(call.input, {
      name: 'example',
      count: 2,
      kind: 'first',
      tags: ['example'],
      nested: { ok: false },
    });
    const final = await answer(
      [
        user('summarize'),
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'ok' }] },
      ],
      { tools },
    );
    assert.deepEqual(final.content, [{ type: 'text', text: 'Tool result: ok' }]);
  });

  it('runs tool directives before the structured answer', async () => {
    const first = await answer([user('[[tool:Bash {"command":"true"}]]')], { tools });
    assert.equal(first.content[0]?.name, 'Bash');
  });

  it('answers helper calls that ask for output_config JSON without acting on directives', async () => {
    const body = await answer([user('<session>[[error:500]] [[tool:Bash {}]] [[sleep:60000]]</session>')], {
      tools: [],
      output_config: {
        format: {
          type: 'json_schema',
          schema: { type: 'object', properties: { title: { type: 'string' } } },
        },
      },
    });
    assert.deepEqual(JSON.parse(body.content[0]?.text ?? ''), {});
  });
});

describe('words', () => {
  it('streams N words, one text delta each', async () => {
    const events = await readSse(await post({ messages: [user('[[words:20]]')], stream: true }));
    const deltas = events.filter((event) => event.event === 'content_block_delta');
    assert.equal(deltas.length, 20);
    assert.equal(textOf(events), Array.from({ length: 20 }, (_, index) => `word${index + 1}`).join(' '));
    const usage = events.find((event) => event.event === 'message_delta')!.data.usage as {
      output_tokens: number;
    };
    assert.equal(usage.output_tokens, 20);
  });

  it('answers the same words without streaming', async () => {
    const body = await answer([user('[[words:3]]')]);
    assert.deepEqual(body.content, [{ type: 'text', text: 'word1 word2 word3' }]);
  });
});

describe('recall', () => {
  it('answers every earlier user prompt in order, excluding the current one', async () => {
    const body = await answer([
      user('first prompt'),
      { role: 'assistant', content: [{ type: 'text', text: 'Echo: first prompt' }] },
      user('second prompt'),
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'not a prompt' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'done' }] },
      user('[[recall]]'),
    ]);
    assert.deepEqual(body.content, [{ type: 'text', text: 'first prompt\nsecond prompt' }]);
  });
});

describe('errors', () => {
  for (const [status, type] of [
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [529, 'overloaded_error'],
  ] as const) {
    it(`answers [[error:${status}]] with ${type}, streaming or not`, async () => {
      for (const stream of [false, true]) {
        const response = await post({ messages: [user(`[[error:${status}]]`)], stream });
        assert.equal(response.status, status);
        const body = (await response.json()) as { type: string; error: { type: string; message: string } };
        assert.equal(body.type, 'error');
        assert.equal(body.error.type, type);
        assert.ok(body.error.message.length > 0);
      }
    });
  }

  it('answers unknown paths with an Anthropic-shaped JSON 404', async () => {
    const response = await fetch(`${model.url}/v1/unknown`);
    assert.equal(response.status, 404);
    assert.equal(((await response.json()) as { error: { type: string } }).error.type, 'not_found_error');
  });

  it('answers a request without messages with a 400', async () => {
    const response = await fetch(`${model.url}/v1/messages`, { method: 'POST', body: 'not json' });
    assert.equal(response.status, 400);
  });
});

describe('sleep', () => {
  it('keeps the stream alive with pings before the answer', async () => {
    const events = await readSse(await post({ messages: [user('[[sleep:1300]] hi')], stream: true }));
    const firstBlock = events.findIndex((event) => event.event === 'content_block_start');
    const pings = events.slice(0, firstBlock).filter((event) => event.event === 'ping');
    assert.ok(pings.length >= 3, `expected keep-alive pings, got ${pings.length}`);
    assert.equal(textOf(events), 'Echo: [[sleep:1300]] hi');
  });

  it('stops a sleeping stream when the client disconnects and stays usable', async () => {
    const controller = new AbortController();
    const response = await post(
      { messages: [user('[[sleep:60000]]')], stream: true },
      undefined,
      controller.signal,
    );
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const event of iterateSse(response)) {
        seen.push(event.event);
        if (event.event === 'ping') controller.abort();
      }
    });
    assert.deepEqual(seen, ['message_start', 'ping']);
    const body = await answer([user('still here')]);
    assert.equal(body.content[0]?.text, 'Echo: still here');
  });

  it('lets close() end a sleeping request', async () => {
    const other = await startFakeModel();
    const pending = fetch(`${other.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [user('[[sleep:60000]]')] }),
    }).then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await other.close();
    assert.equal(await pending, 'cut');
  });
});

describe('count_tokens and /_requests', () => {
  it('counts tokens at about four characters each', async () => {
    const response = await post({ messages: [user('x'.repeat(400))] }, '/v1/messages/count_tokens?beta=true');
    assert.equal(response.status, 200);
    const body = (await response.json()) as { input_tokens: number };
    assert.ok(body.input_tokens >= 100 && body.input_tokens < 150, String(body.input_tokens));
  });

  it('records requests with secrets redacted, and clears them', async () => {
    await answer([user('recorded')]);
    const response = await fetch(`${model.url}/_requests`);
    const recorded = (await response.json()) as Array<{
      method: string;
      path: string;
      url: string;
      headers: Record<string, string>;
      body: { messages: Message[] };
    }>;
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0]!.method, 'POST');
    assert.equal(recorded[0]!.path, '/v1/messages');
    assert.equal(recorded[0]!.url, '/v1/messages?beta=true');
    assert.equal(recorded[0]!.headers['x-api-key'], '[redacted]');
    assert.deepEqual(recorded[0]!.body.messages, [user('recorded')]);
    assert.deepEqual(model.requests(), recorded);

    assert.equal((await fetch(`${model.url}/_requests`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(await (await fetch(`${model.url}/_requests`)).json(), []);
  });

  it('records unknown paths too', async () => {
    await fetch(`${model.url}/api/whatever`, { method: 'POST', body: '{"a":1}' });
    assert.deepEqual(
      model.requests().map((request) => [request.path, request.body]),
      [['/api/whatever', { a: 1 }]],
    );
  });
});
