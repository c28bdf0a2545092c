/**
 * A database a later release migrated (going back to an older release after an upgrade): the
 * server and the CLI refuse it, exit 78 in one line naming the database and what to do, and
 * change nothing in it — drizzle's migrator takes a database whose newest applied migration
 * is newer than its own as up to date, so this release would otherwise run on tables it does
 * not know. The later release is stood in for as it would appear: one more row in
 * drizzle.__drizzle_migrations, generated after this release's newest (drizzle's migrator
 * records each migration's journal time as created_at: node_modules/drizzle-orm/migrator.js).
 * Once that row is gone again (the later release, or nothing newer) the catalog starts on it
 * with its captures whole. Embedded always; PostgreSQL when TEST_DATABASE_URL is set.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, openDb, queryRows } from '../../db/client.js';
import { buildVhSf, DEFAULTS } from '../fixtures/vmfs-images.js';
import { reportMissingService } from '../helpers/catalog.js';
import { createDatabase } from '../helpers/database.js';
import { ingest, remoteCatalog } from '../helpers/ingest-client.js';
import { ROOT, SERVER_BUNDLE, serverEnv, spawnServer } from '../helpers/spawn-server.js';

const flavours: Array<'embedded' | 'postgres'> = ['embedded'];
if (process.env.TEST_DATABASE_URL) flavours.push('postgres');
else reportMissingService('[newer database] PostgreSQL case not run', 'TEST_DATABASE_URL is not set (CI sets it; see .ci/run)');

const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: Array<{ when: number }> };
const NEWEST = Math.max(...journal.entries.map((e) => e.when));
const LATER = NEWEST + 86_400_000;

const cli = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [join(ROOT, 'dist/catalog.mjs'), ...args], { cwd: ROOT, env: serverEnv(env), encoding: 'utf8', timeout: 120_000 });

for (const flavour of flavours) {
  describe(`a database a newer release migrated [${flavour}]`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vrc-newer-db-'));
    const token = `boot-admin-${randomBytes(16).toString('hex')}`;
    const env: Record<string, string> = { DATA_DIR: dataDir, CATALOG_BOOTSTRAP_TOKEN: token };
    let drop = async () => {};
    afterAll(async () => {
      await drop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** Runs one statement on the catalog's database with the catalog's own client, its lock held meanwhile. */
    async function onDatabase<T>(text: string): Promise<T[]> {
      const opened = await openDb({ dataDir, databaseUrl: env.DATABASE_URL, migrate: false });
      try {
        return await queryRows<T>(opened.db, sql.raw(text));
      } finally {
        await opened.close();
      }
    }

    it('is refused by the server and the CLI, exit 78 in one line, and left as it was', { timeout: 300_000 }, async () => {
      if (flavour === 'postgres') {
        const db = await createDatabase(process.env.TEST_DATABASE_URL!, 'vrc_newer');
        env.DATABASE_URL = db.url;
        drop = db.drop;
      }
      const first = await spawnServer(env);
      let artifactId: string;
      try {
        const committed = await ingest(remoteCatalog(first.url, token), {
          host: 'esx01',
          artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', sourcePath: `/vmfs/volumes/${DEFAULTS.vmfsUuid}/.vh.sf`, bytes: buildVhSf() }],
        });
        artifactId = committed.artifacts[0].id;
      } finally {
        await first.stop();
      }
      await onDatabase(`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('a later release', ${LATER})`);
      const before = await onDatabase<{ tables: string; captures: string; migrations: string }>(
        "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS tables, (SELECT count(*) FROM captures) AS captures, (SELECT count(*) FROM drizzle.__drizzle_migrations) AS migrations",
      );

      const where =
        flavour === 'embedded'
          ? `the embedded database in ${join(dataDir, 'pg')}`
          : `the database ${new URL(env.DATABASE_URL).host}${new URL(env.DATABASE_URL).pathname} (DATABASE_URL)`;
      const day = new Date(LATER).toISOString().slice(0, 10);
      // Refused before it listens: a server still up after 30 s started on it (and is stopped, exit 0).
      const server = spawnSync(process.execPath, [SERVER_BUNDLE], { cwd: ROOT, env: serverEnv({ ...env, PORT: '0' }), encoding: 'utf8', timeout: 30_000 });
      expect([server.status, server.stdout], server.stderr).toEqual([78, '']);
      expect(server.stderr).toBe(
        `catalog: ${where} was migrated by a newer release of the catalog (1 migration this release does not have, the newest of ${day}); this release does not run on it and left it as it was: start the release that migrated it (or a later one)\n`,
      );
      const listed = cli(['tokens', 'list', '--json'], env);
      expect(listed.status, listed.stderr).toBe(78);
      expect(listed.stderr.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(listed.stdout).error.code).toBe('database_newer');
      expect(listed.stderr).toContain(`${where} was migrated by a newer release`);

      const after = await onDatabase<(typeof before)[0]>(
        "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS tables, (SELECT count(*) FROM captures) AS captures, (SELECT count(*) FROM drizzle.__drizzle_migrations) AS migrations",
      );
      expect(after).toEqual(before);

      // Back on the release that knows every migration it holds, the catalog serves what it had.
      await onDatabase(`DELETE FROM drizzle.__drizzle_migrations WHERE created_at = ${LATER}`);
      const again = await spawnServer(env);
      try {
        const res = await fetch(`${again.url}/v1/artifacts/${artifactId}/content`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(buildVhSf()))).toBe(true);
      } finally {
        await again.stop();
      }
    });
  });
}
