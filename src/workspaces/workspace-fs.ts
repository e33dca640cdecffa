import { constants } from 'node:fs';
import { lstat, mkdir, readdir, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { AppError } from '../errors.ts';
import { parseFilePath, parseWorkspaceName } from './names.ts';

export interface FileEntry {
  path: string;
  size: number;
  mtime: string;
  type: 'file' | 'directory';
}

/**
 * The one path-safe view of DATA_DIR/workspaces that every surface uses: run cwd, the
 * files API and MCP file tools all resolve through here, so a workspace is one directory
 * everywhere and there is a single place where escapes are refused.
 */
export class WorkspaceFs {
  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  /** Absolute directory of a workspace, created if missing; symlinks on the way are refused. */
  async ensure(workspace: string): Promise<string> {
    const segments = parseWorkspaceName(workspace);
    const dir = join(this.root, ...segments);
    await this.#assertNoSymlinks(segments, { allowMissing: true });
    await mkdir(dir, { recursive: true, mode: 0o750 });
    await this.#assertInside(dir);
    return dir;
  }

  /** Absolute path of an existing or future file in a workspace; never outside it. */
  async resolveFile(workspace: string, filePath: string): Promise<string> {
    const ws = parseWorkspaceName(workspace);
    const file = parseFilePath(filePath);
    await this.#assertNoSymlinks([...ws, ...file], { allowMissing: true });
    const abs = join(this.root, ...ws, ...file);
    return abs;
  }

  /** True when the workspace directory exists. */
  async exists(workspace: string): Promise<boolean> {
    const segments = parseWorkspaceName(workspace);
    try {
      await this.#assertNoSymlinks(segments, { allowMissing: false });
      return (await lstat(join(this.root, ...segments))).isDirectory();
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return false;
      throw err;
    }
  }

  /** Every file under a workspace (recursive), symlinks skipped, paths relative to it. */
  async list(workspace: string, opts: { recursive?: boolean } = {}): Promise<FileEntry[]> {
    const segments = parseWorkspaceName(workspace);
    await this.#assertNoSymlinks(segments, { allowMissing: false });
    const base = join(this.root, ...segments);
    return this.#walk(base, base, opts.recursive ?? true);
  }

  /** Top-level directories of a root below the workspaces root (e.g. a user's workspaces). */
  async listWorkspaces(under = ''): Promise<FileEntry[]> {
    const base = under ? join(this.root, ...parseWorkspaceName(under)) : this.root;
    if (under) await this.#assertNoSymlinks(parseWorkspaceName(under), { allowMissing: true });
    let names: import('node:fs').Dirent[];
    try {
      names = await readdir(base, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: FileEntry[] = [];
    for (const d of names) {
      if (!d.isDirectory()) continue;
      const st = await lstat(join(base, d.name));
      out.push({ path: d.name, size: 0, mtime: st.mtime.toISOString(), type: 'directory' });
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  async #walk(base: string, dir: string, recursive: boolean): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const abs = join(dir, d.name);
      const rel = relative(base, abs).split(sep).join('/');
      if (d.isSymbolicLink()) continue;
      const st = await lstat(abs);
      if (d.isDirectory()) {
        if (recursive) out.push(...(await this.#walk(base, abs, true)));
        else out.push({ path: rel, size: 0, mtime: st.mtime.toISOString(), type: 'directory' });
      } else if (d.isFile()) {
        out.push({ path: rel, size: st.size, mtime: st.mtime.toISOString(), type: 'file' });
      }
    }
    return out.sort((a, b) => a.path.localeCompare(b.path));
  }

  /**
   * Walks the path one component at a time with lstat: any symlink is refused, so neither
   * a link planted by an agent nor a race through one can lead outside the root.
   */
  async #assertNoSymlinks(segments: string[], opts: { allowMissing: boolean }): Promise<void> {
    let cur = this.root;
    for (const s of segments) {
      cur = join(cur, s);
      try {
        const st = await lstat(cur);
        if (st.isSymbolicLink()) throw new AppError('invalid_request', 'Path goes through a symbolic link');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          if (opts.allowMissing) return;
          throw new AppError('not_found', 'No such workspace or file');
        }
        throw err;
      }
    }
  }

  async #assertInside(abs: string): Promise<void> {
    const [real, rootReal] = await Promise.all([realpath(abs), realpath(this.root)]);
    if (real !== rootReal && !real.startsWith(rootReal + sep)) {
      throw new AppError('invalid_request', 'Path leaves the workspace');
    }
  }
}

/** Flags for opening a file for reading that refuse a symlink planted at the last moment. */
export const OPEN_NOFOLLOW = constants.O_RDONLY | constants.O_NOFOLLOW;
