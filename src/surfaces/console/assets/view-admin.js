// @ts-check
import { h } from './dom.js';

/**
 * Keys and usage pages for admin keys: waiting on the control-plane API (/admin/keys,
 * /admin/usage).
 * @param {HTMLElement} main
 */
export function showAdmin(main) {
  main.replaceChildren(h('h1', { tabindex: '-1' }, 'Admin'), h('p', {}, 'This server has no admin API yet.'));
}
