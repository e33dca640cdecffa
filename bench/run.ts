import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchCluster } from './cluster.ts';
import { benchFiles } from './files.ts';
import { benchRunHttpOverhead } from './http-overhead.ts';
import { benchPaced } from './paced.ts';
import { benchStorage } from './storage.ts';
import { benchStreamRelay } from './stream-relay.ts';
import { benchWarmPool } from './warm-pool.ts';

/**
 * `npm run bench`: each benchmark prints its figures one `name=value` a line and all of
 * them land in bench/results/<timestamp>.json. Never part of `npm test`.
 */
const benches: Record<string, () => Promise<Record<string, number>>> = {
  warm_pool: benchWarmPool,
  paced: benchPaced,
  stream_relay: benchStreamRelay,
  http_overhead: benchRunHttpOverhead,
  files: benchFiles,
  storage: benchStorage,
  cluster: benchCluster,
};

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const results: Record<string, number> = {};
  for (const [name, bench] of Object.entries(benches)) {
    if (only.length > 0 && !only.includes(name)) continue;
    const figures = await bench();
    for (const [k, v] of Object.entries(figures)) {
      results[k] = v;
      process.stdout.write(`${k}=${v}\n`);
    }
  }
  const dir = join(import.meta.dirname, 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`);
  process.stdout.write(`results written to ${file}\n`);
  process.exit(0);
}

void main();
