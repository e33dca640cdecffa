import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import { makeMcpSurface } from '../../src/surfaces/mcp/index.ts';
import { AUTH, eventually, MASTER, newProcessesLeft, status, TOKEN } from '../claudebox/claudebox-app.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { agentProcessesUnder } from '../helpers/processes.ts';

type Content = Array<{ type: string; text?: string; resource?: { blob?: string; mimeType?: string } }>;
const TOOLS = ['claude_run', 'delete_file', 'list_files', 'read_file', 'write_file'];

async function connect(t: TestApp, path = '/claudebox/mcp/', token = TOKEN): Promise<Client> {
  const client = new Client({ name: 'mcp-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${t.url}${path}`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>) {
  const res = (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { ...res, text: String((res.content as Content)[0]?.text ?? '') };
}

describe('MCP servers', () => {
  let t: TestApp;
  let client: Client;
  before(async () => {
    t = await startTestApp({
      surfaces: [claudeboxSurface, makeMcpSurface({ idleMs: 1500 })],
      env: { CLAUDEBOX_API_TOKEN: TOKEN, LITELLM_MASTER_KEY: MASTER },
    });
    client = await connect(t);
  });
  after(async () => {
    await client?.close();
    await t?.close();
  });

  it('lists the five tools with schemas on /claudebox/mcp/, and on the gateway’s /mcp/ prefixed', async () => {
    const tools = (await client.listTools()).tools;
    assert.deepEqual(tools.map((x) => x.name).sort(), TOOLS);
    for (const tool of tools) assert.ok(tool.description && tool.description.length > 20);
    const run = tools.find((x) => x.name === 'claude_run');
    assert.deepEqual(((run?.inputSchema.required ?? []) as string[]).sort(), ['prompt']);
    // The gateway's /mcp/ names them as LiteLLM's aggregation did: `<server>-<tool>`.
    const gateway = await connect(t, '/mcp/', MASTER);
    assert.deepEqual(
      (await gateway.listTools()).tools.map((x) => x.name).sort(),
      TOOLS.map((name) => `claudebox-${name}`),
    );
    await gateway.close();
    await assert.rejects(connect(t, '/claudebox/mcp/', 'wrong-token'));
    await assert.rejects(connect(t, '/mcp/', 'wrong-token'));
  });

  it('writes, reads, lists and deletes files; errors come back as tool errors', async () => {
    const w = await call(client, 'write_file', {
      workspace: 'mcpws',
      path: 'dir/a.txt',
      content: 'hello mcp',
    });
    assert.equal(w.isError ?? false, false, w.text);
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
    await call(client, 'write_file', {
      workspace: 'mcpws',
      path: 'b.png',
      content: png.toString('base64'),
      encoding: 'base64',
    });
    assert.equal(
      (await call(client, 'read_file', { workspace: 'mcpws', path: 'dir/a.txt' })).text,
      'hello mcp',
    );
    const bin = await client.callTool({
      name: 'read_file',
      arguments: { workspace: 'mcpws', path: 'b.png' },
    });
    const res = (bin.content as Content)[0]?.resource;
    assert.equal(res?.mimeType, 'image/png');
    assert.deepEqual(Buffer.from(String(res?.blob), 'base64'), png);
    const files = JSON.parse((await call(client, 'list_files', { workspace: 'mcpws' })).text) as {
      files: Array<{ path: string; size: number }>;
    };
    assert.deepEqual(
      files.files.map((f) => f.path),
      ['b.png', 'dir/a.txt'],
    );
    const spaces = JSON.parse((await call(client, 'list_files', {})).text) as {
      workspaces: Array<{ name: string }>;
    };
    assert.ok(spaces.workspaces.some((s) => s.name === 'mcpws'));
    // The files API sees the same workspace.
    const viaHttp = await fetch(`${t.url}/claudebox/files/mcpws/dir/a.txt`, { headers: AUTH });
    assert.equal(await viaHttp.text(), 'hello mcp');
    assert.equal(
      (await call(client, 'delete_file', { workspace: 'mcpws', path: 'dir/a.txt' })).isError ?? false,
      false,
    );

    const missing = await call(client, 'read_file', { workspace: 'mcpws', path: 'dir/a.txt' });
    assert.equal(missing.isError, true);
    assert.match(missing.text, /not_found/);
    assert.equal((await call(client, 'delete_file', { workspace: 'mcpws', path: 'nope' })).isError, true);
    assert.equal((await call(client, 'list_files', { workspace: 'never-made' })).isError, true);
    for (const path of ['../x', '/etc/passwd', 'a/../../b', 'a\\b', 'a\u0000b']) {
      for (const tool of ['read_file', 'write_file', 'delete_file']) {
        const r = await call(client, tool, { workspace: 'mcpws', path, content: 'x' });
        assert.equal(r.isError, true, `${tool} ${path}`);
        assert.match(r.text, /invalid_request/);
      }
    }
    const badWs = await call(client, 'write_file', { workspace: '../escape', path: 'x', content: 'x' });
    assert.match(badWs.text, /invalid_request/);
    t.env.FILES_MAX_BYTES = '4';
    t.deps.config.reload();
    const big = await call(client, 'write_file', {
      workspace: 'mcpws',
      path: 'big.txt',
      content: 'too long',
    });
    t.env.FILES_MAX_BYTES = undefined;
    t.deps.config.reload();
    assert.equal(big.isError, true);
    assert.match(big.text, /payload_too_large/);
  });

  it('runs claude_run with progress, structured result fields, and refuses a busy workspace', async () => {
    const progress: string[] = [];
    const res = await client.callTool(
      { name: 'claude_run', arguments: { prompt: '[[words:30]] [[sleep:600]]', workspace: 'mcprun' } },
      undefined,
      { onprogress: (p) => progress.push(String(p.message)) },
    );
    assert.equal(res.isError ?? false, false);
    const sc = res.structuredContent as Record<string, unknown>;
    assert.equal(sc.type, 'result');
    assert.equal(sc.subtype, 'success');
    assert.equal(typeof sc.sessionId, 'string');
    assert.equal((res.content as Content)[0]?.text, sc.result);
    assert.ok(progress.length >= 2, `progress: ${JSON.stringify(progress)}`);

    const slow = client.callTool({
      name: 'claude_run',
      arguments: { prompt: '[[sleep:2500]]', workspace: 'mcprun' },
    });
    await eventually(async () =>
      (await status(t)).running.some((r) => r.workspace === 'mcprun') ? true : undefined,
    );
    const busy = await call(client, 'claude_run', { prompt: 'me too', workspace: 'mcprun' });
    assert.equal(busy.isError, true);
    assert.match(busy.text, /conflict/);
    assert.equal(((await slow).structuredContent as Record<string, unknown>).subtype, 'success');

    const bad = await call(client, 'claude_run', { prompt: 'x', workspace: 'mcprun', jsonSchema: '{nope' });
    assert.equal(bad.isError, true);
    assert.match(bad.text, /jsonSchema/);
  });

  it('takes claude_run parameters under the original names and answers with the original result fields', async () => {
    type Json = Record<string, unknown>;
    const sent = (marker: string) =>
      t.fake
        .requests()
        .filter(
          (r) => r.path === '/v1/messages' && JSON.stringify((r.body as Json).messages).includes(marker),
        )
        .at(-1)?.body as Json | undefined;

    const sys = await call(client, 'claude_run', {
      prompt: 'marker-snake-sys',
      workspace: 'snake1',
      model: 'haiku',
      system_prompt: 'You are SNAKE-SYS.',
      effort: 'high',
      no_continue: true,
    });
    assert.equal(sys.isError ?? false, false, sys.text);
    const sysBody = sent('marker-snake-sys');
    assert.ok(JSON.stringify(sysBody?.system).includes('You are SNAKE-SYS.'));
    assert.ok(!JSON.stringify(sysBody?.system).includes('Claude Code'), 'system_prompt replaces the default');
    assert.match(String(sysBody?.model), /haiku/);
    assert.equal((sysBody?.output_config as Json | undefined)?.effort, 'high');
    const sc = sys.structuredContent as Json;
    assert.equal(sc.result, sys.text);
    assert.equal(typeof sc.session_id, 'string');
    assert.equal(sc.session_id, sc.sessionId);
    assert.equal(typeof sc.total_cost_usd, 'number');
    assert.equal(sc.is_error, false);
    const usage = sc.usage as Json;
    assert.equal(typeof usage.input_tokens, 'number');
    assert.ok((usage.output_tokens as number) > 0);
    // The same facts as a second text block, for clients that only read text content.
    const facts = JSON.parse(String((sys.content as Content)[1]?.text)) as Json;
    assert.equal(facts.session_id, sc.session_id);
    assert.equal(facts.total_cost_usd, sc.total_cost_usd);
    assert.deepEqual((facts.usage as Json).output_tokens, usage.output_tokens);

    await call(client, 'claude_run', {
      prompt: 'marker-snake-append',
      workspace: 'snake2',
      append_system_prompt: 'SNAKE-APPENDED-7',
    });
    const appended = JSON.stringify(sent('marker-snake-append')?.system);
    assert.ok(appended.includes('SNAKE-APPENDED-7') && appended.includes('Claude Code'));

    const schema = { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    const structured = await call(client, 'claude_run', {
      prompt: 'data please',
      workspace: 'snake3',
      json_schema: JSON.stringify(schema),
    });
    assert.equal(typeof (JSON.parse(structured.text) as Json).n, 'number');

    // resume a session by id: the fake model sees the earlier turn again.
    const resumed = await call(client, 'claude_run', {
      prompt: 'marker-snake-resume',
      workspace: 'snake1',
      resume: String(sc.session_id),
    });
    assert.equal(resumed.isError ?? false, false, resumed.text);
    assert.ok(JSON.stringify(sent('marker-snake-resume')?.messages).includes('marker-snake-sys'));

    const bad = await call(client, 'claude_run', { prompt: 'x', workspace: 'snake3', json_schema: '{nope' });
    assert.equal(bad.isError, true);
    const clash = await call(client, 'claude_run', {
      prompt: 'x',
      workspace: 'snake3',
      no_continue: true,
      noContinue: false,
    });
    assert.equal(clash.isError, true);
    assert.match(clash.text, /no_continue/);

    const run = (await client.listTools()).tools.find((x) => x.name === 'claude_run');
    const props = Object.keys(run?.inputSchema.properties ?? {});
    for (const name of [
      'prompt',
      'workspace',
      'model',
      'system_prompt',
      'append_system_prompt',
      'json_schema',
      'effort',
      'no_continue',
      'resume',
    ]) {
      assert.ok(props.includes(name), name);
    }
  });

  it('cancels the run when the MCP request is cancelled, leaving no process', async () => {
    const before = await agentProcessesUnder(t.dataDir);
    const ac = new AbortController();
    const pending = client.callTool(
      { name: 'claude_run', arguments: { prompt: '[[sleep:8000]]', workspace: 'mcpcancel' } },
      undefined,
      { signal: ac.signal },
    );
    pending.catch(() => {});
    await eventually(async () =>
      (await status(t)).running.some((r) => r.workspace === 'mcpcancel') ? true : undefined,
    );
    await eventually(async () =>
      (await agentProcessesUnder(t.dataDir)).length > before.length ? true : undefined,
    );
    ac.abort();
    await assert.rejects(pending);
    await eventually(async () =>
      (await status(t)).running.some((r) => r.workspace === 'mcpcancel') ? undefined : true,
    );
    assert.deepEqual(await newProcessesLeft(t, before), []);
    assert.equal((await status(t)).running.length, 0);
  });

  it('serves stateless requests and expires idle sessions', async () => {
    const res = await fetch(`${t.url}/claudebox/mcp/`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /claude_run/);

    // A session whose client keeps no request open is closed once idle (1.5 s in this app).
    const headers = {
      ...AUTH,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const init = await fetch(`${t.url}/claudebox/mcp/`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'raw', version: '1' },
        },
      }),
    });
    const sid = String(init.headers.get('mcp-session-id'));
    await init.text();
    const list = () =>
      fetch(`${t.url}/claudebox/mcp/`, {
        method: 'POST',
        headers: { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
      });
    const live = await list();
    assert.equal(live.status, 200, await live.text());
    await new Promise((r) => setTimeout(r, 3500));
    assert.equal((await list()).status, 404);
    // The SDK client (which holds its event stream open) kept its session through the wait.
    assert.ok((await client.listTools()).tools.length === 5);
  });
});
