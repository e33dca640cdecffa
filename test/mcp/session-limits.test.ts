import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import { mcpSurface } from '../../src/surfaces/mcp/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'loop', version: '1' } },
});

/** Issue 13.8: MCP session caps are per caller, so one caller cannot evict another's sessions. */
describe('MCP sessions are limited per caller', () => {
  let t: TestApp;
  let bob: Client;
  before(async () => {
    // The server's real limits (64 per caller, 1024 in all).
    t = await startTestApp({
      surfaces: [claudeboxSurface, mcpSurface],
      env: { API_KEYS: 'alice:sk-alice,bob:sk-bob' },
    });
    bob = new Client({ name: 'bob', version: '1.0.0' });
    await bob.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/claudebox/mcp/`), {
        requestInit: { headers: { authorization: 'Bearer sk-bob' } },
      }),
    );
  });
  after(async () => {
    await bob?.close();
    await t?.close();
  });

  const open = async (key: string): Promise<Response> =>
    fetch(`${t.url}/claudebox/mcp/`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: INITIALIZE,
    });

  it('a caller opening sessions in a loop evicts only its own', async () => {
    const first = await open('sk-alice');
    const firstId = first.headers.get('mcp-session-id');
    await first.arrayBuffer();
    assert.ok(firstId);
    // More than the whole server's old global cap (1024), which evicted the oldest of anyone's.
    for (let i = 0; i < 1100; i++) {
      const res = await open('sk-alice');
      assert.equal(res.status, 200);
      await res.arrayBuffer();
    }
    // Bob's session, older than all of Alice's, still answers.
    const tools = await bob.listTools();
    assert.ok(tools.tools.some((x) => x.name === 'claude_run'));
    // Alice's first session made room for her later ones.
    const stale = await fetch(`${t.url}/claudebox/mcp/`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer sk-alice',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': firstId,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
    });
    assert.equal(stale.status, 404);
  });
});
