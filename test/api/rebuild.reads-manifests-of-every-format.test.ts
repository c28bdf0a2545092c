/**
 * A bucket written over time holds manifests of every format: format 1 (plain JSON under
 * `.json`, each chunk written out where it is used) and format 2 (gzip JSON under `.json.gz`,
 * each distinct chunk once) from catalogs before format 3, and format 3 (each artifact's chunk
 * list named by its hash, stored as a chunk) from commits now. Rebuild recreates the captures of
 * all three, with their chunk lists in order and repeats (and format 3's lists with their
 * `blobs` rows), and `check` finds every manifest matched by its capture and nothing missing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { rebuildCatalog } from '../../api/admin/rebuild.js';
import { checkStore } from '../../api/retention/check.js';
import { decodeManifest, encodeManifestV2 } from '../../api/pipeline/manifest.js';
import { chunkListReader } from '../../api/pipeline/chunk-lists.js';
import { chunkKey } from '../../api/store/types.js';
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
    artifacts: await q('select id, capture_id, kind, file_name, size, sha256, chunks, chunk_list, parse_status, parsed from artifacts order by id'),
    extents: await q('select artifact_id, vmfs_uuid, device_id from extents order by artifact_id, device_id'),
    zfsSnapshots: await q('select artifact_id, name from zfs_snapshots order by name'),
    blobs: await q('select sha256, size, encoding, stored_size from blobs order by sha256'),
  };
}

describeEachFlavour('rebuild from manifests of formats 1, 2 and 3', (flavour) => {
  let catalog: TestCatalog;
  let before: Record<string, unknown[]>;
  let oldKey: string;
  let v2Key: string;
  let newKey: string;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const { store, db } = catalog.services;
    const lists = chunkListReader(store);
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
    const middle = await ingest(catalog, {
      host: 'esx42',
      collectedAt: new Date('2026-11-02T02:00:00Z'),
      artifacts: [{ kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: header, gzip: true }],
    });
    const newer = await ingest(catalog, {
      host: 'esx43',
      collectedAt: new Date('2026-11-03T02:00:00Z'),
      artifacts: [
        { kind: 'vmfs-header', fileName: 'sdc.hex', device: DEFAULTS.deviceId, bytes: buildVmfsDisk({ lvmMajor: 5, dumpLength: 4 * MiB }), gzip: true },
      ],
    });
    newKey = newer.manifestKey;
    /** What a catalog before format 3 left of a capture: no chunk lists (its rows, objects). */
    const withoutLists = async (captureId: string) => {
      const named = await queryRows<{ chunk_list: string }>(db, sql`SELECT chunk_list FROM artifacts WHERE capture_id = ${captureId}`);
      await db.execute(sql`UPDATE artifacts SET chunk_list = NULL WHERE capture_id = ${captureId}`);
      for (const { chunk_list } of named) {
        await db.execute(sql`DELETE FROM blobs WHERE sha256 = ${chunk_list}`);
        await store.delete(chunkKey(chunk_list));
      }
    };
    // The older capture as a catalog before format 2 left it: plain JSON under `.json`.
    const manifest = await decodeManifest((await store.getBytes(older.manifestKey))!, lists);
    oldKey = older.manifestKey.replace(/\.json\.gz$/, '.json');
    await store.put(oldKey, new TextEncoder().encode(JSON.stringify({ format: 'vmfs-catalog-manifest/1', ...manifest })));
    await store.delete(older.manifestKey);
    await db.execute(sql`UPDATE captures SET manifest_key = ${oldKey} WHERE id = ${older.captureId}`);
    await withoutLists(older.captureId);
    // The middle one as format 2 left it, under the same key.
    v2Key = middle.manifestKey;
    await store.put(v2Key, await encodeManifestV2(await decodeManifest((await store.getBytes(v2Key))!, lists)));
    await withoutLists(middle.captureId);
    before = await rows(catalog);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('stores format 3 naming each chunk list, which lists each distinct chunk once', async () => {
    const raw = (await catalog.services.store.getBytes(newKey))!;
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
    const m = await decodeManifest(raw, chunkListReader(catalog.services.store));
    expect(m.artifacts[0].chunkList).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), encoding: 'gzip' });
    const refs = m.artifacts[0].chunks.map((c) => c.sha256);
    expect(refs).toHaveLength(4);
    expect(new Set(refs).size).toBeLessThan(refs.length);
    const chunkLists = before.artifacts.map((a) => (a as { chunk_list: string | null }).chunk_list);
    expect(chunkLists.filter((l) => l !== null)).toEqual([m.artifacts[0].chunkList!.sha256]);
  });

  it('recreates the captures of every format with the same rows', async () => {
    expect(before.captures).toHaveLength(3);
    expect(before.captures.map((c) => (c as { manifest_key: string }).manifest_key)).toEqual([oldKey, v2Key, newKey]);
    await catalog.services.db.execute(
      sql.raw('TRUNCATE hosts, captures, blobs, artifacts, volumes, volume_labels, segments, extents, luns, targets, zfs_snapshots, events RESTART IDENTITY'),
    );
    const result = await rebuildCatalog(catalog.services);
    expect(result).toMatchObject({ manifests: 3, captures: 3, skipped: 0, artifacts: 4, errors: [] });
    expect(await rows(catalog)).toEqual(before);
  });

  it("records each recreated capture's begin request with the manifest's chunk lists, repeats and order kept", async () => {
    const { db, store } = catalog.services;
    for (const key of [oldKey, v2Key, newKey]) {
      const manifest = await decodeManifest((await store.getBytes(key))!, chunkListReader(store));
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
    expect(report).toMatchObject({
      manifests: 3,
      captures: 3,
      capturesWithoutManifest: [],
      manifestsWithoutCapture: [],
      unreadableManifests: [],
      missingChunks: [],
      wrongSize: [],
      orphanChunks: [],
      orphanRows: { blobs: [], artifacts: [] },
      clean: true,
    });
  });

  it('an unreadable object under manifests/ is an error of its own; the others are still read', async () => {
    await catalog.services.store.put('manifests/esx43/019ad5c0-0000-7000-8000-00000000abcd.json.gz', new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2]));
    const result = await rebuildCatalog(catalog.services);
    expect(result.errors).toEqual([{ key: 'manifests/esx43/019ad5c0-0000-7000-8000-00000000abcd.json.gz', message: expect.stringMatching(/gzip/) }]);
    expect(result).toMatchObject({ manifests: 4, captures: 0, skipped: 3 });
  });
});
