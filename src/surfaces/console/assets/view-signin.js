// @ts-check
import { ApiError, json, storeKey } from './api.js';
import { h } from './dom.js';

/**
 * Sign-in: the key is checked against the runs API before it is kept, and kept in this
 * tab's sessionStorage only (gone when the tab closes). The form never submits natively,
 * so the key cannot end up in a URL.
 * @param {HTMLElement} main
 * @param {() => void} onSignedIn
 */
export function showSignIn(main, onSignedIn) {
  const input = h('input', {
    id: 'api-key',
    name: 'api-key',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'api-key-help signin-error',
  });
  const error = h('p', { id: 'signin-error', class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card signin', method: 'post', action: '#', novalidate: true },
    h('h1', { tabindex: '-1' }, 'Sign in'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h(
      'p',
      { id: 'api-key-help', class: 'hint' },
      'Kept in this browser tab only, until you sign out or close it.',
    ),
    error,
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = /** @type {HTMLInputElement} */ (input).value.trim();
    error.textContent = '';
    if (!key) {
      error.textContent = 'Enter an API key.';
      input.focus();
      return;
    }
    /** @type {HTMLButtonElement} */ (button).disabled = true;
    try {
      await json('GET', '/api/v1/runs?limit=1', { key });
      storeKey(key);
      /** @type {HTMLInputElement} */ (input).value = '';
      onSignedIn();
    } catch (err) {
      error.textContent = signInError(err);
      input.focus();
    } finally {
      /** @type {HTMLButtonElement} */ (button).disabled = false;
    }
  });
  main.replaceChildren(form);
  input.focus();
}

/** @param {unknown} err */
function signInError(err) {
  if (!(err instanceof ApiError))
    return `Cannot reach the server: ${String(/** @type {Error} */ (err)?.message ?? err)}`;
  if (err.status === 401) return 'This key is not valid.';
  if (err.status === 403) return 'This key may not use the runs API.';
  if (err.status === 404) return 'This server has no runs API (/api/v1).';
  return `The server refused: ${err.message}`;
}
