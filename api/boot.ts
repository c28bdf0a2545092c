/** Opens the services the app runs on, from a validated configuration. */
import { resolve } from 'node:path';
import { openDb, type OpenDbOptions } from '../db/client.js';
import { localBaseUrl, type Config } from './config.js';
import type { Services } from './context.js';
import { createLogger, type Logger } from './logger.js';
import { FsBlobStore } from './store/fs.js';
import type { BlobStore } from './store/types.js';
import { initialLockDate } from './retention/object-lock.js';
import { databaseUrlFromSecret, fetchSecretString } from './database-secret.js';
import { checkStoreDirs, prepareDataDir } from './data-dir.js';

export interface OpenedServices {
  services: Services;
  close(): Promise<void>;
}

/**
 * The AWS SDK's first client of a process on Node 20 prints an 8-line NodeVersionSupportWarning
 * (its releases after January 2027 need Node 22) on every start of the catalog with S3 or a
 * database secret configured. The SDK version this catalog pins runs on Node 20, so the notice
 * is switched off with the SDK's own setting for it, which silences that warning and no other;
 * an operator who sets AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED (to false) decides.
 */
function quietAwsNodeVersionNotice(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** Database (migrated) + blob store + logger + clock. */
export async function openServices(
  config: Config,
  options: {
    logger?: Logger;
    now?: () => Date;
    fetchSecret?: (arn: string, region: string) => Promise<string>;
    /** The embedded database's lock: who this is, and how long to wait for another holder (db/client.ts). */
    embedded?: Pick<OpenDbOptions, 'holder' | 'lockWaitMs' | 'onHeld'>;
  } = {},
): Promise<OpenedServices> {
  const dataDir = resolve(config.DATA_DIR);
  quietAwsNodeVersionNotice();
  const logger = options.logger ?? createLogger(config.LOG_LEVEL);
  const databaseUrl =
    config.DATABASE_URL ??
    (config.DATABASE_SECRET_ARN
      ? databaseUrlFromSecret(await (options.fetchSecret ?? fetchSecretString)(config.DATABASE_SECRET_ARN, config.S3_REGION), config.DATABASE_HOST)
      : undefined);
  // The embedded database and the embedded store live in DATA_DIR; PostgreSQL with S3 needs it
  // only for a first start's token file (api/admin/tokens.ts checks it then), and on Lambda it
  // is not writable at all.
  if (!databaseUrl || !config.S3_BUCKET) prepareDataDir(dataDir);
  if (!config.S3_BUCKET) checkStoreDirs(dataDir);
  const opened = await openDb({
    databaseUrl,
    dataDir,
    connectTimeoutSeconds: config.DATABASE_CONNECT_TIMEOUT,
    statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    poolMax: config.DATABASE_POOL_MAX,
    prepare: config.DATABASE_PREPARE,
    ...options.embedded,
  });
  const publicBaseUrl = config.PUBLIC_URL ?? localBaseUrl(config.HOST, config.PORT);
  // The S3 store (and the AWS SDK it loads) is imported only when a bucket is configured:
  // the embedded default starts without evaluating the SDK.
  let store: BlobStore;
  if (config.S3_BUCKET) {
    const { S3BlobStore } = await import('./store/s3.js');
    store = new S3BlobStore({
      bucket: config.S3_BUCKET,
      endpoint: config.S3_ENDPOINT,
      region: config.S3_REGION,
      forcePathStyle: config.S3_FORCE_PATH_STYLE,
      timeoutMs: config.S3_TIMEOUT_MS,
      maxAttempts: config.S3_MAX_ATTEMPTS,
      ...(config.S3_OBJECT_LOCK
        ? { objectLock: { mode: config.S3_OBJECT_LOCK_MODE, retainUntil: () => initialLockDate(config, options.now?.() ?? new Date()) } }
        : {}),
    });
  } else {
    store = new FsBlobStore({ dataDir, publicBaseUrl });
  }
  return {
    services: { db: opened.db, dbFlavour: opened.flavour, store, config: { ...config, DATA_DIR: dataDir }, logger, now: options.now ?? (() => new Date()) },
    close: () => opened.close(),
  };
}
