import { readdir, readFile } from 'node:fs/promises';

/**
 * Resident memory of a process and all its descendants, in bytes (0 when it is gone). A
 * live agent is a tree (bubblewrap, the bridge, Claude Code, whatever its tools left
 * running), and what the machine pays for is the whole tree. Linux only: elsewhere 0, so
 * no limit ever applies.
 */
export async function treeRssBytes(rootPid: number): Promise<number> {
  let names: string[];
  try {
    names = await readdir('/proc');
  } catch {
    return 0;
  }
  const procs = await Promise.all(
    names.filter((n) => /^\d+$/.test(n)).map(async (n) => ({ pid: Number(n), ...(await readStatus(n)) })),
  );
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for (const p of procs) {
    if (p.ppid === undefined) continue;
    rss.set(p.pid, p.rssBytes);
    const list = children.get(p.ppid) ?? [];
    list.push(p.pid);
    children.set(p.ppid, list);
  }
  let total = 0;
  const stack = rss.has(rootPid) ? [rootPid] : [];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

async function readStatus(pid: string): Promise<{ ppid?: number; rssBytes: number }> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const ppid = /^PPid:\s+(\d+)/m.exec(text)?.[1];
    // Kernel threads and zombies have no VmRSS line: they hold no user memory.
    const rssKb = /^VmRSS:\s+(\d+)\s+kB/m.exec(text)?.[1];
    return { ...(ppid ? { ppid: Number(ppid) } : {}), rssBytes: rssKb ? Number(rssKb) * 1024 : 0 };
  } catch {
    return { rssBytes: 0 }; // exited while we looked
  }
}
