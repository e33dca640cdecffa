import { readdirSync, readFileSync } from 'node:fs';

/**
 * Loaded into every test process (`--import` in package.json): when the runner cuts a file at
 * its time limit it sends SIGTERM, and a test's `after` hooks never run then, so whatever the
 * file started (servers' agent process groups, browsers, CLI tools) would outlive it. This
 * kills every descendant of the process on SIGTERM/SIGINT and at exit, whatever the test left.
 */

/** Every live process whose parent chain leads to `root`, from /proc. */
export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return []; // not Linux: nothing to reap this way
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // The command name may hold spaces and parentheses: fields resume after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z') continue;
      const ppid = Number(fields[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // it ended while we looked
    }
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

function reap(): void {
  for (const pid of descendantsOf(process.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

process.on('exit', reap);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    reap();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}
