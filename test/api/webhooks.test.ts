import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { apiSurface } from '../../src/surfaces/api/index.ts';
import { postOnce } from '../../src/webhooks/post.ts';
import { verifyWebhook } from '../../src/webhooks/signature.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { makeTempDir } from '../helpers/temp.ts';
import { waitFor } from '../helpers/wait.ts';
import { ALICE, api, startApiApp } from './api-client.ts';

const SECRET = 'whsec-test-5f1c';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A local webhook receiver answering with the statuses given, in turn (the last one repeats; 0: never answers). */
async function startReceiver(statuses: number[]): Promise<{
  url: string;
  port: number;
  received: Received[];
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      const status = statuses[Math.min(received.length, statuses.length - 1)] ?? 200;
      received.push({ headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
      if (status === 0) return;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(status === 200 ? 'thanks' : `oops ${'x'.repeat(1000)}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    port,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** What a receiver in another language would do: HMAC over "<t>.<body>", compared to v1. */
function independentlyVerified(header: string, body: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (!m) return false;
  const mac = createHmac('sha256', SECRET).update(`${m[1]}.${body}`).digest('hex');
  return mac === m[2];
}

type Delivery = {
  state: string;
  url: string;
  attempts: Array<{ attempt: number; httpStatus: number | null; responseExcerpt: string | null }>;
};

describe('Runs API webhooks: signed, retried, logged', { timeout: 180_000 }, () => {
  let t: TestApp;
  before(async () => {
    t = await startApiApp({
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_ALLOW_PRIVATE: '1',
      WEBHOOK_RETRY_BASE_MS: '100',
      WEBHOOK_TIMEOUT_MS: '500',
    });
  });
  after(() => t?.close());

  it('gives up on a target that does not answer within WEBHOOK_TIMEOUT_MS, and retries', async () => {
    const receiver = await startReceiver([0, 200]);
    try {
      const created = await api(t, 'POST', '/runs', ALICE, { prompt: 'slow hook', webhookUrl: receiver.url });
      const id = String(created.json.id);
      await waitFor(async () => {
        const log = await api(t, 'GET', `/runs/${id}/webhooks`, ALICE);
        return (log.json.deliveries as Delivery[])[0]?.state === 'delivered';
      }, 60_000);
      const log = await api(t, 'GET', `/runs/${id}/webhooks`, ALICE);
      const attempts = (
        log.json.deliveries as Array<{ attempts: Array<{ httpStatus: number | null; error: string | null }> }>
      )[0]?.attempts;
      assert.equal(attempts?.[0]?.httpStatus, null);
      assert.match(attempts?.[0]?.error ?? '', /no answer within 500 ms/);
      assert.equal(attempts?.[1]?.httpStatus, 200);
    } finally {
      await receiver.close();
    }
  });

  it('delivers the signed run to a local receiver, retrying after a 500, and logs each attempt', async () => {
    const receiver = await startReceiver([500, 200]);
    try {
      const created = await api(t, 'POST', '/runs', ALICE, {
        prompt: 'hook me 42',
        webhookUrl: receiver.url,
      });
      assert.equal(created.status, 202);
      const id = String(created.json.id);
      await waitFor(() => receiver.received.length >= 2, 60_000);
      const [first, second] = receiver.received;
      assert.ok(first && second);
      for (const r of [first, second]) {
        const sig = String(r.headers['x-agentgate-signature']);
        assert.ok(independentlyVerified(sig, r.body), 'HMAC-SHA256(secret, "<t>.<body>") matches');
        assert.ok(verifyWebhook(SECRET, r.body, sig));
        assert.ok(!verifyWebhook('another-secret', r.body, sig), 'a wrong secret does not verify');
        assert.ok(!verifyWebhook(SECRET, `${r.body} `, sig), 'a changed body does not verify');
        assert.equal(r.headers['content-type'], 'application/json');
        assert.equal(r.headers['x-agentgate-event'], 'run.finished');
      }
      const run = await api(t, 'GET', `/runs/${id}`, ALICE);
      assert.deepEqual(JSON.parse(second.body), run.json, 'the body is the run, as GET /runs/:id has it');
      assert.equal(run.json.status, 'succeeded');

      await waitFor(async () => {
        const log = await api(t, 'GET', `/runs/${id}/webhooks`, ALICE);
        return (log.json.deliveries as Delivery[])[0]?.state === 'delivered';
      }, 10_000);
      const log = await api(t, 'GET', `/runs/${id}/webhooks`, ALICE);
      const [delivery] = log.json.deliveries as Delivery[];
      assert.equal(delivery?.url, receiver.url);
      assert.deepEqual(
        delivery?.attempts.map((a) => [a.attempt, a.httpStatus]),
        [
          [1, 500],
          [2, 200],
        ],
      );
      assert.equal(delivery?.attempts[1]?.responseExcerpt, 'thanks');
      assert.ok((delivery?.attempts[0]?.responseExcerpt ?? '').length <= 256, 'only an excerpt is kept');
      // Another key does not see the deliveries.
      assert.equal((await api(t, 'GET', `/runs/${id}/webhooks`, 'bob-key')).status, 404);
    } finally {
      await receiver.close();
    }
  });

  it('connects to the vetted address, not to what DNS says at connect time (no rebinding window)', async () => {
    const receiver = await startReceiver([200]);
    try {
      // The name does not resolve at all: the POST still reaches the pinned address.
      const out = await postOnce(
        new URL(`http://rebind.invalid:${receiver.port}/hook`),
        '{}',
        { 'content-type': 'application/json' },
        { timeoutMs: 5000, pinnedAddress: '127.0.0.1' },
      );
      assert.equal(out.httpStatus, 200);
      assert.equal(receiver.received.length, 1);
      assert.equal(receiver.received[0]?.headers.host, `rebind.invalid:${receiver.port}`);
    } finally {
      await receiver.close();
    }
  });
});

describe('webhook targets obey the private-network rule (attack replay)', { timeout: 120_000 }, () => {
  let t: TestApp;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  before(async () => {
    receiver = await startReceiver([200]);
    t = await startApiApp({ WEBHOOK_SECRET: SECRET });
  });
  after(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('refuses loopback, private, link-local and local-name targets with 400, starting nothing', async () => {
    // A DNS name of this machine that resolves to loopback (/etc/hosts): the name alone looks harmless.
    const localName = hostname();
    const resolved = await lookup(localName).catch(() => undefined);
    const targets = [
      receiver.url,
      `http://localhost:${receiver.port}/hook`,
      `http://[::1]:${receiver.port}/hook`,
      `http://[::ffff:127.0.0.1]:${receiver.port}/hook`,
      `http://2130706433:${receiver.port}/hook`, // 127.0.0.1 as one number
      'http://169.254.169.254/latest/meta-data/',
      'http://10.0.0.7/hook',
      'http://192.168.1.1/hook',
      ...(resolved && /^127\./.test(resolved.address) ? [`http://${localName}:${receiver.port}/hook`] : []),
    ];
    assert.ok(targets.length >= 8);
    const count = async () => ((await api(t, 'GET', '/runs?limit=200', ALICE)).json.runs as unknown[]).length;
    for (const webhookUrl of targets) {
      const res = await api(t, 'POST', '/runs', ALICE, { prompt: 'x', webhookUrl });
      assert.equal(res.status, 400, webhookUrl);
      const error = res.json.error as { code: string; message: string };
      assert.equal(error.code, 'invalid_request');
      assert.match(error.message, /WEBHOOK_ALLOW_PRIVATE=1/, webhookUrl);
    }
    for (const webhookUrl of ['ftp://example.com/x', 'http://user:pw@example.com/x', 'not a url']) {
      const res = await api(t, 'POST', '/runs', ALICE, { prompt: 'x', webhookUrl });
      assert.equal(res.status, 400, webhookUrl);
    }
    assert.equal(await count(), 0, 'no run was started');
    assert.equal(receiver.received.length, 0, 'nothing reached the private target');
  });

  it('without WEBHOOK_SECRET a webhookUrl is refused with a clear 400', async () => {
    const noSecret = await startApiApp({ WEBHOOK_ALLOW_PRIVATE: '1' });
    try {
      const res = await api(noSecret, 'POST', '/runs', ALICE, { prompt: 'x', webhookUrl: receiver.url });
      assert.equal(res.status, 400);
      assert.match((res.json.error as { message: string }).message, /WEBHOOK_SECRET/);
      assert.deepEqual((await api(noSecret, 'GET', '/runs', ALICE)).json.runs, []);
    } finally {
      await noSecret.close();
    }
  });
});

describe('webhook logs', { timeout: 120_000 }, () => {
  it('carry the target origin only: never the secret, the signature, the path or its token', async () => {
    const receiver = await startReceiver([200]);
    let logs = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs += chunk.toString('utf8');
        done();
      },
    });
    const t = await startTestApp({
      surfaces: [apiSurface],
      env: {
        API_KEYS: `alice:${ALICE}`,
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_ALLOW_PRIVATE: '1',
        LOG_LEVEL: 'trace',
      },
      logDestination: sink,
    });
    try {
      const url = `${receiver.url}/private-path-93?token=receiver-token-6620`;
      const created = await api(t, 'POST', '/runs', ALICE, { prompt: 'log me', webhookUrl: url });
      assert.equal(created.status, 202);
      await waitFor(() => receiver.received.length >= 1 && logs.includes('webhook attempt'), 60_000);
      const signature = String(receiver.received[0]?.headers['x-agentgate-signature']);
      assert.match(logs, new RegExp(`"target":"http://127.0.0.1:${receiver.port}"`));
      for (const secret of [
        SECRET,
        signature.split('v1=')[1] ?? 'none',
        'private-path-93',
        'receiver-token-6620',
      ]) {
        assert.ok(!logs.includes(secret), `the log does not carry ${secret}`);
      }
    } finally {
      await t.close();
      await receiver.close();
    }
  });
});

describe('pending webhook deliveries survive a restart', { timeout: 180_000 }, () => {
  it('a delivery failing before the restart is delivered after it', async () => {
    const temp = await makeTempDir();
    const down = await startReceiver([503]);
    const env = {
      API_KEYS: `alice:${ALICE}`,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_ALLOW_PRIVATE: '1',
      WEBHOOK_RETRY_BASE_MS: '1000',
    };
    let id = '';
    let second: TestApp | undefined;
    try {
      const first = await startTestApp({ surfaces: [apiSurface], env, dataDir: temp.dir });
      try {
        const created = await api(first, 'POST', '/runs', ALICE, {
          prompt: 'restart me',
          webhookUrl: down.url,
        });
        id = String(created.json.id);
        await waitFor(() => down.received.length >= 1, 60_000);
      } finally {
        await first.close();
      }
      const port = down.port;
      await down.close();
      // The receiver comes back on the same port, healthy.
      const up = await startReceiverOn(port);
      try {
        second = await startTestApp({ surfaces: [apiSurface], env, dataDir: temp.dir });
        await waitFor(() => up.received.length >= 1, 30_000);
        assert.ok(
          independentlyVerified(
            String(up.received[0]?.headers['x-agentgate-signature']),
            up.received[0]?.body ?? '',
          ),
        );
        assert.equal((JSON.parse(up.received[0]?.body ?? '{}') as { id: string }).id, id);
        await waitFor(async () => {
          const log = await api(second as TestApp, 'GET', `/runs/${id}/webhooks`, ALICE);
          return (log.json.deliveries as Delivery[])[0]?.state === 'delivered';
        }, 10_000);
        const log = await api(second, 'GET', `/runs/${id}/webhooks`, ALICE);
        const statuses = (log.json.deliveries as Delivery[])[0]?.attempts.map((a) => a.httpStatus);
        assert.equal(statuses?.[0], 503);
        assert.equal(statuses?.at(-1), 200);
      } finally {
        await up.close();
      }
    } finally {
      await second?.close();
      await temp.cleanup();
    }
  });
});

/** A healthy receiver on a given port (the one that was down before the restart). */
async function startReceiverOn(port: number): Promise<{ received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(parts).toString('utf8') });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
