import { constants } from 'node:fs';
import { access, type FileHandle, lstat, mkdir, open, readlink } from 'node:fs/promises';
import { AppError } from '../errors.ts';

/**
 * Node has no openat(2). `/proc/self/fd/<fd>/<name>` is its equivalent: the kernel jumps
 * through the magic link straight to the directory the descriptor holds (wherever it now
 * is, whatever its old path has become) and resolves only `<name>` from there. Every call
 * below goes through such a path, so a symlink an agent swaps into a path after a check has
 * nothing to redirect: each directory was opened once, without following links, and is
 * addressed by descriptor from then on.
 */
const PROC_FD = '/proc/self/fd';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** O_NONBLOCK: opening a FIFO planted by an agent must not park a thread-pool thread forever. */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** O_EXCL never follows a link and fails on any existing name. */
const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Fails at startup, not on the first request, when /proc is missing (non-Linux, no procfs). */
export async function assertProcFdAvailable(): Promise<void> {
  try {
    await access(PROC_FD);
  } catch {
    throw new Error(`${PROC_FD} is not available: workspace files need Linux with /proc mounted`);
  }
}

/** An open directory; names inside it are resolved by the kernel through the descriptor. */
export class DirFd {
  private constructor(
    private readonly handle: FileHandle,
    /** The absolute path this directory had when it was opened through trusted parents. */
    readonly expectedPath: string,
  ) {}

  /** Opens a trusted, server-owned directory (the workspaces root) by its path. */
  static async openTrusted(abs: string): Promise<DirFd> {
    return new DirFd(await open(abs, constants.O_RDONLY | constants.O_DIRECTORY), abs);
  }

  /** A path naming `name` inside this directory, for one fs call; never stored or returned. */
  at(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      // Names are parsed before they get here; this is the last line, not the first.
      throw new AppError('invalid_request', 'Invalid path segment');
    }
    return `${PROC_FD}/${this.handle.fd}/${name}`;
  }

  /** This directory itself, e.g. for readdir. */
  self(): string {
    return `${PROC_FD}/${this.handle.fd}`;
  }

  /**
   * Opens the subdirectory `name`, refusing a link (O_NOFOLLOW) or a non-directory. With
   * `create`, a missing one is made first; mkdir never follows a link either (EEXIST).
   */
  async openDir(name: string, opts: { create?: boolean } = {}): Promise<DirFd> {
    const path = this.at(name);
    if (opts.create) {
      try {
        await mkdir(path, { mode: 0o750 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw await this.#explain(err, name);
      }
    }
    try {
      return new DirFd(await open(path, DIR_FLAGS), `${this.expectedPath}/${name}`);
    } catch (err) {
      const explained = await this.#explain(err, name);
      const isFileInTheWay =
        (err as NodeJS.ErrnoException).code === 'ENOTDIR' &&
        explained instanceof AppError &&
        explained.code === 'not_found';
      // Creating a path through an existing file: the caller asked for something that cannot be.
      if (opts.create && isFileInTheWay)
        throw new AppError('conflict', `"${name}" is a file, not a directory`);
      throw explained;
    }
  }

  /** Opens the regular file `name` for reading; links are refused and nothing blocks. */
  async openFileForRead(name: string): Promise<FileHandle> {
    try {
      return await open(this.at(name), READ_FLAGS);
    } catch (err) {
      throw await this.#explain(err, name);
    }
  }

  /** Creates `name`, which must not exist in any form (file, directory or link). */
  async createExclusive(name: string, mode: number): Promise<FileHandle> {
    return open(this.at(name), CREATE_FLAGS, mode);
  }

  /**
   * Refuses to go on unless this directory is still where it was opened: an agent may have
   * renamed it (or a parent) outside the workspace between the walk and the call that moves bytes.
   */
  async assertStillAt(): Promise<void> {
    await assertDescriptorAt(this.handle, this.expectedPath);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }

  /** Turns an fs error on `name` into what the caller should hear. */
  async #explain(err: unknown, name: string): Promise<unknown> {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return symlinkError();
    if (code === 'ENOTDIR') {
      // O_DIRECTORY|O_NOFOLLOW on a link says ENOTDIR too: tell the two apart for the message.
      const st = await lstat(this.at(name)).catch(() => undefined);
      if (st?.isSymbolicLink()) return symlinkError();
      return new AppError('not_found', 'No such workspace or file');
    }
    if (code === 'ENOENT') return new AppError('not_found', 'No such workspace or file');
    return err;
  }
}

/** Refuses a descriptor that is not, right now, exactly at `expected` (moved, unlinked, elsewhere). */
export async function assertDescriptorAt(handle: FileHandle, expected: string): Promise<void> {
  let now: string;
  try {
    now = await readlink(`${PROC_FD}/${handle.fd}`);
  } catch {
    throw movedError();
  }
  if (now !== expected) throw movedError();
}

export function symlinkError(): AppError {
  return new AppError('invalid_request', 'Path goes through a symbolic link');
}

function movedError(): AppError {
  return new AppError('conflict', 'The path changed while it was being used; try again');
}
