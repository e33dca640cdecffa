import { type ChildProcess, spawn } from 'node:child_process';

/**
 * Agent processes run in their own process group, so that a kill takes every process the
 * agent started (Bash tool children included) and none outlives its run.
 */
const liveGroups = new Set<number>();

export function spawnInGroup(
  command: string,
  args: string[],
  opts: { cwd?: string; env: Record<string, string | undefined>; fds?: readonly number[] },
): ChildProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env as NodeJS.ProcessEnv,
    detached: true,
    // Extra descriptors (the sandbox's verified directories) become the child's fds 3, 4, …
    stdio: ['pipe', 'pipe', 'pipe', ...(opts.fds ?? [])],
  });
  // The SDK and the run both watch the process's exit; a long-lived one gathers listeners.
  child.setMaxListeners(100);
  const pid = child.pid;
  if (pid !== undefined) {
    liveGroups.add(pid);
    child.once('exit', () => {
      // The leader is gone; take any straggler of its group with it.
      killGroup(pid);
      liveGroups.delete(pid);
    });
  }
  return child;
}

/** SIGKILLs a whole process group; a group that is already gone is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left to kill.
  }
}

/** Last resort on exit of the server process: no agent survives its gateway. */
export function killAllGroups(): void {
  for (const pgid of liveGroups) killGroup(pgid);
  liveGroups.clear();
}

process.once('exit', killAllGroups);
