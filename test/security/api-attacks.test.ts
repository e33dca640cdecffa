import assert from 'node:assert/strict';
import { lookup } from 'node:dns/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { MAX_EVENT_STREAMS_PER_CALLER } from '../../src/surfaces/api/events-route.ts';
import { ALICE, api, BOB, openEvents, startApiApp } from '../api/api-client.ts';
import type { TestApp } from '../helpers/app.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * Attacks on the Runs API by key holders, replayed: each test fails on the code before its fix.
 */
describe('Runs API attack replays', { timeout: 180_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startApiApp({ SSE_HEARTBEAT_MS: '200', WEBHOOK_SECRET: 'whsec' });
  });
  after(() => t?.close());

  it('one key cannot hold unbounded event streams open on a slow run (descriptor exhaustion)', async () => {
    const created = await api(t, 'POST', '/runs', BOB, { prompt: '[[sleep:60000]] slow', workspace: 'slow' });
    assert.equal(created.status, 202);
    const id = String(created.json.id);
    const aborts: AbortController[] = [];
    try {
      const open = async (key: string) => {
        const ac = new AbortController();
        aborts.push(ac);
        return openEvents(t, id, key, { signal: ac.signal });
      };
      // The attacker opens as many streams as the cap allows: each one is served.
      const held = await Promise.all(Array.from({ length: MAX_EVENT_STREAMS_PER_CALLER }, () => open(BOB)));
      for (const res of held) assert.equal(res.status, 200);
      // One more is refused in the API's own error shape, before any stream starts.
      const over = await open(BOB);
      assert.equal(over.status, 429);
      assert.equal(over.headers.get('retry-after'), '1');
      const body = (await over.json()) as { error: { code: string } };
      assert.equal(body.error.code, 'busy');
      // Another caller is not starved by bob's streams.
      const mine = await api(t, 'POST', '/runs', ALICE, { prompt: 'quick' });
      const other = await openEvents(t, String(mine.json.id), ALICE);
      assert.equal(other.status, 200);
      assert.match(await other.text(), /event: end/);
      // Closing a stream frees its slot at once, even though the run says nothing meanwhile.
      aborts[0]?.abort();
      let again: Response | undefined;
      for (let i = 0; i < 50; i++) {
        again = await open(BOB);
        if (again.status === 200) break;
        await again.text();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(again?.status, 200, 'a closed stream gives its slot back');
    } finally {
      for (const ac of aborts) ac.abort();
      await api(t, 'POST', `/runs/${id}/cancel`, BOB);
    }
  });
});

describe('webhook target attack replays', { timeout: 120_000 }, () => {
  let t: TestApp;
  before(async () => {
    // Private targets allowed: the URL's size, not its address, is what is attacked here.
    t = await startApiApp({
      WEBHOOK_SECRET: 'whsec',
      WEBHOOK_ALLOW_PRIVATE: '1',
      WEBHOOK_RETRY_BASE_MS: '100',
    });
  });
  after(() => t?.close());

  it('a target answering with a NUL byte still gets its delivery recorded as delivered', async () => {
    // A receiver answering binary (a gzip body, a NUL): its excerpt is stored with the attempt.
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200).end(Buffer.from([0x6f, 0x6b, 0x00, 0x1f, 0x8b])));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const created = await api(t, 'POST', '/runs', BOB, {
        prompt: 'nul answer',
        webhookUrl: `http://127.0.0.1:${port}/hook`,
      });
      assert.equal(created.status, 202);
      const id = String(created.json.id);
      type Delivery = {
        state: string;
        attempts: Array<{ httpStatus: number | null; responseExcerpt: string }>;
      };
      let delivery: Delivery | undefined;
      await waitFor(async () => {
        delivery = ((await api(t, 'GET', `/runs/${id}/webhooks`, BOB)).json.deliveries as Delivery[])[0];
        return delivery?.state === 'delivered';
      }, 60_000);
      assert.equal(delivery?.attempts[0]?.httpStatus, 200);
      assert.match(delivery?.attempts[0]?.responseExcerpt ?? '', /^ok/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a megabyte webhookUrl is refused with 400 and starts nothing (stored, listed and re-sent otherwise)', async () => {
    const webhookUrl = `http://127.0.0.1:9/${'a'.repeat(1024 * 1024)}`;
    const count = async () => ((await api(t, 'GET', '/runs?limit=200', BOB)).json.runs as unknown[]).length;
    const before = await count();
    const res = await api(t, 'POST', '/runs', BOB, { prompt: 'x', webhookUrl });
    assert.equal(res.status, 400);
    assert.equal((res.json.error as { code: string }).code, 'invalid_request');
    assert.equal(await count(), before, 'no run was started');
  });
});

describe('webhook refusals are no DNS oracle', { timeout: 120_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startApiApp({ WEBHOOK_SECRET: 'whsec' });
  });
  after(() => t?.close());

  it("a refused name's answer does not say what the server's DNS resolved it to", async (ctx) => {
    // A name only this machine's resolver knows (/etc/hosts), standing in for db.corp.internal.
    const name = hostname();
    const resolved = await lookup(name).catch(() => undefined);
    if (!resolved || /^(localhost|\d+\.\d+\.\d+\.\d+)$/.test(name)) {
      ctx.skip(`the host name ${name} does not resolve to an address here`);
      return;
    }
    const res = await api(t, 'POST', '/runs', BOB, { prompt: 'x', webhookUrl: `http://${name}:9/hook` });
    assert.equal(res.status, 400);
    const { message } = res.json.error as { message: string };
    assert.match(message, /non-public/);
    assert.ok(!message.includes(resolved.address), `the answer names the resolved address: ${message}`);
  });
});
