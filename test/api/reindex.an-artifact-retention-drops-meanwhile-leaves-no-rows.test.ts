/**
 * Reindex and retention on one catalog at once (POST /v1/admin/reindex and POST
 * /v1/retention/run are both admin routes; the maintenance pass may run retention; on
 * PostgreSQL the CLI may run either beside the server): reindex lists the artifacts, then
 * parses and re-indexes each. An artifact whose capture a retention run dropped in between
 * (its rows and its extents, segments, targets, snapshots deleted) was indexed again all the
 * same: extents naming an artifact that no longer exists, so the dropped capture's volume and
 * device still answered search and the volume page. Now each artifact is re-indexed only
 * while its row is there, held (FOR UPDATE) by the transaction that writes its rows. The
 * interleaving is made exact: the store reindex reads runs the retention at reindex's first
 * read of a chunk (the real store, given to reindex as every service is). On PostgreSQL the
 * retention may also start while reindex's transaction writes: it deleted the artifact's
 * extents before that transaction committed its new ones, then waited for the artifact's row,
 * and the new extents stayed; it now holds the artifact rows before it deletes what names them.
 * (PGlite runs one transaction after another: there the second test checks the outcome only.)
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { artifacts, extents } from '../../db/schema.js';
import { queryRows } from '../../db/client.js';
import { reindexArtifacts } from '../../api/admin/rebuild.js';
import { runRetention } from '../../api/retention/run.js';
import type { BlobStore } from '../../api/store/types.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const CAPTURES = 5;

describeEachFlavour('reindex while retention drops captures', (flavour) => {
  let catalog: TestCatalog;
  let clock = new Date('2026-01-01T12:00:00Z');
  const ids: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => clock });
    const dump = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy' });
    for (let d = 0; d < CAPTURES; d++) {
      clock = new Date(Date.UTC(2026, 0, 1 + d, 12, 0, 0));
      const done = await ingest(catalog, {
        host: 'esx-ri',
        collectedAt: clock,
        artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: dump }],
      });
      ids.push(done.captureId);
    }
  }, 120_000);
  afterAll(async () => {
    await catalog?.close();
  });

  it('indexes no artifact of the captures retention dropped after reindex listed them', async () => {
    const real = catalog.services.store;
    let retention: Awaited<ReturnType<typeof runRetention>> | null = null;
    const store = new Proxy(real, {
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        if (typeof v !== 'function') return v;
        return async (...args: unknown[]) => {
          if (typeof args[0] === 'string' && args[0].startsWith('chunks/') && !retention)
            retention = await runRetention(catalog.services, { dryRun: false, ranBy: 'test', policy: { keepLast: 1 }, timeZone: 'UTC' });
          return v.apply(target, args);
        };
      },
    }) as BlobStore;

    const extentsBefore = await queryRows<{ n: number | string }>(catalog.services.db, sql`select count(*) as n from extents`);
    expect(Number(extentsBefore[0].n)).toBeGreaterThan(0);
    const result = await reindexArtifacts({ ...catalog.services, store });
    expect(result.artifacts).toBe(CAPTURES);
    expect(retention!.dropped.sort()).toEqual(ids.slice(0, -1).sort());
    // Fails before: the dropped artifacts' extents were written again.
    const orphans = await queryRows<{ table: string; n: number | string }>(
      catalog.services.db,
      sql`select 'extents' as table, count(*) as n from extents where artifact_id not in (select id from artifacts)
          union all select 'segments', count(*) from segments where artifact_id not in (select id from artifacts)`,
    );
    expect(orphans.map((r) => [r.table, Number(r.n)])).toEqual([
      ['extents', 0],
      ['segments', 0],
    ]);
    const kept = await queryRows<{ n: number | string }>(
      catalog.services.db,
      sql`select count(*) as n from extents e join artifacts a on a.id = e.artifact_id where a.capture_id = ${ids.at(-1)!}`,
    );
    expect(Number(kept[0].n)).toBeGreaterThan(0);
  });

  it('a retention run starting while a transaction writes the rows of an artifact deletes them after it', async () => {
    const dump = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy' });
    clock = new Date(Date.UTC(2026, 0, 8, 12));
    const older = await ingest(catalog, {
      host: 'esx-rj',
      collectedAt: new Date(Date.UTC(2026, 0, 8, 12)),
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: dump }],
    });
    clock = new Date(Date.UTC(2026, 0, 9, 12));
    await ingest(catalog, {
      host: 'esx-rj',
      collectedAt: new Date(Date.UTC(2026, 0, 9, 12)),
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: dump }],
    });
    const artifactId = older.artifacts[0].id;
    let retention: Promise<unknown> | null = null;
    // What reindex's transaction does for one artifact: hold its row, delete its rows, write them again.
    await catalog.services.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const [held] = await tx.select({ id: artifacts.id }).from(artifacts).where(eq(artifacts.id, artifactId)).for('update');
      expect(held).toBeDefined();
      const rows = await tx.select().from(extents).where(eq(extents.artifactId, artifactId));
      expect(rows.length).toBeGreaterThan(0);
      await tx.delete(extents).where(eq(extents.artifactId, artifactId));
      await tx.insert(extents).values(rows);
      retention = runRetention(catalog.services, { dryRun: false, ranBy: 'test', policy: { keepLast: 1 }, timeZone: 'UTC' });
      await new Promise((resolve) => setTimeout(resolve, 500));
    });
    expect(((await retention) as { dropped: string[] } | null)?.dropped).toEqual([older.captureId]);
    const left = await queryRows<{ n: number | string }>(catalog.services.db, sql`select count(*) as n from extents where artifact_id = ${artifactId}`);
    expect(Number(left[0].n)).toBe(0);
    const gone = await queryRows<{ n: number | string }>(catalog.services.db, sql`select count(*) as n from artifacts where id = ${artifactId}`);
    expect(Number(gone[0].n)).toBe(0);
  });
});
