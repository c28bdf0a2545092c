/**
 * A `.vh.sf` from one host's collector token cannot change another volume's restore. Its FS
 * descriptor ties a segment UUID to a VMFS UUID (docs/formats.md "FS descriptor": VMFS UUID at
 * +0x09, segment UUID at +0xB1); before, every such tie joined the segment's devices to the
 * volume, so the bundle of V1 could carry V2's LUN and restore.sh write V2's partition table
 * and header onto it. A header dump that reached the FS descriptor is the device's own word
 * and decides; a VMFS volume lives on one LVM segment, the same in every extent's volume table
 * (vmfs-tools libvmfs/vmfs_lvm.c vmfs_lvm_add_extent: "is not part of the LVM"; libvmfs/vmfs_fs.c
 * vmfs_fs_open: "FS doesn't belong to the underlying LVM"), so a claim tying V2's segment to
 * V1, or another segment to V1, contradicts the headers: it adds nothing and raises
 * segment-claim-conflict naming the host. A claim no header contradicts is listed, but joins no
 * device whose own header dump names another volume. The honest spanned volume known only
 * through its host's `.vh.sf` and legacy dumps (read-side-seed: the 2 MiB dumps end before the
 * FS descriptor) keeps both extents.
 *
 * Real HTTP over the collector protocol, each host with its own collector token.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVhSf, buildVmfsDisk, SHORT_DUMP_DATA_OFFSET, type VmfsImageOptions } from '../fixtures/vmfs-images.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { collectorTokens, ingest, sha256Hex, type TestArtifact } from '../helpers/ingest-client.js';
import { EXTENT1, EXTENT2, PROD, extent1Dump, extent2Dump, prodVhSf } from './read-side-seed.js';

interface Json {
  [k: string]: any;
}

const V1 = {
  vmfsUuid: '5b1c3e7f-2b4d6e80-91a2-0050569a2d01',
  segmentUuid: '5b1c3e7e-11223344-5566-0050569a2d01',
  deviceId: 'naa.600144f0aabbccddeeff0011223355e1',
};
const V2 = {
  vmfsUuid: '5b1c3e7f-2b4d6e80-91a2-0050569a2d02',
  segmentUuid: '5b1c3e7e-11223344-5566-0050569a2d02',
  deviceId: 'naa.600144f0aabbccddeeff0011223355e2',
};
/** Segments only the attacker's bytes name. */
const FORGED_SEGMENT = '5b1c3e7e-deadbeef-0000-0050569a2dee';
const PROD_CLAIM_SEGMENT = '5b1c3e7e-deadbeef-0001-0050569a2dee';
const ATTACKER_DEVICE = 'naa.600144f0aabbccddeeff0011223355ee';
/** A volume whose header dump arrives after the attacker already claimed its segment for PROD. */
const V5 = {
  vmfsUuid: '5b1c3e7f-2b4d6e80-91a2-0050569a2d05',
  segmentUuid: '5b1c3e7e-11223344-5566-0050569a2d05',
  deviceId: 'naa.600144f0aabbccddeeff0011223355e5',
};

const VICTIM = 'esx-a';
const ATTACKER = 'esx-b';
const T_A = new Date('2026-10-01T02:00:00.000Z');
const T_B = new Date('2026-10-02T02:00:00.000Z');
const T_A2 = new Date('2026-10-03T02:00:00.000Z');
const NOW = new Date('2026-10-05T00:00:00.000Z');

/**
 * A header dump of a one-extent VMFS3 volume (MBR, partition at LBA 128) reaching the FS
 * descriptor. What counts is that it reaches the descriptor, not its length: ~4 MiB at
 * SHORT_DUMP_DATA_OFFSET instead of ~20 MiB at ESX's data offset (each bundle carries it).
 */
const headOf = (v: typeof V1, label: string, over: VmfsImageOptions = {}) =>
  buildVmfsDisk({ lvmMajor: 3, scheme: 'mbr', ...v, label, lun: 3, dumpLength: 'descriptor', dataOffset: SHORT_DUMP_DATA_OFFSET, ...over });
/** A legacy 2 MiB dump: LVM header and volume table (segment UUID), no FS descriptor, so no VMFS UUID. */
const legacyOf = (deviceId: string, segmentUuid: string, noiseSeed: number) =>
  buildVmfsDisk({ lvmMajor: 3, scheme: 'mbr', deviceId, segmentUuid, lun: 9, fsDescriptor: false, dumpLength: 'legacy', noiseSeed });

const dumpArtifact = (deviceId: string, bytes: Uint8Array): TestArtifact => ({
  kind: 'vmfs-header',
  fileName: `${deviceId}.hex`,
  sourcePath: `/vmfs/devices/disks/${deviceId}`,
  device: deviceId,
  bytes,
});
const vhSfArtifact = (name: string, vmfsUuid: string, segmentUuid: string, label: string): TestArtifact => ({
  kind: 'vh-sf',
  fileName: `${name}.vh.sf`,
  sourcePath: `/vmfs/volumes/${vmfsUuid}/.vh.sf`,
  bytes: buildVhSf({ lvmMajor: 3, vmfsUuid, segmentUuid, label }),
});

describeEachFlavour("a foreign host's .vh.sf", (flavour) => {
  let catalog: TestCatalog;
  let tokens: Record<string, string>;
  const temps: string[] = [];
  const before = new Map<string, Json>();

  /** What a volume's restore is: the bundle's bytes, bundle.json, restore.sh, the DR plan, the page. */
  async function restoreOf(vmfsUuid: string): Promise<Json> {
    const res = await catalog.request(`/v1/volumes/${vmfsUuid}/restore-bundle?at=${NOW.toISOString()}`);
    expect(res.status).toBe(200);
    const tar = new Uint8Array(await res.arrayBuffer());
    const dir = mkdtempSync(join(tmpdir(), 'vrc-segment-'));
    temps.push(dir);
    writeFileSync(join(dir, 'b.tar.gz'), tar);
    // The two files compared (the whole archive is compared by its hash): no need to write the dumps out.
    execFileSync('tar', ['-xzf', join(dir, 'b.tar.gz'), '-C', dir, '--wildcards', '*/bundle.json', '*/restore.sh']);
    const root = join(dir, readdirSync(dir).find((n) => n !== 'b.tar.gz')!);
    const plan = await catalog.request(`/v1/volumes/${vmfsUuid}/dr-plan?at=${NOW.toISOString()}`);
    expect(plan.status).toBe(200);
    return {
      tarSha256: sha256Hex(tar),
      bundleJson: readFileSync(join(root, 'bundle.json'), 'utf8'),
      restoreSh: readFileSync(join(root, 'restore.sh'), 'utf8'),
      drPlan: await plan.json(),
      page: await pageOf(vmfsUuid),
    };
  }

  /** A volume's page alone: the tests that read only the page do not build its bundle (V1's and V2's carry ~4 MiB dumps). */
  async function pageOf(vmfsUuid: string): Promise<Json> {
    const page = await catalog.request(`/v1/volumes/${vmfsUuid}`);
    expect(page.status).toBe(200);
    return page.json();
  }

  const headerDevices = (page: Json) =>
    page.extents
      .filter((e: Json) => e.source === 'header')
      .map((e: Json) => e.deviceId)
      .sort();

  async function conflictEvents(): Promise<Json[]> {
    const res = await catalog.request('/v1/events?type=segment-claim-conflict&status=open');
    expect(res.status).toBe(200);
    return ((await res.json()) as Json).events;
  }

  beforeAll(async () => {
    catalog = await startTestCatalog(flavour, { now: () => NOW });
    tokens = await collectorTokens(catalog, [VICTIM, ATTACKER]);
    // The victim host: V1 and V2 each on one LUN whose dump reached the FS descriptor, and
    // PROD spanning two LUNs known through the host's own .vh.sf and legacy dumps.
    await ingest(catalog, {
      host: VICTIM,
      hostKind: 'esxi',
      token: tokens[VICTIM],
      collectedAt: T_A,
      artifacts: [
        dumpArtifact(V1.deviceId, headOf(V1, 'prod-v1', { noiseSeed: 11 })),
        dumpArtifact(V2.deviceId, headOf(V2, 'prod-v2', { noiseSeed: 12 })),
        dumpArtifact(EXTENT1.deviceId, extent1Dump()),
        dumpArtifact(EXTENT2.deviceId, extent2Dump()),
        { kind: 'vh-sf', fileName: 'prod-datastore-01.vh.sf', sourcePath: `/vmfs/volumes/${PROD.vmfsUuid}/.vh.sf`, bytes: prodVhSf() },
      ],
    });
    for (const v of [V1.vmfsUuid, V2.vmfsUuid, PROD.vmfsUuid]) before.set(v, await restoreOf(v));

    // The attacker's host, a day later (so its bytes are the newest of every series).
    await ingest(catalog, {
      host: ATTACKER,
      hostKind: 'esxi',
      token: tokens[ATTACKER],
      collectedAt: T_B,
      artifacts: [
        // V2's segment tied to V1.
        vhSfArtifact('v1-is-v2', V1.vmfsUuid, V2.segmentUuid, 'evil'),
        // PROD's segment tied to V1: PROD's LUNs are known by that segment alone.
        vhSfArtifact('v1-is-prod', V1.vmfsUuid, PROD.segmentUuid, 'evil'),
        // Another segment tied to V1, with a LUN of the attacker's holding it.
        vhSfArtifact('v1-is-mine', V1.vmfsUuid, FORGED_SEGMENT, 'evil'),
        dumpArtifact(ATTACKER_DEVICE, legacyOf(ATTACKER_DEVICE, FORGED_SEGMENT, 21)),
        // PROD has no header dump naming it: a claim of another segment for it contradicts no
        // header, and a dump of V1's LUN holding that segment tries to join it to PROD.
        vhSfArtifact('prod-too', PROD.vmfsUuid, PROD_CLAIM_SEGMENT, PROD.label),
        dumpArtifact(V1.deviceId, legacyOf(V1.deviceId, PROD_CLAIM_SEGMENT, 22)),
        // A segment nobody has dumped yet, claimed for PROD.
        vhSfArtifact('prod-v5', PROD.vmfsUuid, V5.segmentUuid, PROD.label),
      ],
    });
  });
  afterAll(async () => {
    await catalog?.close();
    for (const t of temps) rmSync(t, { recursive: true, force: true });
  });

  it("leaves V1's and V2's bundles, restore.sh and DR plans byte for byte as they were", async () => {
    const restoreSh = new Map<string, string>();
    for (const v of [V1, V2]) {
      const now = await restoreOf(v.vmfsUuid);
      restoreSh.set(v.vmfsUuid, now.restoreSh);
      const was = before.get(v.vmfsUuid)!;
      expect(now.tarSha256, v.vmfsUuid).toBe(was.tarSha256);
      expect(now.bundleJson).toBe(was.bundleJson);
      expect(now.restoreSh).toBe(was.restoreSh);
      expect(now.drPlan).toEqual(was.drPlan);
      const bundle = JSON.parse(now.bundleJson) as Json;
      expect(bundle.extents.map((e: Json) => [e.deviceId, e.host])).toEqual([[v.deviceId, VICTIM]]);
      expect(now.restoreSh).not.toContain(ATTACKER_DEVICE);
    }
    expect(restoreSh.get(V1.vmfsUuid)).not.toContain(V2.deviceId);
    expect(restoreSh.get(V2.vmfsUuid)).not.toContain(V1.deviceId);
  });

  it("V1's page lists only naa.X, its own segment and its own artifacts", async () => {
    const page = await pageOf(V1.vmfsUuid);
    const was = before.get(V1.vmfsUuid)!.page;
    expect(page.segmentUuids).toEqual([V1.segmentUuid]);
    expect(page.extents).toEqual(was.extents);
    expect(headerDevices(page)).toEqual([V1.deviceId]);
    // Of the attacker's artifacts only its dump of naa.X is listed, as every dump of the volume's LUN is.
    const attackers = page.artifacts.filter((a: Json) => a.host === ATTACKER);
    expect(attackers.map((a: Json) => [a.kind, a.device])).toEqual([['vmfs-header', V1.deviceId]]);
    expect(page.artifacts.filter((a: Json) => a.host !== ATTACKER)).toEqual(was.artifacts);
    expect(page.targets).toEqual(was.targets);
    // The attacker's relabel is a label-changed warning naming it, but a contradicted claim
    // changes no label: the page, the bundle and search keep V1's own.
    expect(page.events.some((e: Json) => e.type === 'label-changed' && e.host === ATTACKER)).toBe(true);
    expect(was.label).toBe('prod-v1');
    expect([page.label, page.version, page.blockSize]).toEqual([was.label, was.version, was.blockSize]);
    expect(JSON.parse(before.get(V1.vmfsUuid)!.bundleJson).label).toBe('prod-v1');
  });

  it("search by the contradicted claims' label finds no volume; V1 is found by its own", async () => {
    const found = async (q: string) => {
      const res = await catalog.request(`/v1/search?q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(200);
      return ((await res.json()) as Json).hits.filter((r: Json) => r.type === 'volume').map((r: Json) => [r.vmfsUuid, r.label]);
    };
    expect(await found('evil')).toEqual([]);
    expect(await found('prod-v1')).toEqual([[V1.vmfsUuid, 'prod-v1']]);
    expect(await found(V1.vmfsUuid)).toEqual([[V1.vmfsUuid, 'prod-v1']]);
  });

  it('raises one segment-claim-conflict per contradicted claim, naming the host that sent it', async () => {
    const events = await conflictEvents();
    const mine = events.filter((e) => e.vmfsUuid === V1.vmfsUuid).sort((a, b) => a.details.segmentUuid.localeCompare(b.details.segmentUuid));
    expect(mine.map((e) => [e.host, e.severity, e.details.segmentUuid])).toEqual(
      [
        [ATTACKER, 'warning', V2.segmentUuid],
        [ATTACKER, 'warning', FORGED_SEGMENT],
        [ATTACKER, 'warning', PROD.segmentUuid],
      ].sort((a, b) => a[2].localeCompare(b[2])),
    );
    const tiesV2 = mine.find((e) => e.details.segmentUuid === V2.segmentUuid)!;
    expect(tiesV2.message).toContain(`an FS descriptor from ${ATTACKER} ties segment ${V2.segmentUuid} to volume ${V1.vmfsUuid}`);
    expect(tiesV2.message).toContain(`the header dump of ${V2.deviceId} from ${VICTIM} ties that segment to volume ${V2.vmfsUuid}`);
    expect(tiesV2.deviceId).toBe(V2.deviceId);
    const forged = mine.find((e) => e.details.segmentUuid === FORGED_SEGMENT)!;
    expect(forged.message).toContain(`gives the volume segment ${V1.segmentUuid}`);
    // Both show on V1's page; the one naming V2's LUN on V2's page too.
    const v1Page = await pageOf(V1.vmfsUuid);
    expect(v1Page.events.filter((e: Json) => e.type === 'segment-claim-conflict')).toHaveLength(3);
    const v2Page = await pageOf(V2.vmfsUuid);
    expect(v2Page.events.filter((e: Json) => e.type === 'segment-claim-conflict').map((e: Json) => e.details.segmentUuid)).toEqual([V2.segmentUuid]);
    // The claim the headers do not contradict raises nothing.
    expect(events.some((e) => e.vmfsUuid === PROD.vmfsUuid)).toBe(false);

    // The same claims sent again keep one open event each.
    await ingest(catalog, {
      host: ATTACKER,
      hostKind: 'esxi',
      token: tokens[ATTACKER],
      collectedAt: new Date(T_B.getTime() + 3_600_000),
      artifacts: [vhSfArtifact('v1-is-v2', V1.vmfsUuid, V2.segmentUuid, 'evil')],
    });
    expect((await conflictEvents()).filter((e) => e.vmfsUuid === V1.vmfsUuid)).toHaveLength(3);
  });

  it("the victim host's page lists the volumes its own dumps and .vh.sf name, none a contradicted claim names", async () => {
    const res = await catalog.request(`/v1/hosts/${VICTIM}`);
    expect(res.status).toBe(200);
    const { volumes } = (await res.json()) as Json;
    expect(volumes.map((v: Json) => v.vmfsUuid).sort()).toEqual([V1.vmfsUuid, V2.vmfsUuid, PROD.vmfsUuid].sort());
  });

  it('an uncontradicted claim is listed, but joins no LUN whose own header names another volume', async () => {
    const { page, bundleJson } = await restoreOf(PROD.vmfsUuid);
    const was = before.get(PROD.vmfsUuid)!;
    expect(page.segmentUuids).toContain(PROD.segmentUuid);
    expect(page.segmentUuids).toContain(PROD_CLAIM_SEGMENT);
    // The honest spanned volume keeps both extents; V1's LUN, which the attacker dumped holding
    // the claimed segment, is not among them: the victim's own dump of it names V1.
    expect(headerDevices(page)).toEqual([EXTENT1.deviceId, EXTENT2.deviceId].sort());
    const extents = (json: string) => (JSON.parse(json) as Json).extents;
    expect(extents(bundleJson)).toEqual(extents(was.bundleJson));
    expect(extents(bundleJson).map((e: Json) => e.deviceId)).toEqual([EXTENT1.deviceId, EXTENT2.deviceId]);
    expect(JSON.stringify(page)).not.toContain(V1.deviceId);
  });

  it('a header dump arriving after a claim it contradicts raises the conflict then, and the claim stops counting', async () => {
    expect((await pageOf(PROD.vmfsUuid)).segmentUuids).toContain(V5.segmentUuid);
    await ingest(catalog, {
      host: VICTIM,
      hostKind: 'esxi',
      token: tokens[VICTIM],
      collectedAt: T_A2,
      artifacts: [dumpArtifact(V5.deviceId, headOf(V5, 'prod-v5', { noiseSeed: 15 }))],
    });
    const late = (await conflictEvents()).filter((e) => e.vmfsUuid === PROD.vmfsUuid);
    expect(late.map((e) => [e.host, e.details.segmentUuid, e.deviceId])).toEqual([[ATTACKER, V5.segmentUuid, V5.deviceId]]);
    const page = await pageOf(PROD.vmfsUuid);
    expect(page.segmentUuids).not.toContain(V5.segmentUuid);
    expect(headerDevices(page)).toEqual([EXTENT1.deviceId, EXTENT2.deviceId].sort());
  });

  it('the scheduled pass finds the same conflicts: each stays one open event', async () => {
    const open = (await conflictEvents()).map((e) => e.id).sort();
    const scan = await catalog.request('/v1/admin/events/scan', { method: 'POST' });
    expect(scan.status).toBe(200);
    expect((await conflictEvents()).map((e) => e.id).sort()).toEqual(open);
    expect(open).toHaveLength(4);
  });
});
