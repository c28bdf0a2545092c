/**
 * A bucket written over time holds manifests of both formats: format 1 (plain JSON under
 * `.json`, each chunk written out where it is used) from catalogs before format 2, and
 * format 2 (gzip JSON under `.json.gz`, each distinct chunk once) from commits now. Rebuild
 * recreates the captures of both, with their chunk lists in order and repeats, and `check`
 * finds every manifest matched by its capture.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { rebuildCatalog } from '../../api/admin/rebuild.js';
import { checkStore } from '../../api/retention/check.js';
import { decodeManifest } from '../../api/pipeline/manifest.js';
import { buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { zfsListSnapshots } from '../fixtures/text-fixtures.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const MiB = 1024 * 1024;

/** The rows rebuild must give back. */
async function rows(catalog: TestCatalog): Promise<Record<string, unknown[]>> {
  const q = (text: string) => queryRows(catalog.services.db, sql.raw(text));
  return {
    captures: await q('select id, host, state, collected_at, received_at, committed_at, collector_version, manifest_key from captures order by id'),
    artifacts: await q('select id, capture_id, kind, file_name, size, sha256, chunks, parse_status, parsed from artifacts order by id'),
    extents: await q('select artifact_id, vmfs_uuid, device_id from extents order by artifact_id, device_id'),
    zfsSnapshots: await q('select artifact_id, name from zfs_snapshots order by name'),
    blobs: await q('select sha256, size, encoding, stored_size from blobs order by sha256'),
  };
}

describeEachFlavour('rebuild from manifests of format 1 and format 2', (flavour) => {
  let catalog: TestCatalog;
  let before: Record<string, unknown[]>;
  let oldKey: string;
  let newKey: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const { store, db } = catalog.services;
    // 6 MiB of header dump: past its metadata, the same zero chunk again and again.
    const header = buildVmfsDisk({ lvmMajor: 5, dumpLength: 6 * MiB });
    const zfs = new TextEncoder().encode(zfsListSnapshots([{ name: 'tank/iscsi/lun0@daily', creation: 1790000000, used: 10 }]));
    const older = await ingest(catalog, {
      host: 'esx41',
      collectedAt: new Date('2026-11-01T02:00:00Z'),
      artifacts: [
        { kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: header },
        { kind: 'zfs-snapshots', fileName: 'zfs.txt', bytes: zfs },
      ],
    });
    const newer = await ingest(catalog, {
      host: 'esx42',
      collectedAt: new Date('2026-11-02T02:00:00Z'),
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: header, gzip: true }],
    });
    newKey = newer.manifestKey;
    // The older capture as a catalog before format 2 left it: plain JSON under `.json`.
    const manifest = await decodeManifest((await store.getBytes(older.manifestKey))!);
    oldKey = older.manifestKey.replace(/\.json\.gz$/, '.json');
    await store.put(oldKey, new TextEncoder().encode(JSON.stringify({ format: 'vmfs-catalog-manifest/1', ...manifest })));
    await store.delete(older.manifestKey);
    await db.execute(sql`UPDATE captures SET manifest_key = ${oldKey} WHERE id = ${older.captureId}`);
    before = await rows(catalog);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('stores format 2 with each distinct chunk once', async () => {
    const raw = (await catalog.services.store.getBytes(newKey))!;
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
    const m = await decodeManifest(raw);
    const refs = m.artifacts[0].chunks.map((c) => c.sha256);
    expect(refs).toHaveLength(6);
    expect(new Set(refs).size).toBeLessThan(refs.length);
  });

  it('recreates the captures of both formats with the same rows', async () => {
    expect(before.captures).toHaveLength(2);
    expect(before.captures.map((c) => (c as { manifest_key: string }).manifest_key)).toEqual([oldKey, newKey]);
    await catalog.services.db.execute(
      sql.raw('TRUNCATE hosts, captures, blobs, artifacts, volumes, segments, extents, luns, targets, zfs_snapshots, events RESTART IDENTITY'),
    );
    const result = await rebuildCatalog(catalog.services);
    expect(result).toMatchObject({ manifests: 2, captures: 2, skipped: 0, artifacts: 3, errors: [] });
    expect(await rows(catalog)).toEqual(before);
  });

  it("records each recreated capture's begin request with the manifest's chunk lists, repeats and order kept", async () => {
    const { db, store } = catalog.services;
    for (const key of [oldKey, newKey]) {
      const manifest = await decodeManifest((await store.getBytes(key))!);
      const [row] = await queryRows<{ request: { artifacts: Array<{ chunks: unknown[] }> } }>(
        db,
        sql`select request from captures where id = ${manifest.captureId}`,
      );
      expect(row.request.artifacts.map((a) => a.chunks)).toEqual(
        manifest.artifacts.map((a) => a.chunks.map(({ sha256, size, encoding, storedSize }) => ({ sha256, size, encoding, storedSize }))),
      );
    }
  });

  it('check matches each manifest to its capture', async () => {
    const report = await checkStore(catalog.services);
    expect(report).toMatchObject({ manifests: 2, captures: 2, capturesWithoutManifest: [], manifestsWithoutCapture: [], missingChunks: [] });
  });

  it('an unreadable object under manifests/ is an error of its own; the others are still read', async () => {
    await catalog.services.store.put('manifests/esx43/019ad5c0-0000-7000-8000-00000000abcd.json.gz', new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2]));
    const result = await rebuildCatalog(catalog.services);
    expect(result.errors).toEqual([{ key: 'manifests/esx43/019ad5c0-0000-7000-8000-00000000abcd.json.gz', message: expect.stringMatching(/gzip/) }]);
    expect(result).toMatchObject({ manifests: 3, captures: 0, skipped: 2 });
  });
});
