import { z } from 'zod';
import type { BrowserSession, ConsoleEntry, NetworkEntry } from '../browser-session.ts';
import { navigationControls, withNavigationRetries } from './navigation.ts';
import { type AnyBrowserAction, defineAction } from './types.ts';

/** Tabs, dialogs and the network/console logs: state the original keeps per browser, here per replica. */

export const listTabs = defineAction({
  name: 'list_tabs',
  description: 'Open tabs with their index, URL and which one is active.',
  params: z.object({}),
  async run({ session }) {
    const active = session.page;
    const tabs = session.tabs().map((p, index) => ({ index, url: p.url(), active: p === active }));
    return { tabs, count: tabs.length };
  },
});

export const newTab = defineAction({
  name: 'new_tab',
  description: 'Open a new tab (it becomes the active one), optionally navigating it to a URL.',
  params: z.object({ url: z.string().min(1).optional(), ...navigationControls }),
  async run({ session, netGuard, allowPrivate, timeoutMs }, params) {
    const { url } = params;
    if (url) await netGuard.assertNavigable(url, allowPrivate);
    const page = await session.newTab();
    if (url) {
      await withNavigationRetries(params, timeoutMs, (attemptMs) =>
        page.goto(url, { waitUntil: params.wait_until, timeout: attemptMs }),
      );
    }
    return { index: session.tabs().length - 1, url: page.url() };
  },
});

export const switchTab = defineAction({
  name: 'switch_tab',
  description: 'Make the tab at `index` (0-based) the active one: later actions run there.',
  params: z.object({ index: z.number().int().min(0) }),
  async run({ session }, { index }) {
    const page = session.switchTo(index);
    await page.bringToFront();
    return { index, url: page.url() };
  },
});

export const closeTab = defineAction({
  name: 'close_tab',
  description: 'Close the tab at `index` (default: the active one); the last remaining tab becomes active.',
  params: z.object({ index: z.number().int().min(0).optional() }),
  async run({ session }, { index }) {
    return { closed: true, remaining: await session.closeTab(index) };
  },
});

export const handleDialog = defineAction({
  name: 'handle_dialog',
  description: 'How to answer the next dialog: accept (OK) or not (Cancel), and the text for a prompt.',
  params: z.object({ accept: z.boolean().default(true), text: z.string().optional() }),
  async run({ session }, { accept, text }) {
    session.nextDialog = { accept, ...(text === undefined ? {} : { text }) };
    return { configured: { accept, text: text ?? null } };
  },
});

export const getLastDialog = defineAction({
  name: 'get_last_dialog',
  description: 'The last dialog: type, message, default_value, buttons (null if none yet).',
  params: z.object({}),
  async run({ session }) {
    return { dialog: session.lastDialog };
  },
});

/** enable_/disable_/get_/clear_/getclear_ for one log, as the original names them. */
function logActions(
  kind: 'network' | 'console',
  log: (session: BrowserSession) => Array<NetworkEntry | ConsoleEntry>,
  setOn: (session: BrowserSession, on: boolean) => void,
): AnyBrowserAction[] {
  const none = z.object({});
  return [
    defineAction({
      name: `enable_${kind}_log`,
      description: `Start recording ${kind} ${kind === 'network' ? 'requests and responses' : 'messages'}.`,
      params: none,
      async run({ session }) {
        setOn(session, true);
        return { enabled: true };
      },
    }),
    defineAction({
      name: `disable_${kind}_log`,
      description: `Stop recording the ${kind} log (entries stay).`,
      params: none,
      async run({ session }) {
        setOn(session, false);
        return { enabled: false };
      },
    }),
    defineAction({
      name: `get_${kind}_log`,
      description: `The recorded ${kind} log entries and their count.`,
      params: none,
      async run({ session }) {
        const entries = [...log(session)];
        return { log: entries, count: entries.length };
      },
    }),
    defineAction({
      name: `clear_${kind}_log`,
      description: `Delete the recorded ${kind} log entries (recording stays on if it was).`,
      params: none,
      async run({ session }) {
        log(session).length = 0;
        return { cleared: true };
      },
    }),
    defineAction({
      name: `getclear_${kind}_log`,
      description: `The recorded ${kind} log entries, then clear them.`,
      params: none,
      async run({ session }) {
        const entries = log(session).splice(0);
        return { log: entries, count: entries.length };
      },
    }),
  ];
}

export const networkLogActions = logActions(
  'network',
  (s) => s.networkLog,
  (s, on) => {
    s.isNetworkLogging = on;
  },
);

export const consoleLogActions = logActions(
  'console',
  (s) => s.consoleLog,
  (s, on) => {
    s.isConsoleLogging = on;
  },
);

export const getLastDownload = defineAction({
  name: 'get_last_download',
  description:
    "The last download: url, filename, and path — its name in this caller's download store (for upload_file), null until saved.",
  params: z.object({}),
  async run({ session }) {
    return { download: session.lastDownload };
  },
});

export const uploadFile = defineAction({
  name: 'upload_file',
  description:
    'Set a file on an <input type=file>: file_path is the name of a file this caller downloaded (get_last_download.path), never a host path.',
  params: z.object({ selector: z.string().min(1), file_path: z.string().min(1) }),
  async run({ page, readDownload, timeoutMs }, { selector, file_path }) {
    const buffer = await readDownload(file_path);
    // The stored name is "<uuid>-<original name>": the page sees the original name.
    const file = file_path.slice(37);
    await page.setInputFiles(
      selector,
      { name: file, mimeType: 'application/octet-stream', buffer },
      { timeout: timeoutMs },
    );
    return { selector, file, size: buffer.length };
  },
});
