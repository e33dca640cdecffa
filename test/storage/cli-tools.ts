import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The first interpreter or program that works. Debian's python3-boto3 lands in
 * /usr/bin/python3, which a pyenv/venv `python3` earlier on PATH would not see.
 */
async function firstWorking(candidates: string[], args: string[]): Promise<string | undefined> {
  for (const cmd of candidates) {
    try {
      await run(cmd, args, { timeout: 30_000 });
      return cmd;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export async function requirePythonWithBoto3(): Promise<string> {
  const python = await firstWorking(['python3', '/usr/bin/python3'], ['-c', 'import boto3']);
  if (!python) {
    throw new Error(
      'python3 with boto3 is required for this test: apt-get install -y python3-boto3 (CI installs it in .ci/run)',
    );
  }
  return python;
}

export async function requireAwsCli(): Promise<string> {
  const aws = await firstWorking(['aws', '/usr/bin/aws'], ['--version']);
  if (!aws)
    throw new Error(
      'awscli is required for this test: apt-get install -y awscli (CI installs it in .ci/run)',
    );
  return aws;
}

export async function runTool(
  cmd: string,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(cmd, args, {
      env: { ...process.env, ...opts.env },
      cwd: opts.cwd,
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed: ${e.message}\nstdout: ${e.stdout}\nstderr: ${e.stderr}`,
    );
  }
}
