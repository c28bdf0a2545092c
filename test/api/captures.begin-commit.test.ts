/**
 * The ingest protocol's happy paths: begin → PUT missing chunks → commit indexes a
 * capture's artifacts; repeats are harmless; unchanged chunks are not uploaded again.
 */
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { artifacts, captures, events, extents, segments, targets, volumes, zfsSnapshots, blobs, hosts, luns } from '../../db/schema.js';
import { chunkKey, manifestKey } from '../../api/store/types.js';
import type { CaptureManifestV3, ChunkListV1 } from '../../formats/protocol.js';
import { decodeManifest } from '../../api/pipeline/manifest.js';
import { chunkListReader } from '../../api/pipeline/chunk-lists.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { begin, commit, ingest, prepareCapture, uploadMissing, uuidv7 } from '../helpers/ingest-client.js';
import { buildVhSf, buildVmfsDisk, DEFAULTS } from '../fixtures/vmfs-images.js';
import { iscsitgtExport, zfsListSnapshots } from '../fixtures/text-fixtures.js';

/** Through the LVM header and volume table of a GPT disk (partition at LBA 2048). */
const MiB3 = 3 * 1024 * 1024;
/** Puts the FS descriptor of a dump through it near 3 MiB (20 MiB at the default data offset). */
const SMALL_DATA_OFFSET = 0x100000;
const enc = (s: string) => new TextEncoder().encode(s);

const iscsitgt = enc(
  iscsitgtExport({
    targets: [
      {
        name: 'lun0',
        iqn: 'iqn.1986-03.com.sun:02:0123abcd-lun0',
        alias: 'esx-lun0',
        luns: [{ lun: 0, guid: DEFAULTS.deviceId.slice(4), backingStore: '/dev/zvol/rdsk/tank/iscsi/lun0', blocks: 0x6400000 }],
      },
    ],
  }),
);
const zfs = enc(
  zfsListSnapshots([
    { name: 'tank/iscsi/lun0@daily-2026-11-01', creation: 1793491200, used: 1024 },
    { name: 'tank/iscsi/lun0@daily-2026-11-02', creation: 1793577600, used: 2048 },
  ]),
);

describeEachFlavour('captures: begin and commit', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
  });
  afterAll(async () => {
    await catalog?.close();
  });

  it('indexes a header dump, a .vh.sf, an iscsitgt export and zfs snapshots', async () => {
    const header = buildVmfsDisk({ lvmMajor: 3, dumpLength: 'legacy' });
    const vhsf = buildVhSf({ lvmMajor: 3 });
    const answer = await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esx',
      artifacts: [
        { kind: 'vmfs-header', fileName: 'sdb.hex', device: DEFAULTS.deviceId, bytes: header },
        { kind: 'vh-sf', fileName: 'vh.sf', sourcePath: `/vmfs/volumes/${DEFAULTS.vmfsUuid}/.vh.sf`, bytes: vhsf, gzip: true },
        { kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', bytes: iscsitgt },
        { kind: 'zfs-snapshots', fileName: 'zfs-snapshots.txt', bytes: zfs },
      ],
    });
    expect(answer.state).toBe('committed');
    expect(answer.artifacts.map((a) => [a.kind, a.parseStatus])).toEqual([
      ['vmfs-header', 'ok'],
      ['vh-sf', 'ok'],
      ['iscsitgt-smf', 'ok'],
      ['zfs-snapshots', 'ok'],
    ]);
    const [h, v, t] = answer.artifacts;
    expect(h.found.deviceId).toEqual([DEFAULTS.deviceId]);
    expect(h.found.lun).toEqual([String(DEFAULTS.lun)]);
    expect(h.found.vml?.[0]).toMatch(/^vml\.02000c00/);
    expect(v.found.vmfsUuid).toEqual([DEFAULTS.vmfsUuid]);
    expect(v.found.label).toEqual([DEFAULTS.label]);
    expect(t.found.iqn).toEqual(['iqn.1986-03.com.sun:02:0123abcd-lun0']);
    expect(t.found.backingStore).toEqual(['/dev/zvol/rdsk/tank/iscsi/lun0']);

    const { db, store } = catalog.services;
    const [cap] = await db.select().from(captures).where(eq(captures.id, answer.captureId));
    expect(cap.state).toBe('committed');
    expect(cap.manifestKey).toBe(manifestKey('esx01', answer.captureId));
    const [vol] = await db.select().from(volumes).where(eq(volumes.vmfsUuid, DEFAULTS.vmfsUuid));
    expect(vol.label).toBe(DEFAULTS.label);
    const ext = await db.select().from(extents).where(eq(extents.artifactId, h.id));
    expect(ext).toHaveLength(1);
    expect(ext[0]).toMatchObject({
      deviceId: DEFAULTS.deviceId,
      lun: DEFAULTS.lun,
      segmentUuid: DEFAULTS.segmentUuid,
      partitionScheme: 'mbr',
      partitionStart: 128,
      host: 'esx01',
    });
    // The header dump joins the volume through the segment UUID the .vh.sf names.
    const seg = await db.select().from(segments).where(eq(segments.vmfsUuid, DEFAULTS.vmfsUuid));
    expect(seg.map((s) => s.segmentUuid)).toEqual([DEFAULTS.segmentUuid]);
    const tgt = await db.select().from(targets).where(eq(targets.artifactId, t.id));
    expect(tgt[0]).toMatchObject({
      stack: 'iscsitgt',
      deviceId: DEFAULTS.deviceId,
      backingStore: '/dev/zvol/rdsk/tank/iscsi/lun0',
      storageHost: 'esx01',
      lun: 0,
    });
    expect(await db.select().from(zfsSnapshots).where(eq(zfsSnapshots.dataset, 'tank/iscsi/lun0'))).toHaveLength(2);
    const [lun] = await db.select().from(luns).where(eq(luns.deviceId, DEFAULTS.deviceId));
    expect(lun.lun).toBe(DEFAULTS.lun);
    const [host] = await db.select().from(hosts).where(eq(hosts.name, 'esx01'));
    expect(host).toMatchObject({ kind: 'esx', lastCaptureId: answer.captureId });
    // gzip chunks are recorded as such, identity ones as identity.
    const rows = await db.select().from(artifacts).where(eq(artifacts.captureId, answer.captureId));
    const vhRow = rows.find((r) => r.kind === 'vh-sf')!;
    expect((vhRow.chunks as Array<{ encoding: string; storedSize: number; size: number }>).every((c) => c.encoding === 'gzip' && c.storedSize < c.size)).toBe(
      true,
    );

    // Format 3: gzip-compressed JSON under `.json.gz` naming each artifact's chunk list, stored
    // as a chunk with its `blobs` row and named by the artifact's row (api/pipeline/manifest.ts).
    expect(answer.manifestKey).toBe(`manifests/esx01/${answer.captureId}.json.gz`);
    const stored = JSON.parse(gunzipSync((await store.getBytes(answer.manifestKey))!).toString('utf8')) as CaptureManifestV3;
    expect(stored).toMatchObject({ format: 'vmfs-catalog-manifest/3', captureId: answer.captureId, host: { name: 'esx01', kind: 'esx' } });
    expect(stored.artifacts).toHaveLength(answer.artifacts.length);
    for (const [n, a] of stored.artifacts.entries()) {
      const row = rows.find((r) => r.id === answer.artifacts[n].id)!;
      expect(a).toMatchObject({ kind: row.kind, fileName: row.fileName, chunkList: row.chunkList });
      const list = JSON.parse(gunzipSync((await store.getBytes(chunkKey(a.chunkList)))!).toString('utf8')) as ChunkListV1;
      expect(list).toMatchObject({ format: 'vmfs-catalog-chunk-list/1', size: row.size, sha256: row.sha256 });
      expect(list.order.map((i) => list.chunks[i])).toEqual(row.chunks);
      const [blob] = await db.select().from(blobs).where(eq(blobs.sha256, a.chunkList));
      expect(blob).toMatchObject({ encoding: 'gzip', storedSize: (await store.getBytes(chunkKey(a.chunkList)))!.length });
    }
    const manifest = await decodeManifest((await store.getBytes(answer.manifestKey))!, chunkListReader(store));
    expect(manifest.artifacts.map((a) => a.id)).toEqual(answer.artifacts.map((a) => a.id));
    expect(manifest.artifacts[0].chunks).toHaveLength(2);
  });

  it('is idempotent: begin twice and commit twice give one capture with the same rows', async () => {
    const bytes = buildVmfsDisk({
      lvmMajor: 5,
      dumpLength: MiB3,
      deviceId: 'naa.6006016000000000000000000000aaaa',
      extentUuid: '5a1c3e7d-00000001-0001-0050569a1b2c',
      noiseSeed: 7,
    });
    const prepared = prepareCapture({ host: 'esx02', artifacts: [{ kind: 'vmfs-header', fileName: 'a.hex', bytes }] });
    const first = await begin(catalog, prepared.request);
    const second = await begin(catalog, prepared.request);
    expect(second.state).toBe('open');
    expect(second.missing.map((m) => m.sha256)).toEqual(first.missing.map((m) => m.sha256));
    await uploadMissing(catalog, prepared, second);
    const one = await commit(catalog, prepared.request.captureId);
    const countAfterOne = (await catalog.services.db.select().from(extents).where(eq(extents.captureId, one.captureId))).length;
    const two = await commit(catalog, prepared.request.captureId);
    expect(two).toEqual(one);
    expect((await catalog.services.db.select().from(extents).where(eq(extents.captureId, one.captureId))).length).toBe(countAfterOne);
    expect(await catalog.services.db.select().from(artifacts).where(eq(artifacts.captureId, one.captureId))).toHaveLength(1);
    const again = await begin(catalog, prepared.request);
    expect(again).toMatchObject({ state: 'committed', missing: [] });
  });

  it('asks only for chunks the store lacks: an unchanged capture uploads nothing', async () => {
    const bytes = buildVmfsDisk({ lvmMajor: 5, dumpLength: MiB3, noiseSeed: 11 });
    await ingest(catalog, { host: 'esx03', artifacts: [{ kind: 'vmfs-header', fileName: 'b.hex', bytes }] });
    const prepared = prepareCapture({ host: 'esx03', artifacts: [{ kind: 'vmfs-header', fileName: 'b.hex', bytes }] });
    const answer = await begin(catalog, prepared.request);
    expect(answer.missing).toEqual([]);
    expect(answer.present).toHaveLength(3);
    // Its chunk list is yesterday's: the commit stores no object under chunks/ and no `blobs` row.
    const { store, db } = catalog.services;
    const chunkObjects = async () => {
      const keys: string[] = [];
      for await (const o of store.list('chunks/')) keys.push(o.key);
      return keys;
    };
    const objectsBefore = await chunkObjects();
    const blobsBefore = (await db.select({ sha256: blobs.sha256 }).from(blobs)).length;
    const done = await commit(catalog, prepared.request.captureId);
    expect(done.artifacts[0].parseStatus).toBe('ok');
    expect(await chunkObjects()).toEqual(objectsBefore);
    expect((await db.select({ sha256: blobs.sha256 }).from(blobs)).length).toBe(blobsBefore);
    const named = await db.select({ chunkList: artifacts.chunkList }).from(artifacts).where(eq(artifacts.host, 'esx03'));
    expect(named).toHaveLength(2);
    expect(named[0].chunkList).toMatch(/^[0-9a-f]{64}$/);
    expect(named[1].chunkList).toBe(named[0].chunkList);
  });

  it('a chunk list lost from the store is stored again by the next commit naming it, once a listing doubts it', async () => {
    const { store, db } = catalog.services;
    const bytes = buildVmfsDisk({ lvmMajor: 5, dumpLength: MiB3, noiseSeed: 12 });
    const first = await ingest(catalog, { host: 'esx09', artifacts: [{ kind: 'vmfs-header', fileName: 'c.hex', bytes }] });
    const [{ chunkList }] = await db.select({ chunkList: artifacts.chunkList }).from(artifacts).where(eq(artifacts.id, first.artifacts[0].id));
    const stored = (await store.getBytes(chunkKey(chunkList!)))!;
    await store.delete(chunkKey(chunkList!));
    // What the maintenance pass's listing does to a record whose object it does not show (vouchListed).
    await db
      .update(blobs)
      .set({ lastVerified: new Date(0) })
      .where(eq(blobs.sha256, chunkList!));
    await ingest(catalog, { host: 'esx09', artifacts: [{ kind: 'vmfs-header', fileName: 'c.hex', bytes }] });
    expect(await store.getBytes(chunkKey(chunkList!))).toEqual(stored);
    const [row] = await db.select().from(blobs).where(eq(blobs.sha256, chunkList!));
    expect(row.lastVerified.getTime()).toBeGreaterThan(0);
  });

  it('a repeat begin may add chunk encodings and still counts as the same capture', async () => {
    const bytes = enc('tank/a@s1\t1793491200\t1\n'.repeat(10));
    const captureId = uuidv7();
    const plain = prepareCapture({ host: 'sol01', hostKind: 'solaris', captureId, artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes }] });
    const gz = prepareCapture({
      host: 'sol01',
      hostKind: 'solaris',
      captureId,
      collectedAt: plain.request.collectedAt,
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes, gzip: true }],
    });
    await begin(catalog, plain.request);
    const answer = await begin(catalog, gz.request);
    expect(answer.missing[0].encoding).toBe('gzip');
    await uploadMissing(catalog, gz, answer);
    const done = await commit(catalog, captureId);
    expect(done.artifacts[0].found.dataset).toEqual(['tank/a']);
  });

  it('refuses the same capture id with other artifacts (409) and another host (409)', async () => {
    const prepared = prepareCapture({ host: 'esx04', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: zfs }] });
    await begin(catalog, prepared.request);
    const other = prepareCapture({
      host: 'esx04',
      captureId: prepared.request.captureId,
      artifacts: [{ kind: 'zfs-snapshots', fileName: 'z2.txt', bytes: zfs }],
    });
    await expect(begin(catalog, other.request)).rejects.toMatchObject({ status: 409, code: 'conflict' });
    const otherHost = { ...prepared.request, host: { ...prepared.request.host, name: 'esx05' } };
    await expect(begin(catalog, otherHost)).rejects.toMatchObject({ status: 409 });
  });

  it('records a parse error on the artifact and an event, and still commits', async () => {
    const garbage = new Uint8Array(4096).fill(0x41);
    const answer = await ingest(catalog, {
      host: 'esx06',
      artifacts: [
        { kind: 'vmfs-header', fileName: 'broken.hex', bytes: garbage },
        { kind: 'vmfs-undelete', fileName: 'undelete.tgz', bytes: new Uint8Array(3000).fill(7) },
      ],
    });
    expect(answer.artifacts[0]).toMatchObject({ parseStatus: 'error' });
    expect(answer.artifacts[0].parseError?.code).toBeTruthy();
    expect(answer.artifacts[1]).toMatchObject({ parseStatus: 'opaque', parseError: null });
    const ev = await catalog.services.db.select().from(events).where(eq(events.artifactId, answer.artifacts[0].id));
    expect(ev.map((e) => e.type)).toEqual(['parse-error']);
  });

  it('raises drift events against the previous capture of the same extent', async () => {
    const base = {
      lvmMajor: 5 as const,
      dumpLength: MiB3,
      deviceId: 'naa.6006016000000000000000000000bbbb',
      extentUuid: '5a1c3e7d-00000002-0002-0050569a1b2c',
      noiseSeed: 3,
    };
    const t0 = new Date('2026-11-01T00:00:00Z');
    await ingest(catalog, {
      host: 'esx07',
      collectedAt: t0,
      artifacts: [{ kind: 'vmfs-header', fileName: 'd.hex', bytes: buildVmfsDisk({ ...base, lun: 5 }) }],
    });
    const later = await ingest(catalog, {
      host: 'esx07',
      collectedAt: new Date(t0.getTime() + 86_400_000),
      artifacts: [
        { kind: 'vmfs-header', fileName: 'd.hex', device: 'naa.6006016000000000000000000000cccc', bytes: buildVmfsDisk({ ...base, lun: 9, scheme: 'none' }) },
      ],
    });
    const ev = await catalog.services.db.select().from(events).where(eq(events.artifactId, later.artifacts[0].id));
    // The fixture's wiped table also changes the partition size the LVM header records (header-changed).
    expect(ev.map((e) => e.type)).toEqual(expect.arrayContaining(['device-id-changed', 'lun-id-changed', 'partition-missing']));
    expect(ev.find((e) => e.type === 'lun-id-changed')?.severity).toBe('critical');
    expect(ev.every((e) => e.deviceId === base.deviceId && e.host === 'esx07')).toBe(true);
  });

  it('compares with the newest earlier capture of the extent, not an older one', async () => {
    const base = {
      lvmMajor: 5 as const,
      dumpLength: MiB3,
      deviceId: 'naa.6006016000000000000000000000dddd',
      extentUuid: '5a1c3e7d-00000003-0003-0050569a1b2c',
      noiseSeed: 4,
    };
    const t0 = new Date('2026-11-01T00:00:00Z');
    const at = (lun: number, days: number) =>
      ingest(catalog, {
        host: 'esx08',
        collectedAt: new Date(t0.getTime() + days * 86_400_000),
        artifacts: [{ kind: 'vmfs-header', fileName: 'd.hex', bytes: buildVmfsDisk({ ...base, lun }) }],
      });
    const types = async (id: string) => (await catalog.services.db.select().from(events).where(eq(events.artifactId, id))).map((e) => e.type);
    await at(5, 0);
    expect(await types((await at(7, 1)).artifacts[0].id)).toContain('lun-id-changed');
    // Against the day before (LUN 7) nothing changed; against the first day (LUN 5) the LUN would have.
    expect(await types((await at(7, 2)).artifacts[0].id)).not.toContain('lun-id-changed');
    expect(await types((await at(5, 3)).artifacts[0].id)).toContain('lun-id-changed');
  });

  it('raises label-changed when a later .vh.sf names the volume differently', async () => {
    const vmfsUuid = '5b1c3e7f-2b4d6e80-91a2-0050569a1b2c';
    const t0 = new Date('2026-11-03T00:00:00Z');
    await ingest(catalog, {
      host: 'esx08',
      collectedAt: t0,
      artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', bytes: buildVhSf({ vmfsUuid, label: 'prod-a' }) }],
    });
    const later = await ingest(catalog, {
      host: 'esx08',
      collectedAt: new Date(t0.getTime() + 3600_000),
      artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', bytes: buildVhSf({ vmfsUuid, label: 'prod-b' }) }],
    });
    const ev = await catalog.services.db.select().from(events).where(eq(events.artifactId, later.artifacts[0].id));
    expect(ev.map((e) => [e.type, e.vmfsUuid])).toEqual([['label-changed', vmfsUuid]]);
    const [vol] = await catalog.services.db.select().from(volumes).where(eq(volumes.vmfsUuid, vmfsUuid));
    expect(vol.label).toBe('prod-b');
  });

  it("another host's .vh.sf relabelling a volume known from a header dump raises label-changed as a warning naming that host", async () => {
    // esx10 dumps the header of its datastore; esx-evil then sends a .vh.sf claiming the same
    // VMFS UUID under another label. No .vh.sf of the volume was seen before, yet the label
    // the catalog shows is what it is compared with.
    const header = await ingest(catalog, {
      host: 'esx10',
      collectedAt: new Date('2026-11-04T00:00:00Z'),
      artifacts: [
        {
          kind: 'vmfs-header',
          fileName: 'sdc.hex',
          bytes: buildVmfsDisk({ vmfsUuid: '5b1c3e7f-2b4d6e80-91a2-0050569a1b99', label: 'dr-ds02', dataOffset: SMALL_DATA_OFFSET }),
        },
      ],
    });
    expect(header.state).toBe('committed');
    const evil = await ingest(catalog, {
      host: 'esx-evil',
      collectedAt: new Date('2026-11-04T01:00:00Z'),
      artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', bytes: buildVhSf({ vmfsUuid: '5b1c3e7f-2b4d6e80-91a2-0050569a1b99', label: 'HACKED' }) }],
    });
    const ev = await catalog.services.db.select().from(events).where(eq(events.artifactId, evil.artifacts[0].id));
    expect(ev.map((e) => [e.type, e.severity, e.host])).toEqual([['label-changed', 'warning', 'esx-evil']]);
    expect(ev[0].message).toContain('"dr-ds02" to "HACKED" (reported by esx-evil');
    // The same host relabelling its own .vh.sf later is routine: info.
    const again = await ingest(catalog, {
      host: 'esx-evil',
      collectedAt: new Date('2026-11-04T02:00:00Z'),
      artifacts: [{ kind: 'vh-sf', fileName: 'vh.sf', bytes: buildVhSf({ vmfsUuid: '5b1c3e7f-2b4d6e80-91a2-0050569a1b99', label: 'HACKED-2' }) }],
    });
    const ev2 = await catalog.services.db.select().from(events).where(eq(events.artifactId, again.artifacts[0].id));
    expect(ev2.map((e) => [e.type, e.severity])).toEqual([['label-changed', 'info']]);
  });

  it('a host sending one extent from two sources compares each with its own past: identical days raise nothing', async () => {
    // The live device and an older dump imported by hand: same extent, another disk size (so
    // another partition end and volume size).
    const ids = {
      extentUuid: '5b1c3e7f-2b4d6e80-91a2-0050569a1baa',
      vmfsUuid: '5b1c3e7f-2b4d6e80-91a2-0050569a1bab',
      label: 'two-src',
      dataOffset: SMALL_DATA_OFFSET,
    };
    const live = buildVmfsDisk({ ...ids, deviceSizeBytes: 64 * 1024 * 1024 * 1024 });
    const old = buildVmfsDisk({ ...ids, deviceSizeBytes: 3 * 1024 * 1024 * 1024 * 1024 });
    const day = (n: number) =>
      ingest(catalog, {
        host: 'esx11',
        collectedAt: new Date(Date.UTC(2026, 10, 5 + n)),
        artifacts: [
          { kind: 'vmfs-header', fileName: 'sdd.hex', sourcePath: '/dev/disks/naa.x', bytes: live },
          { kind: 'vmfs-header', fileName: 'old.hex', sourcePath: '/root/old.hex', bytes: old },
        ],
      });
    await day(0);
    for (const n of [1, 2, 3]) {
      const done = await day(n);
      const raised = await catalog.services.db.select().from(events).where(eq(events.captureId, done.captureId));
      expect(raised.map((e) => `${e.type}: ${e.message}`)).toEqual([]);
    }
  });

  it('two commits of one capture at the same time index it once and answer the same', async () => {
    const prepared = prepareCapture({ host: 'esx09', artifacts: [{ kind: 'zfs-snapshots', fileName: 'z.txt', bytes: enc('tank/c@x\t1793491200\t5\n') }] });
    await uploadMissing(catalog, prepared, await begin(catalog, prepared.request));
    const [a, b] = await Promise.all([commit(catalog, prepared.request.captureId), commit(catalog, prepared.request.captureId)]);
    expect(a).toEqual(b);
    expect(await catalog.services.db.select().from(zfsSnapshots).where(eq(zfsSnapshots.captureId, prepared.request.captureId))).toHaveLength(1);
  });

  it('answers 404 for a commit of an unknown capture', async () => {
    await expect(commit(catalog, uuidv7())).rejects.toMatchObject({ status: 404, code: 'not_found' });
  });

  it('records verified chunks in blobs', async () => {
    const rows = await catalog.services.db.select().from(blobs);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.size <= 1024 * 1024 && /^[0-9a-f]{64}$/.test(r.sha256))).toBe(true);
  });

  it('shows both routes in /openapi.json', async () => {
    const spec = (await (await catalog.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/captures', '/v1/captures/{id}/commit']));
  });
});
