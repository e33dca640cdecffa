import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { makeTempDir } from '../helpers/temp.ts';

/**
 * A machine without a working sandbox (bubblewrap and socat hidden from PATH): the server
 * must not run agents unconfined for anyone but a local, unproxied caller.
 */
const KEY = 'fail-closed-key-9e1b';

async function withoutSandboxTools(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  // Only node: no bwrap, no socat.
  await symlink(process.execPath, join(bin, 'node'));
  return bin;
}

function startServer(env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: process.cwd(),
    env: { ...env, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the URL once the server logs it, or rejects with its output when it exits first. */
function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(Object.assign(new Error(out), { code })));
  });
}

describe('no sandbox: fail closed', { timeout: 120_000 }, () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  test('a non-loopback HOST refuses to start, naming the fix', async () => {
    const temp = await makeTempDir();
    try {
      const bin = await withoutSandboxTools(temp.dir);
      const child = startServer({ PATH: bin, HOST: '0.0.0.0', PORT: '0', DATA_DIR: join(temp.dir, 'data') });
      children.push(child);
      const err = (await listening(child).then(
        () => assert.fail('the server started'),
        (e: Error & { code: number }) => e,
      )) as Error & { code: number };
      assert.equal(err.code, 1);
      assert.match(err.message, /AGENT_SANDBOX/);
      assert.match(err.message, /apt-get install bubblewrap socat/);
      assert.match(err.message, /AGENT_SANDBOX=none/);
    } finally {
      await temp.cleanup();
    }
  });

  test('on loopback it serves local callers unconfined, says so, and refuses proxied ones', async () => {
    const temp = await makeTempDir();
    const bin = await withoutSandboxTools(temp.dir);
    const child = startServer({
      PATH: bin,
      HOST: '127.0.0.1',
      PORT: '0',
      POOL_SIZE: '0',
      API_KEYS: KEY,
      DATA_DIR: join(temp.dir, 'data'),
    });
    children.push(child);
    try {
      const url = await listening(child);
      const health = (await (await fetch(`${url}/health`)).json()) as {
        sandbox: string;
        sandboxNote: string;
      };
      assert.equal(health.sandbox, 'none');
      assert.match(health.sandboxNote, /local, unproxied callers only/);
      const run = (headers: Record<string, string>) =>
        fetch(`${url}/run`, {
          method: 'POST',
          headers: { 'x-api-key': KEY, 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ prompt: 'hello' }),
        });
      const proxiedHeaders: Record<string, string>[] = [
        { 'x-forwarded-for': '203.0.113.9' },
        { forwarded: 'for=203.0.113.9' },
        { 'cf-connecting-ip': '203.0.113.9' },
      ];
      for (const proxied of proxiedHeaders) {
        const res = await run(proxied);
        assert.equal(res.status, 503, JSON.stringify(proxied));
        const body = (await res.json()) as { success: boolean; error: string };
        assert.equal(body.success, false);
        assert.match(body.error, /apt-get install bubblewrap socat|AGENT_SANDBOX=none/);
      }
      const local = await run({});
      assert.equal(local.status, 200);
      assert.equal(((await local.json()) as { output: string }).output, 'Echo: hello');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await temp.cleanup();
    }
  });
});
