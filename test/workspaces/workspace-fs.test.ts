import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { AppError } from '../../src/errors.ts';
import {
  deleteWorkspaceFile,
  openWorkspaceFile,
  writeWorkspaceFile,
} from '../../src/workspaces/file-streams.ts';
import { assertNoEncodedSeparators, parseFilePath, parseWorkspaceName } from '../../src/workspaces/names.ts';
import { WorkspaceFs } from '../../src/workspaces/workspace-fs.ts';
import { makeTempDir } from '../helpers/temp.ts';

/** Names that must never resolve to anything (each would leave the workspace or be ambiguous). */
export const TRAVERSAL_CORPUS = [
  '..',
  '../etc',
  'a/../../etc',
  '/etc/passwd',
  '/',
  '.',
  './a',
  'a/./b',
  'a//b',
  'a\\..\\b',
  '..\\etc',
  'a\u0000b',
  'a\nb',
  '',
  '.hidden/../..',
];

const isInvalid = (err: unknown) => err instanceof AppError && err.code === 'invalid_request';

describe('WorkspaceFs', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let fs: WorkspaceFs;
  before(async () => {
    ({ dir, cleanup } = await makeTempDir());
    fs = new WorkspaceFs(join(dir, 'workspaces'));
    await fs.init();
  });
  after(async () => cleanup());

  test('accepts relative names of safe segments', async () => {
    assert.deepEqual(parseWorkspaceName('myproject'), ['myproject']);
    assert.deepEqual(parseWorkspaceName('a/b'), ['a', 'b']);
    const abs = await fs.ensure('users/alice/proj');
    assert.equal(abs, join(dir, 'workspaces/users/alice/proj'));
  });

  for (const name of TRAVERSAL_CORPUS) {
    test(`refuses workspace name ${JSON.stringify(name)}`, async () => {
      await assert.rejects(fs.ensure(name), isInvalid);
    });
    test(`refuses file path ${JSON.stringify(name)} to read, write and delete`, async () => {
      await assert.rejects(openWorkspaceFile(fs, 'ok', name), isInvalid);
      await assert.rejects(writeWorkspaceFile(fs, 'ok', name, Readable.from(['x']), 10), isInvalid);
      await assert.rejects(deleteWorkspaceFile(fs, 'ok', name), isInvalid);
    });
  }

  test('refuses encoded separators and dot segments in raw URLs', () => {
    for (const raw of [
      '/files/ws/a%2Fb',
      '/files/ws/a%2fb',
      '/files/ws/%2e%2e/x',
      '/files/ws/..%2Fx',
      '/f/a%5Cb',
      '/f/%00',
    ]) {
      assert.throws(() => assertNoEncodedSeparators(raw), isInvalid, raw);
    }
    assert.doesNotThrow(() => assertNoEncodedSeparators('/files/ws/a%20b.txt?x=%2F'));
  });

  test('refuses paths through a symlink, even one planted inside the workspace', async () => {
    const ws = await fs.ensure('victim');
    await mkdir(join(dir, 'outside'), { recursive: true });
    await writeFile(join(dir, 'outside/secret.txt'), 'secret');
    await symlink(join(dir, 'outside'), join(ws, 'link'));
    await assert.rejects(openWorkspaceFile(fs, 'victim', 'link/secret.txt'), isInvalid);
    await assert.rejects(
      writeWorkspaceFile(fs, 'victim', 'link/secret.txt', Readable.from(['pwned']), 10),
      isInvalid,
    );
    await assert.rejects(deleteWorkspaceFile(fs, 'victim', 'link/secret.txt'), isInvalid);
    assert.equal(await readFile(join(dir, 'outside/secret.txt'), 'utf8'), 'secret');
    await symlink(join(dir, 'outside'), join(dir, 'workspaces/linked-ws'));
    await assert.rejects(fs.ensure('linked-ws'), isInvalid);
    const listed = await fs.list('victim');
    assert.ok(!listed.some((e) => e.path.startsWith('link')), 'listing does not follow links');
  });

  test('a FIFO planted in a workspace is refused at once, not waited on', async () => {
    // Opening a FIFO for reading blocks until a writer comes: one such GET per thread-pool
    // thread would stall every file operation of the server.
    const ws = await fs.ensure('fifo');
    execFileSync('mkfifo', [join(ws, 'pipe')]);
    await assert.rejects(openWorkspaceFile(fs, 'fifo', 'pipe'), isInvalid);
    assert.deepEqual(await fs.list('fifo'), [], 'a FIFO is not listed as a file');
  });

  test('a directory moved out of the workspace after the walk is refused before bytes move', async () => {
    const ws = await fs.ensure('moving');
    await mkdir(join(ws, 'sub'));
    await writeFile(join(ws, 'sub/f.txt'), 'x');
    const { dir: parent, name } = await fs.openParent('moving', 'sub/f.txt');
    try {
      await parent.assertStillAt();
      assert.equal(name, 'f.txt');
      await rename(join(ws, 'sub'), join(dir, 'moved-out'));
      await assert.rejects(
        parent.assertStillAt(),
        (err: unknown) => err instanceof AppError && err.code === 'conflict',
      );
    } finally {
      await parent.close();
    }
  });

  test('writing below an existing file is a conflict, and the file stays', async () => {
    await writeWorkspaceFile(fs, 'clash', 'file.txt', Readable.from(['keep']), 10);
    await assert.rejects(
      writeWorkspaceFile(fs, 'clash', 'file.txt/x', Readable.from(['y']), 10),
      (err: unknown) => err instanceof AppError && err.code === 'conflict',
    );
    const file = await openWorkspaceFile(fs, 'clash', 'file.txt');
    const parts: Buffer[] = [];
    for await (const c of file.stream) parts.push(c as Buffer);
    assert.equal(Buffer.concat(parts).toString(), 'keep');
  });

  test('parseFilePath keeps dotfiles but not dot segments', () => {
    assert.deepEqual(parseFilePath('.gitignore'), ['.gitignore']);
    assert.deepEqual(parseFilePath('src/.env.example'), ['src', '.env.example']);
  });
});
