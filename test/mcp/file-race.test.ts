import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { claudeboxSurface } from '../../src/surfaces/claudebox/index.ts';
import { makeMcpSurface } from '../../src/surfaces/mcp/index.ts';
import { MASTER, TOKEN } from '../claudebox/claudebox-app.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import {
  assertHostDirIntact,
  isHostPasswd,
  makeHostDir,
  repeatConcurrently,
  startSymlinkSwapper,
} from '../workspaces/symlink-swapper.ts';

/** Refusals under the race: a link on the way, `dd` missing, or `dd` moved mid-call; never a crash. */
const CLEAR_REFUSAL = /^(invalid_request|not_found|conflict): /;

type Content = Array<{ type: string; text?: string; resource?: { blob?: string } }>;

/** Every text and blob of a tool result, so host content is caught in whatever shape it comes. */
function allText(res: CallToolResult): string {
  return (res.content as Content)
    .map((c) => (c.text ?? '') + Buffer.from(c.resource?.blob ?? '', 'base64').toString('utf8'))
    .join('\n');
}

/**
 * The symlink-swap attack of issue 13 against the MCP file tools, through the real MCP SDK
 * client: an agent in the workspace swaps directory `dd` with a link to a host directory
 * while the tools run.
 */
describe('MCP file tools under a symlink-swap loop', () => {
  let t: TestApp;
  let client: Client;
  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as CallToolResult;
  const wsDir = (ws: string) => join(t.dataDir, 'workspaces/users/claudebox', ws);

  before(async () => {
    t = await startTestApp({
      surfaces: [claudeboxSurface, makeMcpSurface({ idleMs: 60_000 })],
      env: { CLAUDEBOX_API_TOKEN: TOKEN, LITELLM_MASTER_KEY: MASTER },
    });
    client = new Client({ name: 'mcp-race-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${t.url}/claudebox/mcp/`), {
        requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
      }),
    );
  });
  after(async () => {
    await client?.close();
    await t?.close();
  });

  it('read_file and list_files never reach /etc (1,000 reads, 0 hits)', async () => {
    const mine = 'workspace copy, not the host\n';
    const w = await call('write_file', { workspace: 'mrace', path: 'dd/passwd', content: mine });
    assert.equal(w.isError ?? false, false, allText(w));
    const hostPasswd = await readFile('/etc/passwd', 'utf8');
    const swapper = startSymlinkSwapper({ workspaceDir: wsDir('mrace'), name: 'dd', target: '/etc' });
    let hits = 0;
    let served = 0;
    let swaps = 0;
    const unclear: string[] = [];
    try {
      await repeatConcurrently(1000, 4, async (i) => {
        const res = await call('read_file', { workspace: 'mrace', path: 'dd/passwd' });
        const text = allText(res);
        if (isHostPasswd(text, hostPasswd)) hits++;
        else if (!res.isError && text === mine) served++;
        else if (!CLEAR_REFUSAL.test(text)) unclear.push(text);
        if (i % 10 === 0) {
          const list = await call('list_files', { workspace: 'mrace' });
          const listed = allText(list);
          if (isHostPasswd(listed, hostPasswd)) hits++;
          if (!list.isError) {
            for (const f of (JSON.parse(listed) as { files: Array<{ path: string }> }).files) {
              if (!['dd/passwd', 'dd.parked/passwd'].includes(f.path)) hits++;
            }
          }
        }
      });
    } finally {
      swaps = await swapper.stop();
    }
    assert.ok(swaps > 0, 'the swap loop ran');
    assert.equal(hits, 0, 'no tool result carried host content or host file names');
    assert.ok(served > 0, 'reads that met the real directory were served');
    assert.deepEqual(unclear, [], 'refusals are clear errors, not crashes');
  });

  /** Runs `tool` 1,000 times while `dd` swaps with a link to a host directory; it must stay intact. */
  async function underSwaps(ws: string, tool: (i: number) => Promise<CallToolResult>): Promise<number> {
    const host = join(t.dataDir, `host-${ws}`);
    await makeHostDir(host);
    const w = await call('write_file', { workspace: ws, path: 'dd/victim.txt', content: 'workspace victim' });
    assert.equal(w.isError ?? false, false, allText(w));
    const swapper = startSymlinkSwapper({
      workspaceDir: wsDir(ws),
      name: 'dd',
      target: host,
      restore: { file: 'victim.txt', text: 'workspace victim' },
    });
    let swaps = 0;
    let ok = 0;
    const unclear: string[] = [];
    try {
      await repeatConcurrently(1000, 4, async (i) => {
        const res = await tool(i);
        if (!res.isError) ok++;
        else if (!CLEAR_REFUSAL.test(allText(res))) unclear.push(allText(res));
      });
    } finally {
      swaps = await swapper.stop();
    }
    assert.ok(swaps > 0, 'the swap loop ran');
    await assertHostDirIntact(host);
    assert.deepEqual(unclear, [], 'refusals are clear errors, not crashes');
    return ok;
  }

  it('write_file never writes outside through a swapped directory', async () => {
    const written = await underSwaps('mrace-put', (i) =>
      call('write_file', { workspace: 'mrace-put', path: 'dd/canary.txt', content: `pwned ${i}` }),
    );
    assert.ok(written > 0, 'writes that met the real directory went through');
  });

  it('delete_file never deletes outside through a swapped directory', async () => {
    const deleted = await underSwaps('mrace-delete', () =>
      call('delete_file', { workspace: 'mrace-delete', path: 'dd/victim.txt' }),
    );
    assert.ok(deleted > 0, 'deletes that met the real directory went through');
  });
});
