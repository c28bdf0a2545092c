/** What every handler can reach: injected services and the request's principal. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Db } from '../db/client.js';
import type { BlobStore } from './store/types.js';
import type { Config } from './config.js';
import type { Logger } from './logger.js';

export type Role = 'admin' | 'operator' | 'collector';

export interface Principal {
  tokenId: string;
  role: Role;
  /** Collector tokens may write only for this host. */
  host: string | null;
}

export interface Services {
  db: Db;
  dbFlavour: 'postgres' | 'pglite';
  store: BlobStore;
  config: Config;
  logger: Logger;
  /** The clock; tests pass a fake one. */
  now: () => Date;
  /**
   * Hands a queued commit job to whoever runs it (api/ingest/commit-jobs.ts). Unset: this
   * process runs it in the background; the Lambda entry sets an asynchronous self-invocation.
   */
  dispatchCommit?: (captureId: string) => Promise<void>;
  /**
   * True where an answer is buffered whole before it goes out, and capped (AWS Lambda behind API
   * Gateway: 6 MB): a restore bundle asked for without `redirect` then goes by a presigned GET
   * (api/routes/bundle.ts). Unset: answers stream.
   */
  bufferedAnswers?: boolean;
}

export interface AppEnv {
  Variables: {
    services: Services;
    requestId: string;
    principal?: Principal;
  };
}

export type App = OpenAPIHono<AppEnv>;
