// @ts-check
/**
 * The console's entry point: a hash router (so a reload keeps the page, and the server
 * serves one index.html), the sign-in gate and the navigation. Each view gets an
 * AbortSignal that aborts when the user leaves it, which stops its streams and polling.
 */
import { forgetKey, storedKey, whenUnauthorized } from './api.js';
import { notify } from './dom.js';
import { showAdmin, showUsage } from './view-admin.js';
import { showChat } from './view-chat.js';
import { showFiles } from './view-files.js';
import { showRun } from './view-run.js';
import { showRuns } from './view-runs.js';
import { showSignIn } from './view-signin.js';

/** @typedef {(main: HTMLElement, params: string[], signal: AbortSignal) => void | Promise<void>} View */

/** @type {Array<[RegExp, string, View]>} */
const ROUTES = [
  [/^\/runs\/?$/, 'runs', showRuns],
  [/^\/runs\/([^/]+)$/, 'runs', showRun],
  [/^\/chat\/?$/, 'chat', showChat],
  [/^\/chat\/([^/]+)$/, 'chat', showChat],
  [/^\/files\/?$/, 'files', showFiles],
  [/^\/files\/([^/]+)$/, 'files', showFiles],
  [/^\/usage$/, 'usage', showUsage],
  [/^\/admin\/(keys|usage)$/, 'admin', showAdmin],
];

/** @type {AbortController | undefined} */
let current;

/** @param {boolean} [isNavigation] whether the user moved here (then the new page's heading takes focus) */
function route(isNavigation = false) {
  current?.abort();
  current = new AbortController();
  const main = /** @type {HTMLElement} */ (document.getElementById('main'));
  const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
  notify('');
  if (!storedKey()) {
    nav.hidden = true;
    showSignIn(main, () => route(true));
    return;
  }
  nav.hidden = false;
  const path = location.hash.replace(/^#/, '') || '/runs';
  const match = ROUTES.map(([re, section, view]) => ({ m: re.exec(path), section, view })).find((r) => r.m);
  if (!match?.m) {
    location.replace('#/runs');
    return;
  }
  for (const link of nav.querySelectorAll('a[data-section]')) {
    if (link.getAttribute('data-section') === match.section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const params = match.m.slice(1).map((p) => decodeURIComponent(p));
  main.replaceChildren();
  const signal = current.signal;
  Promise.resolve(match.view(main, params, signal)).catch((err) => {
    if (!signal.aborted) notify(String(err?.message ?? err), 'error');
  });
  // Each view draws its heading before its first await: a screen reader hears where it is.
  if (isNavigation) /** @type {HTMLElement | null} */ (main.querySelector('h1'))?.focus();
}

function signOut() {
  current?.abort();
  forgetKey();
  sessionStorage.clear();
  location.hash = '#/runs';
  route();
}

whenUnauthorized(() => {
  forgetKey();
  route();
  notify('The server no longer accepts this key: sign in again.', 'error');
});

document.getElementById('sign-out')?.addEventListener('click', signOut);
window.addEventListener('hashchange', () => route(true));
route();
