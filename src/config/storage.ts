import { parseDurationMs } from './env.ts';

export interface BucketConfig {
  name: string;
  isPublic: boolean;
  /** The bucket's own key: its Bearer token and, for S3 clients, the secret of access key id = name. */
  key: string | undefined;
  ttlMs: number | undefined;
}

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const RESERVED_BUCKET_NAMES = new Set(['health', 'presign', 'mcp']);

/**
 * HYBRIDS3_BUCKETS is `name:public|private,…`; each bucket's key and TTL come from
 * HYBRIDS3_<NAME>_KEY and HYBRIDS3_<NAME>_TTL (NAME upper-cased, `-` and `.` as `_`),
 * which is how the seed names the `uploads` bucket's settings.
 */
export function parseBuckets(
  spec: string,
  env: Record<string, string | undefined>,
): { buckets: BucketConfig[] } | { error: string; variable: string } {
  const buckets: BucketConfig[] = [];
  for (const item of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = '', visibility = 'private', ...rest] = item.split(':');
    if (!BUCKET_NAME.test(name) || rest.length > 0) {
      return { variable: 'HYBRIDS3_BUCKETS', error: `"${item}" is not name:public or name:private` };
    }
    // These names are routes of the storage surface (/storage/health, /presign/, /mcp/).
    if (RESERVED_BUCKET_NAMES.has(name)) {
      return { variable: 'HYBRIDS3_BUCKETS', error: `"${name}" is reserved by the storage routes` };
    }
    if (visibility !== 'public' && visibility !== 'private') {
      return { variable: 'HYBRIDS3_BUCKETS', error: `"${item}": visibility must be public or private` };
    }
    const envName = name.toUpperCase().replace(/[-.]/g, '_');
    const ttlVar = `HYBRIDS3_${envName}_TTL`;
    const ttlText = env[ttlVar]?.trim();
    let ttlMs: number | undefined;
    if (ttlText) {
      ttlMs = parseDurationMs(ttlText);
      if (ttlMs === undefined || ttlMs <= 0) {
        return { variable: ttlVar, error: 'expected a duration like 168h, 30m or 45s' };
      }
    } else if (name === 'uploads') {
      ttlMs = 168 * 3_600_000;
    }
    if (buckets.some((b) => b.name === name)) {
      return { variable: 'HYBRIDS3_BUCKETS', error: `bucket "${name}" is listed twice` };
    }
    buckets.push({
      name,
      isPublic: visibility === 'public',
      key: env[`HYBRIDS3_${envName}_KEY`]?.trim() || undefined,
      ttlMs,
    });
  }
  return { buckets };
}
