import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { skipWithout } from '../helpers/system-parts.ts';
import { type BrowserTestApp, startBrowserApp, TOKEN } from './browser-app.ts';

type ToolContent = Array<{ type: string; text?: string; data?: string; mimeType?: string }>;

async function connect(t: BrowserTestApp, token = TOKEN): Promise<Client> {
  const client = new Client({ name: 'browser-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${t.app.url}/stealthy-auto-browse/mcp/`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

async function callJson(client: Client, name: string, args: Record<string, unknown> = {}) {
  const res = await client.callTool({ name, arguments: args });
  const content = res.content as ToolContent;
  assert.equal(res.isError ?? false, false, `${name} failed: ${content[0]?.text}`);
  return JSON.parse(String(content[0]?.text)) as Record<string, unknown>;
}

describe('browser MCP server', { skip: skipWithout('chromium') }, () => {
  let t: BrowserTestApp;
  before(async () => {
    t = await startBrowserApp({ STEALTHY_AUTO_BROWSE_NUM_REPLICAS: '2' });
  });
  after(async () => {
    await t?.close();
  });

  it('lists one tool per action', async () => {
    const client = await connect(t);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    for (const action of [
      'goto',
      'get_text',
      'get_html',
      'get_interactive_elements',
      'screenshot',
      'system_click',
      'system_type',
      'send_key',
      'click',
      'fill',
      'scroll',
      'mouse_move',
      'wait_for_element',
      'wait_for_text',
      'eval_js',
      'browser_action',
      'run_script',
    ]) {
      assert.ok(names.includes(action), `missing tool ${action}`);
    }
    await client.close();
  });

  it('pins each session to its own replica', async () => {
    const a = await connect(t);
    const b = await connect(t);
    assert.equal((await callJson(a, 'goto', { url: `${t.fixture.url}/` })).title, 'Fixture Home');
    assert.equal((await callJson(b, 'goto', { url: `${t.fixture.url}/page2` })).title, 'Page Two');
    for (let i = 0; i < 2; i++) {
      assert.match(String((await callJson(a, 'get_text')).text), /Hello fixture/);
      assert.match(String((await callJson(b, 'get_text')).text), /Second page/);
    }
    await Promise.all([a.close(), b.close()]);
  });

  it('runs interaction tools, run_script and returns screenshots as images', async () => {
    const client = await connect(t);
    await callJson(client, 'goto', { url: `${t.fixture.url}/form` });
    await callJson(client, 'fill', { selector: '#name', value: 'Mcp' });
    await callJson(client, 'system_click', { x: 160, y: 120, duration: 0 });
    assert.match(String((await callJson(client, 'get_text')).text), /Clicked trusted at 160,120 name=Mcp/);

    const script = await callJson(client, 'run_script', {
      steps: [
        { action: 'goto', url: `${t.fixture.url}/slow?ms=100` },
        { action: 'wait_for_text', text: 'Ready now', timeout: 5 },
      ],
    });
    assert.equal(script.steps_executed, 2);

    const failed = await client.callTool({
      name: 'wait_for_element',
      arguments: { selector: '#nope', timeout: 0.2 },
    });
    assert.equal(failed.isError, true);
    assert.match(String((failed.content as ToolContent)[0]?.text), /timeout/i);

    const shot = await client.callTool({ name: 'screenshot', arguments: {} });
    const image = (shot.content as ToolContent)[0];
    assert.equal(image?.type, 'image');
    assert.equal(image?.mimeType, 'image/png');
    const png = Buffer.from(String(image?.data), 'base64');
    assert.equal(png.readUInt32BE(16), 1280);
    assert.equal(png.readUInt32BE(20), 720);
    await client.close();
  });

  it('refuses clients without the token', async () => {
    await assert.rejects(connect(t, 'wrong-token'));
  });
});
