/**
 * vitest globalSetup: builds the deployable bundles once per test run, before any test
 * file starts — dist/collector.cjs, dist/lambda.mjs, dist/server.mjs (what `npm start`
 * runs) and dist/catalog.mjs (what `npm run catalog` runs), with dist/migrations — so suites
 * run the artifacts users run without each rebuilding them (infra/build.mjs writes each
 * file atomically, so a reader never sees half a bundle). `--if-changed`, as `npm start`
 * uses it: a bundle whose recorded inputs are unchanged is not built again. Then the
 * migrated PostgreSQL template the postgres-s3 catalogs are copied from, and the directory
 * the run's temporary files go to (testTmpdir).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
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

/** Free space /dev/shm must have for the run's temporary files to go there. */
const TMPFS_FREE_MIN = 4 * 1024 ** 3;

/**
 * Where the run's temporary files go (TMPDIR, which os.tmpdir() and every process the tests
 * start read): a directory of this run's own on /dev/shm, a memory filesystem, when it has
 * TMPFS_FREE_MIN free and TMPDIR was not set. The tests make and remove hundreds of data
 * directories — each embedded catalog a copy of the 1,100-file migrated PGlite template that
 * syncs each commit to disk — and on a disk those copies, syncs and removals cost a loaded
 * machine's test run time waiting on it (three catalog test files: 70–82 s → 62–64 s of wall,
 * 46 → 42 s of CPU). What is tested is the same: a kill -9 loses no more on a memory
 * filesystem than on a disk (the kernel keeps what was written), and the tests of a full or
 * unwritable filesystem make their own. Like /tmp, anyone may write there (a test serves a
 * catalog as `nobody`); the directory is removed at the end of the run. Answers its remover.
 */
function testTmpdir(): (() => void) | undefined {
  if (process.env.TMPDIR) return undefined;
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize < TMPFS_FREE_MIN) return undefined;
    const dir = mkdtempSync('/dev/shm/vrc-test-');
    chmodSync(dir, 0o1777);
    process.env.TMPDIR = dir;
    return () => rmSync(dir, { recursive: true, force: true });
  } catch {
    return undefined;
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const root = join(import.meta.dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'infra', 'build.mjs'), '--quiet', '--if-changed', '--lambda', '--server', '--cli'], {
    cwd: root,
    stdio: 'inherit',
  });
  const drop = await migratedTemplate();
  const removeTmpdir = testTmpdir();
  return async () => {
    await drop?.();
    removeTmpdir?.();
  };
}
