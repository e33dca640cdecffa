import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import { mcpSurface } from '../../src/surfaces/mcp/index.ts';
import { MASTER, TOKEN } from '../claudebox/claudebox-app.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { eventsOf } from '../helpers/runs.ts';

describe('Claude Code as a client of the claudebox MCP server', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({
      surfaces: [claudeboxSurface, mcpSurface],
      // Unconfined on purpose: a sandboxed agent has its own network namespace and reaches no
      // loopback address (docs/security.md), so an MCP server on this host's loopback is out
      // of its reach. This test is about Claude Code speaking MCP to the gateway.
      env: { CLAUDEBOX_API_TOKEN: TOKEN, LITELLM_MASTER_KEY: MASTER, AGENT_SANDBOX: 'none' },
    });
  });
  after(async () => {
    await t?.close();
  });

  it('writes a file through write_file when the model calls the tool', async () => {
    const run = await t.deps.engine.submit({
      owner: 'agent-user',
      workspace: 'users/agent-user/caller',
      prompt: '[[tool:mcp__agentgate__write_file {"workspace":"w","path":"x.txt","content":"hi"}]]',
      onBusy: 'conflict',
      mcpServers: {
        agentgate: {
          type: 'http',
          url: `${t.url}/claudebox/mcp/`,
          headers: { Authorization: `Bearer ${TOKEN}` },
        },
      },
    });
    const record = await t.deps.engine.wait(run.id);
    assert.equal(record.status, 'succeeded', record.error);
    const toolResult = (await eventsOf(t.deps.engine, run.id)).find(
      (e) => e.event.type === 'tool_result',
    )?.event;
    assert.ok(toolResult && toolResult.type === 'tool_result');
    assert.equal(toolResult.isError, false, JSON.stringify(toolResult.content));
    // The token's principal is user "claudebox": its workspace w.
    const written = join(t.dataDir, 'workspaces', 'users', 'claudebox', 'w', 'x.txt');
    assert.equal(await readFile(written, 'utf8'), 'hi');
  });
});
