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

/**
 * The most bytes a buffered answer (Services.bufferedAnswers) carries. Lambda's 6 MB is the
 * payload API Gateway gets, and a binary body goes in it base64-encoded, 4 characters for each 3
 * bytes (hono/aws-lambda), so about 4.5 MB of bytes fit: 4 MiB is 5.6 MB encoded, leaving room
 * for the headers and the envelope.
 */
export const BUFFERED_ANSWER_MAX_BYTES = 4 * 1024 * 1024;

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
   * (api/routes/bundle.ts), and so does an artifact download of more than
   * BUFFERED_ANSWER_MAX_BYTES (api/routes/artifacts.ts). Unset: answers stream.
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
