import { request } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { claudeboxSurface } from '../src/surfaces/claudebox/index.ts';
import { startTestApp } from '../test/helpers/app.ts';
import { trackRssGrowth } from './stats.ts';

const SIZE = 1024 ** 3;
const CHUNK = 1024 * 1024;
const TOKEN = 'bench-token';

/**
 * Uploads then downloads 1 GiB through the claudebox files API, in this process, sampling
 * RSS throughout: streaming both ways must keep growth far below the file's size (< 50 MB).
 * The client side streams too (generator up, discard down), so the figure is the server's.
 */
export async function benchFiles(): Promise<Record<string, number>> {
  const t = await startTestApp({ surfaces: [claudeboxSurface], env: { CLAUDEBOX_API_TOKEN: TOKEN } });
  try {
    const { port } = new URL(t.url);
    const rss = trackRssGrowth();
    const started = Date.now();
    await upload(Number(port));
    await download(Number(port));
    const seconds = (Date.now() - started) / 1000;
    const rssGrowthMb = rss.stop();
    return {
      files_1gib_rss_growth_mb: rssGrowthMb,
      files_1gib_round_trip_mb_per_s: Math.round(((2 * SIZE) / 1024 / 1024 / seconds) * 10) / 10,
    };
  } finally {
    await t.close();
  }
}

function* chunks(): Generator<Buffer> {
  const block = Buffer.alloc(CHUNK, 0x5a);
  for (let sent = 0; sent < SIZE; sent += CHUNK) yield block;
}

function upload(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'PUT',
        path: '/claudebox/files/bench/big.bin',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-length': String(SIZE) },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 201 ? resolve() : reject(new Error(`upload ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    pipeline(Readable.from(chunks()), req).catch(reject);
  });
}

function download(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/claudebox/files/bench/big.bin',
        headers: { authorization: `Bearer ${TOKEN}` },
      },
      (res) => {
        let received = 0;
        res.on('data', (c: Buffer) => {
          received += c.length;
        });
        res.on('end', () =>
          received === SIZE ? resolve() : reject(new Error(`download got ${received} bytes`)),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}
