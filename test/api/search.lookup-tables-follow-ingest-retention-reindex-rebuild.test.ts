/**
 * Search reads lookup tables the database keeps with triggers (db/schema.ts searchKeys,
 * searchNames, searchNameStarts): each must hold exactly the distinct rows of the view it follows
 * (`search_key_sources`, `search_name_sources`, db/migrations/0009; `search_name_start_sources`,
 * 0018: the word starts of search_names' labels and host names) after every way rows come
 * and go — ingest, a retention run, reindex, TRUNCATE + rebuild, deleting an artifact's rows
 * (what retention and reindex do), a relabelled volume — and search answers the same before
 * and after, with nothing stale left behind.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../db/client.js';
import { deleteArtifactRows } from '../../api/pipeline/indexer.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { buildTwoExtentVolume, buildVhSf, DEFAULTS } from '../fixtures/vmfs-images.js';
import { esxcliExtentList, iscsitgtExport, zfsListSnapshots } from '../fixtures/text-fixtures.js';

interface Json {
  [k: string]: any;
}

const enc = (s: string) => new TextEncoder().encode(s);
const DAY = 86_400_000;
const T0 = new Date('2026-10-01T02:00:00Z');
const SECOND_DEVICE = 'naa.600144f0c0ffee00000000000000beef';
const SECOND_EXTENT = '4a1c3f10-99887766-5544-0050569a1b2c';
const VML = 'vml.02000c00006006016012345678abcdef0123456789565241494420';
const IQN = 'iqn.1986-03.com.sun:02:aaaa-lun0';
const ZVOL = '/dev/zvol/rdsk/tank/iscsi/lun0';

/** The spellings an operator pastes, one per kind of lookup. */
const QUERIES = [
  DEFAULTS.vmfsUuid,
  DEFAULTS.vmfsUuid.replace(/-/g, '').toUpperCase(),
  DEFAULTS.segmentUuid,
  DEFAULTS.extentUuid,
  SECOND_EXTENT,
  DEFAULTS.deviceId.toUpperCase(),
  `${SECOND_DEVICE}:1`,
  `${VML}:1`,
  'datastore',
  'esx',
  IQN,
  'aaaa-lun',
  ZVOL,
];

/**
 * esx01's capture: two header dumps of a two-extent volume, its .vh.sf and the extent list
 * (no device list: its size would tie with the header dump's at the same time, and which of
 * the two a reindex keeps is not what this file is about).
 */
function esxCapture(label: string) {
  const { first, second } = buildTwoExtentVolume({ dumpLength: 3 * 1024 * 1024 });
  return [
    { kind: 'vmfs-header' as const, fileName: 'naa.6006.hex', device: DEFAULTS.deviceId, bytes: first },
    { kind: 'vmfs-header' as const, fileName: 'naa.6001.hex', device: SECOND_DEVICE, bytes: second },
    { kind: 'vh-sf' as const, fileName: 'vh.sf', bytes: buildVhSf({ lvmMajor: 5 }) },
    {
      kind: 'esx-inventory' as const,
      fileName: 'inventory.txt',
      bytes: enc(esxcliExtentList([{ volumeName: label, vmfsUuid: DEFAULTS.vmfsUuid, extentNumber: 0, deviceName: DEFAULTS.deviceId, partition: 1 }])),
    },
  ];
}

const targetExport = () =>
  enc(
    iscsitgtExport({
      targets: [{ name: 'lun0', iqn: IQN, luns: [{ lun: 0, guid: DEFAULTS.deviceId.slice(4), backingStore: ZVOL, blocks: 0x6400000 }] }],
    }),
  );

describeEachFlavour('search lookup tables', (flavour) => {
  let catalog: TestCatalog;
  let answers: unknown[];
  let solCapture = '';

  /** Rows of the table missing from its view and rows of the view missing from the table. */
  const drift = async () => {
    const q = (text: string) => queryRows<{ n: number | string }>(catalog.services.db, sql.raw(text));
    const count = async (text: string) => Number((await q(`SELECT count(*) AS n FROM (${text}) x`))[0].n);
    return {
      staleKeys: await count('SELECT key, kind, ref FROM search_keys EXCEPT SELECT key, kind, ref FROM search_key_sources'),
      missingKeys: await count('SELECT key, kind, ref FROM search_key_sources EXCEPT SELECT key, kind, ref FROM search_keys'),
      staleNames: await count('SELECT kind, name, ref FROM search_names EXCEPT SELECT kind, name, ref FROM search_name_sources'),
      missingNames: await count('SELECT kind, name, ref FROM search_name_sources EXCEPT SELECT kind, name, ref FROM search_names'),
      staleStarts: await count('SELECT * FROM search_name_starts EXCEPT ALL SELECT * FROM search_name_start_sources'),
      missingStarts: await count('SELECT * FROM search_name_start_sources EXCEPT ALL SELECT * FROM search_name_starts'),
    };
  };
  const inStep = { staleKeys: 0, missingKeys: 0, staleNames: 0, missingNames: 0, staleStarts: 0, missingStarts: 0 };
  const search = async (q: string) => {
    const res = await catalog.request(`/v1/search?q=${encodeURIComponent(q)}`);
    expect(res.status, q).toBe(200);
    return (await res.json()) as Json;
  };
  const answerAll = async () => Promise.all(QUERIES.map(async (q) => ({ q, hits: (await search(q)).hits })));

  beforeAll(async () => {
    // Retention keeps the newest capture of each host and what no newer capture has seen.
    const env = { RETENTION_KEEP_LAST: '1', RETENTION_KEEP_WEEKLY: '0', RETENTION_KEEP_MONTHLY: '0', RETENTION_KEEP_YEARLY: '0', RETENTION_KEEP_WITHIN: '0d' };
    catalog = await startTestCatalog(flavour, { env });
    // esx01 twice, the same datastore each day: retention may drop the first capture.
    await ingest(catalog, { host: 'esx01', hostKind: 'esxi', collectedAt: T0, artifacts: esxCapture('datastore1') });
    const sol = await ingest(catalog, {
      host: 'sol01',
      hostKind: 'solaris',
      collectedAt: new Date(T0.getTime() + DAY),
      artifacts: [
        { kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', bytes: targetExport() },
        { kind: 'zfs-snapshots', fileName: 'zfs.txt', bytes: enc(zfsListSnapshots([{ name: 'tank/iscsi/lun0@daily', creation: 1790000000, used: 10 }])) },
      ],
    });
    solCapture = sol.captureId;
    await ingest(catalog, { host: 'esx01', hostKind: 'esxi', collectedAt: new Date(T0.getTime() + 2 * DAY), artifacts: esxCapture('datastore1') });
  }, 120_000);
  afterAll(async () => catalog?.close());

  it('after ingest: the tables are their views, and every spelling finds something', async () => {
    expect(await drift()).toEqual(inStep);
    const { db } = catalog.services;
    const kinds = await queryRows<{ kind: string }>(db, sql`SELECT DISTINCT kind FROM search_keys ORDER BY kind`);
    expect(kinds.map((k) => k.kind)).toEqual(['deviceVolume', 'extentDevice', 'segmentDevice', 'segmentVolume']);
    answers = await answerAll();
    for (const a of answers as Array<{ q: string; hits: unknown[] }>) expect(a.hits.length, a.q).toBeGreaterThan(0);
    // The second device holds the volume only through its segment (its header has no FS descriptor).
    const second = await search(SECOND_DEVICE);
    expect(second.hits.filter((h: Json) => h.type === 'volume').map((h: Json) => h.vmfsUuid)).toEqual([DEFAULTS.vmfsUuid]);
  });

  it('after a retention run drops a capture: same answers, nothing stale', async () => {
    const res = await catalog.request('/v1/retention/run?dry_run=false', { method: 'POST' });
    expect(res.status).toBe(200);
    const run = (await res.json()) as Json;
    expect(run.plan.captures.filter((c: Json) => c.decision === 'drop').length).toBeGreaterThan(0);
    expect(await drift()).toEqual(inStep);
    expect(await answerAll()).toEqual(answers);
  });

  it('after reindex: same answers, nothing stale', async () => {
    const res = await catalog.request('/v1/admin/reindex', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).failed).toEqual([]);
    expect(await drift()).toEqual(inStep);
    expect(await answerAll()).toEqual(answers);
  });

  it('after the tables are truncated and rebuilt from the bucket: empty in between, then the same answers', async () => {
    const { db } = catalog.services;
    await db.execute(
      sql.raw('TRUNCATE hosts, captures, blobs, artifacts, volumes, volume_labels, segments, extents, luns, targets, zfs_snapshots, events RESTART IDENTITY'),
    );
    expect(await drift()).toEqual(inStep);
    expect(await queryRows(db, sql`SELECT * FROM search_keys`)).toEqual([]);
    expect(await queryRows(db, sql`SELECT * FROM search_names`)).toEqual([]);
    for (const q of QUERIES) expect((await search(q)).hits, q).toEqual([]);
    const res = await catalog.request('/v1/admin/rebuild', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).errors).toEqual([]);
    expect(await drift()).toEqual(inStep);
    expect(await answerAll()).toEqual(answers);
  });

  it('deleting the rows of the only artifacts that named an id leaves nothing to find by it', async () => {
    const { db } = catalog.services;
    const artifactsOf = async (where: ReturnType<typeof sql>) =>
      (await queryRows<{ id: string }>(db, sql`SELECT id FROM artifacts WHERE ${where}`)).map((r) => r.id);
    // The target listing: its IQN, alias and zvol path go from search_names.
    await deleteArtifactRows(db, await artifactsOf(sql`capture_id = ${solCapture} AND kind = 'iscsitgt-smf'`));
    expect(await drift()).toEqual(inStep);
    for (const q of [IQN, 'aaaa-lun'])
      expect(
        (await search(q)).hits.filter((h: Json) => h.type === 'target'),
        q,
      ).toEqual([]);
    expect(await queryRows(db, sql`SELECT * FROM search_names WHERE kind IN ('iqn', 'alias', 'backingStore')`)).toEqual([]);
    // The header dump of the second device: its extent UUID and its segment's pairing go.
    await deleteArtifactRows(db, await artifactsOf(sql`file_name = 'naa.6001.hex'`));
    expect(await drift()).toEqual(inStep);
    expect((await search(SECOND_EXTENT)).hits.filter((h: Json) => h.type === 'lun')).toEqual([]);
    const segment = await search(DEFAULTS.segmentUuid);
    expect(segment.hits.filter((h: Json) => h.type === 'lun').map((h: Json) => h.deviceId)).toEqual([DEFAULTS.deviceId]);
    const second = await search(SECOND_DEVICE);
    expect(second.hits.filter((h: Json) => h.type === 'volume')).toEqual([]);
  });

  it('a relabelled volume is found by its new label, and by the old one as an earlier label', async () => {
    await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esxi',
      collectedAt: new Date(T0.getTime() + 3 * DAY),
      artifacts: [
        {
          kind: 'esx-inventory',
          fileName: 'inventory.txt',
          bytes: enc(
            esxcliExtentList([{ volumeName: 'gold-tier', vmfsUuid: DEFAULTS.vmfsUuid, extentNumber: 0, deviceName: DEFAULTS.deviceId, partition: 1 }]),
          ),
        },
      ],
    });
    expect(await drift()).toEqual(inStep);
    const renamed = await search('gold-tier');
    expect(renamed.hits[0]).toMatchObject({ type: 'volume', vmfsUuid: DEFAULTS.vmfsUuid, label: 'gold-tier', match: 'label', score: 95 });
    expect(renamed.hits[0].earlierLabel).toBeUndefined();
    // 'datastore' starts the old label datastore1: a prefix match (80), five below as an earlier label.
    expect((await search('datastore')).hits.filter((h: Json) => h.type === 'volume')).toEqual([
      expect.objectContaining({ vmfsUuid: DEFAULTS.vmfsUuid, label: 'gold-tier', match: 'earlierLabel', earlierLabel: 'datastore1', score: 75 }),
    ]);
    expect((await search(`/vmfs/volumes/gold-tier`)).hits[0]).toMatchObject({ type: 'volume', vmfsUuid: DEFAULTS.vmfsUuid });
    expect((await search(`/vmfs/volumes/datastore1`)).hits[0]).toMatchObject({
      type: 'volume',
      vmfsUuid: DEFAULTS.vmfsUuid,
      match: 'earlierLabel',
      earlierLabel: 'datastore1',
      score: 90,
    });
    // volume_labels holds both, oldest first.
    const labels = await queryRows<{ label: string }>(
      catalog.services.db,
      sql`SELECT label FROM volume_labels WHERE vmfs_uuid = ${DEFAULTS.vmfsUuid} ORDER BY first_seen`,
    );
    expect(labels.map((l) => l.label)).toEqual(['datastore1', 'gold-tier']);
  });
});
