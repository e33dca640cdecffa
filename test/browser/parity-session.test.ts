import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { skipWithout } from '../helpers/system-parts.ts';
import { type BrowserTestApp, ok, startBrowserApp } from './browser-app.ts';

const ALICE = 'sk-alice-parity';

/** The original service's per-browser state (tabs, dialogs, cookies, storage, logs, downloads), against local pages. */
describe('stealthy-auto-browse parity: tabs, dialogs, cookies, storage, logs, downloads, display', {
  skip: skipWithout('chromium'),
}, () => {
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

  it("close discards the caller's browser; recording answers as without a display", async () => {
    ok(await t.act({ action: 'goto', url: `${t.fixture.url}/` }));
    ok(await t.act({ action: 'set_cookie', name: 'c', value: '1', url: t.fixture.url }));
    ok(await t.act({ action: 'new_tab', url: `${t.fixture.url}/page2` }));
    assert.deepEqual(ok(await t.act({ action: 'close' })), { message: 'closing' });
    const tabs = ok(await t.act({ action: 'list_tabs' }));
    assert.deepEqual(tabs, { tabs: [{ index: 0, url: 'about:blank', active: true }], count: 1 });
    assert.equal(ok(await t.act({ action: 'get_cookies' })).count, 0);

    const start = await t.act({ action: 'start_recording', mode: 'viewport' });
    assert.equal(start.status, 422);
    assert.match(String(start.body.error), /no display/);
    assert.deepEqual(ok(await t.act({ action: 'recording_status' })), { active: false });
    assert.equal((await t.act({ action: 'stop_recording', slug: 'flow' })).status, 422);
    assert.equal((await t.act({ action: 'stop_recording', slug: '../etc' })).status, 400);

    // Virtual media: none configured, dynamic mode off, as the original without VIRTUAL_MEDIA_DIR.
    const media = ok(await t.act({ action: 'get_virtual_media_state' }));
    assert.equal(media.dynamic, false);
    const set = await t.act({ action: 'set_virtual_media_source', kind: 'camera', source: 'a.webm' });
    assert.equal(set.status, 422);
    assert.match(String(set.body.error), /dynamic virtual media is disabled/);
    const upload = await t.act({
      action: 'upload_virtual_media',
      kind: 'microphone',
      filename: 'a.wav',
      content_base64: 'AAAA',
    });
    assert.equal(upload.status, 422);
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
