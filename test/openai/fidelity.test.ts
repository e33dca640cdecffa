import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import OpenAI, { BadRequestError } from 'openai';
import { openAiSurface } from '../../src/surfaces/openai/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const BOX = 'fidelity-box-token';

/** Issue 16, OpenAI routes: what chat clients send beyond messages, through the openai package. */
describe('OpenAI request fields', { timeout: 180_000 }, () => {
  let t: TestApp;
  let client: OpenAI;
  before(async () => {
    t = await startTestApp({ surfaces: [openAiSurface], env: { CLAUDEBOX_API_TOKEN: BOX } });
    client = new OpenAI({ apiKey: BOX, baseURL: `${t.url}/claudebox/openai/v1`, maxRetries: 0 });
  });
  after(async () => t?.close());

  it('response_format json_schema makes the answer JSON valid for the schema', async () => {
    const answer = await client.chat.completions.create({
      model: 'sonnet',
      messages: [{ role: 'user', content: 'describe a city' }],
      response_format: {
        type: 'json_schema',
        json_schema: {
          name: 'city',
          schema: {
            type: 'object',
            properties: { name: { type: 'string' }, population: { type: 'integer' } },
            required: ['name', 'population'],
          },
        },
      },
    });
    const parsed = JSON.parse(answer.choices[0]?.message.content ?? '') as Record<string, unknown>;
    assert.equal(typeof parsed.name, 'string');
    assert.equal(typeof parsed.population, 'number');
    // The schema reached the agent as its structured-output tool.
    const sent = JSON.stringify(t.fake.requests().map((r) => r.body));
    assert.match(sent, /population/);
  });

  it('response_format json_object answers with a JSON object', async () => {
    const answer = await client.chat.completions.create({
      model: 'sonnet',
      messages: [{ role: 'user', content: 'an object please' }],
      response_format: { type: 'json_object' },
    });
    const parsed = JSON.parse(answer.choices[0]?.message.content ?? 'null');
    assert.equal(typeof parsed, 'object');
    assert.ok(parsed !== null && !Array.isArray(parsed));
  });

  it('refuses what a run cannot honour with a clear 400, and ignores what the original ignored', async () => {
    const ask = (extra: Record<string, unknown>) =>
      client.chat.completions.create({
        model: 'sonnet',
        messages: [{ role: 'user', content: 'hi' }],
        ...extra,
      } as never);
    for (const [extra, why] of [
      [{ n: 2 }, /n > 1 is not supported/],
      [{ logprobs: true }, /logprobs are not supported/],
      [{ response_format: { type: 'xml' } }, /response_format.type/],
      [{ response_format: { type: 'json_schema', json_schema: { name: 'x' } } }, /json_schema.schema/],
    ] as const) {
      await assert.rejects(ask(extra), (err: unknown) => {
        assert.ok(err instanceof BadRequestError, String(err));
        assert.match(err.message, why);
        return true;
      });
    }
    const ignored = await ask({
      temperature: 0.1,
      max_tokens: 5,
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
    });
    assert.match((ignored as OpenAI.ChatCompletion).choices[0]?.message.content ?? '', /Echo: .*hi/s);
  });

  it('image_url parts with data: URLs reach the model as images; remote URLs are refused', async () => {
    // A 1×1 PNG.
    const png =
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    t.fake.clearRequests();
    const answer = await client.chat.completions.create({
      model: 'sonnet',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'what is in this picture?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
          ],
        },
      ],
    });
    assert.match(answer.choices[0]?.message.content ?? '', /what is in this picture\?/);
    const sent = JSON.stringify(t.fake.requests().map((r) => r.body));
    assert.match(sent, /"type":"image"/, 'an image block reached the model');
    assert.ok(sent.includes(png), 'with the bytes the caller sent');

    await assert.rejects(
      client.chat.completions.create({
        model: 'sonnet',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'fetch this' },
              { type: 'image_url', image_url: { url: 'http://169.254.169.254/latest/meta-data/' } },
            ],
          },
        ],
      }),
      (err: unknown) => err instanceof BadRequestError && /data: URL/.test(err.message),
    );
  });

  it('stream_options.include_usage sends the usage chunk before [DONE]', async () => {
    const stream = await client.chat.completions.create({
      model: 'sonnet',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: '[[words:3]]' }],
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1);
    assert.ok(last?.usage, 'the last chunk carries usage');
    assert.ok((last?.usage?.completion_tokens ?? 0) > 0);
    assert.deepEqual(last?.choices, []);
  });
});
