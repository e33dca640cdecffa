import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { sandboxUnavailableReason } from '../../src/process/sandbox.ts';
import { postgresBinDir, postgresRunAs } from './postgres.ts';

/**
 * The programs some suites need that `npm install` cannot bring: Debian packages. A suite
 * that needs one declares it in its options, `describe(name, { skip: skipWithout('chromium') }, …)`:
 * without the part the suite is skipped with a reason that ends in its install line (the
 * run's last line then lists every such skip), and under AGENTGATE_TEST_REQUIRE_ALL=1 (CI)
 * the file fails instead, so CI proves every suite ran.
 */
export type SystemPart = 'bubblewrap' | 'chromium' | 'boto3' | 'awscli' | 'postgresql' | 'redis';

/** The Redis server the cluster tests start (REDIS_SERVER_PATH to use another). */
export const REDIS_SERVER = process.env.REDIS_SERVER_PATH || '/usr/bin/redis-server';

/** The variable under which a missing part fails the run instead of skipping. */
export const REQUIRE_ALL_VARIABLE = 'AGENTGATE_TEST_REQUIRE_ALL';

export const INSTALL: Record<SystemPart, string> = {
  bubblewrap: 'apt-get install -y bubblewrap socat',
  chromium: 'apt-get install -y chromium',
  boto3: 'apt-get install -y python3-boto3',
  awscli: 'apt-get install -y awscli',
  postgresql: 'apt-get install -y postgresql',
  redis: 'apt-get install -y redis-server',
};

/** Runs a probe without ever waiting long: a probe that hangs counts as missing. */
function works(command: string, args: string[]): boolean {
  const res = spawnSync(command, args, { stdio: 'ignore', timeout: 15_000, killSignal: 'SIGKILL' });
  return res.status === 0;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Why the part is unusable here, or undefined when it works. */
function missingReason(part: SystemPart): string | undefined {
  switch (part) {
    case 'bubblewrap': {
      if (!works('bwrap', ['--version'])) return 'bwrap not found on PATH';
      // Installed is not enough: some containers forbid the user namespaces it needs, and
      // the sandbox also needs socat (its network bridge) and the seccomp helper.
      return sandboxUnavailableReason();
    }
    case 'chromium': {
      const path = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
      return isExecutable(path) ? undefined : `no Chromium at ${path} (CHROMIUM_PATH)`;
    }
    case 'boto3':
      // Debian's python3-boto3 lands in /usr/bin/python3, which a pyenv/venv python3 may hide.
      return works('python3', ['-c', 'import boto3']) || works('/usr/bin/python3', ['-c', 'import boto3'])
        ? undefined
        : 'no python3 with boto3 (on PATH or /usr/bin/python3)';
    case 'awscli':
      return works('aws', ['--version']) ? undefined : 'aws not found on PATH';
    case 'redis':
      return works(REDIS_SERVER, ['--version']) ? undefined : `no redis-server at ${REDIS_SERVER}`;
    case 'postgresql': {
      const bin = postgresBinDir();
      if (!bin) return 'no initdb and postgres under /usr/lib/postgresql/<version>/bin';
      // As root the test server runs as the package's `postgres` user (PostgreSQL refuses root).
      if (process.getuid?.() === 0 && !postgresRunAs())
        return 'running as root and there is no `postgres` user';
      return works(`${bin}/postgres`, ['--version']) ? undefined : `${bin}/postgres does not run`;
    }
  }
}

const known = new Map<SystemPart, string | undefined>();

/** The skip reason of the first missing part ("needs NAME: why; install: LINE"), or undefined. */
export function missingSystemPart(...parts: SystemPart[]): string | undefined {
  for (const part of parts) {
    if (!known.has(part)) known.set(part, missingReason(part));
    const why = known.get(part);
    if (why !== undefined) return `needs ${part}: ${why}; install: ${INSTALL[part]}`;
  }
  return undefined;
}

/**
 * For a suite's `skip` option: false when every part works, else the reason. Under
 * AGENTGATE_TEST_REQUIRE_ALL=1 a missing part throws instead, which fails the whole file.
 */
export function skipWithout(...parts: SystemPart[]): string | false {
  const reason = missingSystemPart(...parts);
  if (reason === undefined) return false;
  if (process.env[REQUIRE_ALL_VARIABLE] === '1') {
    throw new Error(`${REQUIRE_ALL_VARIABLE}=1 and this suite ${reason}`);
  }
  return reason;
}
