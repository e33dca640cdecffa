import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { isPublicAddress, NetGuard } from '../../src/browser/net-guard.ts';
import { skipWithout } from '../helpers/system-parts.ts';
import { type BrowserTestApp, ok, startBrowserApp } from './browser-app.ts';
import { type FixtureServer, startFixtureServer } from './fixture-server.ts';

const guard = new NetGuard();
const refusalOf = (url: string, allowPrivate: boolean) => guard.refusalOf(url, allowPrivate);

describe('navigation guard: addresses', () => {
  it('knows loopback, private, link-local and mapped addresses are not public', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
    ]) {
      assert.equal(isPublicAddress(ip), false, ip);
    }
    for (const ip of ['::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
      assert.equal(isPublicAddress(ip), false, ip);
    }
    // Forms that embed an IPv4 address, documentation ranges, and this machine's own addresses
    // (a service bound to 0.0.0.0 answers on them): the red team's egress bypass attempts.
    const own = Object.values(networkInterfaces())
      .flat()
      .flatMap((a) => (a ? [a.address] : []));
    for (const ip of [
      '::127.0.0.1',
      '::7f00:1',
      '::ffff:0:7f00:1',
      '64:ff9b:1::a00:1',
      '2002:7f00:1::',
      '2001:0:7f00:1::',
      '192.0.2.2',
      '198.51.100.7',
      '203.0.113.9',
      ...own,
    ]) {
      assert.equal(isPublicAddress(ip), false, ip);
    }
    for (const ip of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111'])
      assert.equal(isPublicAddress(ip), true, ip);
  });

  it('refuses local hosts and non-web schemes, whatever the setting for schemes', async () => {
    assert.match(String(await refusalOf('http://localhost:8080/', false)), /loopback/);
    assert.match(String(await refusalOf('http://app.localhost/', false)), /loopback/);
    assert.match(String(await refusalOf('http://[::1]/', false)), /non-public/);
    assert.match(String(await refusalOf('http://169.254.169.254/latest/meta-data', false)), /non-public/);
    assert.match(String(await refusalOf('file:///etc/passwd', true)), /scheme file:/);
    assert.match(String(await refusalOf('chrome://settings', true)), /scheme chrome:/);
    assert.equal(await refusalOf('http://127.0.0.1/', true), undefined);
    assert.equal(await refusalOf('https://1.1.1.1/', false), undefined);
  });

  it('uses the injected address rule and caches each host briefly', async () => {
    const seen: string[] = [];
    const local = new NetGuard({
      isPublicAddress: (ip) => {
        seen.push(ip);
        return ip === '127.0.0.1';
      },
    });
    assert.equal(await local.refusalOf('http://127.0.0.1:8080/', false), undefined);
    assert.match(
      String(await local.refusalOf('http://127.0.0.2/', false)),
      /non-public address 127\.0\.0\.2/,
    );
    assert.match(String(await local.refusalOf('http://localhost./', false)), /loopback/);
    assert.deepEqual(local.cachedVerdict('127.0.0.1'), { addresses: ['127.0.0.1'] });
    assert.equal(await local.refusalOf('http://127.0.0.1/other', false), undefined);
    assert.deepEqual(seen, ['127.0.0.1', '127.0.0.2'], 'a cached host is not judged again');
  });
});

/**
 * The page is served from 127.0.0.1, which this app's address rule counts as public; the
 * "internal service" is a second server on 127.0.0.2, which it does not. Chromium and the
 * egress proxy see real loopback addresses; only the classification is the test's.
 */
describe('private-network guard: browser', { skip: skipWithout('chromium') }, () => {
  let t: BrowserTestApp;
  let internal: FixtureServer;
  before(async () => {
    t = await startBrowserApp(
      { STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE: '0' },
      { isPublicAddress: (ip) => ip === '127.0.0.1' || isPublicAddress(ip) },
    );
    internal = await startFixtureServer('127.0.0.2');
  });
  after(async () => {
    await t?.close();
    await internal?.close();
  });

  it('refuses goto to loopback and private targets', async () => {
    for (const url of [`${internal.url}/`, 'http://localhost/', 'http://10.0.0.1/', 'file:///etc/passwd']) {
      const res = await t.act({ action: 'goto', url });
      assert.equal(res.status, 403, url);
      assert.equal(res.body.code, 'forbidden');
      assert.match(String(res.body.error), /^Navigation refused/);
    }
    assert.deepEqual(internal.hits, [], 'no request reached the internal site');
  });

  it('blocks navigations the page starts itself, and redirects', async () => {
    ok(await t.act({ action: 'goto', url: 'about:blank' }));
    ok(
      await t.act({
        action: 'eval_js',
        expression: `location.href = ${JSON.stringify(`${internal.url}/`)}; 1`,
      }),
    );
    ok(await t.act({ action: 'sleep', duration: 0.5 }));
    const where = ok(await t.act({ action: 'eval_js', expression: 'location.href' }));
    assert.doesNotMatch(String(where.result), /127\.0\.0\.2/);
    const hop = await t.act({
      action: 'goto',
      url: `${t.fixture.url}/redirect?to=${encodeURIComponent(`${internal.url}/`)}`,
    });
    assert.equal(hop.status, 403, JSON.stringify(hop.body));
    assert.deepEqual(internal.hits, [], 'no request reached the internal site');
  });

  it("blocks a public page's subresources, fetches and WebSockets to private addresses", async () => {
    const url = `${t.fixture.url}/mixed?private=${encodeURIComponent(internal.url)}`;
    ok(await t.act({ action: 'goto', url }));
    ok(await t.act({ action: 'wait_for_text', text: 'ownImg', timeout: 8 }));
    const report = ok(
      await t.act({ action: 'eval_js', expression: "document.getElementById('report').textContent" }),
    );
    assert.deepEqual(JSON.parse(String(report.result)), {
      ownImg: 'loaded',
      ownFetch: 'loaded',
      ownWs: 'loaded',
      privateImg: 'failed',
      privateFetch: 'failed',
      privateWs: 'failed',
      privateWorkerWs: 'failed',
      privateSharedWorkerFetch: 'failed',
    });
    assert.deepEqual(internal.hits, [], 'no request reached the internal site');
    for (const hit of ['GET /mixed', 'GET /pixel.png', 'GET /data.json', 'WS /ws'])
      assert.ok(t.fixture.hits.includes(hit), `${hit} reached the page's own server`);
  });

  it('still names DNS failures, though they now happen in the egress proxy', async () => {
    const res = await t.act({ action: 'goto', url: 'http://no-such-host.invalid/' });
    assert.equal(res.body.code, 'action_failed', JSON.stringify(res.body));
    assert.match(String(res.body.error), /ERR_NAME_NOT_RESOLVED \(no-such-host\.invalid\)/);
  });
});
