import { randomUUID } from 'node:crypto';
import { type FileHandle, lstat, rename, unlink } from 'node:fs/promises';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors.ts';
import { detectContentType, SNIFF_BYTES } from '../storage/content-type.ts';
import { assertDescriptorAt, type DirFd, symlinkError } from './dir-fd.ts';
import type { WorkspaceFs } from './workspace-fs.ts';

/** An open workspace file, ready to stream; the caller must consume or destroy `stream`. */
export interface OpenedFile {
  stream: Readable;
  size: number;
  mtime: Date;
  contentType: string;
}

/**
 * Opens a workspace file for streaming. The file is opened relative to its parent's
 * descriptor without following a link, and before a byte is read the descriptor must be a
 * regular file that is, right now, at the path the caller named. The type is sniffed from
 * the first bytes of the same descriptor, so what is labelled is what is sent.
 */
export async function openWorkspaceFile(
  fs: WorkspaceFs,
  workspace: string,
  filePath: string,
): Promise<OpenedFile> {
  const { dir, name } = await fs.openParent(workspace, filePath);
  let fh: FileHandle;
  try {
    fh = await dir.openFileForRead(name);
  } finally {
    await dir.close();
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new AppError('invalid_request', `"${filePath}" is not a file`);
    await assertDescriptorAt(fh, `${dir.expectedPath}/${name}`);
    const head = Buffer.alloc(Math.min(SNIFF_BYTES, st.size));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const contentType = await detectContentType(head.subarray(0, bytesRead));
    const stream = fh.createReadStream({ start: 0, autoClose: true });
    return { stream, size: st.size, mtime: st.mtime, contentType };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Streams `source` into a workspace file: parent directories are created, bytes go to a
 * temp file created in the parent's descriptor (same directory, so the rename is atomic)
 * and are counted as they arrive, so an over-size body is cut off without ever being held
 * in memory. A failed upload leaves the previous version untouched. The temp file is
 * created and renamed through the parent's descriptor, which must still be at the named
 * path before the rename: a directory swapped or moved meanwhile redirects nothing.
 */
export async function writeWorkspaceFile(
  fs: WorkspaceFs,
  workspace: string,
  filePath: string,
  source: Readable,
  maxBytes: number,
): Promise<{ size: number }> {
  const { dir, name } = await fs.openParent(workspace, filePath, { create: true });
  try {
    return await writeInto(dir, name, filePath, source, maxBytes);
  } finally {
    await dir.close();
  }
}

async function writeInto(
  dir: DirFd,
  name: string,
  filePath: string,
  source: Readable,
  maxBytes: number,
): Promise<{ size: number }> {
  const existing = await lstat(dir.at(name)).catch(() => undefined);
  if (existing?.isDirectory()) throw new AppError('conflict', `"${filePath}" is a directory`);
  if (existing?.isSymbolicLink()) throw symlinkError();
  await dir.assertStillAt();
  const temp = `.${name.slice(0, 200)}.${randomUUID()}.upload`;
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) done(new AppError('payload_too_large', `Files are limited to ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
  const fh = await dir.createExclusive(temp, 0o640).catch((err: unknown) => {
    throw fsError(err, filePath, 'conflict');
  });
  // The source is piped, not pipelined: an over-size body must not destroy the request
  // (that would kill the socket before the 413 is sent); the route closes the connection instead.
  let isSourceDone = false;
  source.once('end', () => {
    isSourceDone = true;
  });
  source.once('error', (err) => meter.destroy(err));
  source.once('close', () => {
    if (!isSourceDone) meter.destroy(new AppError('invalid_request', 'The upload was interrupted'));
  });
  source.pipe(meter);
  try {
    await pipeline(meter, fh.createWriteStream());
    await dir.assertStillAt();
    // rename(2) replaces a link at `name` rather than writing through it; a directory there fails.
    await rename(dir.at(temp), dir.at(name));
    return { size };
  } catch (err) {
    await unlink(dir.at(temp)).catch(() => {});
    throw fsError(err, filePath, 'conflict');
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Deletes one file (never a directory, never through a link), relative to its parent's descriptor. */
export async function deleteWorkspaceFile(
  fs: WorkspaceFs,
  workspace: string,
  filePath: string,
): Promise<void> {
  const { dir, name } = await fs.openParent(workspace, filePath);
  try {
    const st = await lstat(dir.at(name));
    if (st.isDirectory()) throw new AppError('invalid_request', `"${filePath}" is a directory`);
    if (st.isSymbolicLink()) throw symlinkError();
    await dir.assertStillAt();
    // unlink(2) removes the name itself: were it swapped for a link, the link goes, not its target.
    await unlink(dir.at(name));
  } catch (err) {
    throw fsError(err, filePath, 'invalid_request');
  } finally {
    await dir.close();
  }
}

function fsError(err: unknown, filePath: string, isDirectoryCode: 'conflict' | 'invalid_request'): unknown {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new AppError('not_found', `No file "${filePath}"`);
  if (code === 'ELOOP') return symlinkError();
  if (code === 'EISDIR') return new AppError(isDirectoryCode, `"${filePath}" is a directory`);
  return err;
}
