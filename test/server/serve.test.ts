import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { waitForNoAgentProcesses } from '../helpers/processes.ts';
import { makeTempDir } from '../helpers/temp.ts';

test('agentgate serve: fake model announced, /health reports it, SIGTERM drains and exits 0', async () => {
  const { dir, cleanup } = await makeTempDir();
  const child = spawn(process.execPath, ['bin/agentgate.js', 'serve'], {
    // Unsandboxed, so a pre-started spare exists for shutdown to take down.
    env: {
      PATH: process.env.PATH,
      DATA_DIR: dir,
      PORT: '0',
      POOL_SIZE: '1',
      LOG_LEVEL: 'info',
      AGENT_SANDBOX: 'none',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    let stdout = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
      child.stdout.on('data', (d) => {
        stdout += d;
        const m = /"url":"(http:\/\/[^"]+)".*agentgate listening/.exec(stdout);
        if (m?.[1]) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    assert.match(stderr, /BUILT-IN FAKE MODEL/, 'the fake model is announced loudly');
    const health = await (await fetch(`${url}/health`)).json();
    assert.equal(health.model.isFake, true);
    assert.equal(health.model.method, 'fake');
    assert.equal(health.pool.size, 1);
    // Let the spare start, so shutdown has an agent process to take down.
    for (let i = 0; i < 100; i++) {
      const h = await (await fetch(`${url}/health`)).json();
      if (h.pool.idle === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    assert.deepEqual(await waitForNoAgentProcesses(dir), [], 'no agent process outlives the server');
  } finally {
    child.kill('SIGKILL');
    await cleanup();
  }
});
