/**
 * Search takes the spellings the storage tools print, not only the canonical ids:
 * - `naa.…:1` / `vml.…:1`: `esxcfg-scsidevs -m` prints extents as `<device>:<partition>`
 *   and /vmfs/devices/disks lists `<device>:<partition>` nodes (VMware KB 1014953,
 *   "Identifying disks when working with VMware ESXi/ESX");
 * - the LVM segment UUID and the extent (device) UUID a header dump shows (vmfs-tools'
 *   debugvmfs prints both: lvm.h `uuid` at LVM header + 0x82, the volume table's `lvm_uuid`);
 * - an initiator IQN, answered with the target LUs whose ACL names it (iscsitadm's
 *   `acl-list` of a target, illumos-gate usr/src/cmd/iscsi/iscsitgtd).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';
import { iscsitgtExport } from '../fixtures/text-fixtures.js';
import { EXTENT1, EXTENT2, PROD, T0, HOUR, seedDatacenter, vmlOf } from './read-side-seed.js';

interface Json {
  [k: string]: any;
}

const enc = (s: string) => new TextEncoder().encode(s);
const ESX01_INITIATOR = 'iqn.1998-01.com.vmware:esx01-4a1c3e7f';
const ESX02_INITIATOR = 'iqn.1998-01.com.vmware:esx02-61a2b3c4';
const ACL_IQN = 'iqn.1986-03.com.sun:02:acl-target';

/** sol02 exports one target whose ACL names both ESX initiators, later only esx01's. */
function aclExport(initiators: string[]): Uint8Array {
  return enc(
    iscsitgtExport({
      initiators: [
        { name: 'esx01', iqn: ESX01_INITIATOR },
        { name: 'esx02', iqn: ESX02_INITIATOR },
      ],
      targets: [
        {
          name: 'acl',
          iqn: ACL_IQN,
          alias: 'acl-ds',
          acl: initiators,
          luns: [{ lun: 0, guid: '600144f0000000000000000000ac1000', backingStore: '/dev/zvol/rdsk/tank/acl0', blocks: 0x100000 }],
        },
      ],
    }),
  );
}

describeEachFlavour('search: the spellings storage tools print', (flavour) => {
  let catalog: TestCatalog;
  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    await seedDatacenter(catalog);
    await ingest(catalog, {
      host: 'sol02',
      hostKind: 'solaris',
      collectedAt: new Date(T0.getTime() + 3 * HOUR),
      artifacts: [{ kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', bytes: aclExport(['esx01', 'esx02']) }],
    });
    await ingest(catalog, {
      host: 'sol02',
      hostKind: 'solaris',
      collectedAt: new Date(T0.getTime() + 4 * HOUR),
      artifacts: [{ kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', bytes: aclExport(['esx01']) }],
    });
  });
  afterAll(async () => catalog?.close());

  const search = async (q: string) => {
    const res = await catalog.request(`/v1/search?q=${encodeURIComponent(q)}`);
    expect(res.status, q).toBe(200);
    return (await res.json()) as Json;
  };
  const ofType = (body: Json, type: string) => body.hits.filter((h: Json) => h.type === type);

  it('takes naa.…:N and vml.…:N as the device, with the partition noted', async () => {
    const vml = vmlOf(EXTENT1.deviceId, EXTENT1.lun);
    for (const [q, deviceId] of [
      [`${EXTENT2.deviceId}:1`, EXTENT2.deviceId],
      [`${EXTENT2.deviceId.toUpperCase().replace('NAA.', 'naa.')}:1`, EXTENT2.deviceId],
      [`${vml}:1`, EXTENT1.deviceId],
      [`${vml.toUpperCase().replace('VML.', 'vml.')}:3`, EXTENT1.deviceId],
    ] as const) {
      const body = await search(q);
      expect(body.query, q).toMatchObject({ deviceId, raw: q });
      expect(body.query.partition, q).toBe(Number(q.split(':').pop()));
      expect(body.hits[0], q).toMatchObject({ type: 'lun', deviceId, score: 100 });
      expect(
        ofType(body, 'volume').map((h: Json) => h.vmfsUuid),
        q,
      ).toEqual([PROD.vmfsUuid]);
    }
    expect((await search(`${vml}:1`)).query.type).toBe('vml');
    // Not a device id with a suffix: still text.
    expect((await search('naa.zz:1')).query.type).toBe('text');
  });

  it('takes /vmfs/devices/disks/vml.…:N', async () => {
    const body = await search(`/vmfs/devices/disks/${vmlOf(EXTENT2.deviceId, EXTENT2.lun)}:1`);
    expect(body.hits[0]).toMatchObject({ type: 'lun', deviceId: EXTENT2.deviceId });
    expect(ofType(body, 'volume').map((h: Json) => h.vmfsUuid)).toEqual([PROD.vmfsUuid]);
  });

  it('finds the volume and its devices by the LVM segment UUID, dashed or bare', async () => {
    for (const q of [PROD.segmentUuid, PROD.segmentUuid.replace(/-/g, ''), PROD.segmentUuid.toUpperCase()]) {
      const body = await search(q);
      expect(body.hits[0], q).toMatchObject({ type: 'volume', vmfsUuid: PROD.vmfsUuid, label: PROD.label, match: 'segmentUuid' });
      expect(
        ofType(body, 'lun')
          .map((h: Json) => h.deviceId)
          .sort(),
        q,
      ).toEqual([EXTENT1.deviceId, EXTENT2.deviceId].sort());
    }
  });

  it('finds the device and its volume by the extent UUID', async () => {
    for (const q of [EXTENT1.extentUuid, EXTENT1.extentUuid.replace(/-/g, '')]) {
      const body = await search(q);
      expect(body.hits[0], q).toMatchObject({ type: 'lun', deviceId: EXTENT1.deviceId, lun: EXTENT1.lun, match: 'extentUuid', score: 100 });
      expect(
        ofType(body, 'volume').map((h: Json) => h.vmfsUuid),
        q,
      ).toEqual([PROD.vmfsUuid]);
      expect(ofType(body, 'target')[0], q).toMatchObject({ deviceId: EXTENT1.deviceId, storageHost: 'sol01' });
    }
    const other = await search(EXTENT2.extentUuid);
    expect(ofType(other, 'lun').map((h: Json) => h.deviceId)).toEqual([EXTENT2.deviceId]);
  });

  it('answers an initiator IQN with the targets whose current ACL names it', async () => {
    for (const q of [ESX01_INITIATOR, ESX01_INITIATOR.toUpperCase()]) {
      const body = await search(q);
      const targets = ofType(body, 'target');
      expect(
        targets.map((t: Json) => [t.iqn, t.storageHost, t.match]),
        q,
      ).toEqual([[ACL_IQN, 'sol02', 'acl']]);
    }
    // esx02 was dropped from the ACL in sol02's latest capture.
    expect(ofType(await search(ESX02_INITIATOR), 'target')).toEqual([]);
    // A target IQN still answers as before.
    expect(ofType(await search(ACL_IQN), 'target')[0]).toMatchObject({ iqn: ACL_IQN, match: 'iqn', score: 100 });
  });
});
