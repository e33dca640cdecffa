/**
 * Runs the real Claude Code binary (through the Agent SDK) against a fake model in a
 * throwaway home, config dir and workspace, the way agentgate's tests and fixture
 * recorder need it.
 */
import { mkdir, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Options, query, type SDKMessage } from '@anthropic-ai/claude-agent-sdk';

export interface ClaudeSandbox {
  root: string;
  cwd: string;
  /** Options every run needs to work headless, as root, offline. */
  options(extra?: Partial<Options>): Options;
  cleanup(): Promise<void>;
}

export async function createClaudeSandbox(modelUrl: string): Promise<ClaudeSandbox> {
  const root = await mkdtemp(join(tmpdir(), 'agentgate-fake-model-'));
  const cwd = join(root, 'workspace');
  const home = join(root, 'home');
  const configDir = join(root, 'claude-config');
  await Promise.all([mkdir(cwd), mkdir(home), mkdir(configDir)]);
  return {
    root,
    cwd,
    options: (extra = {}) => ({
      cwd,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        CLAUDE_CONFIG_DIR: configDir,
        ANTHROPIC_BASE_URL: modelUrl,
        ANTHROPIC_API_KEY: 'fake-key',
        // As root, bypassPermissions is refused unless Claude Code is told it is sandboxed.
        IS_SANDBOX: '1',
        // Without it every prompt costs a second, title-generating model call.
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      },
      permissionMode: 'bypassPermissions',
      allowDangerouslySkipPermissions: true,
      includePartialMessages: true,
      ...extra,
    }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export interface RunOutcome {
  messages: SDKMessage[];
  /** The SDK throws after yielding an error result; kept so callers can assert on both. */
  error?: Error;
}

/** Collects a whole run; the SDK reaps the claude process when the iteration ends. */
export async function runToEnd(prompt: string, options: Options): Promise<RunOutcome> {
  const messages: SDKMessage[] = [];
  try {
    for await (const message of query({ prompt, options })) messages.push(message);
    return { messages };
  } catch (error) {
    return { messages, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

/** Pids of live processes whose working directory is inside `dir` (Linux /proc). */
export async function processesInside(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = await readlink(`/proc/${entry}/cwd`);
      if (cwd === dir || cwd.startsWith(`${dir}/`)) found.push(Number(entry));
    } catch {
      // the process exited meanwhile, or is not ours to inspect
    }
  }
  return found;
}

/**
 * After an abort the SDK signals claude but does not wait for it to exit, so give it a
 * moment before calling what is left a leak. Returns the processes still alive.
 */
export async function waitForNoProcessesInside(dir: string, graceMs = 5000): Promise<number[]> {
  const deadline = Date.now() + graceMs;
  let left = await processesInside(dir);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    left = await processesInside(dir);
  }
  return left;
}
