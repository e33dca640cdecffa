import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  /** The server process's resident set size, in bytes (from /proc). */
  rssBytes(): Promise<number>;
  /** Collects the server's garbage (see serve-child-preload.ts) and resolves when it is done. */
  collectGarbage(): Promise<void>;
  /** What the server wrote to stdout (its log) so far. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * `agentgate serve` as a real child process (its own heap, its own signals), on port 0,
 * unsandboxed and without spares; resolves once it logs its URL.
 */
export async function startServeProcess(env: Record<string, string>): Promise<ServeProcess> {
  const preload = new URL('./serve-child-preload.ts', import.meta.url).pathname;
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', '--import', preload, 'bin/agentgate.js', 'serve'],
    {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        POOL_SIZE: '0',
        LOG_LEVEL: 'info',
        AGENT_SANDBOX: 'none',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
      const onData = () => {
        const m = /"url":"(http:\/\/[^"]+)".*agentgate listening/.exec(stdout);
        if (m?.[1]) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve(m[1]);
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}): ${stderr}`));
      });
    });
    return {
      url,
      child,
      log: () => stdout,
      async collectGarbage() {
        const done = once(child, 'message');
        child.send('gc');
        await done;
      },
      async rssBytes() {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
        return kb * 1024;
      },
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await once(child, 'exit');
        clearTimeout(timer);
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}
