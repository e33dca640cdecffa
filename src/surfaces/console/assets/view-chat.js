// @ts-check
import { json, seg } from './api.js';
import { h, notify } from './dom.js';
import { FINISHED, followRun } from './events.js';
import { Transcript } from './transcript.js';

/**
 * @typedef {{ prompt: string, runId: string }} Turn
 * @typedef {{ sessionName?: string, turns: Turn[] }} Conversation
 */

/** @param {string} workspace */
function itemOf(workspace) {
  return `agentgate.chat.${workspace}`;
}

/** @param {string} workspace @returns {Conversation} */
function loadConversation(workspace) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(itemOf(workspace)) ?? 'null');
    if (saved && Array.isArray(saved.turns)) return saved;
  } catch {
    // a damaged entry starts a new conversation
  }
  return { turns: [] };
}

/** @param {string} workspace @param {Conversation} c */
function saveConversation(workspace, c) {
  sessionStorage.setItem(itemOf(workspace), JSON.stringify(c));
}

/**
 * A chat with an agent in one workspace: each message is a run that continues the
 * conversation's session: the Runs API's `sessionId` is a session name of the caller's,
 * created on first use, so the console names one per conversation and sends it with every
 * message. The conversation (that name and its run ids) is kept in sessionStorage, so a
 * reload replays it.
 * @param {HTMLElement} main
 * @param {string[]} params
 * @param {AbortSignal} signal
 */
export async function showChat(main, params, signal) {
  const workspace = params[0];
  if (workspace === undefined) return pickWorkspace(main, signal);

  let conversation = loadConversation(workspace);
  const log = h('ol', { class: 'chat-log', 'aria-label': 'Conversation' });
  const input = h('textarea', {
    id: 'chat-input',
    rows: '3',
    required: true,
    'aria-describedby': 'chat-help',
  });
  const sendButton = h('button', { type: 'submit', id: 'chat-send' }, 'Send');
  const stopButton = h('button', { type: 'button', class: 'danger', hidden: true }, 'Stop');
  const session = h('p', { class: 'meta session' });
  const form = h(
    'form',
    { class: 'chat-form', action: '#', method: 'post' },
    h('label', { for: 'chat-input' }, 'Message'),
    input,
    h('p', { id: 'chat-help', class: 'hint' }, 'Ctrl+Enter sends.'),
    h('div', { class: 'row-buttons' }, sendButton, stopButton),
  );
  const fresh = h('button', { type: 'button', class: 'secondary' }, 'New conversation');
  main.replaceChildren(
    h('p', { class: 'back' }, h('a', { href: '#/chat' }, '← Workspaces')),
    h('h1', { tabindex: '-1' }, 'Chat in ', h('code', {}, workspace)),
    h('div', { class: 'run-bar' }, session, fresh),
    log,
    form,
  );

  const showSession = () => {
    session.textContent = conversation.sessionName ? `Session ${conversation.sessionName}` : 'New session';
  };
  showSession();
  /** @type {string | undefined} */
  let activeRun;

  /**
   * @param {Turn} turn
   * @param {boolean} isLatest
   */
  const renderTurn = async (turn, isLatest) => {
    const transcript = new Transcript({ compact: true });
    const status = h('span', { class: 'meta' });
    log.append(
      h(
        'li',
        { class: 'msg user' },
        h('span', { class: 'sr-only' }, 'You: '),
        h('div', { class: 'bubble' }, turn.prompt),
      ),
      h(
        'li',
        { class: 'msg agent', 'data-run-id': turn.runId },
        h('span', { class: 'sr-only' }, 'Agent: '),
        h('div', { class: 'bubble' }, transcript.el),
        h('a', { href: `#/runs/${encodeURIComponent(turn.runId)}`, class: 'meta' }, 'run details'),
        ' ',
        status,
      ),
    );
    if (isLatest) {
      activeRun = turn.runId;
      stopButton.hidden = false;
    }
    await followRun(turn.runId, {
      signal,
      onEvent: (e) => {
        transcript.add(e);
        if (e.type === 'status' && FINISHED.has(e.data?.status))
          status.textContent = e.data.status === 'succeeded' ? '' : e.data.status;
      },
      isFinished: async () =>
        FINISHED.has(
          (await json('GET', `/api/v1/runs/${encodeURIComponent(turn.runId)}`, { signal })).status,
        ),
    });
    if (isLatest && activeRun === turn.runId) {
      activeRun = undefined;
      stopButton.hidden = true;
    }
  };

  const sendMessage = async () => {
    const prompt = /** @type {HTMLTextAreaElement} */ (input).value;
    if (!prompt.trim()) {
      input.focus();
      return;
    }
    if (activeRun) {
      notify('Wait for the agent to answer, or stop it.', 'error');
      return;
    }
    /** @type {HTMLButtonElement} */ (sendButton).disabled = true;
    try {
      const sessionName = conversation.sessionName ?? `console-${crypto.randomUUID()}`;
      const body = { prompt, workspace, sessionId: sessionName };
      const run = await json('POST', '/api/v1/runs', { body, signal });
      /** @type {HTMLTextAreaElement} */ (input).value = '';
      const turn = { prompt, runId: String(run.id) };
      conversation.sessionName = sessionName;
      showSession();
      conversation.turns.push(turn);
      saveConversation(workspace, conversation);
      void renderTurn(turn, true).catch(report);
    } catch (err) {
      report(err);
    } finally {
      /** @type {HTMLButtonElement} */ (sendButton).disabled = false;
      input.focus();
    }
  };
  /** @param {unknown} err */
  const report = (err) => {
    if (!signal.aborted) notify(String(/** @type {Error} */ (err)?.message ?? err), 'error');
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void sendMessage();
  });
  input.addEventListener('keydown', (event) => {
    const e = /** @type {KeyboardEvent} */ (event);
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void sendMessage();
    }
  });
  stopButton.addEventListener('click', async () => {
    if (!activeRun) return;
    try {
      await json('POST', `/api/v1/runs/${encodeURIComponent(activeRun)}/cancel`, { signal });
    } catch (err) {
      report(err);
    }
  });
  fresh.addEventListener('click', () => {
    conversation = { turns: [] };
    saveConversation(workspace, conversation);
    log.replaceChildren();
    showSession();
    input.focus();
  });

  conversation.turns.forEach((turn, index) => {
    void renderTurn(turn, index === conversation.turns.length - 1).catch(report);
  });
}

/**
 * @param {HTMLElement} main
 * @param {AbortSignal} signal
 */
async function pickWorkspace(main, signal) {
  const name = h('input', {
    id: 'chat-workspace',
    type: 'text',
    list: 'chat-workspaces',
    autocomplete: 'off',
    placeholder: 'default',
  });
  const options = h('datalist', { id: 'chat-workspaces' });
  const list = h('ul', { class: 'workspaces', 'aria-label': 'Your workspaces' });
  const form = h(
    'form',
    { class: 'inline-form', action: '#', method: 'post' },
    h('label', { for: 'chat-workspace' }, 'Workspace'),
    name,
    options,
    h('button', { type: 'submit' }, 'Chat'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    location.hash = `#/chat/${seg(/** @type {HTMLInputElement} */ (name).value.trim() || 'default')}`;
  });
  main.replaceChildren(
    h('h1', { tabindex: '-1' }, 'Chat'),
    h('p', {}, 'Talk to an agent working in one of your workspaces; it remembers the conversation.'),
    form,
    list,
  );
  try {
    const body = await json('GET', '/claudebox/files', { signal });
    for (const ws of Array.isArray(body.workspaces) ? body.workspaces : []) {
      options.append(h('option', { value: String(ws.name) }));
      list.append(h('li', {}, h('a', { href: `#/chat/${seg(String(ws.name))}` }, String(ws.name))));
    }
  } catch {
    // the picker still works by name
  }
}
