/**
 * Test harness for the stores: the filesystem store served by its real routes on a
 * listening socket (port 0), and the S3 store on the Swift test server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { ApiError, errorBody } from '../../api/errors.js';
import { createBlobRoutes } from '../../api/routes/blobs.js';
import { FsBlobStore, type FsBlobStoreOptions } from '../../api/store/fs.js';
import { S3BlobStore, type S3BlobStoreOptions } from '../../api/store/s3.js';
import type { BlobStore } from '../../api/store/types.js';
import { reportMissingService } from '../helpers/catalog.js';
import { freshBucket, s3TestConfig } from '../helpers/swift.js';

export type StoreKind = 'fs' | 's3';

export interface StoreUnderTest<S extends BlobStore = BlobStore> {
  kind: StoreKind;
  store: S;
  /** Another store on the same objects with a different clock (for expired URLs). */
  withClock(now: () => Date): S;
  close(): Promise<void>;
}

/** FsBlobStore in a fresh data dir, reachable through its routes on 127.0.0.1. */
export async function startFsStore(options: Partial<FsBlobStoreOptions> = {}): Promise<StoreUnderTest<FsBlobStore> & { dataDir: string; url: string }> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'vrc-blobs-'));
  let app: Hono | undefined;
  const server = serve({ fetch: (req) => app!.fetch(req), port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const make = (now?: () => Date) => new FsBlobStore({ dataDir, publicBaseUrl: url, ...options, ...(now ? { now } : {}) });
  const store = make();
  app = new Hono();
  app.route('/', createBlobRoutes(store));
  // The shape the catalog app's onError renders.
  app.onError((err, c) =>
    err instanceof ApiError ? c.json(errorBody(err.code, err.message, 'test'), err.status) : c.json(errorBody('internal', String(err), 'test'), 500),
  );
  return {
    kind: 'fs',
    store,
    dataDir,
    url,
    withClock: make,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** S3BlobStore on a fresh bucket of the Swift test server (s3TestConfig must not be null). */
export async function startS3Store(options: Partial<S3BlobStoreOptions> = {}): Promise<StoreUnderTest<S3BlobStore>> {
  const cfg = s3TestConfig();
  if (!cfg) throw new Error('no S3 test server configured');
  const bucket = await freshBucket(cfg);
  const make = (now?: () => Date) => new S3BlobStore({ ...cfg.storeOptions(bucket), ...options, ...(now ? { now } : {}) });
  const store = make();
  return {
    kind: 's3',
    store,
    withClock: make,
    close: async () => {
      for await (const obj of store.list('')) await store.delete(obj.key);
    },
  };
}

/** The stores that can run here; S3 without a server is reported once, with the reason (a failure under CI). */
export function storeKinds(env: NodeJS.ProcessEnv = process.env): StoreKind[] {
  if (s3TestConfig(env)) return ['fs', 's3'];
  reportMissingService(
    '[store tests] S3 store (Swift) not tested',
    'S3_ENDPOINT is not set. Start it with `infra/swift/start.sh <dir>` and export what it prints (CI does this in .ci/run)',
    env,
  );
  return ['fs'];
}

/** Starts the store of `kind`. */
export function startStore(kind: StoreKind): Promise<StoreUnderTest> {
  return kind === 'fs' ? startFsStore() : startS3Store();
}
