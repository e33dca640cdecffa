import type { FastifyReply, FastifyRequest } from 'fastify';
import type { BucketConfig, Config } from '../../config/index.ts';
import type { MultipartUploads } from '../../storage/multipart.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { Caller } from './access.ts';
import type { S3Target } from './request-target.ts';

/** What the storage routes share for the life of the app. */
export interface StorageContext {
  store: ObjectStore;
  uploads: MultipartUploads;
  config: () => Config;
}

/** One S3-shaped request, authenticated, its bucket resolved. */
export interface S3Call {
  req: FastifyRequest;
  reply: FastifyReply;
  target: S3Target;
  caller: Caller;
  bucket: BucketConfig;
  /** Set for object-level requests. */
  key: string;
}
