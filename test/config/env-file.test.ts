import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig, readEnvironment } from '../../src/config/index.ts';
import { makeTempDir } from '../helpers/temp.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('.env files', { timeout: 120_000 }, () => {
  test('./.env is read when present; the real environment wins over it', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      assert.deepEqual(readEnvironment({ PORT: '1' }, dir), { PORT: '1' }, 'no file: the environment alone');
      await writeFile(join(dir, '.env'), '# comment\nPOOL_SIZE=3\nPORT=9000\nOAUTH_SCOPES="a b"\n');
      const env = readEnvironment({ PORT: '8081' }, dir);
      const c = parseConfig(env);
      assert.equal(c.POOL_SIZE, 3, 'a value only in the file is used');
      assert.equal(c.PORT, 8081, 'the real environment wins');
      assert.equal(c.OAUTH_SCOPES, 'a b');
      assert.equal(c.ENV_FILE, join(dir, '.env'), 'the file read is named, so the sandbox can mask it');
    } finally {
      await cleanup();
    }
  });

  test('ENV_FILE names another file (relative to the working directory); a missing one is an error', async () => {
    const { dir, cleanup } = await makeTempDir();
    try {
      await writeFile(join(dir, '.env'), 'POOL_SIZE=3\n');
      await writeFile(join(dir, 'prod.env'), 'POOL_SIZE=5\n');
      assert.equal(parseConfig(readEnvironment({ ENV_FILE: 'prod.env' }, dir)).POOL_SIZE, 5);
      assert.throws(
        () => readEnvironment({ ENV_FILE: 'nope.env' }, dir),
        (err: unknown) =>
          err instanceof ConfigError && err.variable === 'ENV_FILE' && /ENOENT/.test(err.message),
      );
    } finally {
      await cleanup();
    }
  });

  test('agentgate serve reads ./.env at start-up and again on SIGHUP', async () => {
    const { dir, cleanup } = await makeTempDir();
    const envFile = join(dir, '.env');
    const settings = (key: string) =>
      `DATA_DIR=${join(dir, 'data')}\nPORT=0\nLOG_LEVEL=info\nPOOL_SIZE=0\nAGENT_SANDBOX=none\nCLAUDEOPS_CHAT_API_KEY=${key}\n`;
    await writeFile(envFile, settings('key-one'));
    // Run from the temp dir, so its .env is the ./.env; the environment carries no settings.
    const child = spawn(process.execPath, [join(ROOT, 'bin/agentgate.js'), 'serve'], {
      cwd: dir,
      env: { PATH: process.env.PATH },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 60_000);
        child.on('exit', () => reject(new Error(`server exited: ${stderr}`)));
        child.stdout.on('data', (d) => {
          stdout += d;
          const m = /"url":"(http:\/\/[^"]+)".*agentgate listening/.exec(stdout);
          if (m?.[1]) {
            clearTimeout(timer);
            resolve(m[1]);
          }
        });
      });
      const statusWith = async (key: string) =>
        (await fetch(`${url}/claudebox/openai/v1/models`, { headers: { authorization: `Bearer ${key}` } }))
          .status;
      assert.equal(await statusWith('key-one'), 200, 'the key from ./.env is in force');
      assert.equal(await statusWith('key-two'), 401);

      await writeFile(envFile, settings('key-two'));
      child.kill('SIGHUP');
      for (let i = 0; i < 100 && !/configuration reloaded/.test(stdout); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(await statusWith('key-two'), 200, 'SIGHUP re-read the file');
      assert.equal(await statusWith('key-one'), 401, 'the old key stopped working');
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
    } finally {
      child.kill('SIGKILL');
      await cleanup();
    }
  });
});
