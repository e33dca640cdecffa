import { detectChallenge } from './challenge.ts';
import {
  clearStorage,
  deleteCookies,
  getCookies,
  getStorage,
  setCookie,
  setStorage,
} from './cookies-storage.ts';
import {
  calibrate,
  close,
  enterFullscreen,
  exitFullscreen,
  getResolution,
  getVirtualMediaState,
  recordingStatus,
  setVirtualMediaSource,
  startRecording,
  stopRecording,
  uploadVirtualMedia,
} from './display.ts';
import { getComputedStyleOf, getElement, getElements, getPageInfo } from './inspect.ts';
import { browserAction, goto, ping, refresh, sleep } from './navigation.ts';
import { evalJs, getHtml, getInteractiveElements, getText, saveScreenshot, screenshot } from './read.ts';
import { click, fill, type } from './selector-input.ts';
import {
  closeTab,
  consoleLogActions,
  getLastDialog,
  getLastDownload,
  handleDialog,
  listTabs,
  networkLogActions,
  newTab,
  switchTab,
  uploadFile,
} from './session-state.ts';
import {
  mouseClick,
  mouseMove,
  scroll,
  scrollToBottom,
  scrollToBottomHumanized,
  sendKey,
  systemClick,
  systemType,
} from './system-input.ts';
import type { AnyBrowserAction } from './types.ts';
import { waitForElement, waitForNetworkIdle, waitForText, waitForUrl } from './waits.ts';

/** Every atomic action by its wire name: the HTTP API, run_script steps and MCP tools all read this. */
export const atomicActions: ReadonlyMap<string, AnyBrowserAction> = new Map(
  [
    goto,
    getText,
    getHtml,
    getInteractiveElements,
    screenshot,
    systemClick,
    systemType,
    sendKey,
    click,
    fill,
    type,
    scroll,
    mouseMove,
    mouseClick,
    waitForElement,
    waitForText,
    waitForUrl,
    evalJs,
    browserAction,
    sleep,
    refresh,
    ping,
    getPageInfo,
    getElement,
    getElements,
    getComputedStyleOf,
    waitForNetworkIdle,
    scrollToBottom,
    scrollToBottomHumanized,
    listTabs,
    newTab,
    switchTab,
    closeTab,
    handleDialog,
    getLastDialog,
    ...networkLogActions,
    ...consoleLogActions,
    getCookies,
    setCookie,
    deleteCookies,
    getStorage,
    setStorage,
    clearStorage,
    calibrate,
    getResolution,
    enterFullscreen,
    exitFullscreen,
    saveScreenshot,
    detectChallenge,
    getLastDownload,
    uploadFile,
    startRecording,
    stopRecording,
    recordingStatus,
    getVirtualMediaState,
    setVirtualMediaSource,
    uploadVirtualMedia,
    close,
  ].map((a) => [a.name, a]),
);

/** Names the original service's callers also use for the same action. */
const ALIASES: Record<string, string> = { eval: 'eval_js' };

export function findAction(name: string): AnyBrowserAction | undefined {
  return atomicActions.get(ALIASES[name] ?? name);
}
