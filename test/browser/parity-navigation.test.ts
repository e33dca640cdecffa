import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipWithout } from '../helpers/system-parts.ts';
import { type BrowserTestApp, ok, startBrowserApp, TOKEN } from './browser-app.ts';

/** The original service's actions, names, parameters and `data` shapes, against local pages. */
describe('stealthy-auto-browse parity: navigation, inspection, waits, scrolling', {
  skip: skipWithout('chromium'),
}, () => {
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

  it('echoes a valid X-Request-Id, sets X-Trace-Id, and answers GET /state', async () => {
    const pin = await t.act({ action: 'goto', url: `${t.fixture.url}/page2` }, { newCaller: true });
    ok(pin);
    const state = async (headers: Record<string, string>) =>
      fetch(`${t.app.url}/stealthy-auto-browse/state`, {
        headers: { authorization: `Bearer ${TOKEN}`, ...headers },
      });
    const mine = await state({ cookie: String(pin.cookie), 'x-request-id': 'client-req.42' });
    assert.equal(mine.status, 200);
    assert.equal(mine.headers.get('x-request-id'), 'client-req.42');
    const trace = mine.headers.get('x-trace-id');
    assert.ok(trace && trace !== 'client-req.42');
    assert.deepEqual(await mine.json(), {
      status: 'ready',
      url: `${t.fixture.url}/page2`,
      title: 'Page Two',
      window_offset: { x: 0, y: 0 },
    });
    const stranger = await state({ 'x-request-id': 'has spaces/and a slash' });
    assert.notEqual(stranger.headers.get('x-request-id'), 'has spaces/and a slash');
    assert.ok(stranger.headers.get('x-trace-id'));
    assert.equal(((await stranger.json()) as { status: string }).status, 'no_page', 'no replica of its own');
    assert.equal((await fetch(`${t.app.url}/stealthy-auto-browse/state`)).status, 401);
  });

  it('system input looks human to a page that records timing and trust', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/input-timing` }));
    ok(await t.act({ action: 'mouse_move', x: 50, y: 50, duration: 0.1 }));
    ok(await t.act({ action: 'system_click', x: 750, y: 420, duration: 0.5 }));
    ok(await t.act({ action: 'system_click', x: 200, y: 115, duration: 0.3 }));
    ok(await t.act({ action: 'system_type', text: 'human typing', interval: 0.03 }));
    const rec = ok(await t.act({ action: 'eval', expression: 'rec' })).result as {
      moves: Array<[number, number, number]>;
      keys: number[];
      clicks: string[];
      untrusted: number;
    };
    assert.equal(rec.untrusted, 0, 'every event is trusted');
    assert.deepEqual(rec.clicks, ['mousedown', 'mouseup', 'click', 'mousedown', 'mouseup', 'click']);
    assert.equal(ok(await t.act({ action: 'eval', expression: 'field.value' })).result, 'human typing');

    // The move from (50,50) to (750,420): many steps that leave the straight line.
    const path = rec.moves.filter(([, , at]) => at >= 0);
    const start = path.findIndex(([x, y]) => x === 50 && y === 50);
    const end = path.findIndex(([x, y]) => x === 750 && y === 420);
    const leg = path.slice(start, end + 1);
    assert.ok(leg.length >= 10, `a path, not a jump: ${leg.length} moves`);
    const deviation = Math.max(
      ...leg.map(
        ([x, y]) => Math.abs((420 - 50) * x - (750 - 50) * y + 750 * 50 - 420 * 50) / Math.hypot(370, 700),
      ),
    );
    assert.ok(deviation > 3, `the path curves (max ${deviation.toFixed(1)} px off the straight line)`);
    const gaps = (times: number[]) => times.slice(1).map((at, i) => at - (times[i] as number));
    const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
    const moveGaps = gaps(leg.map(([, , at]) => at));
    const stepSizes = leg
      .slice(1)
      .map(([x, y], i) => Math.hypot(x - (leg[i]?.[0] ?? 0), y - (leg[i]?.[1] ?? 0)));
    assert.ok(spread(stepSizes) > 1, 'eased: step sizes vary');
    assert.ok(spread(moveGaps) > 0, 'moves are not evenly timed');
    assert.equal(rec.keys.length, 'human typing'.length);
    assert.ok(new Set(gaps(rec.keys).map((g) => Math.round(g))).size > 3, 'keys are not evenly timed');
  });

  it('screenshots resize as the original: whLargest up or down, width/height alone keep the aspect, both are exact', async () => {
    const pngSize = (png: Buffer) => {
      assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
      return `${png.readUInt32BE(16)}x${png.readUInt32BE(20)}`;
    };
    const get = async (query: string) => {
      const res = await fetch(`${t.app.url}/stealthy-auto-browse/screenshot/browser?${query}`, {
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
    };
    for (const [query, size] of [
      ['whLargest=512', '512x288'],
      ['whLargest=2000', '2000x1125'],
      ['width=800', '800x450'],
      ['height=300', '533x300'],
      ['width=400&height=400', '400x400'],
      ['', '1280x720'],
    ] as const) {
      const res = await get(query);
      assert.equal(res.status, 200, query);
      assert.equal(pngSize(res.body), size, query);
    }
    assert.equal((await get('width=5000')).status, 400);
    const shot = ok(await t.act({ action: 'screenshot', width: 100, height: 50 }));
    assert.equal(pngSize(Buffer.from(String(shot.image), 'base64')), '100x50');
    assert.deepEqual([shot.width, shot.height], [100, 50]);
    const saved = ok(await t.act({ action: 'save_screenshot', whLargest: 256 }));
    assert.deepEqual([saved.type, saved.width, saved.height], ['browser', 256, 144]);
    assert.equal((await t.act({ action: 'save_screenshot', path: '/tmp/x.png' })).status, 400);
  });

  it('detect_challenge finds a documented widget without leaking its keys, and can scroll it into view', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    assert.deepEqual(ok(await t.act({ action: 'detect_challenge' })), {
      status: 'absent',
      detected: false,
      matches: [],
    });
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/challenge`, wait_until: 'commit' }));
    const found = ok(await t.act({ action: 'detect_challenge', scroll_into_view: true }));
    assert.equal(found.status, 'present');
    assert.equal(found.detected, true);
    assert.equal(found.scrolled_into_view, true);
    const [match] = found.matches as Array<Record<string, unknown>>;
    assert.equal(match?.vendor, 'cloudflare_turnstile');
    assert.equal(match?.confidence, 'high');
    assert.deepEqual(match?.evidence, ['iframe_origin', 'widget_selector']);
    assert.deepEqual(match?.frames, ['challenges.cloudflare.com/cdn-cgi/challenge-platform/h/b/turnstile']);
    const text = JSON.stringify(found);
    assert.ok(!text.includes('secret'), `no site key or token in the answer: ${text}`);
    assert.ok(
      Number(ok(await t.act({ action: 'eval', expression: 'scrollY' })).result) > 1000,
      'scrolled to it',
    );
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
