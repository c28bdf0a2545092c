/** Fresh PostgreSQL databases for tests and benchmarks (no vitest import: benchmarks use it too). */
import { randomBytes } from 'node:crypto';

/** Where the name of the run's migrated PostgreSQL template reaches the test workers (set by test/helpers/build-once.ts). */
export const PG_TEMPLATE_ENV = 'VRC_TEST_PG_TEMPLATE';

/**
 * A fresh database on the server at `baseUrl` (tests and benchmarks each get their own): empty,
 * or a copy of `template` (a database no one is connected to, e.g. the migrated one
 * test/helpers/build-once.ts makes once per test run).
 */
export async function createDatabase(baseUrl: string, prefix = 'vrc_test', template?: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const { default: postgres } = await import('postgres');
  const name = `${prefix}_${Date.now()}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
  if (template) {
    // A copy writes the template's every page to the WAL (WAL_LOG, the default) or copies its
    // files and checkpoints (FILE_COPY): on a cluster that syncs to disk the first is the
    // quicker (0.2–0.6 s against 1.5–2 s), on one that does not (.ci/run's, fsync off) the
    // second (0.1 s against 0.2–0.6 s). Before PostgreSQL 15 there is no choice (FILE_COPY).
    const [{ fsync, version }] = await admin<{ fsync: string; version: string }[]>`
      select current_setting('fsync') as fsync, current_setting('server_version_num') as version`;
    const strategy = Number(version) < 150000 ? '' : ` STRATEGY ${fsync === 'off' ? 'FILE_COPY' : 'WAL_LOG'}`;
    await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${template}${strategy}`);
  } else {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  }
  await admin.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const a = postgres(baseUrl, { max: 1, onnotice: () => {} });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
