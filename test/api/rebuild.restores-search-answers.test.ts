/**
 * The bucket is the source of truth: after the catalog's tables are emptied, a
 * rebuild from the manifests in the store gives back the same search-relevant rows
 * (volumes, extents, targets, luns, snapshots, events). Reindex re-parses stored
 * artifacts and ends with the same rows too.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { buildTwoExtentVolume, buildVhSf, buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { esxcliDeviceList, esxcliExtentList, iscsitgtExport, zfsListSnapshots } from '../fixtures/text-fixtures.js';

const enc = (s: string) => new TextEncoder().encode(s);
const DAY = 86_400_000;

/** Every catalog row a search or volume view reads, minus serial ids, in a stable order. */
async function snapshot(catalog: TestCatalog): Promise<Record<string, unknown[]>> {
  const { db } = catalog.services;
  const q = (text: string) => queryRows(db, sql.raw(text));
  return {
    hosts: await q('select name, kind, system_uuid, first_seen, last_seen, last_capture_id from hosts order by name'),
    captures: await q('select id, host, state, collected_at, received_at, committed_at, collector_version, manifest_key from captures order by id'),
    artifacts: await q(
      'select id, capture_id, host, collected_at, kind, file_name, source_path, device, size, sha256, chunks, parse_status, parse_error, parsed from artifacts order by id',
    ),
    volumes: await q('select * from volumes order by vmfs_uuid'),
    segments: await q('select * from segments order by artifact_id, segment_uuid'),
    extents:
      await q(`select artifact_id, capture_id, host, source, vmfs_uuid, segment_uuid, extent_uuid, device_id, vml, lun, vendor, model, revision, size_bytes,
      partition_scheme, partition_index, partition_start, partition_end, partition_type, partition_missing, device_path, seen_at from extents
      order by artifact_id, source, coalesce(device_id, ''), coalesce(vmfs_uuid, '')`),
    luns: await q('select * from luns order by device_id'),
    targets: await q(`select artifact_id, capture_id, storage_host, stack, iqn, alias, lun, device_id, backing_store, size_bytes, tpgs, acl, seen_at
      from targets order by artifact_id, coalesce(iqn, ''), coalesce(lun, -1)`),
    zfsSnapshots: await q('select artifact_id, capture_id, host, dataset, snapshot, name, created_at, used_bytes from zfs_snapshots order by name'),
    // Drift events keep their time; health conditions are re-evaluated from the rows (rebuild
    // raises them again when it restores), so their condition, not their time, must match.
    events: await q(`select type, severity, vmfs_uuid, device_id, host, artifact_id, message, details, condition,
      case when condition is null then capture_id end as capture_id, case when condition is null then created_at end as created_at
      from events order by artifact_id, type, condition`),
    blobs: await q('select sha256, size, encoding, stored_size from blobs order by sha256'),
    answers: await answers(catalog),
  };
}

/** What an operator sees: search answers for the spellings they paste, and the volume view. */
async function answers(catalog: TestCatalog): Promise<unknown[]> {
  const out: unknown[] = [];
  const paths = [
    ...[
      DEFAULTS.vmfsUuid,
      DEFAULTS.vmfsUuid.replace(/-/g, '').toUpperCase(),
      DEFAULTS.deviceId.toUpperCase(),
      DEFAULTS.deviceId.slice(4),
      'vml.02000c00006006016012345678abcdef0123456789565241494420',
      'datastore',
      'iqn.1986-03.com.sun:02:aaaa-lun0',
      '/dev/zvol/rdsk/tank/iscsi/lun0',
      'sol01',
    ].map((q) => `/v1/search?q=${encodeURIComponent(q)}`),
    `/v1/volumes/${DEFAULTS.vmfsUuid}`,
    `/v1/luns/${DEFAULTS.deviceId}`,
  ];
  for (const path of paths) {
    const res = await catalog.request(path);
    out.push({ path, status: res.status, body: withoutSerialIds(await res.json()) });
  }
  return out;
}

/**
 * Drops numeric `id`s (serial row ids, e.g. of events, which reindex recreates); string ids stay.
 * A health event (it has a `condition`) is re-evaluated from the rows: its time and raising capture go too.
 */
function withoutSerialIds(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutSerialIds);
  if (v && typeof v === 'object') {
    const health = typeof (v as { condition?: unknown }).condition === 'string';
    return Object.fromEntries(
      Object.entries(v)
        .filter(([k, x]) => !(k === 'id' && typeof x === 'number') && !(health && (k === 'createdAt' || k === 'captureId')))
        .map(([k, x]) => [k, withoutSerialIds(x)]),
    );
  }
  return v;
}

describeEachFlavour('rebuild and reindex', (flavour) => {
  let catalog: TestCatalog;
  let before: Record<string, unknown[]>;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const t0 = new Date('2026-10-01T02:00:00Z');
    const { first, second } = buildTwoExtentVolume({ dumpLength: 3 * 1024 * 1024 });
    await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      collectedAt: t0,
      artifacts: [
        { kind: 'vmfs-header', fileName: 'naa.6006.hex', device: DEFAULTS.deviceId, bytes: first },
        { kind: 'vmfs-header', fileName: 'naa.6001.hex', device: 'naa.600144f0c0ffee00000000000000beef', bytes: second, gzip: true },
        { kind: 'vh-sf', fileName: 'vh.sf', bytes: buildVhSf({ lvmMajor: 5 }) },
        {
          kind: 'esx-inventory',
          fileName: 'inventory.txt',
          bytes: enc(
            [
              esxcliDeviceList([
                { id: DEFAULTS.deviceId, vendor: 'DGC', model: 'VRAID', sizeMb: 2048000, vml: 'vml.02000c00006006016012345678abcdef0123456789565241494420' },
              ]),
              esxcliExtentList([{ volumeName: 'datastore1', vmfsUuid: DEFAULTS.vmfsUuid, extentNumber: 0, deviceName: DEFAULTS.deviceId, partition: 1 }]),
            ].join('\n'),
          ),
        },
      ],
    });
    await ingest(catalog, {
      host: 'sol01',
      hostKind: 'solaris',
      collectedAt: new Date(t0.getTime() + DAY),
      artifacts: [
        {
          kind: 'iscsitgt-smf',
          fileName: 'iscsitgt.xml',
          bytes: enc(
            iscsitgtExport({
              targets: [
                {
                  name: 'lun0',
                  iqn: 'iqn.1986-03.com.sun:02:aaaa-lun0',
                  luns: [{ lun: 0, guid: DEFAULTS.deviceId.slice(4), backingStore: '/dev/zvol/rdsk/tank/iscsi/lun0', blocks: 0x6400000 }],
                },
              ],
            }),
          ),
        },
        { kind: 'zfs-snapshots', fileName: 'zfs.txt', bytes: enc(zfsListSnapshots([{ name: 'tank/iscsi/lun0@daily', creation: 1790000000, used: 10 }])) },
        {
          kind: 'vmfs-header',
          fileName: 'lun0.hex',
          device: '/dev/zvol/rdsk/tank/iscsi/lun0',
          bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', lun: 0 }),
        },
      ],
    });
    // A later capture with drift (LUN changed, table wiped) so events are part of what rebuild must restore.
    await ingest(catalog, {
      host: 'sol01',
      hostKind: 'solaris',
      collectedAt: new Date(t0.getTime() + 2 * DAY),
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: 'lun0.hex',
          device: '/dev/zvol/rdsk/tank/iscsi/lun0',
          bytes: buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy', lun: 3, scheme: 'none' }),
        },
      ],
    });
    before = await snapshot(catalog);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('has something worth rebuilding', () => {
    expect(before.volumes.length).toBeGreaterThan(0);
    expect(before.extents.length).toBeGreaterThanOrEqual(4);
    expect(before.targets.length).toBe(1);
    expect(before.events.length).toBeGreaterThan(0);
    expect(before.captures).toHaveLength(3);
    for (const a of before.answers as Array<{ path: string; status: number; body: { hits?: unknown[] } }>) {
      expect(a.status, a.path).toBe(200);
      if (a.body.hits) expect(a.body.hits.length, a.path).toBeGreaterThan(0);
    }
  });

  it('rebuild after the tables are emptied gives the same rows', async () => {
    await catalog.services.db.execute(
      sql.raw('TRUNCATE hosts, captures, blobs, artifacts, volumes, volume_labels, segments, extents, luns, targets, zfs_snapshots, events RESTART IDENTITY'),
    );
    expect((await snapshot(catalog)).volumes).toEqual([]);
    const res = await catalog.request('/v1/admin/rebuild', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ manifests: 3, captures: 3, skipped: 0, artifacts: 8, errors: [] });
    expect(await snapshot(catalog)).toEqual(before);
  });

  it('rebuild over a complete catalog changes nothing', async () => {
    const res = await catalog.request('/v1/admin/rebuild', { method: 'POST' });
    expect(await res.json()).toMatchObject({ captures: 0, skipped: 3 });
    expect(await snapshot(catalog)).toEqual(before);
  });

  it('reindex re-parses every artifact and ends with the same rows', async () => {
    const res = await catalog.request('/v1/admin/reindex', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ artifacts: 8, failed: [] });
    expect(await snapshot(catalog)).toEqual(before);
  });

  it('reindex of one kind touches only that kind', async () => {
    const res = await catalog.request('/v1/admin/reindex?kind=vh-sf', { method: 'POST' });
    expect(await res.json()).toMatchObject({ artifacts: 1, ok: 1 });
    expect(await snapshot(catalog)).toEqual(before);
    const bad = await catalog.request('/v1/admin/reindex?kind=nonsense', { method: 'POST' });
    expect(bad.status).toBe(400);
  });
});
