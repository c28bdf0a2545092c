/**
 * Rebuild and retention on one catalog at once (POST /v1/admin/rebuild and POST
 * /v1/retention/run are both admin routes, the maintenance pass may run retention, and on
 * PostgreSQL `npm run catalog -- retention` may run beside the server): rebuild reads every
 * manifest first and recreates, one by one, the captures the catalog lacks. A retention run
 * that dropped captures in between (their manifest deleted first, then their rows) left
 * rebuild holding their manifests: it recreated them, so dropped captures came back, without
 * a manifest (`check`: "capture without manifest") — whenever their chunks were still there
 * to parse: chunks kept captures share, as here, or ones the sweep had not reached yet. Now rebuild recreates a capture only while its manifest is still in
 * the store, looked at after the capture's row is claimed in the transaction that writes it.
 * The interleaving is made exact: the store rebuild reads runs the retention when rebuild
 * reads the last manifest (the real store, given to rebuild as every service is).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { rebuildCatalog } from '../../api/admin/rebuild.js';
import { runRetention } from '../../api/retention/run.js';
import type { BlobStore } from '../../api/store/types.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const CAPTURES = 5;

describeEachFlavour('rebuild while retention drops captures', (flavour) => {
  let catalog: TestCatalog;
  let clock = new Date('2026-01-01T12:00:00Z');
  const ids: string[] = [];
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => clock });
    const shared = randomBytes(4000);
    for (let d = 0; d < CAPTURES; d++) {
      clock = new Date(Date.UTC(2026, 0, 1 + d, 12, 0, 0));
      const done = await ingest(catalog, {
        host: 'esx-rr',
        collectedAt: clock,
        artifacts: [{ kind: 'unknown', fileName: 'same.bin', sourcePath: '/var/dumps/same.bin', bytes: shared }],
      });
      ids.push(done.captureId);
    }
  }, 120_000);
  afterAll(async () => {
    await catalog?.close();
  });

  it('recreates none of the captures retention dropped after rebuild read their manifests', async () => {
    const real = catalog.services.store;
    const manifestsRead: string[] = [];
    let retention: Awaited<ReturnType<typeof runRetention>> | null = null;
    const store = new Proxy(real, {
      get(target, prop) {
        if (prop === 'getBytes')
          return async (key: string) => {
            const bytes = await target.getBytes(key);
            if (key.startsWith('manifests/')) manifestsRead.push(key);
            if (manifestsRead.length === CAPTURES && !retention)
              retention = await runRetention(catalog.services, { dryRun: false, ranBy: 'test', policy: { keepLast: 1 }, timeZone: 'UTC' });
            return bytes;
          };
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as BlobStore;

    const result = await rebuildCatalog({ ...catalog.services, store });
    expect(manifestsRead).toHaveLength(CAPTURES);
    expect(retention!.dropped.sort()).toEqual(ids.slice(0, -1).sort());
    // Fails before: the four dropped captures were recreated (captures: 4), without manifests.
    expect(result.captures).toBe(0);
    const rows = await queryRows<{ id: string; manifest_key: string | null }>(catalog.services.db, sql`select id, manifest_key from captures order by id`);
    expect(rows.map((r) => r.id)).toEqual([ids.at(-1)]);
    for (const r of rows) expect(await real.head(r.manifest_key!)).not.toBeNull();
    expect(result.errors.map((e) => e.message)).toEqual(ids.slice(0, -1).map(() => 'gone since the listing'));
    const orphanRows = await queryRows<{ n: number | string }>(
      catalog.services.db,
      sql`select count(*) as n from artifacts where capture_id not in (select id from captures)`,
    );
    expect(Number(orphanRows[0].n)).toBe(0);
  });
});
