import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import Fastify, { type FastifyInstance } from 'fastify';
import { prepareErrorReply, toAppError } from '../../src/http/errors.ts';
import { McpHost, type McpHostOptions } from '../../src/mcp/host.ts';
import { BROWSER_MCP_HOSTING, MAX_SESSIONS, MAX_SESSIONS_PER_OWNER } from '../../src/surfaces/browser/mcp.ts';
import { claudeboxMcpHosting } from '../../src/surfaces/mcp/index.ts';
import { STORAGE_MCP_HOSTING } from '../../src/surfaces/storage/mcp.ts';

/**
 * The one MCP host, under each MCP server's own hosting rules: a tiny server with one tool
 * behind real HTTP, the caller's identity in a header (each surface authenticates first
 * and hands the host an owner).
 */
interface Hosted {
  url: string;
  host: McpHost;
  closedSessions: () => number;
  close(): Promise<void>;
}

async function startHost(opts: McpHostOptions): Promise<Hosted> {
  const host = new McpHost(opts, () => ({ MCP_ALLOWED_HOSTS: [], MCP_ALLOWED_ORIGINS: [] }));
  let closed = 0;
  const app: FastifyInstance = Fastify();
  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', String(req.id));
  });
  app.setErrorHandler((err, req, reply) => {
    const appErr = toAppError(err, req);
    prepareErrorReply(appErr, reply);
    return reply.send({ error: { code: appErr.code, message: appErr.message } });
  });
  app.route({
    method: ['GET', 'POST', 'DELETE'],
    url: '/mcp',
    handler: async (req, reply) => {
      const server = new McpServer({ name: 'probe', version: '1.0.0' });
      server.registerTool('ping', { description: 'answers pong' }, async () => ({
        content: [{ type: 'text', text: 'pong' }],
      }));
      await host.handle(req, reply, {
        owner: String(req.headers['x-owner']),
        body: req.body,
        build: () => ({ server, onClose: () => (closed += 1) }),
      });
    },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    host,
    closedSessions: () => closed,
    async close() {
      await host.close();
      await app.close();
    },
  };
}

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const INITIALIZE = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'probe', version: '1' } },
};

async function initialize(
  h: Hosted,
  owner: string,
): Promise<{ status: number; sid: string | null; res: Response }> {
  const res = await fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, 'x-owner': owner },
    body: JSON.stringify(INITIALIZE),
  });
  await res.arrayBuffer();
  return { status: res.status, sid: res.headers.get('mcp-session-id'), res };
}

async function listTools(h: Hosted, owner: string, sid?: string): Promise<{ status: number; text: string }> {
  const res = await fetch(h.url, {
    method: 'POST',
    headers: { ...HEADERS, 'x-owner': owner, ...(sid ? { 'mcp-session-id': sid } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }),
  });
  return { status: res.status, text: await res.text() };
}

const sessionServers: Array<{
  name: string;
  options: McpHostOptions;
  /** The same rules without an idle sweep racing the fill. */
  unsweptOptions: McpHostOptions;
  maxPerOwner: number;
  maxTotal: number;
  isSwept: boolean;
  whenFull: 'refuse' | 'evict-largest';
}> = [
  {
    name: 'claudebox and gateway MCP',
    options: claudeboxMcpHosting({ idleMs: 300 }),
    unsweptOptions: claudeboxMcpHosting({ idleMs: 600_000 }),
    maxPerOwner: 64,
    maxTotal: 1024,
    isSwept: true,
    whenFull: 'refuse',
  },
  {
    name: 'browser MCP',
    options: BROWSER_MCP_HOSTING,
    unsweptOptions: BROWSER_MCP_HOSTING,
    maxPerOwner: MAX_SESSIONS_PER_OWNER,
    maxTotal: MAX_SESSIONS,
    isSwept: false,
    whenFull: 'evict-largest',
  },
];

for (const server of sessionServers) {
  describe(`MCP host: ${server.name}`, { timeout: 120_000 }, () => {
    let h: Hosted;
    before(async () => {
      h = await startHost(server.options);
    });
    after(async () => h?.close());

    it('keeps its current limits', () => {
      assert.equal(server.options.maxPerOwner, server.maxPerOwner);
      assert.equal(server.options.maxTotal, server.maxTotal);
      assert.equal(server.options.whenFull, server.whenFull);
    });

    it('binds a session to its owner: another owner presenting its id is told it does not exist', async () => {
      const { status, sid, res } = await initialize(h, 'alice');
      assert.equal(status, 200);
      assert.ok(sid, 'a session id was issued');
      assert.ok(
        res.headers.get('x-request-id'),
        'headers set by hooks are carried over to the hijacked reply',
      );
      const mine = await listTools(h, 'alice', sid);
      assert.equal(mine.status, 200);
      assert.match(mine.text, /"ping"/);
      const theirs = await listTools(h, 'mallory', sid);
      assert.equal(theirs.status, 404);
      assert.doesNotMatch(theirs.text, /"ping"/);
      const close = await fetch(h.url, {
        method: 'DELETE',
        headers: { 'x-owner': 'mallory', 'mcp-session-id': sid },
      });
      assert.equal(close.status, 404, 'nor can it end the session');
      assert.equal((await listTools(h, 'alice', sid)).status, 200, "the owner's session still works");
    });

    it(
      server.isSwept ? 'closes a session left idle' : 'keeps an idle session (it holds a replica)',
      async () => {
        const { sid } = await initialize(h, 'idler');
        assert.ok(sid);
        const closedBefore = h.closedSessions();
        await new Promise((r) => setTimeout(r, 1200));
        const later = await listTools(h, 'idler', sid);
        if (server.isSwept) {
          assert.equal(later.status, 404, 'the idle session was swept');
          assert.ok(h.closedSessions() > closedBefore, 'its server was told it closed');
        } else {
          assert.equal(later.status, 200, 'the idle session is still there');
        }
      },
    );

    it('an owner opening sessions in a loop evicts only its own, least recently used first', async () => {
      await h.close();
      h = await startHost(server.unsweptOptions);
      const bob = await initialize(h, 'bob');
      assert.ok(bob.sid);
      const first = await initialize(h, 'looper');
      assert.ok(first.sid);
      for (let i = 0; i < server.maxPerOwner; i++) assert.equal((await initialize(h, 'looper')).status, 200);
      assert.equal(
        (await listTools(h, 'looper', first.sid)).status,
        404,
        "the looper's oldest session made room",
      );
      assert.equal((await listTools(h, 'bob', bob.sid)).status, 200, "bob's older session was not touched");
    });

    it(
      server.whenFull === 'refuse'
        ? 'a full server refuses new sessions (busy) and evicts nobody'
        : 'a full server evicts from the owner holding the most',
      async () => {
        await h.close();
        h = await startHost(server.unsweptOptions);
        const keeper = await initialize(h, 'keeper');
        assert.ok(keeper.sid);
        // Fill the server: owners of one share each, the last one holding the most.
        let opened = 1;
        for (let o = 0; opened < server.maxTotal; o++) {
          for (let i = 0; i < server.maxPerOwner && opened < server.maxTotal; i++, opened++) {
            assert.equal((await initialize(h, `filler-${o}`)).status, 200);
          }
        }
        assert.equal(h.host.size, server.maxTotal);
        const next = await initialize(h, 'newcomer');
        if (server.whenFull === 'refuse') {
          assert.equal(next.status, 429, 'busy');
          assert.equal(next.sid, null);
        } else {
          assert.equal(next.status, 200);
          assert.equal(h.host.size, server.maxTotal);
        }
        assert.equal(
          (await listTools(h, 'keeper', keeper.sid)).status,
          200,
          'the one-session owner kept its session',
        );
      },
    );
  });
}

describe('MCP host: storage MCP (stateless)', { timeout: 60_000 }, () => {
  let h: Hosted;
  before(async () => {
    h = await startHost(STORAGE_MCP_HOSTING);
  });
  after(async () => h?.close());

  it('serves every request with a throwaway server: no session is issued or kept', async () => {
    const { status, sid, res } = await initialize(h, 'anyone');
    assert.equal(status, 200);
    assert.equal(sid, null);
    assert.ok(res.headers.get('x-request-id'), 'headers set by hooks are carried over to the hijacked reply');
    const tools = await listTools(h, 'someone-else');
    assert.equal(tools.status, 200);
    assert.match(tools.text, /"ping"/);
    assert.equal(h.host.size, 0);
  });
});
