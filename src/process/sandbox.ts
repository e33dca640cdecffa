import { spawnSync } from 'node:child_process';
import { closeSync, constants, existsSync, lstatSync, openSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute } from 'node:path';

/**
 * Agents run tools with no permission prompts, so what they can reach is decided here,
 * not by the agent. Under bubblewrap an agent process gets:
 * - a read-only view of the machine, with DATA_DIR, /root, /home, /tmp and /run replaced
 *   by empty tmpfs: no other user's workspace, no store, no bucket, no operator credentials;
 * - write access to exactly its workspace (read-only for an `observe` run), its own agent
 *   home and its owner's transcripts,
 *   each handed to bubblewrap as a directory descriptor that was opened and verified here:
 *   nothing is resolved by name after the check, so a directory swapped for a symlink
 *   between the check and the mount cannot redirect the mount (the bind-source race);
 * - its own PID namespace: the server's /proc/<pid>/environ is not there to read, and when
 *   the sandbox dies every process in it dies too, including ones that detached;
 * - its own network namespace with nothing but loopback. Its one way out is the server's
 *   agent gateway (model relay + egress proxy), reached through a Unix socket that a socat
 *   bridge inside the sandbox exposes on 127.0.0.1:AGENT_BRIDGE_PORT;
 * - a seccomp filter (sandbox-runtime's apply-seccomp, applied after the bridge starts) that
 *   refuses new AF_UNIX sockets, mounts and namespaces: host sockets such as
 *   /var/run/docker.sock stay unreachable even though the read-only root shows their files.
 *   The agent runs in a nested PID namespace with its own /proc, out of reach of the
 *   unfiltered bridge;
 * - no capability in the host's user namespace, even when the server is root: whatever
 *   capabilities the agent has hold only in namespaces of its own.
 */
export interface SandboxPolicy {
  /** Hidden behind an empty tmpfs (DATA_DIR first; binds below re-expose what is allowed). */
  hidden: string[];
  /** Files to mask with /dev/null (e.g. the ENV_FILE holding secrets). */
  masked: string[];
  /** Host directory holding the agent gateway's socket (bound read-only at BRIDGE_SOCKET_DIR). */
  gatewaySocketDir: string;
  /** The apply-seccomp binary (from @anthropic-ai/sandbox-runtime). */
  applySeccomp: string;
}

/** Inside the sandbox: where the gateway socket appears, and the loopback port bridged to it. */
export const BRIDGE_SOCKET_DIR = '/run/agentgate';
export const GATEWAY_SOCKET_NAME = 'agent-gateway.sock';
export const AGENT_BRIDGE_PORT = 8377;
/** Connections one agent may hold open to the gateway at once (each costs a server descriptor). */
const MAX_BRIDGE_CONNECTIONS = 64;

const OUTER_USERNS = [
  '--unshare-user',
  '--cap-drop',
  'ALL',
  '--cap-add',
  'CAP_SYS_ADMIN',
  '--cap-add',
  'CAP_SETFCAP',
];

/** A bubblewrap command line plus the directory descriptors it binds (fd 3, 4, … in the child). */
export interface SandboxCommand {
  command: string;
  args: string[];
  /** Opened here, passed as the child's fds 3.., closed by the caller once spawned. */
  fds: number[];
}

export class SandboxPathError extends Error {}

/**
 * Opens a directory the agent may write, without following a symlink anywhere on its path:
 * the last component by O_NOFOLLOW, every earlier one by checking where the open descriptor
 * really is (/proc/self/fd) against the path the server meant. The descriptor is what gets
 * mounted, so a later swap of any path component changes nothing.
 */
export function openVerifiedDir(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new SandboxPathError(`refusing to mount ${path}: ${(err as NodeJS.ErrnoException).code}`);
  }
  const actual = readlinkSync(`/proc/self/fd/${fd}`);
  if (actual !== path) {
    closeSync(fd);
    throw new SandboxPathError(`refusing to mount ${path}: it resolves elsewhere`);
  }
  return fd;
}

/**
 * `writable` directories are bound read-write, `readOnly` ones read-only (an `observe` run's
 * workspace: below DATA_DIR, which is hidden, so it must be bound to be seen at all). Both
 * are bound from verified descriptors.
 */
export function bwrapCommand(
  policy: SandboxPolicy,
  writable: readonly string[],
  cwd: string | undefined,
  command: string,
  args: readonly string[],
  readOnly: readonly string[] = [],
): SandboxCommand {
  const out = [
    '--die-with-parent',
    // A user namespace of its own even when the server is root: without it a root server's
    // bubblewrap keeps every capability in the host's namespace (open_by_handle_at then
    // reaches any file). Inside, only what the nested bwrap below needs (a PID namespace)
    // and the seccomp helper's uid-0 map needs, both valid in this namespace only.
    ...OUTER_USERNS,
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-net',
    '--unshare-uts',
    '--ro-bind',
    '/',
    '/',
    '--dev',
    '/dev',
  ];
  out.push('--proc', '/proc');
  for (const dir of ['/tmp', '/run', ...policy.hidden]) if (isRealDir(dir)) out.push('--tmpfs', dir);
  for (const file of policy.masked) if (existsSync(file)) out.push('--ro-bind', '/dev/null', file);
  // The agent's own executable and the seccomp helper stay visible wherever the server is
  // installed (a checkout under /tmp or /root, say), read-only.
  for (const exe of [command, policy.applySeccomp]) {
    if (isAbsolute(exe)) out.push('--ro-bind', dirname(exe), dirname(exe));
  }
  out.push('--ro-bind', policy.gatewaySocketDir, BRIDGE_SOCKET_DIR);
  const fds: number[] = [];
  try {
    for (const dir of writable) {
      const fd = openVerifiedDir(dir);
      fds.push(fd);
      out.push('--bind-fd', String(2 + fds.length), dir);
    }
    for (const dir of readOnly) {
      const fd = openVerifiedDir(dir);
      fds.push(fd);
      out.push('--ro-bind-fd', String(2 + fds.length), dir);
    }
  } catch (err) {
    for (const fd of fds) closeSync(fd);
    throw err;
  }
  if (cwd) out.push('--chdir', cwd);
  out.push('--', '/bin/sh', '-c', bridgeScript(policy.applySeccomp), 'agentgate-sandbox', command, ...args);
  return { command: 'bwrap', args: out, fds };
}

/**
 * Runs inside the sandbox before the agent: starts the bridge to the gateway socket, waits
 * (without starting any other program) until it listens, then execs the agent in a nested
 * PID namespace under the seccomp helper. The bridge's output goes nowhere, so the agent's
 * stdio stays the SDK's.
 */
function bridgeScript(applySeccomp: string): string {
  const portHex = AGENT_BRIDGE_PORT.toString(16).toUpperCase().padStart(4, '0');
  return [
    // nodelay: each streamed token is a small write; with Nagle's algorithm and the agent's
    // delayed ACKs, one would wait ~40 ms behind the last (the relay bench's p99 showed it).
    `socat TCP4-LISTEN:${AGENT_BRIDGE_PORT},bind=127.0.0.1,fork,reuseaddr,nodelay,backlog=4096,max-children=${MAX_BRIDGE_CONNECTIONS} UNIX-CONNECT:${BRIDGE_SOCKET_DIR}/${GATEWAY_SOCKET_NAME} </dev/null >/dev/null 2>&1 &`,
    'n=0',
    'while [ $n -lt 20000 ]; do',
    `  while read -r _ a _; do case "$a" in *:${portHex}) break 2;; esac; done < /proc/net/tcp`,
    '  n=$((n+1))',
    'done',
    // The agent gets a PID namespace and a /proc of its own: the bridge runs without the
    // filter, and an agent that could ptrace it (or write its /proc/<pid>/mem) could make
    // it connect to any host socket. Out of its PID namespace and /proc, it cannot name it.
    `exec bwrap --die-with-parent --cap-drop ALL --cap-add CAP_SETFCAP --unshare-pid --dev-bind / / --proc /proc --chdir "$PWD" -- ${shellQuote(applySeccomp)} "$@"`,
  ].join('\n');
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function isRealDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The seccomp helper shipped in @anthropic-ai/sandbox-runtime for this machine, if any. */
export function applySeccompPath(): string | undefined {
  const arch = process.arch === 'x64' ? 'x64' : process.arch === 'arm64' ? 'arm64' : undefined;
  if (!arch) return undefined;
  try {
    const require = createRequire(import.meta.url);
    const pkg = require.resolve('@anthropic-ai/sandbox-runtime/package.json');
    const path = `${dirname(pkg)}/vendor/seccomp/${arch}/apply-seccomp`;
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Why the sandbox cannot be used here (one line naming the fix), or undefined when it can. */
export function sandboxUnavailableReason(): string | undefined {
  const bwrap = spawnSync(
    'bwrap',
    [
      '--die-with-parent',
      ...OUTER_USERNS,
      '--unshare-pid',
      '--unshare-net',
      '--ro-bind',
      '/',
      '/',
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      'true',
    ],
    { stdio: 'ignore', timeout: 10_000 },
  );
  if (bwrap.error || bwrap.status !== 0) {
    return 'bubblewrap is missing or cannot create namespaces here (apt-get install bubblewrap)';
  }
  const socat = spawnSync('socat', ['-V'], { stdio: 'ignore', timeout: 10_000 });
  if (socat.error || socat.status !== 0) return 'socat is missing (apt-get install socat)';
  if (!applySeccompPath()) return `no seccomp helper for ${process.arch} in @anthropic-ai/sandbox-runtime`;
  return undefined;
}

/** True when bubblewrap, socat and the seccomp helper all work here. */
export function isBwrapUsable(): boolean {
  return sandboxUnavailableReason() === undefined;
}
