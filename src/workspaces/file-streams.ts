import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors.ts';
import { detectContentType, SNIFF_BYTES } from '../storage/content-type.ts';
import { OPEN_NOFOLLOW, type WorkspaceFs } from './workspace-fs.ts';

/** An open workspace file, ready to stream; the caller must consume or destroy `stream`. */
export interface OpenedFile {
  stream: Readable;
  size: number;
  mtime: Date;
  contentType: string;
}

/**
 * Opens a workspace file for streaming. O_NOFOLLOW refuses a symlink swapped in after the
 * resolver's check, and the type is sniffed from the first bytes of the same descriptor,
 * so what is labelled is what is sent.
 */
export async function openWorkspaceFile(
  fs: WorkspaceFs,
  workspace: string,
  filePath: string,
): Promise<OpenedFile> {
  const abs = await fs.resolveFile(workspace, filePath);
  let fh: FileHandle;
  try {
    fh = await open(abs, OPEN_NOFOLLOW);
  } catch (err) {
    throw fsError(err, filePath);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new AppError('invalid_request', `"${filePath}" is not a file`);
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
 * temp file beside the target (same filesystem, so the rename is atomic) and are counted
 * as they arrive, so an over-size body is cut off without ever being held in memory. A
 * failed upload leaves the previous version untouched.
 */
export async function writeWorkspaceFile(
  fs: WorkspaceFs,
  workspace: string,
  filePath: string,
  source: Readable,
  maxBytes: number,
): Promise<{ size: number }> {
  await fs.ensure(workspace);
  const abs = await fs.resolveFile(workspace, filePath);
  await mkdir(dirname(abs), { recursive: true, mode: 0o750 });
  // mkdir could have raced with a symlink planted on the way: resolve once more before writing.
  await fs.resolveFile(workspace, filePath);
  const existing = await lstat(abs).catch(() => undefined);
  if (existing?.isDirectory()) throw new AppError('conflict', `"${filePath}" is a directory`);
  const temp = join(dirname(abs), `.${basename(abs).slice(0, 200)}.${randomUUID()}.upload`);
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) done(new AppError('payload_too_large', `Files are limited to ${maxBytes} bytes`));
      else done(null, chunk);
    },
  });
  // O_EXCL never follows a link, and the temp name is fresh: nothing else can be written through it.
  const fh = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o640);
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
    await rename(temp, abs);
    return { size };
  } catch (err) {
    await unlink(temp).catch(() => {});
    throw err;
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Deletes one file (never a directory, never through a link). */
export async function deleteWorkspaceFile(
  fs: WorkspaceFs,
  workspace: string,
  filePath: string,
): Promise<void> {
  const abs = await fs.resolveFile(workspace, filePath);
  try {
    const st = await lstat(abs);
    if (st.isDirectory()) throw new AppError('invalid_request', `"${filePath}" is a directory`);
    await unlink(abs);
  } catch (err) {
    throw fsError(err, filePath);
  }
}

function fsError(err: unknown, filePath: string): unknown {
  if (err instanceof AppError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new AppError('not_found', `No file "${filePath}"`);
  if (code === 'ELOOP') return new AppError('invalid_request', 'Path goes through a symbolic link');
  if (code === 'EISDIR') return new AppError('invalid_request', `"${filePath}" is a directory`);
  return err;
}
