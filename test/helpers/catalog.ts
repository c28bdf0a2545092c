/**
 * A real catalog for tests: the same createApp as production on either flavour —
 * 'embedded' (PGlite + filesystem store, always) or 'postgres-s3' (a fresh database on
 * the real Postgres at TEST_DATABASE_URL + the S3 server from test/helpers/swift.ts).
 * With `listen: true` it serves on a real socket (127.0.0.1, random port).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { describe } from 'vitest';
import { createApp } from '../../api/app.js';
import { openServices } from '../../api/boot.js';
import { loadConfig } from '../../api/config.js';
import type { App, Services } from '../../api/context.js';
import { createLogger } from '../../api/logger.js';
import { s3TestConfig } from './swift.js';
import { createDatabase, PG_TEMPLATE_ENV } from './database.js';

export type Flavour = 'embedded' | 'postgres-s3';

export interface TestCatalog {
  flavour: Flavour;
  app: App;
  services: Services;
  /** Base URL of the listening server ('' without listen). */
  url: string;
  adminToken: string;
  dataDir: string;
  /** fetch-like call against the app (through the socket when listening). */
  request(path: string, init?: RequestInit & { token?: string | null }): Promise<Response>;
  close(): Promise<void>;
}

export interface StartOptions {
  listen?: boolean;
  now?: () => Date;
  env?: Record<string, string>;
  /** With listen: PUBLIC_URL (default the listening URL); null leaves it unset, as a fresh install has it. */
  publicUrl?: string | null;
}

/** True under CI (.ci/run exports CI=true), where every service the tests need must be present. */
export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.CI?.trim().toLowerCase();
  return !!v && v !== 'false' && v !== '0';
}

/**
 * Reports a service the tests cannot reach. Under CI that fails the run (throws while the
 * test file is collected), so tests CI must run are never dropped silently; elsewhere it
 * prints why the tests that need the service are left out.
 */
export function reportMissingService(what: string, why: string, env: NodeJS.ProcessEnv = process.env): void {
  if (underCi(env)) throw new Error(`${what}: ${why} — under CI (CI=${env.CI}) this service is required, not optional`);
  console.warn(`${what}: ${why}`);
}

/** Why the postgres-s3 flavour cannot run here, or null when it can. */
export function postgresS3Unavailable(env: NodeJS.ProcessEnv = process.env): string | null {
  if (!env.TEST_DATABASE_URL) return 'TEST_DATABASE_URL is not set (CI sets it; see .ci/run)';
  if (!s3TestConfig(env)) return 'S3_ENDPOINT is not set: no S3 server to test against (CI starts Swift; see .ci/run)';
  return null;
}

/** The flavours that can run on this machine; the others are reported once, with why (a failure under CI). */
export function availableFlavours(env: NodeJS.ProcessEnv = process.env): Flavour[] {
  const why = postgresS3Unavailable(env);
  if (why) {
    reportMissingService('[catalog tests] postgres-s3 flavour not run', why, env);
    return ['embedded'];
  }
  return ['embedded', 'postgres-s3'];
}

/** describe() once per available flavour. */
export function describeEachFlavour(name: string, body: (flavour: Flavour) => void): void {
  for (const flavour of availableFlavours()) describe(`${name} [${flavour}]`, () => body(flavour));
}

/** Starts a catalog of the given flavour in a fresh data dir / database / bucket. */
export async function startTestCatalog(flavour: Flavour, options: StartOptions = {}): Promise<TestCatalog> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-catalog-'));
  const adminToken = `test-admin-${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = { DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: adminToken, LOG_LEVEL: 'silent', ...options.env };
  let dropDb: (() => Promise<void>) | undefined;
  if (flavour === 'postgres-s3') {
    const why = postgresS3Unavailable();
    if (why) throw new Error(why);
    // A copy of the run's migrated template (test/helpers/build-once.ts) when there is one.
    const created = await createDatabase(process.env.TEST_DATABASE_URL!, 'vrc_test', process.env[PG_TEMPLATE_ENV]);
    dropDb = created.drop;
    const s3 = s3TestConfig()!;
    const bucket = `vrc-test-${randomBytes(5).toString('hex')}`;
    await s3.createBucket(bucket);
    Object.assign(env, { DATABASE_URL: created.url, S3_BUCKET: bucket, S3_ENDPOINT: s3.endpoint, S3_REGION: s3.region, S3_FORCE_PATH_STYLE: 'true' });
  }

  let server: ServerType | undefined;
  let url = '';
  let port = 0;
  if (options.listen) {
    // Reserve the port first so PUBLIC_URL (used in fs-store upload URLs) is right.
    const probe = serve({ fetch: () => new Response(''), port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((r) => probe.once('listening', () => r()));
    port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    url = `http://127.0.0.1:${port}`;
    env.PORT = String(port);
    if (options.publicUrl !== null) env.PUBLIC_URL = options.publicUrl ?? url;
  }
  const config = loadConfig(env);
  const opened = await openServices(config, { logger: createLogger('silent'), now: options.now });
  const app = createApp(opened.services);
  if (options.listen) {
    server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
    await new Promise<void>((r) => server!.once('listening', () => r()));
  }

  const inProcess = inProcessRequest(app, adminToken);
  const request = async (path: string, init: RequestInit & { token?: string | null } = {}) => {
    if (!server) return inProcess(path, init);
    const { token: _token, ...rest } = init;
    return fetch(url + path, { ...rest, headers: withToken(init, adminToken) });
  };

  return {
    flavour,
    app,
    services: opened.services,
    url,
    adminToken,
    dataDir,
    request,
    close: async () => {
      if (server) await new Promise<void>((r) => server!.close(() => r()));
      await opened.close();
      if (dropDb) await dropDb();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `init`'s headers with `Authorization: Bearer` its token (default `adminToken`; null: none). */
function withToken(init: RequestInit & { token?: string | null }, adminToken: string): Headers {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? adminToken : init.token;
  if (token) headers.set('authorization', `Bearer ${token}`);
  return headers;
}

/** TestCatalog.request through app.request, no socket. */
function inProcessRequest(app: App, adminToken: string): TestCatalog['request'] {
  return async (path, init = {}) => {
    const { token: _token, ...rest } = init;
    return app.request(path, { ...rest, headers: withToken(init, adminToken) });
  };
}

/**
 * The catalog of `env` (its DATA_DIR, and DATABASE_URL and S3 settings when given) opened in
 * this process, as a server started on those settings would serve it, requests through
 * app.request: for tests that open a catalog a process made or left, or open one again on the
 * same data. Nothing is made for it and nothing removed at close.
 */
export async function openTestCatalogAt(env: Record<string, string>, adminToken: string): Promise<TestCatalog> {
  const opened = await openServices(loadConfig({ ...env, LOG_LEVEL: 'silent' }), { logger: createLogger('silent') });
  const app = createApp(opened.services);
  return {
    flavour: env.DATABASE_URL ? 'postgres-s3' : 'embedded',
    app,
    services: opened.services,
    url: '',
    adminToken,
    dataDir: env.DATA_DIR ?? '',
    request: inProcessRequest(app, adminToken),
    close: () => opened.close(),
  };
}

/**
 * Runs `body` with every database query of `catalog` throwing `error` (an outage, a bug), and
 * puts the database handle back as it was after, whatever `body` does.
 */
export async function withDatabaseFailing<T>(catalog: TestCatalog, error: Error, body: () => Promise<T>): Promise<T> {
  const db = catalog.services.db as unknown as Record<string, unknown>;
  const names = ['select', 'execute', 'insert', 'update', 'delete', 'transaction'];
  const saved = names.map((n) => [n, Object.getOwnPropertyDescriptor(db, n)] as const);
  for (const n of names)
    db[n] = () => {
      throw error;
    };
  try {
    return await body();
  } finally {
    for (const [n, d] of saved) {
      if (d) Object.defineProperty(db, n, d);
      else delete db[n];
    }
  }
}
