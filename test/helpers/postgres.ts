import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { makeTempDir } from './temp.ts';

/**
 * A real, throwaway PostgreSQL server for one test file: Debian's binaries, a cluster in a
 * temp dir, TCP on a free loopback port with a password (scram-sha-256), durability off.
 * Share one per file and take a fresh database per test (`createDatabase`). It is killed on
 * `stop()` and, whatever happens, when the test process exits.
 */
export interface TestPostgres {
  /** Creates an empty database and returns its URL (with the password). */
  createDatabase(): Promise<string>;
  /** The URL of the maintenance database `postgres`. */
  readonly adminUrl: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  stop(): Promise<void>;
}

/** The newest /usr/lib/postgresql/<ver>/bin holding initdb and postgres, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  return undefined;
}

/**
 * PostgreSQL refuses to run as root: as root the server runs as the `postgres` user the
 * Debian package creates (its data dir handed over to it), otherwise as the current user.
 */
export function postgresRunAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

const running = new Set<ChildProcess>();
// Every outcome, a failed `before` or an uncaught error included: no server outlives the file.
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql (apt-get install postgresql)');
  const runAs = postgresRunAs();
  if (process.getuid?.() === 0 && !runAs) throw new Error('running as root and there is no `postgres` user');
  const temp = await makeTempDir('agentgate-pg-');
  const dataDir = join(temp.dir, 'data');
  const user = 'agentgate';
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const pwFile = join(temp.dir, 'pw');
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (runAs) {
    chownSync(temp.dir, runAs.uid, runAs.gid);
    chownSync(pwFile, runAs.uid, runAs.gid);
  }
  chmodSync(temp.dir, 0o700);
  const asUser = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' };
  const init = spawnSync(
    join(bin, 'initdb'),
    [
      '-D',
      dataDir,
      '-U',
      user,
      `--pwfile=${pwFile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ],
    { ...asUser, env, encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' },
  );
  if (init.status !== 0) {
    await temp.cleanup();
    throw new Error(`initdb failed (${init.status}): ${init.stderr}`);
  }

  // A test process killed by a signal runs no exit handler: the kernel then kills the server
  // (setpriv's parent-death signal, set after the switch to the server's user so it holds).
  const withParentDeath = existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--']
    : [];
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const log: string[] = [];
    const [command = '', ...args] = [
      ...withParentDeath,
      join(bin, 'postgres'),
      '-D',
      dataDir,
      '-p',
      String(port),
      '-k',
      temp.dir,
      '-c',
      'listen_addresses=127.0.0.1',
      // A test server: nothing it holds must survive a crash, so nothing waits on the disk.
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=200',
      '-c',
      'shared_buffers=32MB',
    ];
    const child = spawn(command, args, { ...asUser, env, stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    child.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.once('exit', () => running.delete(child));
    const adminUrl = `postgres://${user}:${password}@127.0.0.1:${port}/postgres`;
    const ready = await waitReady(adminUrl, exited);
    if (!ready) {
      child.kill('SIGKILL');
      await exited;
      lastError = log.join('');
      continue;
    }
    let n = 0;
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT'); // fast shutdown: disconnects clients, no waiting on them
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await temp.cleanup();
    };
    return {
      adminUrl,
      port,
      user,
      password,
      stop,
      async createDatabase() {
        n += 1;
        const name = `t${n}_${randomBytes(3).toString('hex')}`;
        const c = new pg.Client({ connectionString: adminUrl });
        await c.connect();
        try {
          await c.query(`create database ${name}`);
        } finally {
          await c.end();
        }
        return `postgres://${user}:${password}@127.0.0.1:${port}/${name}`;
      },
    };
  }
  await temp.cleanup();
  throw new Error(`postgres did not start: ${lastError}`);
}

async function waitReady(url: string, exited: Promise<void>): Promise<boolean> {
  let isGone = false;
  void exited.then(() => {
    isGone = true;
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && !isGone) {
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      await c.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return false;
}
