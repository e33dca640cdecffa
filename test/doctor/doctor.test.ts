import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CheckResult } from '../../src/doctor/index.ts';
import { type FakeModel, startFakeModel } from '../../src/fake-model/server.ts';
import { makeTempDir } from '../helpers/temp.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const KEY = 'sk-doctor-test-secret-91c2';

/** `agentgate doctor` in a child with exactly `env`; its exit code and output. */
async function doctor(env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [join(ROOT, 'bin/agentgate.js'), 'doctor', ...args], {
    cwd: ROOT,
    env: { ENV_FILE: '/dev/null', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  return { code, output };
}

const byName = (results: CheckResult[]) => new Map(results.map((r) => [r.name, r]));

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

describe('agentgate doctor', { timeout: 120_000 }, () => {
  let fake: FakeModel;
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    fake = await startFakeModel();
    temp = await makeTempDir();
  });
  after(async () => {
    await fake.close();
    await temp.cleanup();
  });

  test('a healthy setup: every required check passes and it exits 0', async () => {
    const dataDir = join(temp.dir, 'healthy');
    const probe = createServer();
    const port = await listen(probe);
    await new Promise((r) => probe.close(r)); // a port known to be free
    const { code, output } = await doctor(
      {
        PATH: process.env.PATH ?? '',
        DATA_DIR: dataDir,
        PORT: String(port),
        ANTHROPIC_BASE_URL: fake.url,
        ANTHROPIC_API_KEY: KEY,
        AGENT_SANDBOX: 'none', // a warning on loopback, whatever this machine has
        CLAUDEOPS_CHAT_API_KEY: 'chat-key',
      },
      ['--json'],
    );
    const results = byName(JSON.parse(output) as CheckResult[]);
    assert.equal(code, 0, output);
    for (const name of ['node', 'config', 'model', 'data dir', 'port'])
      assert.equal(results.get(name)?.status, 'ok', `${name}: ${output}`);
    assert.equal(results.get('sandbox')?.status, 'warn');
    assert.equal(results.get('openai chat')?.status, 'on');
    assert.equal(results.get('claudebox-zai')?.status, 'off');
    assert.match(
      results.get('claudebox-zai')?.detail ?? '',
      /ZAI_API_KEY unset/,
      'says why a surface is off',
    );
    // Every surface has a line, the ones the later merges added too.
    for (const name of ['runs api', 'keys api', 'engine'])
      assert.equal(results.get(name)?.status, 'on', `${name}: ${output}`);
    assert.match(results.get('runs api')?.detail ?? '', /WEBHOOK_SECRET unset/);
    assert.match(results.get('engine')?.detail ?? '', /^embedded/);
    assert.ok(!output.includes(KEY), 'no secret in the output');
    const counted = fake.requests().filter((r) => r.url === '/v1/messages/count_tokens');
    assert.equal(counted.length, 1, 'the model was asked whether it answers these credentials');
  });

  test('an unhealthy setup: each failing line has a fix, and it exits non-zero', async () => {
    const dataDir = join(temp.dir, 'open-to-all');
    await mkdir(dataDir);
    await chmod(dataDir, 0o777);
    const holder = createServer();
    const port = await listen(holder); // the port is taken
    const closed = createServer();
    const deadPort = await listen(closed);
    await new Promise((r) => closed.close(r)); // nothing answers there
    try {
      const env = {
        PATH: '/nonexistent-agentgate-path', // no bwrap
        DATA_DIR: dataDir,
        PORT: String(port),
        ANTHROPIC_BASE_URL: `http://proxy-user:${KEY}@127.0.0.1:${deadPort}`, // a secret in the URL too
        ANTHROPIC_API_KEY: KEY,
        AGENT_SANDBOX: 'bwrap',
      };
      const { code, output } = await doctor(env, ['--json']);
      assert.equal(code, 1, output);
      const results = byName(JSON.parse(output) as CheckResult[]);
      for (const name of ['sandbox', 'model', 'data dir', 'port']) {
        assert.equal(results.get(name)?.status, 'fail', `${name}: ${output}`);
        assert.ok(results.get(name)?.fix, `${name} says how to fix it`);
      }
      assert.match(results.get('data dir')?.detail ?? '', /writable by everyone/);
      assert.match(results.get('port')?.detail ?? '', /in use/);
      // The table a person reads: the fix under the failing line, and the verdict last.
      const table = await doctor(env);
      assert.equal(table.code, 1);
      assert.match(table.output, /^port +fail +127\.0\.0\.1:\d+ in use.*\n +fix: +stop what listens there/m);
      assert.match(table.output, /4 required check\(s\) failed\n$/);
      assert.ok(!table.output.includes(KEY), 'no secret in the output');
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  test('a bad value is one failing line naming the variable', async () => {
    const { code, output } = await doctor({ PATH: process.env.PATH ?? '', PORT: 'eighty' }, ['--json']);
    assert.equal(code, 1);
    const config = byName(JSON.parse(output) as CheckResult[]).get('config');
    assert.equal(config?.status, 'fail');
    assert.match(config?.detail ?? '', /Invalid PORT/);
  });
});
