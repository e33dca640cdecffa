// @ts-check
import { filePath, json, seg, send } from './api.js';
import { formatBytes, formatTime, h, notify } from './dom.js';

/** Files larger than this are offered for download only, not shown. */
const VIEW_MAX_BYTES = 1024 * 1024;

/**
 * The caller's workspaces and their files, over the files API (/claudebox/files): a key
 * sees its own user's workspaces, the ones its runs work in.
 * @param {HTMLElement} main
 * @param {string[]} params
 * @param {AbortSignal} signal
 */
export async function showFiles(main, params, signal) {
  const workspace = params[0];
  if (workspace === undefined) return showWorkspaces(main, signal);
  return showWorkspace(main, workspace, signal);
}

/**
 * @param {HTMLElement} main
 * @param {AbortSignal} signal
 */
async function showWorkspaces(main, signal) {
  const list = h('ul', { class: 'workspaces', 'aria-label': 'Workspaces' });
  const name = h('input', {
    id: 'open-workspace',
    type: 'text',
    required: true,
    autocomplete: 'off',
    placeholder: 'default',
  });
  const form = h(
    'form',
    { class: 'inline-form', action: '#', method: 'post' },
    h('label', { for: 'open-workspace' }, 'Open workspace'),
    name,
    h('button', { type: 'submit' }, 'Open'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const ws = /** @type {HTMLInputElement} */ (name).value.trim() || 'default';
    location.hash = `#/files/${seg(ws)}`;
  });
  main.replaceChildren(h('h1', { tabindex: '-1' }, 'Files'), form, h('h2', {}, 'Your workspaces'), list);
  const body = await json('GET', '/claudebox/files', { signal });
  /** @type {any[]} */
  const workspaces = Array.isArray(body.workspaces) ? body.workspaces : [];
  if (workspaces.length === 0)
    list.append(h('li', { class: 'empty' }, 'No workspaces yet: a run or an upload creates one.'));
  for (const ws of workspaces) {
    list.append(
      h(
        'li',
        {},
        h('a', { href: `#/files/${seg(String(ws.name))}` }, String(ws.name)),
        h('span', { class: 'meta' }, formatTime(ws.mtime)),
      ),
    );
  }
}

/**
 * @param {HTMLElement} main
 * @param {string} workspace
 * @param {AbortSignal} signal
 */
async function showWorkspace(main, workspace, signal) {
  const base = `/claudebox/files/${seg(workspace)}`;
  const table = h('tbody');
  const viewer = h('section', { class: 'viewer', 'aria-label': 'File viewer', hidden: true });
  const fileInput = h('input', { id: 'upload-file', type: 'file', required: true });
  const dirInput = h('input', {
    id: 'upload-dir',
    type: 'text',
    placeholder: '(top level)',
    autocomplete: 'off',
  });
  const uploadButton = h('button', { type: 'submit' }, 'Upload');
  const upload = h(
    'form',
    { class: 'card upload', action: '#', method: 'post' },
    h('h2', {}, 'Upload'),
    h('label', { for: 'upload-file' }, 'File'),
    fileInput,
    h('label', { for: 'upload-dir' }, 'Into folder'),
    dirInput,
    uploadButton,
  );

  const load = async () => {
    const body = await json('GET', base, { signal });
    /** @type {any[]} */
    const files = Array.isArray(body.files) ? body.files : [];
    table.replaceChildren(
      ...files.map((f) => {
        const path = String(f.path);
        return h(
          'tr',
          { 'data-path': path },
          h('td', { class: 'path' }, path),
          h('td', { class: 'num' }, formatBytes(Number(f.size ?? 0))),
          h('td', { class: 'when' }, formatTime(f.mtime)),
          h(
            'td',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                'aria-label': `View ${path}`,
                onclick: () => void view(f),
              },
              'View',
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                'aria-label': `Download ${path}`,
                onclick: () => void download(path),
              },
              'Download',
            ),
          ),
        );
      }),
    );
    if (files.length === 0) table.append(h('tr', {}, h('td', { colspan: '4', class: 'empty' }, 'No files.')));
  };

  /** @param {any} f */
  const view = async (f) => {
    const path = String(f.path);
    viewer.hidden = false;
    const heading = h('h2', { tabindex: '-1' }, path);
    if (Number(f.size) > VIEW_MAX_BYTES) {
      viewer.replaceChildren(
        heading,
        h('p', {}, `Too large to show here (${formatBytes(Number(f.size))}): download it.`),
      );
      heading.focus();
      return;
    }
    const res = await send('GET', `${base}/${filePath(path)}`, { signal });
    const type = res.headers.get('content-type') ?? '';
    const bytes = new Uint8Array(await res.arrayBuffer());
    const text = decodeText(type, bytes);
    viewer.replaceChildren(
      heading,
      text === undefined
        ? h('p', {}, `Binary file (${type || 'unknown type'}): download it to open it.`)
        : h('pre', { class: 'file-content', tabindex: '0' }, text),
    );
    heading.focus();
  };

  /** @param {string} path */
  const download = async (path) => {
    const res = await send('GET', `${base}/${filePath(path)}`, { signal });
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: path.split('/').pop() ?? 'download', hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };

  upload.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = /** @type {HTMLInputElement} */ (fileInput).files?.[0];
    if (!file) {
      notify('Choose a file to upload.', 'error');
      fileInput.focus();
      return;
    }
    const dir = /** @type {HTMLInputElement} */ (dirInput).value.trim().replace(/^\/+|\/+$/g, '');
    const path = dir ? `${dir}/${file.name}` : file.name;
    /** @type {HTMLButtonElement} */ (uploadButton).disabled = true;
    try {
      await send('PUT', `${base}/${filePath(path)}`, {
        body: file,
        headers: { 'content-type': file.type || 'application/octet-stream' },
        signal,
      });
      notify(`Uploaded ${path}.`);
      /** @type {HTMLFormElement} */ (upload).reset();
      await load();
    } catch (err) {
      notify(`Upload failed: ${String(/** @type {Error} */ (err)?.message ?? err)}`, 'error');
    } finally {
      /** @type {HTMLButtonElement} */ (uploadButton).disabled = false;
    }
  });

  main.replaceChildren(
    h('p', { class: 'back' }, h('a', { href: '#/files' }, '← Workspaces')),
    h('h1', { tabindex: '-1' }, 'Workspace ', h('code', {}, workspace)),
    h('p', {}, h('a', { href: `#/chat/${seg(workspace)}` }, 'Chat in this workspace')),
    upload,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'files' },
        h('caption', {}, 'Files'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Path'),
            h('th', { scope: 'col' }, 'Size'),
            h('th', { scope: 'col' }, 'Modified'),
            h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')),
          ),
        ),
        table,
      ),
    ),
    viewer,
  );
  // A workspace nothing has written to yet does not exist (an upload or a run creates it):
  // ask the list first rather than fetch a 404.
  const { workspaces } = await json('GET', '/claudebox/files', { signal });
  const exists = Array.isArray(workspaces) && workspaces.some((/** @type {any} */ w) => w.name === workspace);
  if (exists) await load();
  else
    table.replaceChildren(
      h(
        'tr',
        {},
        h('td', { colspan: '4', class: 'empty' }, 'Empty workspace: upload a file or run an agent here.'),
      ),
    );
}

/**
 * The bytes as text when they are text (declared so, or valid UTF-8 without NULs).
 * @param {string} type
 * @param {Uint8Array} bytes
 * @returns {string | undefined}
 */
function decodeText(type, bytes) {
  const isTextType = /^text\/|json|xml|javascript|yaml|toml/.test(type);
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (isTextType || !text.includes('\u0000')) return text;
  } catch {
    // not UTF-8
  }
  return undefined;
}
