// @ts-check
import { ApiError, json } from './api.js';
import { formatTime, h, notify } from './dom.js';

/** Refresh while a listed run is active; slower when all are settled, slower still when rate limited. */
const ACTIVE_POLL_MS = 2000;
const IDLE_POLL_MS = 10_000;
const LIMITED_POLL_MS = 30_000;
/** The Runs API's largest page. */
const MAX_LIMIT = 200;
const STATUSES = ['', 'queued', 'running', 'succeeded', 'failed', 'cancelled', 'timed_out'];

/** @param {string} status */
export function statusBadge(status) {
  return h('span', { class: `badge s-${status}`, 'data-status': status }, status.replace('_', ' '));
}

/**
 * The caller's runs (an admin's: everyone's), newest first, refreshed while shown (every
 * two seconds while one of them is active), and a form to start one.
 * @param {HTMLElement} main
 * @param {string[]} _params
 * @param {AbortSignal} signal
 */
export async function showRuns(main, _params, signal) {
  const list = h('ul', { class: 'runs', 'aria-label': 'Runs' });
  const statusFilter = h(
    'select',
    { id: 'filter-status' },
    STATUSES.map((s) => h('option', { value: s }, s === '' ? 'any' : s.replace('_', ' '))),
  );
  const workspaceFilter = h('input', {
    id: 'filter-workspace',
    type: 'text',
    placeholder: 'any',
    autocomplete: 'off',
  });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  /** @type {string | undefined} */
  let cursor;
  let limit = 50;

  main.replaceChildren(
    h('h1', { tabindex: '-1' }, 'Runs'),
    newRunForm(),
    h(
      'div',
      { class: 'filters' },
      h('label', { for: 'filter-status' }, 'Show status'),
      statusFilter,
      h('label', { for: 'filter-workspace' }, 'Show workspace'),
      workspaceFilter,
    ),
    list,
    more,
  );

  /** @type {Map<string, HTMLElement>} */
  const rows = new Map();
  const refresh = async () => {
    const query = new URLSearchParams({ limit: String(limit) });
    const status = /** @type {HTMLSelectElement} */ (statusFilter).value;
    const workspace = /** @type {HTMLInputElement} */ (workspaceFilter).value.trim();
    if (status) query.set('status', status);
    if (workspace) query.set('workspace', workspace);
    const page = await json('GET', `/api/v1/runs?${query}`, { signal });
    cursor = page.nextCursor ?? undefined;
    more.hidden = !cursor || limit >= MAX_LIMIT;
    /** @type {any[]} */
    const runs = Array.isArray(page.runs) ? page.runs : [];
    const seen = new Set();
    runs.forEach((run, index) => {
      seen.add(run.id);
      let row = rows.get(run.id);
      if (!row) {
        row = runRow(run);
        rows.set(run.id, row);
      } else {
        row.querySelector('.badge')?.replaceWith(statusBadge(run.status));
      }
      if (list.children[index] !== row) list.insertBefore(row, list.children[index] ?? null);
    });
    for (const [id, row] of rows) {
      if (!seen.has(id)) {
        row.remove();
        rows.delete(id);
      }
    }
    if (runs.length === 0 && !list.querySelector('.empty'))
      list.append(h('li', { class: 'empty' }, 'No runs yet.'));
    if (runs.length > 0) list.querySelector('.empty')?.remove();
    hasActive = runs.some((run) => run.status === 'queued' || run.status === 'running');
  };
  let hasActive = false;

  more.addEventListener('click', () => {
    if (cursor) limit = Math.min(MAX_LIMIT, limit + 50);
    void refresh().catch(report);
  });
  statusFilter.addEventListener('change', () => void refresh().catch(report));
  workspaceFilter.addEventListener('change', () => void refresh().catch(report));
  /** @param {unknown} err */
  const report = (err) => {
    if (!signal.aborted)
      notify(`Could not load runs: ${String(/** @type {Error} */ (err)?.message ?? err)}`, 'error');
  };

  await refresh().catch(report);
  if (signal.aborted) return;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  /** @param {number} ms */
  const schedule = (ms) => {
    timer = setTimeout(async () => {
      let next = hasActive ? ACTIVE_POLL_MS : IDLE_POLL_MS;
      if (document.visibilityState === 'visible') {
        await refresh().catch((err) => {
          if (err instanceof ApiError && err.status === 429) next = LIMITED_POLL_MS;
          else report(err);
        });
        next = next === LIMITED_POLL_MS ? next : hasActive ? ACTIVE_POLL_MS : IDLE_POLL_MS;
      }
      if (!signal.aborted) schedule(next);
    }, ms);
  };
  schedule(hasActive ? ACTIVE_POLL_MS : IDLE_POLL_MS);
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
}

/** @param {any} run */
function runRow(run) {
  const excerpt = run.promptExcerpt ?? run.prompt;
  const prompt = typeof excerpt === 'string' ? excerpt : '';
  return h(
    'li',
    { class: 'run-row', 'data-run-id': run.id },
    h(
      'a',
      { class: 'run-link', href: `#/runs/${encodeURIComponent(run.id)}` },
      prompt ? prompt.slice(0, 120) : run.id,
    ),
    statusBadge(String(run.status)),
    h(
      'span',
      { class: 'meta' },
      run.owner ? `${run.owner} · ` : '',
      run.workspace ? `${run.workspace} · ` : '',
      formatTime(run.createdAt),
      prompt ? ` · ${run.id}` : '',
    ),
  );
}

function newRunForm() {
  const prompt = h('textarea', { id: 'run-prompt', name: 'prompt', rows: '3', required: true });
  const workspace = h('input', {
    id: 'run-workspace',
    name: 'workspace',
    type: 'text',
    placeholder: 'default',
    autocomplete: 'off',
  });
  const model = h('input', {
    id: 'run-model',
    name: 'model',
    type: 'text',
    placeholder: 'server default',
    autocomplete: 'off',
  });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const button = h('button', { type: 'submit' }, 'Start run');
  const form = h(
    'form',
    { class: 'card new-run', action: '#', method: 'post' },
    h('h2', {}, 'Start a run'),
    h('label', { for: 'run-prompt' }, 'Prompt'),
    prompt,
    h(
      'div',
      { class: 'row' },
      h('div', {}, h('label', { for: 'run-workspace' }, 'Workspace'), workspace),
      h('div', {}, h('label', { for: 'run-model' }, 'Model'), model),
    ),
    error,
    button,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const text = /** @type {HTMLTextAreaElement} */ (prompt).value;
    if (!text.trim()) {
      error.textContent = 'Enter a prompt.';
      prompt.focus();
      return;
    }
    /** @type {Record<string, string>} */
    const body = { prompt: text };
    const ws = /** @type {HTMLInputElement} */ (workspace).value.trim();
    const m = /** @type {HTMLInputElement} */ (model).value.trim();
    if (ws) body.workspace = ws;
    if (m) body.model = m;
    /** @type {HTMLButtonElement} */ (button).disabled = true;
    try {
      const run = await json('POST', '/api/v1/runs', { body });
      location.hash = `#/runs/${encodeURIComponent(run.id)}`;
    } catch (err) {
      error.textContent = `Could not start the run: ${String(/** @type {Error} */ (err)?.message ?? err)}`;
    } finally {
      /** @type {HTMLButtonElement} */ (button).disabled = false;
    }
  });
  return form;
}
