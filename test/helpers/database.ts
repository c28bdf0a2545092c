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
  await admin.unsafe(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`);
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
