import assert from 'node:assert/strict';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { claudeCodeApiSurface } from '../../src/surfaces/claude-code-api/index.ts';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import { storageSurface } from '../../src/surfaces/storage/index.ts';
import { startTestApp } from '../helpers/app.ts';

/** Every file and directory under `dir` whose mode lets group or others in. */
async function openToOthers(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const st = await lstat(path);
    if (st.isSymbolicLink()) continue;
    if ((st.mode & 0o077) !== 0) found.push(`${path} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) found.push(...(await openToOthers(path)));
  }
  return found;
}

test('everything under DATA_DIR is 0600 files and 0700 directories', async () => {
  const t = await startTestApp({
    surfaces: [claudeCodeApiSurface, claudeboxSurface, storageSurface],
    env: { API_KEYS: 'alice:sk-alice', CLAUDEBOX_API_TOKEN: 'box', HYBRIDS3_MASTER_KEY: 'master' },
  });
  try {
    const headers = { 'x-api-key': 'sk-alice', 'content-type': 'application/json' };
    // A run (agent home, workspace, a file the agent writes), user memory, a claudebox
    // workspace, a stored object: one of each thing DATA_DIR holds.
    const memory = await fetch(`${t.url}/user-claude`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ content: 'rules' }),
    });
    assert.equal(memory.status, 200);
    const run = await fetch(`${t.url}/run`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ prompt: '[[tool:Bash {"command":"echo hi > made.txt && mkdir sub"}]]' }),
    });
    assert.equal(run.status, 200);
    assert.equal(((await run.json()) as { success: boolean }).success, true);
    const box = await fetch(`${t.url}/claudebox/run`, {
      method: 'POST',
      headers: { authorization: 'Bearer box' },
      body: JSON.stringify({ prompt: 'hello', workspace: 'team/app' }),
    });
    assert.equal(box.status, 200);
    const put = await fetch(`${t.url}/storage/uploads/note.txt`, {
      method: 'PUT',
      headers: { authorization: 'Bearer master' },
      body: 'stored object',
    });
    assert.equal(put.status, 200);

    assert.equal((await stat(t.dataDir)).mode & 0o777, 0o700);
    const st = await stat(join(t.dataDir, 'agentgate.db'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.ok(
      (await stat(join(t.dataDir, 'workspaces', 'users', 'alice', 'oneshot-0', 'made.txt'))).isFile(),
    );
    assert.deepEqual(await openToOthers(t.dataDir), []);
  } finally {
    await t.close();
  }
});
