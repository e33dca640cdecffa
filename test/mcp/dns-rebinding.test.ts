import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { rebindingRefusal } from '../../src/mcp/dns-rebinding.ts';
import { browserSurface } from '../../src/surfaces/browser/index.ts';
import { makeMcpSurface } from '../../src/surfaces/mcp/index.ts';
import { storageSurface } from '../../src/surfaces/storage/index.ts';
import { MASTER, TOKEN } from '../claudebox/claudebox-app.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

/**
 * DNS-rebinding protection on every MCP endpoint: a request whose Host or Origin is not
 * this server's (loopback, or MCP_ALLOWED_HOSTS / MCP_ALLOWED_ORIGINS) gets 403 before
 * anything else, while loopback callers, as every other MCP test speaks, are served.
 */
const ZAI_TOKEN = 'zai-box-token';
const BROWSER_TOKEN = 'browser-rebind-token';

const ENDPOINTS: Array<{ path: string; token: string | undefined; tool: string }> = [
  // The gateway's aggregate, with and without the slash, and each server's tools within it.
  { path: '/mcp/', token: MASTER, tool: 'claudebox-claude_run' },
  { path: '/mcp', token: MASTER, tool: 'hybrids3-upload_object' },
  { path: '/mcp/', token: MASTER, tool: 'stealthy_auto_browse-run_script' },
  { path: '/claudebox/mcp/', token: TOKEN, tool: 'claude_run' },
  { path: '/claudebox-zai/mcp/', token: ZAI_TOKEN, tool: 'claude_run' },
  { path: '/storage/mcp/', token: undefined, tool: 'upload_object' },
  { path: '/stealthy-auto-browse/mcp/', token: BROWSER_TOKEN, tool: 'run_script' },
];

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'rebind', version: '1' } },
});

/** A raw POST with exactly these headers (fetch would not let a test pick Host). */
function rawPost(
  t: TestApp,
  path: string,
  headers: Record<string, string>,
  body = INITIALIZE,
): Promise<{ status: number; body: string }> {
  const url = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'content-length': String(Buffer.byteLength(body)),
          ...headers,
        },
        timeout: 30_000,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

async function connect(t: TestApp, path: string, headers: Record<string, string>): Promise<Client> {
  const client = new Client({ name: 'rebind-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${t.url}${path}`), { requestInit: { headers } }),
  );
  return client;
}

const auth = (token: string | undefined): Record<string, string> =>
  token ? { authorization: `Bearer ${token}` } : {};

describe('DNS-rebinding protection on every MCP endpoint', { timeout: 120_000 }, () => {
  let t: TestApp;
  let port: string;
  before(async () => {
    t = await startTestApp({
      surfaces: [makeMcpSurface(), storageSurface, browserSurface],
      env: {
        CLAUDEBOX_API_TOKEN: TOKEN,
        CLAUDEBOX_ZAI_API_TOKEN: ZAI_TOKEN,
        LITELLM_MASTER_KEY: MASTER,
        STEALTHY_AUTO_BROWSE_AUTH_TOKEN: BROWSER_TOKEN,
        STEALTHY_AUTO_BROWSE_NUM_REPLICAS: '1',
        MCP_ALLOWED_HOSTS: 'mcp.example.com, gw.example.com:8443',
        MCP_ALLOWED_ORIGINS: 'https://app.example.com',
      },
    });
    port = new URL(t.url).port;
  });
  after(async () => {
    await t?.close();
  });

  for (const { path, token, tool } of ENDPOINTS) {
    it(`${path} (${tool}): loopback and configured names pass; a foreign Host or Origin gets 403`, async () => {
      // Loopback through the MCP SDK client: 127.0.0.1, and localhost with a loopback Origin on another port.
      for (const headers of [
        auth(token),
        { ...auth(token), host: `localhost:${port}`, origin: 'http://localhost:5173' },
        { ...auth(token), host: `[::1]:${port}`, origin: 'http://127.0.0.1' },
      ]) {
        const client = await connect(t, path, headers);
        assert.ok(
          (await client.listTools()).tools.some((x) => x.name === tool),
          `${path} ${JSON.stringify(headers)}`,
        );
        await client.close();
      }
      // Configured host (any port, or the one port given) and origin.
      for (const headers of <Array<Record<string, string>>>[
        { host: 'mcp.example.com', origin: 'https://app.example.com' },
        { host: 'MCP.example.com:443' },
        { host: 'gw.example.com:8443' },
      ]) {
        const res = await rawPost(t, path, { ...auth(token), ...headers });
        assert.equal(res.status, 200, `${path} ${JSON.stringify(headers)}: ${res.body}`);
      }

      // The attack: a page of a name re-pointed at this server, or of another origin.
      for (const headers of <Array<Record<string, string>>>[
        { host: 'evil.example' },
        { host: `evil.example:${port}` },
        { host: 'mcp.example.com.evil.example' },
        { host: 'gw.example.com:9999' },
        { host: 'localhost.evil.example' },
        { host: `127.0.0.1:${port}`, origin: 'http://evil.example' },
        { host: `127.0.0.1:${port}`, origin: `http://evil.example:${port}` },
        { host: `127.0.0.1:${port}`, origin: 'https://app.example.com.evil.example' },
        { host: `127.0.0.1:${port}`, origin: 'null' },
      ]) {
        const res = await rawPost(t, path, { ...auth(token), ...headers });
        assert.equal(res.status, 403, `${path} ${JSON.stringify(headers)}: ${res.body}`);
        const err = JSON.parse(res.body) as { jsonrpc: string; error: { message: string } };
        assert.equal(err.jsonrpc, '2.0');
        assert.match(err.error.message, /Invalid (Host|Origin) header/);
        assert.ok(!res.body.includes('evil'), 'the refused value is not echoed');
      }
      // Refused before credentials are looked at, too.
      assert.equal((await rawPost(t, path, { host: 'evil.example' })).status, 403);

      // Through the MCP SDK client: a foreign Origin cannot even initialize.
      await assert.rejects(
        connect(t, path, { ...auth(token), origin: 'http://evil.example' }),
        /403|Invalid Origin/,
      );
    });
  }

  it('a specific listen address (HOST) is this server’s name too; a wildcard one is not', () => {
    const allow = (HOST: string) => ({ MCP_ALLOWED_HOSTS: [], MCP_ALLOWED_ORIGINS: [], HOST });
    assert.equal(rebindingRefusal({ host: '10.1.2.3:8080' }, allow('10.1.2.3')), undefined);
    assert.equal(rebindingRefusal({ host: '[fd00::5]:8080' }, allow('fd00::5')), undefined);
    assert.equal(rebindingRefusal({ host: '10.1.2.3:8080' }, allow('10.9.9.9')), 'Invalid Host header');
    assert.equal(rebindingRefusal({ host: '0.0.0.0:8080' }, allow('0.0.0.0')), 'Invalid Host header');
    assert.equal(rebindingRefusal({ host: 'evil.example' }, allow('0.0.0.0')), 'Invalid Host header');
    assert.equal(rebindingRefusal({}, allow('127.0.0.1')), 'Invalid Host header');
    assert.equal(
      rebindingRefusal({ host: 'localhost', origin: 'file://' }, allow('')),
      'Invalid Origin header',
    );
  });

  it('an open session is not reachable through a foreign Host either', async () => {
    const client = await connect(t, '/claudebox/mcp/', auth(TOKEN));
    const sid = (client.transport as StreamableHTTPClientTransport).sessionId;
    assert.ok(sid);
    const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} });
    const foreign = await rawPost(
      t,
      '/claudebox/mcp/',
      { ...auth(TOKEN), host: 'evil.example', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
      list,
    );
    assert.equal(foreign.status, 403);
    const own = await rawPost(
      t,
      '/claudebox/mcp/',
      { ...auth(TOKEN), 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
      list,
    );
    assert.equal(own.status, 200);
    assert.match(own.body, /claude_run/);
    await client.close();
  });
});
