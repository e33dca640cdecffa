import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isPublicAddress, refusalOf } from '../../src/browser/net-guard.ts';
import { type BrowserTestApp, ok, startBrowserApp } from './browser-app.ts';

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
});

describe('navigation guard: browser', () => {
  let t: BrowserTestApp;
  before(async () => {
    t = await startBrowserApp({ STEALTHY_AUTO_BROWSE_ALLOW_PRIVATE: '0' });
  });
  after(async () => {
    await t?.close();
  });

  it('refuses goto to loopback and private targets', async () => {
    for (const url of [`${t.fixture.url}/`, 'http://localhost/', 'http://10.0.0.1/', 'file:///etc/passwd']) {
      const res = await t.act({ action: 'goto', url });
      assert.equal(res.status, 403, url);
      assert.equal(res.body.code, 'forbidden');
      assert.match(String(res.body.error), /^Navigation refused/);
    }
    assert.equal(t.fixture.userAgents.length, 0, 'no request reached the local site');
  });

  it('blocks navigations the page starts itself', async () => {
    ok(await t.act({ action: 'goto', url: 'about:blank' }));
    ok(
      await t.act({
        action: 'eval_js',
        expression: `location.href = ${JSON.stringify(`${t.fixture.url}/`)}; 1`,
      }),
    );
    ok(await t.act({ action: 'sleep', duration: 0.5 }));
    const where = ok(await t.act({ action: 'eval_js', expression: 'location.href' }));
    assert.doesNotMatch(String(where.result), /127\.0\.0\.1/);
    assert.equal(t.fixture.userAgents.length, 0, 'no request reached the local site');
  });
});
