import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { makeTempDir } from '../test/helpers/temp.ts';
import { KEYS, startStorageApp } from '../test/storage/storage-app.ts';
import { trackRssGrowth } from './stats.ts';

const SIZE = 1024 ** 3;
const BLOCK = 1024 * 1024;

/**
 * 1 GiB through the S3 surface with aws-sdk v3 (a streamed PutObject, then GetObject into a
 * file), against a plain stream copy of the same file on the same disk.
 * storage_put_get_1gib_vs_disk = 2·t_copy / (t_put + t_get): the mean throughput of a put
 * and a get over the copy's (target ≥ 0.5). storage_rss_growth_mb is this process's peak
 * RSS growth while client and server both stream (target < 50).
 */
export async function benchStorage(): Promise<Record<string, number>> {
  const temp = await makeTempDir('agentgate-bench-storage-');
  const app = await startStorageApp({ env: { DATA_DIR: join(temp.dir, 'data') } });
  // The SDK's own CRC32 (pure JS) would be the bottleneck, not the server: checksums only when required.
  const s3 = new S3Client({
    endpoint: `${app.url}/storage`,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'private', secretAccessKey: KEYS.private },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    const source = join(temp.dir, 'source.bin');
    const block = randomBytes(BLOCK);
    await pipeline(
      Readable.from(
        (function* () {
          for (let n = 0; n < SIZE; n += BLOCK) yield block;
        })(),
      ),
      createWriteStream(source),
    );

    let started = Date.now();
    await pipeline(createReadStream(source), createWriteStream(join(temp.dir, 'copy.bin')));
    const copyMs = Date.now() - started;
    await rm(join(temp.dir, 'copy.bin'));

    const rss = trackRssGrowth();
    started = Date.now();
    await s3.send(
      new PutObjectCommand({
        Bucket: 'private',
        Key: 'bench/1gib.bin',
        Body: createReadStream(source),
        ContentLength: SIZE,
      }),
    );
    const putMs = Date.now() - started;
    started = Date.now();
    const got = await s3.send(new GetObjectCommand({ Bucket: 'private', Key: 'bench/1gib.bin' }));
    await pipeline(got.Body as Readable, createWriteStream(join(temp.dir, 'got.bin')));
    const getMs = Date.now() - started;
    const rssGrowthMb = rss.stop();
    return {
      storage_put_get_1gib_vs_disk: Math.round(((2 * copyMs) / (putMs + getMs)) * 100) / 100,
      storage_rss_growth_mb: rssGrowthMb,
    };
  } finally {
    s3.destroy();
    await app.close();
    await temp.cleanup();
  }
}
