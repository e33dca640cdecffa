import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { claudeCodeApiSurface } from '../../src/surfaces/claude-code-api/index.ts';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import { mcpSurface } from '../../src/surfaces/mcp/index.ts';
import { openAiSurface } from '../../src/surfaces/openai/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const MAX = 40;
const LONG = 'x'.repeat(MAX + 1);

/** Issue 13.8: MAX_PROMPT_CHARS holds on every surface that starts a run. */
describe('MAX_PROMPT_CHARS on every surface', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces: [claudeCodeApiSurface, openAiSurface, claudeboxSurface, mcpSurface],
      env: {
        MAX_PROMPT_CHARS: String(MAX),
        API_KEYS: 'alice:sk-alice',
        CLAUDEBOX_API_TOKEN: 'box',
        CLAUDEOPS_CHAT_API_KEY: 'ops',
      },
    });
  });
  after(async () => t.close());

  const post = (path: string, key: string, body: unknown) =>
    fetch(`${t.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const chat = (model: string) => ({ model, messages: [{ role: 'user', content: LONG }] });

  it('refuses an over-long prompt on each HTTP path, starting no run', async () => {
    const cases: Array<[string, string, unknown]> = [
      ['/run', 'sk-alice', { prompt: LONG }],
      ['/claudebox/run', 'box', { prompt: LONG }],
      ['/v1/chat/completions', 'ops', chat('claude-ops')],
      ['/v1/chat/completions', 'box', chat('claudebox-haiku')],
      ['/chat/completions', 'box', chat('claudebox-sonnet')],
      ['/claudebox/openai/v1/chat/completions', 'box', chat('claudebox-opus')],
    ];
    for (const [path, key, body] of cases) {
      const res = await post(path, key, body);
      const text = await res.text();
      assert.equal(res.status, 400, `${path}: ${text}`);
      assert.match(text, new RegExp(`longer than ${MAX} characters`), path);
    }
    const runs = await t.deps.db.selectFrom('runs').select('id').execute();
    assert.equal(runs.length, 0);
  });

  it('holds for the appended system prompt and the schema too (red-team bypass)', async () => {
    const cases: Array<[string, string, unknown, Record<string, string>]> = [
      ['/claudebox/run', 'box', { prompt: 'hi', appendSystemPrompt: LONG }, {}],
      ['/claudebox/run', 'box', { prompt: 'hi', systemPrompt: LONG }, {}],
      ['/claudebox/run', 'box', { prompt: 'hi', jsonSchema: JSON.stringify({ description: LONG }) }, {}],
      [
        '/claudebox/openai/v1/chat/completions',
        'box',
        { model: 'claudebox-haiku', messages: [{ role: 'user', content: 'hi' }] },
        { 'x-claude-append-system-prompt': LONG },
      ],
      [
        '/chat/completions',
        'box',
        {
          model: 'claudebox-sonnet',
          messages: [{ role: 'user', content: 'hi' }],
          extra_headers: { 'X-Claude-Append-System-Prompt': LONG },
        },
        {},
      ],
    ];
    for (const [path, key, body, headers] of cases) {
      const res = await fetch(`${t.url}${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      assert.equal(res.status, 400, `${path}: ${text}`);
      assert.match(text, new RegExp(`longer than ${MAX} characters`), path);
    }
    const runs = await t.deps.db.selectFrom('runs').select('id').execute();
    assert.equal(runs.length, 0);
  });

  it('refuses it in the MCP claude_run tool too', async () => {
    const client = new Client({ name: 'limit', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/claudebox/mcp/`), {
        requestInit: { headers: { authorization: 'Bearer box' } },
      }),
    );
    try {
      const res = (await client.callTool({
        name: 'claude_run',
        arguments: { prompt: LONG },
      })) as CallToolResult;
      assert.equal(res.isError, true);
      assert.match(JSON.stringify(res.content), new RegExp(`longer than ${MAX} characters`));
    } finally {
      await client.close();
    }
    const runs = await t.deps.db.selectFrom('runs').select('id').execute();
    assert.equal(runs.length, 0);
  });
});
