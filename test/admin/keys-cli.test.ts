import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { makeTempDir } from '../helpers/temp.ts';

const run = promisify(execFile);

/** `agentgate keys …` as an operator runs it; resolves with stdout, or rejects with the exit. */
async function keysCli(dataDir: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', 'keys', ...args], {
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
  });
  return stdout.trim();
}

describe('keys CLI: the keys API from a shell', { timeout: 180_000 }, () => {
  let temp: Awaited<ReturnType<typeof makeTempDir>>;
  before(async () => {
    temp = await makeTempDir();
  });
  after(async () => {
    await temp.cleanup();
  });

  it('create with scope flags, show, update (bad input changes nothing), rotate', async () => {
    const key = await keysCli(
      temp.dir,
      'create',
      '--user',
      'zoe',
      '--tier',
      'edit',
      '--surfaces',
      'claudebox,openai',
      '--models',
      '*sonnet*',
      '--rpm',
      '30',
      '--budget-usd',
      '2.5',
      '--budget-period',
      'day',
    );
    assert.match(key, /^agk_/);
    const id = (await keysCli(temp.dir, 'list')).split('\t')[0] ?? '';
    const shown = JSON.parse(await keysCli(temp.dir, 'show', id));
    assert.equal(shown.tier, 'edit');
    assert.deepEqual(shown.surfaces, ['claudebox', 'openai']);
    assert.equal(shown.rpm, 30);
    assert.equal(shown.budgetUsd, 2.5);
    assert.ok(!JSON.stringify(shown).includes(key));

    await assert.rejects(keysCli(temp.dir, 'update', id, '--tier', 'root', '--rpm', '1'), /tier/);
    await assert.rejects(keysCli(temp.dir, 'create', '--user', 'zoe', '--surfaces', 'ssh'), /surfaces/);
    assert.equal(JSON.parse(await keysCli(temp.dir, 'show', id)).rpm, 30, 'a refused update changed nothing');

    const updated = JSON.parse(await keysCli(temp.dir, 'update', id, '--no-rpm', '--tier', 'observe'));
    assert.equal(updated.rpm, null);
    assert.equal(updated.tier, 'observe');

    const rotated = await keysCli(temp.dir, 'rotate', id, '--grace-s', '0');
    assert.match(rotated, /^agk_/);
    assert.notEqual(rotated, key);
    assert.equal(JSON.parse(await keysCli(temp.dir, 'show', id)).previousKeyValidUntil, null);
  });
});
