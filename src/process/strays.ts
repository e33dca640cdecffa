import { readdirSync, readFileSync } from 'node:fs';

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  /** Clock ticks since boot when it started. */
  startTime: number;
}

function readProcs(): Map<number, Proc> {
  const procs = new Map<number, Proc>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      // comm is parenthesised and may hold spaces or parentheses: split after the last ')'.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      procs.set(Number(name), {
        pid: Number(name),
        ppid: Number(fields[1]),
        comm,
        startTime: Number(fields[19]),
      });
    } catch {
      // gone while we looked
    }
  }
  return procs;
}

function childrenOf(procs: Map<number, Proc>): Map<number, Proc[]> {
  const children = new Map<number, Proc[]>();
  for (const p of procs.values()) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  return children;
}

function descendants(pid: number, children: Map<number, Proc[]>): number[] {
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const next = stack.pop() as number;
    for (const c of children.get(next) ?? []) {
      out.push(c.pid);
      stack.push(c.pid);
    }
  }
  return out;
}

/**
 * Between two runs of a live sandboxed agent, nothing but the agent may stay: a background
 * job a prompt left behind would otherwise keep running (and spending egress and the next
 * run's token) until the process is recycled. The sandbox tree is
 * `bwrap → bwrap(init) → bwrap(inner) → {socat bridge, bwrap(inner init) → apply-seccomp →
 * agent → tools}`, and detached jobs are re-parented to the inner init. The agent is found by
 * following oldest children; every other descendant of the inner init is killed. Returns
 * how many were.
 */
export function killSandboxStrays(sandboxPid: number): number {
  const procs = readProcs();
  const children = childrenOf(procs);
  // The inner init is three bwraps down (init, inner monitor, inner init), each the oldest
  // bwrap child of the one above: a process an agent names "bwrap" starts later, deeper.
  let innerInit: Proc | undefined = procs.get(sandboxPid);
  for (let level = 0; level < 3 && innerInit; level++) {
    const parent: Proc = innerInit;
    innerInit = (children.get(parent.pid) ?? [])
      .filter((c) => c.comm === 'bwrap')
      .sort((a, b) => a.startTime - b.startTime)[0];
  }
  if (!innerInit) return 0;
  const oldestChild = (pid: number) =>
    [...(children.get(pid) ?? [])].sort((x, y) => x.startTime - y.startTime)[0];
  // The seccomp helper forks the agent (its PID namespace applies to children): follow it.
  const keep = new Set<number>();
  let agent = oldestChild(innerInit.pid);
  while (agent?.comm === 'apply-seccomp') {
    keep.add(agent.pid);
    agent = oldestChild(agent.pid);
  }
  if (!agent) return 0;
  keep.add(agent.pid);
  const doomed = descendants(innerInit.pid, children).filter((pid) => !keep.has(pid));
  for (const pid of doomed) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return doomed.length;
}
