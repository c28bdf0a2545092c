import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, openDb, queryRows } from '../../db/client.js';
import { buildVhSf, DEFAULTS } from '../fixtures/vmfs-images.js';
import { openTestCatalogAt, reportMissingService } from '../helpers/catalog.js';
import { createDatabase, PG_TEMPLATE_ENV } from '../helpers/database.js';
import { ingest } from '../helpers/ingest-client.js';
import { ROOT, runNode, SERVER_BUNDLE } from '../helpers/spawn-server.js';

const flavours: Array<'embedded' | 'postgres'> = ['embedded'];
if (process.env.TEST_DATABASE_URL) flavours.push('postgres');
else reportMissingService('[newer database] PostgreSQL case not run', 'TEST_DATABASE_URL is not set (CI sets it; see .ci/run)');

const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ when: number }> };
const NEWEST = Math.max(...journal.entries.map((e) => e.when));
const LATER = NEWEST + 86_400_000;

const cli = (args: string[], env: Record<string, string>) => runNode([join(ROOT, 'dist/catalog.mjs'), ...args], env, 120_000);

for (const flavour of flavours) {
  // Each flavour has its own data dir and database: they run at once.
  describe.concurrent(`a database a newer release migrated [${flavour}]`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vrc-newer-db-'));
    const token = `boot-admin-${randomBytes(16).toString('hex')}`;
    const env: Record<string, string> = { DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: token };
    let drop = async () => {};
    afterAll(async () => {
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** Runs statements, in order, on the catalog's database with the catalog's own client, its lock held meanwhile; each one's rows. */
    async function onDatabase(...texts: string[]): Promise<unknown[][]> {
      const opened = await openDb({ dataDir, databaseUrl: env.DATABASE_URL, migrate: false });
      try {
        const rows: unknown[][] = [];
        for (const text of texts) rows.push(await queryRows(opened.db, sql.raw(text)));
        return rows;
      } finally {
        await opened.close();
      }
    }
    const COUNTS =
      "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS tables, (SELECT count(*) FROM captures) AS captures, (SELECT count(*) FROM drizzle.__drizzle_migrations) AS migrations";

    it('is refused by the server and the CLI, exit 78 in one line, and left as it was', { timeout: 300_000 }, async () => {
      if (flavour === 'postgres') {
        // A copy of the run's migrated template (test/helpers/build-once.ts) when there is one.
        const db = await createDatabase(process.env.TEST_DATABASE_URL!, 'vrc_newer', process.env[PG_TEMPLATE_ENV]);
        env.DATABASE_URL = db.url;
        drop = db.drop;
      }
      const first = await openTestCatalogAt(env, token);
      let artifactId: string;
      try {
        const committed = await ingest(first, {
          host: 'esx01',
          artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', sourcePath: `/vmfs/volumes/${DEFAULTS.vmfsUuid}/.vh.sf`, bytes: buildVhSf() }],
        });
        artifactId = committed.artifacts[0].id;
      } finally {
        await first.close();
      }
      const [, before] = await onDatabase(`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('a later release', ${LATER})`, COUNTS);

      const where =
        flavour === 'embedded'
          ? `the embedded database in ${join(dataDir, 'pg')}`
          : `the database ${new URL(env.DATABASE_URL).host}${new URL(env.DATABASE_URL).pathname} (DATABASE_URL)`;
      const day = new Date(LATER).toISOString().slice(0, 10);
      // Refused before it listens: a server still up after 30 s started on it (and is stopped, exit 0).
      const server = await runNode([SERVER_BUNDLE], { ...env, PORT: '0' }, 30_000);
      expect([server.status, server.stdout], server.stderr).toEqual([78, '']);
      expect(server.stderr).toBe(
        `catalog: ${where} was migrated by a newer release of the catalog (1 migration this release does not have, the newest of ${day}); this release does not run on it and left it as it was: start the release that migrated it (or a later one)\n`,
      );
      const listed = await cli(['tokens', 'list', '--json'], env);
      expect(listed.status, listed.stderr).toBe(78);
      expect(listed.stderr.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(listed.stdout).error.code).toBe('database_newer');
      expect(listed.stderr).toContain(`${where} was migrated by a newer release`);

      // Counted; then, back on the release that knows every migration it holds (the later
      // release's row taken away again), the catalog serves what it had.
      const [after] = await onDatabase(COUNTS, `DELETE FROM drizzle.__drizzle_migrations WHERE created_at = ${LATER}`);
      expect(after).toEqual(before);

      const again = await openTestCatalogAt(env, token);
      try {
        const res = await again.request(`/v1/artifacts/${artifactId}/content`);
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(buildVhSf()))).toBe(true);
      } finally {
        await again.close();
      }
    });
  });
}
