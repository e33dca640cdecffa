import { readdir, readFile, readlink } from 'node:fs/promises';

/**
 * Live processes whose environment mentions `dataDir` (every agent process and its children
 * inherit a CLAUDE_CONFIG_DIR inside it): the process table, read from /proc.
 */
export async function agentProcessesUnder(dataDir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = await readFile(`/proc/${name}/environ`, 'latin1');
      const stat = await readFile(`/proc/${name}/stat`, 'latin1');
      if (/\) Z /.test(stat)) continue; // zombies are already dead
      if (environ.includes(dataDir)) pids.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

/** Polls until no agent process is left under dataDir, or the deadline passes; returns what is left. */
export async function waitForNoAgentProcesses(dataDir: string, withinMs = 3000): Promise<number[]> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const left = await agentProcessesUnder(dataDir);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Live processes whose command line carries `marker`. */
export async function processesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = await readFile(`/proc/${name}/cmdline`, 'latin1');
      const stat = await readFile(`/proc/${name}/stat`, 'latin1');
      if (cmd.includes(marker) && !/\) Z /.test(stat)) found.push(Number(name));
    } catch {
      // gone
    }
  }
  return found;
}

/**
 * Live processes working in `dir` or below (their current directory): an agent process
 * serving a run works in the run's workspace, whether it was started for the run or was a
 * spare or live process started earlier and handed the run (unconfined or sandboxed).
 */
export async function processesIn(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cwd = await readlink(`/proc/${name}/cwd`);
      const stat = await readFile(`/proc/${name}/stat`, 'latin1');
      if ((cwd === dir || cwd.startsWith(`${dir}/`)) && !/\) Z /.test(stat)) found.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}
