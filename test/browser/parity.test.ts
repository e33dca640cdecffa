import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BrowserTestApp, ok, startBrowserApp } from './browser-app.ts';

/** The original service's actions, names, parameters and `data` shapes, against local pages. */
describe('stealthy-auto-browse parity: navigation, inspection, waits, scrolling', () => {
  let t: BrowserTestApp;
  before(async () => {
    t = await startBrowserApp();
  });
  after(async () => {
    await t?.close();
  });

  it('browser_action takes the command as `browser_action` (or `command`)', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/page2` }));
    const back = ok(await t.act({ action: 'browser_action', browser_action: 'back' }));
    assert.deepEqual(back, { command: 'back', url: `${t.fixture.url}/`, title: 'Fixture Home' });
    assert.equal(ok(await t.act({ action: 'browser_action', command: 'forward' })).title, 'Page Two');
    const none = await t.act({ action: 'browser_action' });
    assert.equal(none.status, 400);
    assert.match(String(none.body.error), /browser_action/);
  });

  it('refresh and ping', async () => {
    assert.deepEqual(ok(await t.act({ action: 'refresh', wait_until: 'load' })), {
      url: `${t.fixture.url}/page2`,
      title: 'Page Two',
    });
    assert.deepEqual(ok(await t.act({ action: 'ping' })), { message: 'pong', url: `${t.fixture.url}/page2` });
  });

  it('goto sends a referer and bounds its timeout and retries as the original does', async () => {
    const referer = 'https://referrer.example/from';
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/referer`, referer, timeout: 5, retry_count: 0 }));
    assert.equal(ok(await t.act({ action: 'get_text' })).text, referer);
    for (const bad of [{ retry_count: 3 }, { timeout: 121 }, { timeout: 60, retry_count: 1 }]) {
      const res = await t.act({ action: 'goto', url: `${t.fixture.url}/`, ...bad });
      assert.equal(res.status, 400, JSON.stringify(bad));
      assert.equal(res.body.code, 'invalid_request');
    }
  });

  it('get_page_info, get_element, get_elements, get_computed_style', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/inspect` }));
    const info = ok(await t.act({ action: 'get_page_info' }));
    assert.equal(info.url, `${t.fixture.url}/inspect`);
    assert.equal(info.title, 'Inspect');
    assert.equal(info.ready_state, 'complete');
    assert.deepEqual(info.viewport, { width: 1280, height: 720 });
    assert.deepEqual(info.scroll, { x: 0, y: 0 });

    const link = ok(await t.act({ action: 'get_element', selector: '#link' }));
    assert.equal(link.tag, 'a');
    assert.equal(link.text, 'Link text');
    assert.deepEqual(link.attributes, { id: 'link', href: '/page2', title: 'to two' });
    assert.equal(link.visible, true);
    assert.equal(ok(await t.act({ action: 'get_element', selector: '#hidden' })).visible, false);
    const missing = await t.act({ action: 'get_element', selector: '#nope' });
    assert.equal(missing.status, 422);

    const items = ok(await t.act({ action: 'get_elements', selector: '.item', limit: 2 }));
    assert.equal(items.count, 3);
    const list = items.elements as Array<{ text: string; attributes: Record<string, string> }>;
    assert.deepEqual(
      list.map((e) => [e.text, e.attributes['data-n']]),
      [
        ['One', '1'],
        ['Two', '2'],
      ],
    );
    const byXpath = ok(await t.act({ action: 'get_elements', selector: 'xpath=//li' }));
    assert.equal(byXpath.count, 3);

    const style = ok(await t.act({ action: 'get_computed_style', selector: '.item' }));
    assert.deepEqual(style.styles, {
      display: 'block',
      visibility: 'visible',
      color: 'rgb(255, 0, 0)',
      'background-color': 'rgba(0, 0, 0, 0)',
    });
    const height = ok(
      await t.act({ action: 'get_computed_style', selector: '.item', properties: ['height'] }),
    );
    assert.deepEqual(height.styles, { height: '20px' });
    const bad = await t.act({ action: 'get_computed_style', selector: '.item', properties: ['x;y'] });
    assert.equal(bad.status, 400);
  });

  it('wait_for_network_idle', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    assert.deepEqual(ok(await t.act({ action: 'wait_for_network_idle', timeout: 5 })), { idle: true });
  });

  it('scroll_to_bottom and scroll_to_bottom_humanized reach the bottom and come back', async () => {
    for (const step of [
      { action: 'scroll_to_bottom', delay: 0.05 },
      { action: 'scroll_to_bottom_humanized', min_clicks: 20, max_clicks: 30, delay: 0.05 },
    ]) {
      ok(await t.act({ action: 'goto', url: `${t.fixture.url}/long` }));
      const res = ok(await t.act(step));
      assert.equal(res.scrolled, step.action === 'scroll_to_bottom' ? 'bottom' : 'bottom_humanized');
      const where = ok(
        await t.act({
          action: 'eval',
          expression: '[scrollY, maxScroll, document.documentElement.scrollHeight - innerHeight]',
        }),
      );
      const [y, max, bottom] = where.result as number[];
      assert.equal(y, 0, `${step.action} returns to the top`);
      assert.equal(max, bottom, `${step.action} reached the bottom`);
    }
  });
});
