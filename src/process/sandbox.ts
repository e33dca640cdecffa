import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';

/**
 * Agents run tools with no permission prompts, so what they can reach is decided here,
 * not by the agent. Under bubblewrap an agent process gets:
 * - a read-only view of the machine, with DATA_DIR, /root, /home and /tmp replaced by empty
 *   tmpfs: no other user's workspace, no store, no bucket, no operator credentials;
 * - write access to exactly its workspace, its own agent home and its owner's transcripts;
 * - its own PID namespace: the server's /proc/<pid>/environ (every gateway secret) is not
 *   there to read, and when the sandbox dies every process in it dies too, including ones
 *   that detached with setsid (a process-group kill alone misses those).
 * The network is shared: the agent must reach its model.
 */
export interface SandboxPolicy {
  /** Hidden behind an empty tmpfs (DATA_DIR first; binds below re-expose what is allowed). */
  hidden: string[];
  /** Files to mask with /dev/null (e.g. the ENV_FILE holding secrets). */
  masked: string[];
}

export function bwrapCommand(
  policy: SandboxPolicy,
  writable: readonly string[],
  cwd: string | undefined,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  const out = ['--die-with-parent', '--unshare-pid', '--unshare-ipc', '--ro-bind', '/', '/', '--dev', '/dev'];
  out.push('--proc', '/proc');
  for (const dir of ['/tmp', ...policy.hidden]) if (existsSync(dir)) out.push('--tmpfs', dir);
  for (const file of policy.masked) if (existsSync(file)) out.push('--ro-bind', '/dev/null', file);
  // The agent's own executable stays visible wherever the server is installed (a checkout
  // under /tmp or /root, say), read-only.
  if (isAbsolute(command)) out.push('--ro-bind', dirname(command), dirname(command));
  for (const dir of writable) out.push('--bind', dir, dir);
  if (cwd) out.push('--chdir', cwd);
  out.push('--', command, ...args);
  return { command: 'bwrap', args: out };
}

/** True when bubblewrap is installed and can create the namespaces it needs here. */
export function isBwrapUsable(): boolean {
  const res = spawnSync(
    'bwrap',
    ['--die-with-parent', '--unshare-pid', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', 'true'],
    { stdio: 'ignore', timeout: 10_000 },
  );
  return res.status === 0;
}
