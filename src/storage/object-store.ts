import { randomUUID } from 'node:crypto';
import { closeSync, createReadStream, fstat, open, type ReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { AppError } from '../errors.ts';
import type { Clock } from './clock.ts';
import { detectContentType, isInformativeType } from './content-type.ts';
import { type IngestChecks, ingestToTemp } from './ingest.ts';
import { assertValidKey, compareKeys, keyFileId } from './keys.ts';
import { type ListPage, type ListQuery, listPage } from './listing.ts';
import { KeyLocks, type LockLimits } from './rw-lock.ts';
import { StorageError } from './storage-error.ts';

const openFd = promisify(open);
const fstatFd = promisify(fstat);

/** What the sidecar of one object records. */
export interface ObjectMeta {
  key: string;
  /** Name of the content file under data/: a fresh random id per version. */
  file: string;
  size: number;
  /** Quoted, as S3 sends it: MD5 of the content, or S3's md5-of-parts for multipart. */
  etag: string;
  contentType: string;
  lastModifiedMs: number;
  expiresAtMs: number | null;
  /** What the uploader said about the object, served back on every read (absent in old sidecars). */
  attrs?: ObjectAttrs;
  /** Sizes of a multipart object's parts in order, for reads by partNumber. */
  partSizes?: number[];
}

/** Metadata an upload carries besides its content type. */
export interface ObjectAttrs {
  /** x-amz-meta-* without the prefix, names lower-cased. */
  userMeta: Record<string, string>;
  /** Stored response headers: cache-control, content-disposition, content-encoding, content-language, expires. */
  headers: Record<string, string>;
  /** Checksums verified at upload, by algorithm (`sha256`, `crc32`), base64 as S3 sends them. */
  checksums?: Record<string, string>;
}

/** Throws (e.g. 412) when the key's current version does not allow the write; checked under its lock. */
export type WriteCondition = (current: ObjectMeta | undefined) => void;

export interface NewVersion {
  /** A finished temp file under the bucket's tmp dir; renamed into place on commit. */
  tempPath: string;
  size: number;
  etag: string;
  contentType: string;
  ttlMs: number | undefined;
  attrs?: ObjectAttrs;
  partSizes?: number[];
  condition?: WriteCondition;
}

export interface OpenObject {
  meta: ObjectMeta;
  range: { start: number; end: number } | undefined;
  /** Reads the opened version (no lock held); closes its descriptor when it ends or is destroyed. */
  stream: ReadStream;
}

interface BucketState {
  dir: string;
  objects: Map<string, ObjectMeta>;
  sorted: string[] | undefined;
}

export interface ObjectStoreOptions {
  /** DATA_DIR/storage: one directory per bucket below it. */
  root: string;
  clock: Clock;
  locks?: Partial<LockLimits>;
}

/**
 * Objects on local disk. Layout per bucket: `meta/<sha256(key)>.json` (the sidecar, the
 * commit point of a version), `data/<random id>` (content), `tmp/` (uploads in flight)
 * and `multipart/`. A version is committed by renaming its sidecar into place under the
 * key's write lock, so readers see the old version or the new one, never a mix.
 */
export class ObjectStore {
  readonly #root: string;
  readonly #clock: Clock;
  readonly #locks: KeyLocks;
  readonly #buckets = new Map<string, Promise<BucketState>>();

  constructor(opts: ObjectStoreOptions) {
    this.#root = opts.root;
    this.#clock = opts.clock;
    this.#locks = new KeyLocks({
      waitMs: opts.locks?.waitMs ?? 30_000,
      holdMs: opts.locks?.holdMs ?? 300_000,
    });
  }

  get clock(): Clock {
    return this.#clock;
  }

  /** Where uploads of this bucket are staged (same filesystem as the objects: rename is atomic). */
  async tempDir(bucket: string): Promise<string> {
    return join((await this.#bucket(bucket)).dir, 'tmp');
  }

  async multipartDir(bucket: string): Promise<string> {
    return join((await this.#bucket(bucket)).dir, 'multipart');
  }

  /** Streams a body in and commits it as the key's new version. */
  async put(
    bucket: string,
    key: string,
    body: Readable,
    opts: {
      contentType?: string;
      ttlMs?: number;
      checks: IngestChecks;
      attrs?: ObjectAttrs;
      condition?: WriteCondition;
    },
  ): Promise<ObjectMeta> {
    assertValidKey(key);
    const file = await ingestToTemp(body, await this.tempDir(bucket), opts.checks);
    const contentType = isInformativeType(opts.contentType)
      ? opts.contentType
      : await detectContentType(file.head);
    return this.commit(bucket, key, {
      tempPath: file.path,
      size: file.size,
      etag: `"${file.md5Hex}"`,
      contentType,
      ttlMs: opts.ttlMs,
      attrs: withChecksums(opts.attrs, file.checksums),
      condition: opts.condition,
    });
  }

  async commit(bucket: string, key: string, version: NewVersion): Promise<ObjectMeta> {
    assertValidKey(key);
    const state = await this.#bucket(bucket);
    const lockKey = `${bucket}/${key}`;
    let hold: Awaited<ReturnType<KeyLocks['write']>>;
    try {
      hold = await this.#locks.write(lockKey);
    } catch (err) {
      await unlink(version.tempPath).catch(() => {});
      throw err;
    }
    let previous: ObjectMeta | undefined;
    let meta: ObjectMeta;
    try {
      const current = state.objects.get(key);
      version.condition?.(current && !this.#isExpired(current) ? current : undefined);
      const now = this.#clock.now();
      meta = {
        key,
        file: randomUUID(),
        size: version.size,
        etag: version.etag,
        contentType: version.contentType,
        lastModifiedMs: Math.floor(now / 1000) * 1000,
        // An upload resets the object's expiry clock.
        expiresAtMs: version.ttlMs === undefined ? null : now + version.ttlMs,
        ...(version.attrs ? { attrs: version.attrs } : {}),
        ...(version.partSizes ? { partSizes: version.partSizes } : {}),
      };
      await rename(version.tempPath, join(state.dir, 'data', meta.file));
      const sidecar = join(state.dir, 'meta', `${keyFileId(key)}.json`);
      const sidecarTemp = join(state.dir, 'tmp', `${meta.file}.json`);
      await writeFile(sidecarTemp, JSON.stringify(meta));
      await rename(sidecarTemp, sidecar);
      previous = state.objects.get(key);
      if (!previous) state.sorted = undefined;
      state.objects.set(key, meta);
    } catch (err) {
      await unlink(version.tempPath).catch(() => {});
      throw err;
    } finally {
      hold.release();
    }
    // Readers that already opened the old file keep reading it: unlinking is safe.
    if (previous) await unlink(join(state.dir, 'data', previous.file)).catch(() => {});
    return meta;
  }

  /** The live (not expired) metadata of a key, or undefined. */
  async head(bucket: string, key: string): Promise<ObjectMeta | undefined> {
    const state = await this.#bucket(bucket);
    const meta = state.objects.get(key);
    return meta && !this.#isExpired(meta) ? meta : undefined;
  }

  /**
   * Opens a key for reading. `prepare` sees the version actually opened and returns the
   * inclusive byte range to read (it may throw: a failed precondition, an unsatisfiable
   * range). The key's read lock is held only until the file is open: a version's content
   * file never changes and a replaced one is unlinked, not rewritten, so an open descriptor
   * keeps reading the version it opened however slowly its client reads (or never does).
   * The caller owns the stream and must consume or destroy it.
   */
  async open(
    bucket: string,
    key: string,
    prepare?: (meta: ObjectMeta) => { start: number; end: number } | undefined,
  ): Promise<OpenObject> {
    const state = await this.#bucket(bucket);
    const hold = await this.#locks.read(`${bucket}/${key}`);
    let fd: number | undefined;
    try {
      const meta = state.objects.get(key);
      if (!meta || this.#isExpired(meta)) {
        throw new StorageError('not_found', 'NoSuchKey', 'The specified key does not exist.');
      }
      const range = prepare?.(meta);
      // A numeric descriptor: streams over a FileHandle read through promises, several times slower.
      fd = await openFd(join(state.dir, 'data', meta.file), 'r');
      // A short file would promise a Content-Length it cannot deliver: the client would wait forever.
      const { size } = await fstatFd(fd);
      if (size !== meta.size) {
        throw new AppError(
          'internal',
          `Stored content of ${bucket}/${key} is ${size} bytes, not ${meta.size}`,
        );
      }
      const stream = createReadStream('', { fd, autoClose: true, ...(range ?? {}) });
      fd = undefined;
      return { meta, range, stream };
    } catch (err) {
      if (fd !== undefined) closeSync(fd);
      throw err;
    } finally {
      hold.release();
    }
  }

  /** Deletes a key; true when it existed. */
  async delete(bucket: string, key: string): Promise<boolean> {
    const state = await this.#bucket(bucket);
    if (!state.objects.has(key)) return false;
    const hold = await this.#locks.write(`${bucket}/${key}`);
    let meta: ObjectMeta | undefined;
    try {
      meta = state.objects.get(key);
      if (!meta) return false;
      await rm(join(state.dir, 'meta', `${keyFileId(key)}.json`), { force: true });
      state.objects.delete(key);
      state.sorted = undefined;
    } finally {
      hold.release();
    }
    await unlink(join(state.dir, 'data', meta.file)).catch(() => {});
    return !this.#isExpired(meta);
  }

  /** One page of keys with their metadata; expired objects not yet swept are left out. */
  async list(bucket: string, query: ListQuery): Promise<ListPage & { objects: ObjectMeta[] }> {
    const state = await this.#bucket(bucket);
    if (!state.sorted) state.sorted = [...state.objects.keys()].sort(compareKeys);
    const page = listPage(state.sorted, query);
    const objects: ObjectMeta[] = [];
    for (const key of page.keys) {
      const meta = state.objects.get(key);
      if (meta && !this.#isExpired(meta)) objects.push(meta);
    }
    return { ...page, keys: objects.map((m) => m.key), objects };
  }

  /** Deletes the bucket's expired objects; returns how many went. */
  async sweep(bucket: string): Promise<number> {
    const state = await this.#bucket(bucket);
    const expired = [...state.objects.values()].filter((m) => this.#isExpired(m));
    let count = 0;
    for (const meta of expired) {
      try {
        // Re-checked under the lock inside delete: an upload may have just renewed it.
        const current = state.objects.get(meta.key);
        if (current && this.#isExpired(current)) {
          await this.delete(bucket, meta.key);
          count++;
        }
      } catch {
        // Busy key: the next sweep gets it.
      }
    }
    return count;
  }

  #isExpired(meta: ObjectMeta): boolean {
    return meta.expiresAtMs !== null && meta.expiresAtMs <= this.#clock.now();
  }

  #bucket(name: string): Promise<BucketState> {
    if (!/^[a-z0-9][a-z0-9.-]*$/.test(name) || name.includes('..')) {
      throw new AppError('invalid_request', `Invalid bucket name "${name}"`);
    }
    let state = this.#buckets.get(name);
    if (!state) {
      state = loadBucket(join(this.#root, name));
      this.#buckets.set(name, state);
      state.catch(() => this.#buckets.delete(name));
    }
    return state;
  }
}

function withChecksums(
  attrs: ObjectAttrs | undefined,
  checksums: Record<string, string>,
): ObjectAttrs | undefined {
  if (Object.keys(checksums).length === 0) return attrs;
  return { userMeta: {}, headers: {}, ...attrs, checksums };
}

/** Reads every sidecar of a bucket and drops what a crash may have left behind. */
async function loadBucket(dir: string): Promise<BucketState> {
  for (const sub of ['meta', 'data', 'multipart']) await mkdir(join(dir, sub), { recursive: true });
  await rm(join(dir, 'tmp'), { recursive: true, force: true });
  await mkdir(join(dir, 'tmp'));
  const objects = new Map<string, ObjectMeta>();
  for (const name of await readdir(join(dir, 'meta'))) {
    if (!name.endsWith('.json')) continue;
    try {
      const meta = JSON.parse(await readFile(join(dir, 'meta', name), 'utf8')) as ObjectMeta;
      objects.set(meta.key, meta);
    } catch {
      // A sidecar is written to tmp/ and renamed: an unreadable one is not ours.
    }
  }
  const referenced = new Set([...objects.values()].map((m) => m.file));
  for (const name of await readdir(join(dir, 'data'))) {
    if (!referenced.has(name)) await unlink(join(dir, 'data', name)).catch(() => {});
  }
  return { dir, objects, sorted: undefined };
}
