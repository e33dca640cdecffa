import { createHash, randomUUID } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Download } from 'playwright-core';
import { AppError } from '../errors.ts';

/** Largest file a page may download into a principal's store. */
export const MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024;
/** Files kept per principal; the oldest go first. */
export const MAX_DOWNLOADS_PER_OWNER = 50;

/** `<uuid>-<cleaned suggested name>`: the only names upload_file accepts. */
const STORED_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-[A-Za-z0-9._ -]{1,100}$/;

export interface SavedDownload {
  /** The stored name, which upload_file takes as `file_path`. */
  name: string;
  size: number;
}

/**
 * Where pages' downloads land: one directory per principal under DATA_DIR (0700, files
 * 0600), never anywhere a caller names. Files are read back only by their stored name (a
 * random UUID prefix, so one holder of the shared token cannot guess another's), opened
 * without following symlinks.
 */
export class DownloadStore {
  constructor(private readonly root: string) {}

  #dirOf(owner: string): string {
    return join(this.root, createHash('sha256').update(owner).digest('hex').slice(0, 32));
  }

  async save(owner: string, download: Download): Promise<SavedDownload> {
    const dir = this.#dirOf(owner);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const cleaned = download
      .suggestedFilename()
      .replace(/[^A-Za-z0-9._ -]/g, '_')
      .replace(/^[.\s]+/, '')
      .slice(-100);
    const name = `${randomUUID()}-${cleaned || 'download'}`;
    const path = join(dir, name);
    let size = 0;
    try {
      const source = await download.createReadStream();
      source.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_DOWNLOAD_BYTES)
          source.destroy(new Error(`download larger than ${MAX_DOWNLOAD_BYTES} bytes`));
      });
      await pipeline(source, createWriteStream(path, { flags: 'wx', mode: 0o600 }));
    } catch (err) {
      await unlink(path).catch(() => {});
      throw err;
    }
    await this.#prune(dir);
    return { name, size };
  }

  /** The bytes of a file this principal downloaded, by its stored name. */
  async read(owner: string, name: string): Promise<Buffer> {
    if (!STORED_NAME.test(name)) {
      throw new AppError(
        'invalid_request',
        'file_path must be the name of a file this browser downloaded (get_last_download.path); host paths are never read',
      );
    }
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(join(this.#dirOf(owner), name), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch {
      throw new AppError('not_found', `No downloaded file named ${name}`);
    }
    try {
      const info = await handle.stat();
      if (!info.isFile() || info.size > MAX_DOWNLOAD_BYTES)
        throw new AppError('invalid_request', `${name} is not a usable file`);
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async #prune(dir: string): Promise<void> {
    const names = await readdir(dir);
    if (names.length <= MAX_DOWNLOADS_PER_OWNER) return;
    const dated = await Promise.all(
      names.map(async (n) => ({ n, at: (await stat(join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })),
    );
    dated.sort((a, b) => a.at - b.at);
    for (const { n } of dated.slice(0, dated.length - MAX_DOWNLOADS_PER_OWNER))
      await unlink(join(dir, n)).catch(() => {});
  }
}
