import { S3Client } from '@aws-sdk/client-s3';
import type { Clock } from '../../src/storage/clock.ts';
import type { LockLimits } from '../../src/storage/rw-lock.ts';
import { storageSurface } from '../../src/surfaces/storage/index.ts';
import { startTestApp, type TestApp } from '../helpers/app.ts';

export const KEYS = { master: 'master-key-0123', uploads: 'uploads-key-4567', private: 'private-key-89ab' };

/** The app with only the storage surface: a public `uploads` and a private `private` bucket. */
export function startStorageApp(
  opts: { clock?: Clock; env?: Record<string, string>; locks?: Partial<LockLimits> } = {},
): Promise<TestApp> {
  return startTestApp({
    surfaces: [storageSurface],
    storage: { ...(opts.clock ? { clock: opts.clock } : {}), ...(opts.locks ? { locks: opts.locks } : {}) },
    env: {
      HYBRIDS3_MASTER_KEY: KEYS.master,
      HYBRIDS3_BUCKETS: 'uploads:public,private:private',
      HYBRIDS3_UPLOADS_KEY: KEYS.uploads,
      HYBRIDS3_PRIVATE_KEY: KEYS.private,
      ...opts.env,
    },
  });
}

/** A real aws-sdk v3 client, path-style, access key id = bucket name, secret = its key. */
export function s3ClientFor(appUrl: string, accessKeyId: string, secret: string): S3Client {
  return new S3Client({
    endpoint: `${appUrl}/storage`,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey: secret },
  });
}

export async function bodyText(res: Response): Promise<string> {
  return Buffer.from(await res.arrayBuffer()).toString('utf8');
}
