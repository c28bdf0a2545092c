/**
 * A commit that failed under a catalog before manifest format 2 may have left its manifest
 * as `.json`; its retry after the upgrade writes `.json.gz` and commits. Both name the one
 * capture (api/store/types.ts manifestKeysOf): `check` reports no manifest without a capture,
 * rebuild recreates the capture once from `.json.gz` (format 2, or 3 as commits write now), and a retention run that drops the
 * capture deletes both, so no later rebuild brings it back. Both flavours.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { rebuildCatalog } from '../../api/admin/rebuild.js';
import { checkStore } from '../../api/retention/check.js';
import { runRetention } from '../../api/retention/run.js';
import { decodeManifest } from '../../api/pipeline/manifest.js';
import { chunkListReader } from '../../api/pipeline/chunk-lists.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

describeEachFlavour('a capture whose manifest rests in both formats', (flavour) => {
  let catalog: TestCatalog;
  let gzKey: string;
  let jsonKey: string;
  let captureId: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const bytes = buildVmfsDisk({ lvmMajor: 5, dumpLength: 2 * 1024 * 1024 });
    const old = await ingest(catalog, {
      host: 'esx51',
      collectedAt: new Date('2026-11-01T02:00:00Z'),
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes }],
    });
    // A newer capture of the same series, so a keep-last-1 run drops the old one.
    await ingest(catalog, {
      host: 'esx51',
      collectedAt: new Date('2026-11-02T02:00:00Z'),
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes }],
    });
    captureId = old.captureId;
    gzKey = old.manifestKey;
    jsonKey = gzKey.replace(/\.json\.gz$/, '.json');
    // What the failed commit under the older catalog left: the same capture as format 1.
    const manifest = await decodeManifest((await catalog.services.store.getBytes(gzKey))!, chunkListReader(catalog.services.store));
    await catalog.services.store.put(jsonKey, new TextEncoder().encode(JSON.stringify({ format: 'vmfs-catalog-manifest/1', ...manifest })));
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('check counts the format-1 copy as the capture’s own', async () => {
    const report = await checkStore(catalog.services);
    expect(report).toMatchObject({ capturesWithoutManifest: [], manifestsWithoutCapture: [] });
  });

  it('rebuild recreates the capture once, from `.json.gz` (format 3 now)', async () => {
    await catalog.services.db.execute(
      sql.raw('TRUNCATE hosts, captures, blobs, artifacts, volumes, volume_labels, segments, extents, luns, targets, zfs_snapshots, events RESTART IDENTITY'),
    );
    const result = await rebuildCatalog(catalog.services);
    expect(result).toMatchObject({ captures: 2, skipped: 0, errors: [] });
    const rows = await queryRows<{ id: string; manifest_key: string }>(catalog.services.db, sql`select id, manifest_key from captures where id = ${captureId}`);
    expect(rows).toEqual([{ id: captureId, manifest_key: gzKey }]);
  });

  it('a retention run that drops the capture deletes both, and a rebuild does not bring it back', async () => {
    const report = await runRetention(catalog.services, { dryRun: false, ranBy: 'test', policy: { keepLast: 1 }, timeZone: 'UTC' });
    expect(report.dropped).toEqual([captureId]);
    expect(await catalog.services.store.head(gzKey)).toBeNull();
    expect(await catalog.services.store.head(jsonKey)).toBeNull();
    await rebuildCatalog(catalog.services);
    expect(await queryRows(catalog.services.db, sql`select id from captures where id = ${captureId}`)).toEqual([]);
    expect((await checkStore(catalog.services)).manifestsWithoutCapture).toEqual([]);
  });
});
