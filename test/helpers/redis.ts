import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { REDIS_SERVER, skipWithout } from './system-parts.ts';
import { makeTempDir } from './temp.ts';

export interface TestRedis {
  /** redis://127.0.0.1:<port> */
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * A throwaway Redis for one suite: its own port and temp dir, nothing persisted (`--save ''
 * --appendonly no`). `stop` kills it and removes the dir; call it in `after`, so it dies
 * whatever the outcome (the test runner's reaper kills it too if the file is cut short).
 */
export async function startRedis(): Promise<TestRedis> {
  const temp = await makeTempDir('agentgate-redis-');
  for (let attempt = 0; ; attempt += 1) {
    const port = await freePort();
    // A test process killed by a signal runs no `after`: the kernel then kills the server too
    // (setpriv's parent-death signal).
    const withParentDeath = existsSync('/usr/bin/setpriv')
      ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--']
      : [];
    const [command = REDIS_SERVER, ...args] = [
      ...withParentDeath,
      REDIS_SERVER,
      ...[
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        temp.dir,
      ],
    ];
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (d) => {
      out += d;
    });
    const isReady = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      const onData = () => {
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      child.stdout?.on('data', onData);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    };
    if (isReady) {
      return {
        url: `redis://127.0.0.1:${port}`,
        child,
        async stop() {
          await stop();
          await temp.cleanup();
        },
      };
    }
    await stop();
    if (attempt >= 2) {
      await temp.cleanup();
      throw new Error(`redis-server did not start: ${out}`);
    }
  }
}

/** The engine backends a suite runs on: one suite, two engines. */
export interface EngineBackend {
  name: 'embedded' | 'cluster';
  /** The suite's `skip` option: the cluster needs redis-server. */
  skip: string | false;
}

export const engineBackends: EngineBackend[] = [
  { name: 'embedded', skip: false },
  { name: 'cluster', skip: skipWithout('redis') },
];

let shared: Promise<TestRedis> | undefined;
let nextDb = 0;

/**
 * The environment that puts a test app on `engine`. Cluster apps share one Redis per test
 * file, each in a database of its own (redis://…/<n>), so two apps never take each other's
 * runs; a short lease keeps the lost-node cases quick. Stop it with `stopTestRedis` in `after`.
 */
export async function engineEnv(engine: EngineBackend): Promise<Record<string, string>> {
  if (engine.name === 'embedded') return {};
  shared ??= startRedis();
  const redis = await shared;
  nextDb = (nextDb + 1) % 16;
  return { REDIS_URL: `${redis.url}/${nextDb}`, RUN_LEASE_MS: '2000' };
}

export async function stopTestRedis(): Promise<void> {
  const redis = await shared?.catch(() => undefined);
  shared = undefined;
  await redis?.stop();
}
