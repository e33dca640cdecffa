import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * The node flags of `npm run test:unit` (everything between `node` and the file list), read
 * from package.json so the harness tests prove the configuration the suite really runs under.
 */
export function unitTestNodeFlags(): string[] {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
  const script = pkg.scripts['test:unit'] ?? '';
  const words = script.split(/\s+/);
  const end = words.findIndex((w) => w.startsWith('$('));
  return words.slice(1, end === -1 ? undefined : end);
}

/**
 * Runs `node <test:unit flags> …extraFlags file` in a child, never longer than `limitMs`. Its
 * stdout is a pipe, so its reporter writes TAP, as in CI.
 */
export function runNodeTest(
  file: string,
  opts: { env?: Record<string, string | undefined>; extraFlags?: string[]; limitMs?: number } = {},
): { status: number | null; output: string } {
  // NODE_TEST_CONTEXT marks a test file's process: without removing it the child would not run files.
  const env: Record<string, string | undefined> = {
    ...process.env,
    NODE_TEST_CONTEXT: undefined,
    ...opts.env,
  };
  const res = spawnSync(process.execPath, [...unitTestNodeFlags(), ...(opts.extraFlags ?? []), file], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: opts.limitMs ?? 60_000,
    killSignal: 'SIGKILL',
  });
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}
