// @ts-check
import { json } from './api.js';
import { formatTime, h, notify } from './dom.js';
import { FINISHED, followRun } from './events.js';
import { Transcript } from './transcript.js';
import { statusBadge } from './view-runs.js';

/**
 * One run: its details, its events as they happen (text, tool calls, results), and a
 * cancel button while it is active. The route (#/runs/<id>) is the whole state, so a
 * reload comes back here and replays the run from its first event.
 * @param {HTMLElement} main
 * @param {string[]} params
 * @param {AbortSignal} signal
 */
export async function showRun(main, params, signal) {
  const id = params[0] ?? '';
  const heading = h('h1', { tabindex: '-1' }, 'Run ', h('code', {}, id));
  const badgeSlot = h('span', { class: 'badge-slot' });
  const connection = h('span', { class: 'connection', 'aria-live': 'polite' });
  const cancel = h(
    'button',
    { type: 'button', class: 'danger', id: 'cancel-run', hidden: true },
    'Cancel run',
  );
  const details = h('dl', { class: 'run-details' });
  const prompt = h('pre', { class: 'prompt', hidden: true });
  const webhooks = h('section', { class: 'webhooks', 'aria-label': 'Webhook deliveries', hidden: true });
  const transcript = new Transcript();
  main.replaceChildren(
    h('p', { class: 'back' }, h('a', { href: '#/runs' }, '← Runs')),
    heading,
    h('div', { class: 'run-bar' }, badgeSlot, connection, cancel),
    details,
    prompt,
    h('h2', {}, 'Output'),
    transcript.el,
    webhooks,
  );

  /** @param {string} status */
  const setStatus = (status) => {
    badgeSlot.replaceChildren(statusBadge(status));
    cancel.hidden = FINISHED.has(status);
  };

  const run = await json('GET', `/api/v1/runs/${encodeURIComponent(id)}`, { signal });
  setStatus(String(run.status));
  renderDetails(details, run);
  if (typeof run.prompt === 'string') {
    prompt.textContent = run.prompt;
    prompt.hidden = false;
  }

  cancel.addEventListener('click', async () => {
    /** @type {HTMLButtonElement} */ (cancel).disabled = true;
    try {
      const after = await json('POST', `/api/v1/runs/${encodeURIComponent(id)}/cancel`, { signal });
      if (after?.status) setStatus(String(after.status));
      notify('Run cancelled.');
    } catch (err) {
      notify(`Could not cancel: ${String(/** @type {Error} */ (err)?.message ?? err)}`, 'error');
    } finally {
      /** @type {HTMLButtonElement} */ (cancel).disabled = false;
    }
  });

  await followRun(id, {
    signal,
    onEvent: (e) => {
      if (e.type === 'status' && e.data?.status) setStatus(String(e.data.status));
      transcript.add(e);
    },
    onConnection: (state, detail) => {
      connection.textContent = state === 'live' ? 'live' : state === 'reconnecting' ? 'reconnecting…' : '';
      connection.className = `connection c-${state}`;
      if (detail) notify(`Events: ${detail}`, 'error');
    },
    isFinished: async () => {
      const now = await json('GET', `/api/v1/runs/${encodeURIComponent(id)}`, { signal });
      return FINISHED.has(now.status);
    },
  });
  if (signal.aborted) return;
  // The final record has the result, usage and timings the stream only summarised.
  const final = await json('GET', `/api/v1/runs/${encodeURIComponent(id)}`, { signal });
  setStatus(String(final.status));
  renderDetails(details, final);
  await showWebhooks(webhooks, id, signal);
}

/**
 * The run's webhook deliveries, when it has any (a webhookUrl, or its key's default).
 * @param {HTMLElement} section
 * @param {string} id
 * @param {AbortSignal} signal
 */
async function showWebhooks(section, id, signal) {
  const { deliveries } = await json('GET', `/api/v1/runs/${encodeURIComponent(id)}/webhooks`, { signal });
  if (!Array.isArray(deliveries) || deliveries.length === 0) return;
  section.replaceChildren(
    h('h2', {}, 'Webhook'),
    h(
      'ul',
      {},
      deliveries.map((/** @type {any} */ d) => {
        const attempts = Array.isArray(d.attempts) ? d.attempts : [];
        const last = attempts.at(-1);
        return h(
          'li',
          {},
          h('code', {}, String(d.url)),
          ` — ${d.state}, ${attempts.length} attempt${attempts.length === 1 ? '' : 's'}`,
          last ? ` (last: ${last.httpStatus ?? last.error ?? '?'}, ${formatTime(last.at)})` : '',
          d.nextAttemptAt ? `; next ${formatTime(d.nextAttemptAt)}` : '',
        );
      }),
    ),
  );
  section.hidden = false;
}

/**
 * @param {HTMLElement} dl
 * @param {any} run
 */
function renderDetails(dl, run) {
  const usage = run.usage ?? run.result?.usage;
  const cost = run.cost ?? run.costUsd ?? run.result?.totalCostUsd;
  const sessionId = run.sessionId ?? run.result?.sessionId;
  /** @type {Array<[string, unknown]>} */
  const rows = [
    ['Workspace', run.workspace],
    ['Created', formatTime(run.createdAt)],
    ['Started', formatTime(run.startedAt ?? run.timings?.startedAt)],
    ['Finished', formatTime(run.finishedAt ?? run.timings?.finishedAt)],
    ['Model', run.model],
    ['Session', sessionId],
    ['Tokens', usage ? `${usage.inputTokens ?? 0} in / ${usage.outputTokens ?? 0} out` : undefined],
    [
      'Cost',
      typeof cost === 'number'
        ? `$${cost.toFixed(4)}`
        : typeof cost === 'object' && cost
          ? JSON.stringify(cost)
          : undefined,
    ],
    ['Sandbox', typeof run.sandbox === 'object' && run.sandbox ? JSON.stringify(run.sandbox) : run.sandbox],
    ['Tier', run.tier],
    [
      'Error',
      typeof run.error === 'object' && run.error
        ? (run.error.message ?? JSON.stringify(run.error))
        : run.error,
    ],
  ];
  dl.replaceChildren(
    ...rows
      .filter(([, v]) => v !== undefined && v !== null && v !== '')
      .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]),
  );
}
