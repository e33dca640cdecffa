// @ts-check
import { ApiError, json, seg } from './api.js';
import { formatTime, h, notify } from './dom.js';

/**
 * Admin pages over the control-plane API (docs/keys.md): keys (create, revoke, rotate)
 * and everyone's usage. A key that is not an admin gets 403 from /admin/*: the page says so.
 * @param {HTMLElement} main
 * @param {string[]} params
 * @param {AbortSignal} signal
 */
export async function showAdmin(main, params, signal) {
  const tab = params[0] === 'usage' ? 'usage' : 'keys';
  const tabs = h(
    'nav',
    { class: 'tabs', 'aria-label': 'Admin' },
    h('a', { class: 'tab', href: '#/admin/keys', 'aria-current': tab === 'keys' ? 'page' : false }, 'Keys'),
    h(
      'a',
      { class: 'tab', href: '#/admin/usage', 'aria-current': tab === 'usage' ? 'page' : false },
      'Usage',
    ),
  );
  const body = h('div');
  main.replaceChildren(h('h1', { tabindex: '-1' }, tab === 'keys' ? 'Keys' : 'Usage'), tabs, body);
  try {
    if (tab === 'keys') await showKeys(body, signal);
    else await showAllUsage(body, signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) {
      body.replaceChildren(h('p', {}, 'This key is not an admin key: it can see its own usage under Usage.'));
    } else if (err instanceof ApiError && err.status === 404) {
      body.replaceChildren(h('p', {}, 'This server has no admin API.'));
    } else throw err;
  }
}

/**
 * @param {HTMLElement} body
 * @param {AbortSignal} signal
 */
async function showKeys(body, signal) {
  const rows = h('tbody');
  const secret = h('div', { class: 'secret', 'aria-live': 'polite', hidden: true });

  const load = async () => {
    const { keys } = await json('GET', '/admin/keys', { signal });
    rows.replaceChildren(...(Array.isArray(keys) ? keys : []).map(keyRow));
  };

  /** @param {any} k */
  const keyRow = (k) => {
    const label = `${k.user}${k.name ? ` (${k.name})` : ''}`;
    const scope = [
      k.admin ? 'admin' : '',
      k.tier ?? '',
      k.surfaces ? `surfaces: ${k.surfaces.join(', ')}` : '',
      k.models ? `models: ${k.models.join(', ')}` : '',
      k.workspaces ? `workspaces: ${k.workspaces}*` : '',
      k.rpm ? `${k.rpm} rpm` : '',
      k.maxConcurrentRuns ? `${k.maxConcurrentRuns} at once` : '',
      k.budgetUsd !== null && k.budgetUsd !== undefined ? `$${k.budgetUsd}/${k.budgetPeriod}` : '',
    ].filter(Boolean);
    const state = k.revokedAt
      ? `revoked ${formatTime(k.revokedAt)}`
      : k.readOnly
        ? `from ${k.source}`
        : 'active';
    const actions = h('td', { class: 'actions' });
    if (!k.readOnly && !k.revokedAt) {
      actions.append(
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            'aria-label': `Rotate key of ${label}`,
            onclick: async () => {
              const rotated = await json('POST', `/admin/keys/${seg(k.id)}/rotate`, {
                body: {},
                signal,
              }).catch(report);
              if (rotated) {
                showSecret(rotated, 'New secret (the old one works for one more hour)');
                await load();
              }
            },
          },
          'Rotate',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            'aria-label': `Revoke key of ${label}`,
            // Two steps instead of a confirm() dialog: works the same with a mouse, a
            // keyboard, a screen reader or a thumb.
            onclick: async (/** @type {Event} */ event) => {
              const button = /** @type {HTMLButtonElement} */ (event.currentTarget);
              if (button.dataset.armed !== 'yes') {
                button.dataset.armed = 'yes';
                button.textContent = 'Really revoke?';
                button.setAttribute('aria-label', `Really revoke the key of ${label}?`);
                return;
              }
              await json('DELETE', `/admin/keys/${seg(k.id)}`, { signal }).catch(report);
              await load();
            },
          },
          'Revoke',
        ),
      );
    }
    return h(
      'tr',
      { 'data-key-id': String(k.id) },
      h('td', {}, label),
      h('td', {}, scope.join(' · ')),
      h('td', {}, state),
      h('td', { class: 'when' }, formatTime(k.createdAt)),
      actions,
    );
  };

  /**
   * @param {any} created
   * @param {string} title
   */
  const showSecret = (created, title) => {
    const value = h('code', { class: 'secret-value' }, String(created.key));
    const copy = h('button', { type: 'button', class: 'secondary' }, 'Copy');
    copy.addEventListener('click', () => {
      void navigator.clipboard?.writeText(String(created.key)).then(() => notify('Copied.'), report);
    });
    secret.replaceChildren(
      h('p', {}, `${title} for ${created.user}: shown once, store it now.`),
      value,
      copy,
      h(
        'button',
        {
          type: 'button',
          class: 'link',
          onclick: () => {
            secret.hidden = true;
            secret.replaceChildren();
          },
        },
        'Done',
      ),
    );
    secret.hidden = false;
  };

  /** @param {unknown} err */
  const report = (err) => {
    if (!signal.aborted) notify(String(/** @type {Error} */ (err)?.message ?? err), 'error');
    return undefined;
  };

  const form = createKeyForm(async (input) => {
    const created = await json('POST', '/admin/keys', { body: input, signal });
    showSecret(created, 'New key');
    await load();
  });

  body.replaceChildren(
    form,
    secret,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'files keys' },
        h('caption', {}, 'Keys'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'User'),
            h('th', { scope: 'col' }, 'Scope'),
            h('th', { scope: 'col' }, 'State'),
            h('th', { scope: 'col' }, 'Created'),
            h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')),
          ),
        ),
        rows,
      ),
    ),
  );
  await load();
}

/** @param {(input: Record<string, unknown>) => Promise<void>} onCreate */
function createKeyForm(onCreate) {
  const user = h('input', { id: 'key-user', type: 'text', required: true, autocomplete: 'off' });
  const name = h('input', { id: 'key-name', type: 'text', autocomplete: 'off' });
  const tier = h(
    'select',
    { id: 'key-tier' },
    ['full', 'edit', 'observe'].map((t) => h('option', { value: t }, t)),
  );
  const budget = h('input', {
    id: 'key-budget',
    type: 'text',
    inputmode: 'decimal',
    autocomplete: 'off',
    placeholder: 'none',
  });
  const admin = h('input', { id: 'key-admin', type: 'checkbox' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'card', action: '#', method: 'post' },
    h('h2', {}, 'Create a key'),
    h(
      'div',
      { class: 'row' },
      h('div', {}, h('label', { for: 'key-user' }, 'User'), user),
      h('div', {}, h('label', { for: 'key-name' }, 'Name'), name),
      h('div', {}, h('label', { for: 'key-tier' }, 'Tier'), tier),
      h('div', {}, h('label', { for: 'key-budget' }, 'Monthly budget (USD)'), budget),
    ),
    h('label', { class: 'check', for: 'key-admin' }, admin, ' Admin key'),
    error,
    h('button', { type: 'submit' }, 'Create key'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    /** @type {Record<string, unknown>} */
    const input = {
      user: /** @type {HTMLInputElement} */ (user).value.trim(),
      tier: /** @type {HTMLSelectElement} */ (tier).value,
      admin: /** @type {HTMLInputElement} */ (admin).checked,
    };
    const n = /** @type {HTMLInputElement} */ (name).value.trim();
    const b = /** @type {HTMLInputElement} */ (budget).value.trim();
    if (n) input.name = n;
    if (b) {
      if (!Number.isFinite(Number(b)) || Number(b) < 0) {
        error.textContent = 'The budget is a number of dollars.';
        budget.focus();
        return;
      }
      input.budgetUsd = Number(b);
      input.budgetPeriod = 'month';
    }
    try {
      await onCreate(input);
      /** @type {HTMLFormElement} */ (form).reset();
    } catch (err) {
      error.textContent = `Could not create the key: ${String(/** @type {Error} */ (err)?.message ?? err)}`;
    }
  });
  return form;
}

/**
 * @param {HTMLElement} body
 * @param {AbortSignal} signal
 */
async function showAllUsage(body, signal) {
  const groupBy = h(
    'select',
    { id: 'usage-group' },
    ['key', 'user', 'model', 'day'].map((g) => h('option', { value: g }, g)),
  );
  const table = h('div', { class: 'table-wrap' });
  const load = async () => {
    const by = /** @type {HTMLSelectElement} */ (groupBy).value;
    const usage = await json('GET', `/admin/usage?groupBy=${seg(by)}`, { signal });
    table.replaceChildren(usageTable(usage.rows, by));
  };
  groupBy.addEventListener(
    'change',
    () => void load().catch((err) => notify(String(err?.message ?? err), 'error')),
  );
  body.replaceChildren(
    h('div', { class: 'filters' }, h('label', { for: 'usage-group' }, 'Group by'), groupBy),
    table,
  );
  await load();
}

/**
 * The caller's own usage and budget (GET /usage), for every key.
 * @param {HTMLElement} main
 * @param {string[]} _params
 * @param {AbortSignal} signal
 */
export async function showUsage(main, _params, signal) {
  const groupBy = h(
    'select',
    { id: 'my-usage-group' },
    ['model', 'day'].map((g) => h('option', { value: g }, g)),
  );
  const budget = h('p', { class: 'budget' });
  const table = h('div', { class: 'table-wrap' });
  main.replaceChildren(
    h('h1', { tabindex: '-1' }, 'Your usage'),
    budget,
    h('div', { class: 'filters' }, h('label', { for: 'my-usage-group' }, 'Group by'), groupBy),
    table,
  );
  const load = async () => {
    const by = /** @type {HTMLSelectElement} */ (groupBy).value;
    const usage = await json('GET', `/usage?groupBy=${seg(by)}`, { signal });
    const b = usage.budget;
    budget.textContent = b
      ? `Budget: $${Number(b.spentUsd).toFixed(2)} of $${b.budgetUsd} spent this ${b.budgetPeriod === 'total' ? 'key' : b.budgetPeriod}.`
      : `Key of ${usage.user ?? 'you'}: no budget.`;
    table.replaceChildren(usageTable(usage.rows, by));
  };
  groupBy.addEventListener(
    'change',
    () => void load().catch((err) => notify(String(err?.message ?? err), 'error')),
  );
  try {
    await load();
  } catch (err) {
    if (err instanceof ApiError && err.status === 404)
      budget.textContent = 'This server does not report usage.';
    else throw err;
  }
}

/**
 * @param {any[]} rows
 * @param {string} by
 */
function usageTable(rows, by) {
  const list = Array.isArray(rows) ? rows : [];
  return h(
    'table',
    { class: 'files usage' },
    h('caption', {}, `Usage by ${by}`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...[by, 'Runs', 'Input tokens', 'Output tokens', 'Cache reads', 'Cost'].map((c) =>
          h('th', { scope: 'col' }, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      list.length === 0
        ? h('tr', {}, h('td', { colspan: '6', class: 'empty' }, 'No usage yet.'))
        : list.map((r) =>
            h(
              'tr',
              {},
              h('td', {}, String(r.group)),
              h('td', { class: 'num' }, String(r.runs)),
              h('td', { class: 'num' }, String(r.inputTokens)),
              h('td', { class: 'num' }, String(r.outputTokens)),
              h('td', { class: 'num' }, String(r.cacheReadTokens)),
              h('td', { class: 'num' }, `$${Number(r.costUsd).toFixed(4)}`),
            ),
          ),
    ),
  );
}
