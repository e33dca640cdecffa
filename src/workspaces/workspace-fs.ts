import type { Dirent } from 'node:fs';
import { lstat, mkdir, readdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../errors.ts';
import { assertProcFdAvailable, DirFd } from './dir-fd.ts';
import { parseFilePath, parseWorkspaceName } from './names.ts';

export interface FileEntry {
  path: string;
  size: number;
  mtime: string;
  type: 'file' | 'directory';
}

/**
 * A recursive listing holds one descriptor per level it is in; an agent can nest directories
 * as deep as it likes, so deeper levels are not descended into.
 */
const MAX_LIST_DEPTH = 64;

/**
 * The one path-safe view of DATA_DIR/workspaces that every surface uses: run cwd, the
 * files API and MCP file tools all go through here, so a workspace is one directory
 * everywhere and there is a single place where escapes are refused.
 *
 * Agents run arbitrary commands in their workspaces (and a user's spare sees all of that
 * user's workspaces), so every directory below the root may change between two calls. A
 * path is therefore never checked and then used: it is walked one component at a time
 * from a descriptor of the root, each directory opened without following links (see
 * DirFd), and bytes move only through the descriptors that walk produced.
 */
export class WorkspaceFs {
  #rootReal = '';

  constructor(readonly root: string) {}

  async init(): Promise<void> {
    await assertProcFdAvailable();
    await mkdir(this.root, { recursive: true });
    // Descriptors report real paths; the root is the server's own, so resolving it once is safe.
    this.#rootReal = await realpath(this.root);
  }

  /** Absolute directory of a workspace, created if missing; links on the way are refused. */
  async ensure(workspace: string): Promise<string> {
    const segments = parseWorkspaceName(workspace);
    const dir = await this.openWorkspace(workspace, { create: true });
    try {
      await dir.assertStillAt();
    } finally {
      await dir.close();
    }
    return join(this.root, ...segments);
  }

  /**
   * Opens a workspace's directory by walking its name from the root. The caller owns the
   * descriptor and must close it.
   */
  async openWorkspace(workspace: string, opts: { create?: boolean } = {}): Promise<DirFd> {
    return this.#walk(parseWorkspaceName(workspace), opts.create ?? false);
  }

  /**
   * Opens the directory that holds `filePath` in a workspace (created with its parents
   * when `create`), and returns it with the file's own name: every later call on the file
   * is made relative to this descriptor. The caller must close `dir`.
   */
  async openParent(
    workspace: string,
    filePath: string,
    opts: { create?: boolean } = {},
  ): Promise<{ dir: DirFd; name: string }> {
    const ws = parseWorkspaceName(workspace);
    const file = parseFilePath(filePath);
    const name = file.pop() as string; // parseFilePath never returns an empty list
    const dir = await this.#walk([...ws, ...file], opts.create ?? false);
    return { dir, name };
  }

  /** Every file under a workspace (recursive), links skipped, paths relative to it. */
  async list(workspace: string, opts: { recursive?: boolean } = {}): Promise<FileEntry[]> {
    const dir = await this.openWorkspace(workspace);
    try {
      await dir.assertStillAt();
      return (await this.#listDir(dir, '', opts.recursive ?? true, 0)).sort((a, b) =>
        a.path.localeCompare(b.path),
      );
    } finally {
      await dir.close();
    }
  }

  /** Top-level directories of a root below the workspaces root (e.g. a user's workspaces). */
  async listWorkspaces(under = ''): Promise<FileEntry[]> {
    let dir: DirFd;
    try {
      dir = await this.#walk(under ? parseWorkspaceName(under) : [], false);
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return [];
      throw err;
    }
    try {
      const out: FileEntry[] = [];
      for (const d of await readdir(dir.self(), { withFileTypes: true })) {
        if (!d.isDirectory()) continue;
        const st = await lstat(dir.at(d.name)).catch(() => undefined);
        if (!st?.isDirectory()) continue;
        out.push({ path: d.name, size: 0, mtime: st.mtime.toISOString(), type: 'directory' });
      }
      return out.sort((a, b) => a.path.localeCompare(b.path));
    } finally {
      await dir.close();
    }
  }

  async #walk(segments: string[], create: boolean): Promise<DirFd> {
    let cur = await DirFd.openTrusted(this.#rootReal);
    try {
      for (const s of segments) {
        const next = await cur.openDir(s, { create });
        await cur.close();
        cur = next;
      }
      return cur;
    } catch (err) {
      await cur.close();
      throw err;
    }
  }

  /**
   * Lists one directory by descriptor. A name that is a link, or that became one (or
   * vanished) since readdir saw it, is skipped: lstat and O_NOFOLLOW never step through it.
   */
  async #listDir(dir: DirFd, prefix: string, recursive: boolean, depth: number): Promise<FileEntry[]> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir.self(), { withFileTypes: true });
    } catch (err) {
      if (depth > 0) return []; // a subdirectory removed while listing
      throw err;
    }
    const out: FileEntry[] = [];
    for (const d of entries) {
      if (d.isSymbolicLink()) continue;
      const rel = prefix ? `${prefix}/${d.name}` : d.name;
      if (d.isDirectory() && recursive) {
        if (depth + 1 >= MAX_LIST_DEPTH) continue;
        const child = await dir.openDir(d.name).catch(() => undefined);
        if (!child) continue;
        try {
          out.push(...(await this.#listDir(child, rel, true, depth + 1)));
        } finally {
          await child.close();
        }
        continue;
      }
      const st = await lstat(dir.at(d.name)).catch(() => undefined);
      if (st?.isDirectory() && !recursive) {
        out.push({ path: rel, size: 0, mtime: st.mtime.toISOString(), type: 'directory' });
      } else if (st?.isFile()) {
        out.push({ path: rel, size: st.size, mtime: st.mtime.toISOString(), type: 'file' });
      }
    }
    return out;
  }
}
