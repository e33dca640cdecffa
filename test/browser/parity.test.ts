import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type BrowserTestApp, ok, startBrowserApp, TOKEN } from './browser-app.ts';

const ALICE = 'sk-alice-parity';

/**
 * An `if` control node as the original's scripts write it. Built from entries because a
 * literal `then` key makes an object look thenable to linters (and to `await`).
 */
function ifNode(condition: object, whenTrue: object[], whenFalse?: object[]): object {
  const entries: Array<[string, unknown]> = [
    ['condition', condition],
    ['then', whenTrue],
  ];
  if (whenFalse) entries.push(['else', whenFalse]);
  return { if: Object.fromEntries(entries) };
}

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

describe('stealthy-auto-browse parity: tabs, dialogs, cookies, storage, logs, downloads, display', () => {
  let t: BrowserTestApp;
  before(async () => {
    t = await startBrowserApp({ STEALTHY_AUTO_BROWSE_NUM_REPLICAS: '2', API_KEYS: `alice:${ALICE}` });
  });
  after(async () => {
    await t?.close();
  });

  it('tabs: list, open, switch, close; popups are not tabs', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    assert.deepEqual(ok(await t.act({ action: 'list_tabs' })), {
      tabs: [{ index: 0, url: `${t.fixture.url}/`, active: true }],
      count: 1,
    });
    assert.deepEqual(ok(await t.act({ action: 'new_tab', url: `${t.fixture.url}/page2` })), {
      index: 1,
      url: `${t.fixture.url}/page2`,
    });
    assert.match(
      String(ok(await t.act({ action: 'get_text' })).text),
      /Second page/,
      'actions run on the new tab',
    );
    const listed = ok(await t.act({ action: 'list_tabs' }));
    assert.deepEqual(
      (listed.tabs as Array<{ active: boolean }>).map((tab) => tab.active),
      [false, true],
    );
    assert.deepEqual(ok(await t.act({ action: 'switch_tab', index: 0 })), {
      index: 0,
      url: `${t.fixture.url}/`,
    });
    assert.match(String(ok(await t.act({ action: 'get_text' })).text), /Hello fixture/);
    const script = ok(
      await t.act({
        action: 'run_script',
        steps: [
          { action: 'switch_tab', index: 1 },
          { action: 'eval', expression: 'document.title' },
        ],
      }),
    );
    assert.equal(
      (script.last_result as { data: { result: string } }).data.result,
      'Page Two',
      'a script follows the switch',
    );
    assert.equal((await t.act({ action: 'switch_tab', index: 5 })).status, 400);
    assert.deepEqual(ok(await t.act({ action: 'close_tab' })), { closed: true, remaining: 1 });
    ok(await t.act({ action: 'eval', expression: 'window.open("/page2"), 1' }));
    ok(await t.act({ action: 'sleep', duration: 0.3 }));
    assert.equal(ok(await t.act({ action: 'list_tabs' })).count, 1, 'a popup is closed, not adopted');
  });

  it('dialogs: accepted by default, handle_dialog answers the next one, get_last_dialog tells', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/dialogs` }));
    assert.deepEqual(ok(await t.act({ action: 'get_last_dialog' })), { dialog: null });
    ok(await t.act({ action: 'click', selector: '#alert' }));
    assert.equal(ok(await t.act({ action: 'eval', expression: 'out.textContent' })).result, 'alert:done');
    assert.deepEqual(ok(await t.act({ action: 'get_last_dialog' })).dialog, {
      type: 'alert',
      message: 'Hi there',
      default_value: '',
      buttons: ['ok'],
    });
    ok(await t.act({ action: 'handle_dialog', accept: false }));
    ok(await t.act({ action: 'click', selector: '#confirm' }));
    assert.equal(ok(await t.act({ action: 'eval', expression: 'out.textContent' })).result, 'confirm:false');
    ok(await t.act({ action: 'click', selector: '#confirm' }));
    assert.equal(
      ok(await t.act({ action: 'eval', expression: 'out.textContent' })).result,
      'confirm:true',
      'only the next one',
    );
    ok(await t.act({ action: 'handle_dialog', accept: true, text: 'Ada' }));
    ok(await t.act({ action: 'click', selector: '#prompt' }));
    assert.equal(ok(await t.act({ action: 'eval', expression: 'out.textContent' })).result, 'prompt:Ada');
    const last = ok(await t.act({ action: 'get_last_dialog' })).dialog as Record<string, unknown>;
    assert.equal(last.type, 'prompt');
    assert.equal(last.default_value, 'nobody');
  });

  it('cookies: set, read (also from the page), delete', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    assert.deepEqual(
      ok(await t.act({ action: 'set_cookie', name: 'flavour', value: 'oat', url: t.fixture.url })),
      {
        set: 'flavour',
      },
    );
    const got = ok(await t.act({ action: 'get_cookies', urls: [t.fixture.url] }));
    assert.equal(got.count, 1);
    assert.deepEqual(
      (got.cookies as Array<{ name: string; value: string }>).map((c) => [c.name, c.value]),
      [['flavour', 'oat']],
    );
    assert.equal(ok(await t.act({ action: 'eval', expression: 'document.cookie' })).result, 'flavour=oat');
    assert.equal((await t.act({ action: 'set_cookie', name: 'x', value: 'y' })).status, 400);
    assert.deepEqual(ok(await t.act({ action: 'delete_cookies' })), { cleared: true });
    assert.equal(ok(await t.act({ action: 'get_cookies' })).count, 0);
  });

  it('local and session storage', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    assert.deepEqual(ok(await t.act({ action: 'set_storage', key: 'k', value: "it's" })), {
      set: 'k',
      type: 'local',
    });
    ok(await t.act({ action: 'set_storage', type: 'session', key: 's', value: '1' }));
    assert.deepEqual(ok(await t.act({ action: 'get_storage' })), { items: { k: "it's" }, type: 'local' });
    assert.deepEqual(ok(await t.act({ action: 'get_storage', type: 'session' })), {
      items: { s: '1' },
      type: 'session',
    });
    assert.deepEqual(ok(await t.act({ action: 'clear_storage' })), { cleared: 'local' });
    assert.deepEqual(ok(await t.act({ action: 'get_storage' })).items, {});
  });

  it('network and console logs record only while on', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    assert.equal(ok(await t.act({ action: 'get_network_log' })).count, 0, 'off by default');
    assert.deepEqual(ok(await t.act({ action: 'enable_network_log' })), { enabled: true });
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/page2` }));
    const net = ok(await t.act({ action: 'getclear_network_log' }));
    const entries = net.log as Array<Record<string, unknown>>;
    assert.equal(net.count, entries.length);
    assert.ok(
      entries.some(
        (e) =>
          e.type === 'request' &&
          e.url === `${t.fixture.url}/page2` &&
          e.method === 'GET' &&
          e.resource_type === 'document',
      ),
      JSON.stringify(entries),
    );
    assert.ok(
      entries.some((e) => e.type === 'response' && e.url === `${t.fixture.url}/page2` && e.status === 200),
    );
    assert.equal(ok(await t.act({ action: 'get_network_log' })).count, 0, 'getclear cleared it');
    ok(await t.act({ action: 'disable_network_log' }));
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    assert.equal(ok(await t.act({ action: 'get_network_log' })).count, 0);

    ok(await t.act({ action: 'enable_console_log' }));
    ok(await t.act({ action: 'eval', expression: 'console.log("hello", 42), console.error("bad"), 1' }));
    const logged = ok(await t.act({ action: 'get_console_log' }));
    assert.deepEqual(
      (logged.log as Array<{ type: string; text: string }>).map((e) => [e.type, e.text]),
      [
        ['log', 'hello 42'],
        ['error', 'bad'],
      ],
    );
    assert.deepEqual(ok(await t.act({ action: 'clear_console_log' })), { cleared: true });
    assert.equal(ok(await t.act({ action: 'get_console_log' })).count, 0);
  });

  it("downloads land in the caller's store under DATA_DIR and upload_file takes only those", async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/downloads` }));
    assert.deepEqual(ok(await t.act({ action: 'get_last_download' })), { download: null });
    ok(await t.act({ action: 'click', selector: '#dl' }));
    let download: Record<string, unknown> | null = null;
    for (let i = 0; i < 100 && !download?.path; i++) {
      download = ok(await t.act({ action: 'get_last_download' })).download as Record<string, unknown> | null;
      if (!download?.path) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(download?.filename, 'report.txt');
    assert.equal(download?.url, `${t.fixture.url}/download-file`);
    assert.equal(download?.size, 'hello download'.length);
    const name = String(download?.path);
    assert.match(name, /^[0-9a-f-]{36}-report\.txt$/);

    const root = join(t.app.dataDir, 'browser-downloads');
    const [ownerDir] = await readdir(root);
    assert.ok(ownerDir);
    const stored = join(root, ownerDir, name);
    assert.equal(await readFile(stored, 'utf8'), 'hello download');
    assert.equal((await stat(stored)).mode & 0o777, 0o600);
    assert.equal((await stat(join(root, ownerDir))).mode & 0o777, 0o700);

    assert.deepEqual(ok(await t.act({ action: 'upload_file', selector: '#up', file_path: name })), {
      selector: '#up',
      file: 'report.txt',
      size: 'hello download'.length,
    });
    ok(await t.act({ action: 'wait_for_text', text: 'report.txt:hello download', timeout: 5 }));
    for (const path of ['/etc/passwd', `../${ownerDir}/${name}`, `${name}/../../x`]) {
      const refused = await t.act({ action: 'upload_file', selector: '#up', file_path: path });
      assert.equal(refused.status, 400, path);
    }
    const other = await t.act({ action: 'goto', url: `${t.fixture.url}/downloads` }, { token: ALICE });
    ok(other);
    const stranger = await t.act(
      { action: 'upload_file', selector: '#up', file_path: name },
      { token: ALICE, cookie: other.cookie },
    );
    assert.equal(stranger.status, 404, "another principal cannot upload this caller's download");
  });

  it('display actions answer as for a window without chrome', async () => {
    assert.deepEqual(ok(await t.act({ action: 'calibrate' })), { window_offset: { x: 0, y: 0 } });
    assert.deepEqual(ok(await t.act({ action: 'get_resolution' })), { width: 1280, height: 720 });
    assert.deepEqual(ok(await t.act({ action: 'enter_fullscreen' })), { fullscreen: true, changed: true });
    assert.equal(
      ok(await t.act({ action: 'eval', expression: 'document.fullscreenElement !== null' })).result,
      true,
    );
    assert.deepEqual(ok(await t.act({ action: 'exit_fullscreen' })), { fullscreen: false, changed: true });
  });
});

describe('stealthy-auto-browse parity: run_script control flow and outputs', () => {
  let t: BrowserTestApp;
  before(async () => {
    t = await startBrowserApp();
  });
  after(async () => {
    await t?.close();
  });

  it('runs if / repeat / while and collects output_id results', async () => {
    const res = await t.act({
      action: 'run_script',
      name: 'counter',
      steps: [
        { action: 'goto', url: `${t.fixture.url}/counter` },
        ifNode(
          { type: 'element', selector: '.cookie-banner', state: 'visible' },
          [{ action: 'click', selector: '.cookie-banner button' }],
          [{ action: 'eval', expression: 'true', output_id: 'no_banner' }],
        ),
        { repeat: { count: 2, steps: [{ action: 'click', selector: '#inc' }] } },
        {
          while: {
            condition: { type: 'text', text: 'Load more' },
            max_iterations: 5,
            steps: [{ action: 'click', selector: '#more' }],
          },
        },
        { action: 'eval', expression: 'n.textContent', output_id: 'count' },
        ifNode(
          {
            type: 'all',
            conditions: [
              { type: 'output', output_id: 'count', path: ['result'], equals: '5' },
              { type: 'url', matches: '*/counter' },
              { type: 'not', condition: { type: 'javascript', expression: 'loads !== 3' } },
            ],
          },
          [{ action: 'eval', expression: "'five'", output_id: 'verdict' }],
        ),
        { action: 'save_screenshot', whLargest: 64, output_id: 'shot' },
      ],
    });
    const data = ok(res);
    assert.equal(data.name, 'counter');
    assert.equal(data.success, true);
    assert.equal(data.steps_executed, 7);
    assert.equal(data.steps_total, 7);
    const outputs = data.outputs as Record<string, unknown>;
    assert.deepEqual(outputs.no_banner, { result: true });
    assert.deepEqual(outputs.count, { result: '5' });
    assert.deepEqual(outputs.verdict, { result: 'five' });
    const shot = String(outputs.shot);
    assert.match(shot, /^data:image\/png;base64,/);
    const png = Buffer.from(shot.split(',')[1] ?? '', 'base64');
    assert.equal(png.readUInt32BE(16), 64, 'resized to whLargest');
    const steps = data.step_results as Array<Record<string, unknown>>;
    assert.deepEqual(
      steps.map((s) => s.action ?? s.control),
      ['goto', 'if', 'repeat', 'while', 'eval', 'if', 'save_screenshot'],
    );
    assert.equal(steps[1]?.branch, 'else');
    assert.equal((steps[2]?.iterations as unknown[] | undefined)?.length, 2);
    assert.equal(
      (steps[3]?.iterations as unknown[] | undefined)?.length,
      3,
      'while ran until the text went away',
    );
    assert.equal((steps[6]?.data as Record<string, unknown> | undefined)?.type, 'browser');
    assert.ok(!JSON.stringify(steps[6]).includes('iVBOR'), 'the PNG itself only goes to outputs');
  });

  it('on_error continue runs past failures and reports them', async () => {
    const res = await t.act({
      action: 'run_script',
      on_error: 'continue',
      steps: [
        { action: 'goto', url: `${t.fixture.url}/` },
        { action: 'click', selector: '#missing', timeout: 0.2 },
        { action: 'eval', expression: 'document.title', output_id: 'title' },
      ],
    });
    const data = ok(res);
    assert.equal(data.success, false);
    assert.equal(data.steps_executed, 3);
    assert.deepEqual(
      (data.step_results as Array<{ success: boolean }>).map((s) => s.success),
      [true, false, true],
    );
    assert.deepEqual((data.outputs as Record<string, unknown>).title, { result: 'Fixture Home' });
  });

  it('bounds loops: while past max_iterations fails, loop bodies stop at 1,000 steps', async () => {
    const endless = await t.act({
      action: 'run_script',
      steps: [
        {
          while: {
            condition: { type: 'javascript', expression: 'true' },
            max_iterations: 2,
            steps: [{ action: 'eval', expression: '1' }],
          },
        },
      ],
    });
    assert.equal(endless.status, 422);
    assert.match(String(endless.body.error), /max_iterations \(2\)/);
    assert.equal(
      (endless.body.data?.step_results as Array<{ iterations: unknown[] }> | undefined)?.[0]?.iterations
        .length,
      2,
    );

    const big = await t.act({
      action: 'run_script',
      steps: [{ repeat: { count: 11, steps: [{ repeat: { count: 100, steps: [{ action: 'ping' }] } }] } }],
    });
    assert.equal(big.status, 400);
    assert.match(String(big.body.error), /more than 1000 steps/);
  });

  it('refuses malformed scripts before running anything', async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    const bad: unknown[] = [
      [{ repeat: { count: 101, steps: [{ action: 'ping' }] } }],
      [{ repeat: { count: 1, steps: [{ action: 'ping' }] }, action: 'ping' }],
      [{ while: { condition: { type: 'text', text: 'x' }, steps: [{ action: 'ping' }] } }],
      [ifNode({ type: 'output', output_id: 'x' }, [{ action: 'ping' }])],
      [ifNode({ type: 'not', condition: { type: 'text', text: 'x', timeout: 1 } }, [{ action: 'ping' }])],
      [
        { action: 'goto', url: `${t.fixture.url}/page2` },
        { action: 'run_script', steps: [] },
      ],
    ];
    for (const steps of bad) {
      const res = await t.act({ action: 'run_script', steps });
      assert.equal(res.status, 400, JSON.stringify(steps));
      assert.equal(res.body.code, 'invalid_request');
    }
    assert.equal(
      ok(await t.act({ action: 'eval', expression: 'document.title' })).result,
      'Fixture Home',
      'nothing ran',
    );
    const yaml = await t.act({ action: 'run_script', yaml: 'steps: []' });
    assert.equal(yaml.status, 400);
    const nonBoolean = await t.act({
      action: 'run_script',
      steps: [ifNode({ type: 'javascript', expression: '"yes"' }, [{ action: 'ping' }])],
    });
    assert.equal(nonBoolean.status, 422);
    assert.match(String(nonBoolean.body.error), /true or false/);
  });
});
