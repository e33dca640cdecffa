import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skipWithout } from '../helpers/system-parts.ts';
import { type BrowserTestApp, ok, startBrowserApp } from './browser-app.ts';

/** PNG signature, then the IHDR chunk: width and height at bytes 16 and 20. */
function pngSize(png: Buffer): { width: number; height: number } {
  assert.deepEqual(
    [...png.subarray(0, 8)],
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    'PNG signature',
  );
  assert.equal(png.subarray(12, 16).toString('ascii'), 'IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('browser actions', { skip: skipWithout('chromium') }, () => {
  let t: BrowserTestApp;
  before(async () => {
    t = await startBrowserApp();
  });
  after(async () => {
    await t?.close();
  });

  it('refuses callers without the bearer token', async () => {
    const res = await t.act({ action: 'get_text' }, { token: null });
    assert.equal(res.status, 401);
    assert.equal(res.body.success, false);
    assert.equal((await t.act({ action: 'get_text' }, { token: 'wrong' })).status, 401);
  });

  it('goto, get_text, get_html', async () => {
    const nav = ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    assert.equal(nav.title, 'Fixture Home');
    assert.equal(nav.status, 200);
    assert.equal(nav.url, `${t.fixture.url}/`);
    const text = ok(await t.act({ action: 'get_text' }));
    assert.match(String(text.text), /Hello fixture/);
    assert.equal(text.length, String(text.text).length);
    const html = ok(await t.act({ action: 'get_html' }));
    assert.match(String(html.html), /<h1>Hello fixture<\/h1>/);
  });

  it('click by selector and browser_action back/forward/reload', async () => {
    ok(await t.act({ action: 'click', selector: '#to2' }));
    ok(await t.act({ action: 'wait_for_text', text: 'Second page', timeout: 5 }));
    assert.equal(ok(await t.act({ action: 'browser_action', command: 'back' })).url, `${t.fixture.url}/`);
    assert.equal(ok(await t.act({ action: 'browser_action', command: 'forward' })).title, 'Page Two');
    assert.equal(ok(await t.act({ action: 'browser_action', command: 'reload' })).title, 'Page Two');
  });

  it('get_interactive_elements gives coordinates that system_click hits with trusted events', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/form` }));
    const found = ok(await t.act({ action: 'get_interactive_elements' }));
    const elements = found.elements as Array<{ selector: string; x: number; y: number; tag: string }>;
    assert.equal(found.count, elements.length);
    const button = elements.find((e) => e.selector === '#go');
    const input = elements.find((e) => e.selector === '#name');
    assert.ok(button && input, JSON.stringify(elements));
    assert.deepEqual([button.x, button.y], [160, 120]);

    ok(await t.act({ action: 'system_click', x: input.x, y: input.y, duration: 0.05 }));
    assert.equal(ok(await t.act({ action: 'system_type', text: 'Ada', interval: 0 })).typed_len, 3);
    ok(await t.act({ action: 'send_key', key: 'shift+tab' }));
    ok(await t.act({ action: 'send_key', key: 'enter' }));
    const keys = ok(
      await t.act({ action: 'eval_js', expression: "document.getElementById('keys').textContent" }),
    );
    assert.equal(keys.result, '[A][d][a][Shift][Tab][Enter]');
    const out = ok(
      await t.act({ action: 'eval_js', expression: "document.getElementById('out').textContent" }),
    );
    // Enter on the focused button clicks it (keyboard activation reports 0,0).
    assert.match(String(out.result), /^Clicked trusted at .* name=Ada$/);

    const clicked = ok(await t.act({ action: 'system_click', x: button.x, y: button.y, duration: 0 }));
    assert.deepEqual(clicked.system_clicked, { x: 160, y: 120 });
    const after = ok(await t.act({ action: 'get_text' }));
    assert.match(String(after.text), /Clicked trusted at 160,120 name=Ada/);
  });

  it('mouse_move hovers, fill and type by selector', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/form` }));
    assert.deepEqual(ok(await t.act({ action: 'mouse_move', x: 150, y: 110, duration: 0.05 })).moved_to, {
      x: 150,
      y: 110,
    });
    ok(await t.act({ action: 'wait_for_text', text: 'hovered', timeout: 2 }));
    ok(await t.act({ action: 'fill', selector: '#name', value: 'Grace' }));
    ok(await t.act({ action: 'type', selector: '#name', text: '!', delay: 0 }));
    ok(await t.act({ action: 'click', selector: '#go' }));
    ok(await t.act({ action: 'wait_for_text', text: 'name=Grace!', timeout: 2 }));
  });

  it('scroll moves the page with the mouse wheel', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/long` }));
    assert.equal(ok(await t.act({ action: 'scroll', amount: -5 })).scrolled, -5);
    const y = ok(await t.act({ action: 'eval_js', expression: 'window.scrollY' }));
    assert.ok(Number(y.result) > 0, `scrollY ${y.result}`);
  });

  it('wait_for_element and wait_for_text wait, and time out with a clear error', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/slow?ms=300` }));
    ok(await t.act({ action: 'wait_for_element', selector: '#late', timeout: 5 }));
    ok(await t.act({ action: 'wait_for_text', text: 'Ready now', timeout: 5 }));
    const late = await t.act({ action: 'wait_for_element', selector: '#never', timeout: 0.3 });
    assert.equal(late.status, 504);
    assert.equal(late.body.code, 'timeout');
    assert.match(String(late.body.error), /300ms|Timeout/i);
  });

  it('eval_js returns values and reports page errors as action failures', async () => {
    assert.deepEqual(ok(await t.act({ action: 'eval_js', expression: '({a: 1, b: [2]})' })).result, {
      a: 1,
      b: [2],
    });
    const bad = await t.act({ action: 'eval_js', expression: 'nope()' });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.code, 'action_failed');
    assert.match(String(bad.body.error), /nope/);
  });

  it('rejects unknown actions and bad parameters', async () => {
    const unknown = await t.act({ action: 'fly' });
    assert.equal(unknown.status, 400);
    assert.match(String(unknown.body.error), /Unknown action: fly/);
    const bad = await t.act({ action: 'goto' });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.error), /url/);
  });

  it('run_script runs every step in one round trip', async () => {
    const res = ok(
      await t.act({
        action: 'run_script',
        steps: [
          { action: 'goto', url: `${t.fixture.url}/slow?ms=200` },
          { action: 'wait_for_element', selector: '#late', timeout: 5 },
          { action: 'get_text' },
        ],
      }),
    );
    assert.equal(res.steps_executed, 3);
    const last = res.last_result as { success: boolean; data: { text: string } };
    assert.equal(last.success, true);
    assert.match(last.data.text, /Ready now/);
  });

  it('run_script stops at the first failing step and names it', async () => {
    const res = await t.act({
      action: 'run_script',
      steps: [
        { action: 'goto', url: `${t.fixture.url}/` },
        { action: 'click', selector: '#missing', timeout: 1 },
        { action: 'goto', url: `${t.fixture.url}/page2` },
      ],
    });
    assert.equal(res.body.success, false);
    assert.match(String(res.body.error), /^Step 2 of 3 \(click\) failed/);
    assert.equal(res.body.data?.failed_step, 2);
    assert.equal(res.body.data?.steps_executed, 2);
    // The third step never ran: the page is still the first one.
    assert.equal(ok(await t.act({ action: 'eval_js', expression: 'document.title' })).result, 'Fixture Home');
  });

  it('screenshot action and GET screenshots are PNGs of the viewport size', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    const shot = ok(await t.act({ action: 'screenshot' }));
    assert.deepEqual(pngSize(Buffer.from(String(shot.image), 'base64')), { width: 1280, height: 720 });
    for (const kind of ['browser', 'desktop']) {
      const res = await fetch(`${t.app.url}/stealthy-auto-browse/screenshot/${kind}`, {
        headers: { authorization: `Bearer ${t.fixture && 'browser-test-token'}` },
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/png');
      assert.deepEqual(pngSize(Buffer.from(await res.arrayBuffer())), { width: 1280, height: 720 });
    }
    const small = await fetch(`${t.app.url}/stealthy-auto-browse/screenshot/browser?whLargest=640`, {
      headers: { authorization: 'Bearer browser-test-token' },
    });
    assert.deepEqual(pngSize(Buffer.from(await small.arrayBuffer())), { width: 640, height: 360 });
    const anon = await fetch(`${t.app.url}/stealthy-auto-browse/screenshot/browser`);
    assert.equal(anon.status, 401);
  });

  it('pages see no automation tell-tales', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/tells` }));
    const report = JSON.parse(String(ok(await t.act({ action: 'get_text' })).text)) as {
      tells: string[];
      ua: string;
      brands: string[];
    };
    assert.deepEqual(report.tells, [], JSON.stringify(report));
    assert.doesNotMatch(report.ua, /Headless/);
    assert.ok(t.fixture.userAgents.length > 0);
    for (const ua of t.fixture.userAgents)
      assert.doesNotMatch(ua, /Headless/, 'User-Agent header on the wire');
  });
});
