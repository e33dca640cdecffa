import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { ConfigError, ConfigSource, parseConfig } from '../../src/config/index.ts';

describe('config', () => {
  test('defaults match the README', () => {
    const c = parseConfig({});
    assert.equal(c.PORT, 8080);
    assert.equal(c.HOST, '127.0.0.1');
    assert.equal(c.POOL_SIZE, 1);
    assert.equal(c.RUN_TIMEOUT_MS, 120_000);
    assert.equal(c.CLAUDE_MODEL, 'claude-sonnet-4-6');
    assert.deepEqual(
      c.buckets.map((b) => [b.name, b.isPublic, b.ttlMs]),
      [['uploads', true, 168 * 3_600_000]],
    );
  });

  test('a bad value names its variable', () => {
    assert.throws(
      () => parseConfig({ POOL_SIZE: 'many' }),
      (err: unknown) =>
        err instanceof ConfigError && err.variable === 'POOL_SIZE' && /POOL_SIZE/.test(err.message),
    );
    assert.throws(() => parseConfig({ ANTHROPIC_BASE_URL: 'not a url' }), /ANTHROPIC_BASE_URL/);
    assert.throws(() => parseConfig({ HYBRIDS3_UPLOADS_TTL: 'soon' }), /HYBRIDS3_UPLOADS_TTL/);
    assert.throws(() => parseConfig({ USE_CLAUDE_API_KEY: 'maybe' }), /USE_CLAUDE_API_KEY/);
  });

  test('reload picks up a rotated secret and keeps the old config on a bad value', () => {
    const env: Record<string, string | undefined> = { CLAUDEOPS_CHAT_API_KEY: 'one' };
    const source = ConfigSource.fromValues(env);
    env.CLAUDEOPS_CHAT_API_KEY = 'two';
    assert.equal(source.reload().CLAUDEOPS_CHAT_API_KEY, 'two');
    env.PORT = 'eighty';
    assert.throws(() => source.reload(), /PORT/);
    assert.equal(source.current().CLAUDEOPS_CHAT_API_KEY, 'two');
  });

  test('start-up with a bad value prints one clear line and exits non-zero', () => {
    const res = spawnSync(process.execPath, ['bin/agentgate.js', 'serve'], {
      env: { ...process.env, PORT: 'eighty' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(res.status, 1);
    const lines = res.stderr.trim().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0] ?? '', /^agentgate: Invalid PORT: /);
  });
});
