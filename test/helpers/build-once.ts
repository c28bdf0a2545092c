/**
 * vitest globalSetup: builds the deployable bundles once per test run, before any test
 * file starts — dist/collector.cjs, dist/lambda.mjs, dist/server.mjs (what `npm start`
 * runs) and dist/catalog.mjs (what `npm run catalog` runs), with dist/migrations — so suites
 * run the artifacts users run without each rebuilding them (infra/build.mjs writes each
 * file atomically, so a reader never sees half a bundle). `--if-changed`, as `npm start`
 * uses it: a bundle whose recorded inputs are unchanged is not built again. Then the
 * migrated PostgreSQL template the postgres-s3 catalogs are copied from.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../db/client.js';
import { createDatabase, PG_TEMPLATE_ENV } from './database.js';

/**
 * With TEST_DATABASE_URL, one database migrated once for this run: each postgres-s3 catalog is a
 * copy of it (CREATE DATABASE … TEMPLATE), as the embedded flavour copies a migrated PGlite
 * template, instead of running every migration again. Without a reachable server, nothing: the
 * suites that need one say so themselves.
 */
async function migratedTemplate(): Promise<(() => Promise<void>) | undefined> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) return undefined;
  let created: Awaited<ReturnType<typeof createDatabase>>;
  try {
    created = await createDatabase(base, 'vrc_template');
  } catch {
    return undefined;
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'vrc-template-'));
  try {
    const db = await openDb({ databaseUrl: created.url, dataDir });
    await db.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  process.env[PG_TEMPLATE_ENV] = new URL(created.url).pathname.slice(1);
  return created.drop;
}

export default async function setup(): Promise<() => Promise<void>> {
  const root = join(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'infra', 'build.mjs'), '--quiet', '--if-changed', '--lambda', '--server', '--cli'], {
    cwd: root,
    stdio: 'inherit',
  });
  const drop = await migratedTemplate();
  return async () => {
    await drop?.();
  };
}
