import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipWithout } from '../helpers/system-parts.ts';
import { type BrowserTestApp, ok, startBrowserApp, TOKEN } from './browser-app.ts';

interface QueueStatus {
  browser: string;
  replicas: Array<{
    id: string;
    state: string;
    queued: number;
    crashes: number;
    replacements: number;
    mine: boolean;
    url: string | null;
  }>;
}

/** The authenticated status, as the holder of `cookie` sees it. */
async function queueStatus(t: BrowserTestApp, cookie?: string): Promise<QueueStatus> {
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  if (cookie) headers.cookie = cookie;
  const res = await fetch(`${t.app.url}/stealthy-auto-browse/__queue/status`, { headers });
  assert.equal(res.status, 200);
  return (await res.json()) as QueueStatus;
}

/** The status entry of the replica the cookie holds. */
async function myReplica(t: BrowserTestApp, cookie: string) {
  return (await queueStatus(t, cookie)).replicas.find((r) => r.mine);
}

const INSTANCE_COOKIE = /^INSTANCEID=[A-Za-z0-9_-]{43}$/;

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('replicas: stickiness and crash replacement', { skip: skipWithout('chromium') }, () => {
  let t: BrowserTestApp;
  before(async () => {
    t = await startBrowserApp({ STEALTHY_AUTO_BROWSE_NUM_REPLICAS: '2' });
  });
  after(async () => {
    await t?.close();
  });

  it('pins each caller to its replica with the INSTANCEID cookie', async () => {
    const first = await t.act({ action: 'goto', url: `${t.fixture.url}/` }, { newCaller: true });
    ok(first);
    assert.match(String(first.cookie), INSTANCE_COOKIE);
    const second = await t.act({ action: 'goto', url: `${t.fixture.url}/page2` }, { newCaller: true });
    ok(second);
    assert.ok(
      second.cookie && second.cookie !== first.cookie,
      'a new caller lands on the other, idle replica',
    );

    for (let i = 0; i < 3; i++) {
      const a = await t.act({ action: 'eval_js', expression: 'document.title' }, { cookie: first.cookie });
      assert.equal(ok(a).result, 'Fixture Home');
      assert.equal(a.cookie, undefined, 'an already pinned caller is not re-pinned');
      const b = await t.act({ action: 'eval_js', expression: 'document.title' }, { cookie: second.cookie });
      assert.equal(ok(b).result, 'Page Two');
    }
    // A stale cookie (say, from before a restart) is replaced by a valid pin.
    const stale = await t.act({ action: 'get_text' }, { cookie: 'INSTANCEID=replica-99' });
    ok(stale);
    assert.match(String(stale.cookie), INSTANCE_COOKIE);
  });

  it('replaces a replica whose page crashed', async () => {
    const pin = (await t.act({ action: 'goto', url: `${t.fixture.url}/` }, { newCaller: true })).cookie;
    assert.ok(pin);
    const replica = t.service.pool.replicaOf(pin.split('=')[1]);
    assert.ok(replica?.currentPage);
    const crashesBefore = replica.crashes;
    // What a renderer crash (OOM, bug) looks like to the pool.
    await replica.currentPage.goto('chrome://crash').catch(() => {});
    await until('the crash to be counted and healed', async () => {
      const r = await myReplica(t, pin);
      return r?.crashes === crashesBefore + 1 && r.state === 'idle';
    });
    const after = ok(await t.act({ action: 'eval_js', expression: 'location.href' }, { cookie: pin }));
    assert.equal(after.result, 'about:blank', 'a fresh page in a fresh context');
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/page2` }, { cookie: pin }));
    const status = await myReplica(t, pin);
    assert.ok(status && status.replacements >= 1);
  });

  it('replaces a page that ran out of its heap budget', async () => {
    const pin = (await t.act({ action: 'goto', url: `${t.fixture.url}/` }, { newCaller: true })).cookie;
    const hog = await t.act(
      { action: 'eval_js', expression: 'const a = []; for (;;) a.push(new Array(1e6).fill(Math.random()));' },
      { cookie: pin },
    );
    assert.equal(hog.body.success, false);
    assert.equal(hog.body.code, 'unavailable', JSON.stringify(hog.body));
    assert.equal(ok(await t.act({ action: 'eval_js', expression: '1 + 1' }, { cookie: pin })).result, 2);
  });

  it('replaces a page closed from outside', async () => {
    const pin = (await t.act({ action: 'goto', url: `${t.fixture.url}/` }, { newCaller: true })).cookie;
    assert.ok(pin);
    await t.service.pool.replicaOf(pin?.split('=')[1])?.currentPage?.context().close();
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/page2` }, { cookie: pin }));
  });
});

describe('replicas: one request at a time, bounded queue', { skip: skipWithout('chromium') }, () => {
  let t: BrowserTestApp;
  before(async () => {
    t = await startBrowserApp({
      STEALTHY_AUTO_BROWSE_NUM_REPLICAS: '1',
      STEALTHY_AUTO_BROWSE_QUEUE_MAX: '1',
    });
  });
  after(async () => {
    await t?.close();
  });

  it('reports health and status without auth', async () => {
    const res = await fetch(`${t.app.url}/stealthy-auto-browse/__queue/health`);
    assert.equal(res.status, 200);
    const health = (await res.json()) as { status: string; replicas: number };
    assert.equal(health.status, 'ok');
    assert.equal(health.replicas, 1);
  });

  it('queues a second request behind a busy replica and refuses beyond the queue bound', async () => {
    const pin = (await t.act({ action: 'goto', url: `${t.fixture.url}/` }, { newCaller: true })).cookie;
    const finished: string[] = [];
    const slow = t.act({ action: 'sleep', duration: 1 }, { cookie: pin }).then((r) => {
      finished.push('slow');
      return r;
    });
    await until('the replica to be busy', async () => (await queueStatus(t)).replicas[0]?.state === 'busy');
    const queued = t.act({ action: 'eval_js', expression: 'document.title' }, { cookie: pin }).then((r) => {
      finished.push('queued');
      return r;
    });
    await until('one waiter', async () => (await queueStatus(t)).replicas[0]?.queued === 1);

    const refused = await t.act({ action: 'get_text' }, { cookie: pin });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'queue_full');

    ok(await slow);
    assert.equal(ok(await queued).result, 'Fixture Home');
    assert.deepEqual(finished, ['slow', 'queued']);
    assert.equal((await queueStatus(t)).replicas[0]?.state, 'idle');
  });
});
