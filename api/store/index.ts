/**
 * Picks the blob store from configuration: S3 when a bucket is configured, else the
 * filesystem under `<dataDir>/blobs` (the embedded default).
 */
import { FsBlobStore } from './fs.js';
import { S3BlobStore, type S3BlobStoreOptions } from './s3.js';
import type { BlobStore } from './types.js';

export interface BlobStoreConfig {
  dataDir: string;
  /** Where clients reach the API; the filesystem store's signed URLs start with it. */
  publicBaseUrl: string;
  s3?: Omit<S3BlobStoreOptions, 'now' | 'listPageSize'>;
}

/** The configured blob store. */
export function createBlobStore(config: BlobStoreConfig): BlobStore {
  if (config.s3) return new S3BlobStore(config.s3);
  return new FsBlobStore({ dataDir: config.dataDir, publicBaseUrl: config.publicBaseUrl });
}

export { FsBlobStore } from './fs.js';
export { S3BlobStore, contentMd5 } from './s3.js';
export * from './types.js';
