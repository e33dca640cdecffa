// @ts-check
/**
 * The console's only way to build DOM: elements and text nodes, never markup strings.
 * Agent output, file names and file contents are untrusted; as text nodes they can never
 * become script, whatever they contain.
 */

/** @typedef {string | number | Node | null | undefined | false} Child */

/**
 * `h('button', {type: 'button', onclick: f, class: 'x'}, 'Label')`. Keys starting with
 * `on` become listeners, `class`/`for`/`aria-*`/`data-*` and others become attributes;
 * `value`, `checked`, `disabled`, `hidden` are set as properties.
 * @param {string} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    } else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'hidden') {
      /** @type {Record<string, unknown>} */ (/** @type {unknown} */ (el))[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, ...children);
  return el;
}

/**
 * @param {Node} parent
 * @param {...(Child | Child[])} children
 */
export function append(parent, ...children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** @param {number} bytes */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** @param {number | string | undefined} at epoch ms or an ISO string */
export function formatTime(at) {
  if (at === undefined || at === null || at === '') return '';
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? String(at) : date.toLocaleString();
}

/**
 * Announces a message to screen readers and shows it in the page's status line.
 * @param {string} message
 * @param {'info' | 'error'} [kind]
 */
export function notify(message, kind = 'info') {
  const line = document.getElementById('notice');
  if (!line) return;
  line.textContent = message;
  line.className = kind === 'error' ? 'notice error' : 'notice';
  line.hidden = message === '';
}
