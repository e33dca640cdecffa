import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type ServeProcess, startServeProcess } from '../helpers/serve-process.ts';
import { makeTempDir } from '../helpers/temp.ts';

/** 16 MB of `[{},{},…]`: millions of objects once parsed, the costliest JSON per byte. */
const BIG_BODY = new TextEncoder().encode(`[${'{},'.repeat((16 * 1024 * 1024) / 3 - 1)}{}]`);

/**
 * Every JSON route, with the status an unauthenticated caller gets. Storage MCP serves
 * anonymous callers (public buckets), so a big anonymous body there is refused as too large.
 */
const ROUTES: Array<[method: string, path: string, status: number]> = [
  ['POST', '/run', 401],
  ['PUT', '/user-claude', 401],
  ['DELETE', '/session', 401],
  ['POST', '/auth/exchange', 401],
  ['POST', '/claudebox/run', 401],
  ['POST', '/claudebox-zai/run', 401],
  ['POST', '/claudebox/run/cancel', 401],
  ['POST', '/claudebox-zai/run/cancel', 401],
  ['POST', '/v1/chat/completions', 401],
  ['POST', '/chat/completions', 401],
  ['POST', '/claudebox/openai/v1/chat/completions', 401],
  ['POST', '/claudebox-zai/openai/v1/chat/completions', 401],
  ['POST', '/mcp/', 401],
  ['POST', '/mcp', 401],
  ['POST', '/claudebox/mcp/', 401],
  ['POST', '/claudebox-zai/mcp/', 401],
  ['POST', '/stealthy-auto-browse/', 401],
  ['POST', '/stealthy-auto-browse/mcp/', 401],
  ['POST', '/storage/mcp/', 413],
];

const MAX_RSS_GROWTH = 5 * 1024 * 1024;

describe('every JSON route authenticates before it reads a body', () => {
  let server: ServeProcess;
  let cleanup: () => Promise<void>;
  before(async () => {
    const temp = await makeTempDir();
    cleanup = temp.cleanup;
    server = await startServeProcess({
      DATA_DIR: temp.dir,
      API_KEYS: 'alice:sk-alice',
      CLAUDEBOX_API_TOKEN: 'box-token',
      CLAUDEBOX_ZAI_API_TOKEN: 'zai-token',
      CLAUDEOPS_CHAT_API_KEY: 'ops-key',
      LITELLM_MASTER_KEY: 'master-key',
      STEALTHY_AUTO_BROWSE_AUTH_TOKEN: 'browse-token',
      HYBRIDS3_MASTER_KEY: 'storage-master',
      // Short, so the slow-client tests below end quickly.
      HEADERS_TIMEOUT_MS: '1000',
      REQUEST_TIMEOUT_MS: '2000',
    });
  });
  after(async () => {
    await server?.stop();
    await cleanup?.();
  });

  const send = (method: string, path: string, body: BodyInit) =>
    fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: 'Bearer wrong-key', 'content-type': 'application/json' },
      body,
    });

  for (const [method, path, status] of ROUTES) {
    it(`${method} ${path}: an unauthenticated 16 MB body is refused without being parsed`, async (t) => {
      // Warm the route's code path, so only the big body's cost is measured.
      await (await send(method, path, new TextEncoder().encode('{}'))).arrayBuffer();
      await server.collectGarbage();
      const rssBefore = await server.rssBytes();
      const startedAt = performance.now();
      const res = await send(method, path, BIG_BODY);
      const elapsedMs = performance.now() - startedAt;
      assert.equal(res.status, status);
      await res.arrayBuffer();
      // Node discards a refused body chunk by chunk: those chunks are garbage, not growth.
      await server.collectGarbage();
      const growth = (await server.rssBytes()) - rssBefore;
      t.diagnostic(
        `${method} ${path}: ${res.status} in ${elapsedMs.toFixed(1)} ms, RSS ${growth >= 0 ? '+' : ''}${(growth / 1024).toFixed(0)} kB`,
      );
      assert.ok(growth < MAX_RSS_GROWTH, `server RSS grew by ${growth} bytes`);
    });
  }

  it('closes a connection whose headers never finish', async () => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.write('POST /run HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const answer = await readUntilClosed(socket);
    assert.match(answer, /^HTTP\/1\.1 408/);
  });

  it('closes a connection whose body trickles in slower than REQUEST_TIMEOUT_MS', async () => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    socket.write(
      'POST /run HTTP/1.1\r\nHost: x\r\nx-api-key: sk-alice\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"prompt":',
    );
    const timer = setInterval(() => socket.write(' '), 200);
    try {
      const answer = await readUntilClosed(socket);
      assert.match(answer, /^HTTP\/1\.1 408/);
    } finally {
      clearInterval(timer);
    }
  });
});

/** Everything the server sends until it closes the connection (bounded by the test timeout). */
function readUntilClosed(socket: ReturnType<typeof connect>): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (d) => {
      text += d;
    });
    socket.on('error', () => resolve(text));
    socket.on('close', () => resolve(text));
  });
}
