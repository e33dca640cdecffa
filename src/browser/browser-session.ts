import type {
  BrowserContext,
  ConsoleMessage,
  Dialog,
  Download,
  Page,
  Request,
  Response,
} from 'playwright-core';
import { AppError } from '../errors.ts';

/** Tabs one replica may hold: each is a renderer's worth of memory. */
export const MAX_TABS = 8;
/** Entries kept per log; the oldest go first. */
export const MAX_LOG_ENTRIES = 1_000;

export interface DownloadInfo {
  url: string;
  filename: string;
  /** The stored name in the principal's download store (upload_file's file_path), once saved. */
  path: string | null;
  size?: number;
  error?: string;
}

export interface DialogInfo {
  type: string;
  message: string;
  default_value: string;
  buttons: string[];
}

export type NetworkEntry =
  | { type: 'request'; url: string; method: string; resource_type: string; timestamp: number }
  | { type: 'response'; url: string; status: number; timestamp: number };

export interface ConsoleEntry {
  type: string;
  text: string;
  location: { url: string; lineNumber: number; columnNumber: number };
  timestamp: number;
}

const DIALOG_BUTTONS: Record<string, string[]> = {
  alert: ['ok'],
  confirm: ['ok', 'cancel'],
  prompt: ['ok', 'cancel'],
  beforeunload: ['leave', 'stay'],
};

/**
 * What one replica's context remembers between actions, as the original keeps it per
 * browser: its tabs and which one is active, the last dialog and how to answer the next,
 * and the network and console logs when they are on. Tabs are only those opened with
 * new_tab: popups a page opens are closed (they would escape the tab bound).
 */
export class BrowserSession {
  readonly #tabs: Page[];
  readonly #home: Page;
  #active: Page;
  #tabsRequested = 0;
  lastDialog: DialogInfo | null = null;
  /** How to answer the next dialog (once); otherwise dialogs are accepted, like a user clicking OK. */
  nextDialog: { accept: boolean; text?: string } | undefined;
  isNetworkLogging = false;
  readonly networkLog: NetworkEntry[] = [];
  isConsoleLogging = false;
  readonly consoleLog: ConsoleEntry[] = [];
  lastDownload: DownloadInfo | null = null;
  /** Where downloads are kept (set by the service for the replica's owner); without it they are cancelled. */
  downloadSink: ((download: Download) => Promise<{ name: string; size: number }>) | undefined;

  constructor(
    readonly context: BrowserContext,
    home: Page,
  ) {
    this.#tabs = [home];
    this.#home = home;
    this.#active = home;
    this.#watch(home);
    context.on('page', (page) => {
      if (page === home) return;
      if (this.#tabsRequested > 0) {
        this.#tabsRequested--;
        return;
      }
      void page.close().catch(() => {});
    });
  }

  /** The active tab: where every action runs. */
  get page(): Page {
    if (this.#active.isClosed()) this.#active = this.tabs().at(-1) ?? this.#active;
    return this.#active;
  }

  tabs(): Page[] {
    for (let i = this.#tabs.length - 1; i >= 0; i--) if (this.#tabs[i]?.isClosed()) this.#tabs.splice(i, 1);
    return [...this.#tabs];
  }

  /** Opens a tab and makes it the active one. */
  async newTab(): Promise<Page> {
    if (this.tabs().length >= MAX_TABS) {
      throw new AppError('invalid_request', `At most ${MAX_TABS} tabs per browser; close one first`);
    }
    this.#tabsRequested++;
    let page: Page;
    try {
      page = await this.context.newPage();
    } finally {
      this.#tabsRequested = 0;
    }
    this.#tabs.push(page);
    this.#watch(page);
    this.#active = page;
    return page;
  }

  switchTo(index: number): Page {
    const page = this.tabs()[index];
    if (!page) throw new AppError('invalid_request', `Invalid tab index: ${index}`);
    this.#active = page;
    return page;
  }

  /** Closes a tab (the active one by default); the last remaining tab becomes active. The home tab cannot go. */
  async closeTab(index?: number): Promise<number> {
    const tabs = this.tabs();
    const target = index === undefined ? this.page : tabs[index];
    if (!target) throw new AppError('invalid_request', `Invalid tab index: ${index}`);
    if (tabs.length === 1) throw new AppError('invalid_request', 'Cannot close the last tab');
    await target.close();
    const remaining = this.tabs();
    this.#active = remaining.at(-1) ?? this.#active;
    return remaining.length;
  }

  #watch(page: Page): void {
    // A crashed extra tab is dropped (its replica lives on); the home tab's crash replaces the replica.
    page.on('crash', () => {
      if (page !== this.#home) void page.close().catch(() => {});
    });
    page.on('dialog', (dialog) => void this.#answer(dialog).catch(() => {}));
    page.on('download', (download) => void this.#keep(download));
    page.on('request', (request: Request) => {
      if (!this.isNetworkLogging) return;
      this.#push(this.networkLog, {
        type: 'request',
        url: request.url(),
        method: request.method(),
        resource_type: request.resourceType(),
        timestamp: Date.now() / 1000,
      });
    });
    page.on('response', (response: Response) => {
      if (!this.isNetworkLogging) return;
      this.#push(this.networkLog, {
        type: 'response',
        url: response.url(),
        status: response.status(),
        timestamp: Date.now() / 1000,
      });
    });
    page.on('console', (message: ConsoleMessage) => {
      if (!this.isConsoleLogging) return;
      this.#push(this.consoleLog, {
        type: message.type(),
        text: message.text(),
        location: message.location(),
        timestamp: Date.now() / 1000,
      });
    });
  }

  async #keep(download: Download): Promise<void> {
    const info: DownloadInfo = { url: download.url(), filename: download.suggestedFilename(), path: null };
    this.lastDownload = info;
    if (!this.downloadSink) {
      info.error = 'downloads are not kept for this browser';
      await download.cancel().catch(() => {});
      return;
    }
    try {
      const saved = await this.downloadSink(download);
      info.path = saved.name;
      info.size = saved.size;
    } catch (err) {
      info.error = (err as Error).message.split('\n')[0];
    }
  }

  #push<T>(log: T[], entry: T): void {
    log.push(entry);
    if (log.length > MAX_LOG_ENTRIES) log.shift();
  }

  /** An open dialog blocks every later action on its page, so each one is answered at once. */
  async #answer(dialog: Dialog): Promise<void> {
    this.lastDialog = {
      type: dialog.type(),
      message: dialog.message(),
      default_value: dialog.defaultValue(),
      buttons: DIALOG_BUTTONS[dialog.type()] ?? ['ok'],
    };
    const answer = this.nextDialog;
    this.nextDialog = undefined;
    if (answer && !answer.accept) return dialog.dismiss();
    return answer?.text !== undefined ? dialog.accept(answer.text) : dialog.accept();
  }
}
