/**
 * Through the real API: an iscsitgt export whose target has no ACL (it admits every initiator)
 * and whose initiators have CHAP secrets. The export is stored redacted (every secret the
 * placeholder REDACTED), so after `svccfg import` each initiator's CHAP login fails until its
 * secret is set again: the DR plan's CHAP step names every initiator the export defines, not
 * only those on the target's ACL.
 *
 * Sources: iscsitadm(1M) (`modify admin -C`, `modify initiator -C <local name>` prompting for
 * the CHAP secret; `create target` without `-l` leaves the target open to every initiator), and
 * the layout of `svccfg export iscsitgt` (illumos iscsitgtd: `initiator_<name>` groups,
 * `target_<name>` with an optional `acl-list`, the `passwords` group), docs/formats.md.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildVmfsDisk } from '../fixtures/vmfs-images.js';
import { iscsitgtExport } from '../fixtures/text-fixtures.js';
import { describeEachFlavour, startTestCatalog, type TestCatalog } from '../helpers/catalog.js';
import { ingest } from '../helpers/ingest-client.js';

const IDS = {
  deviceId: 'naa.600144f0aabbccddeeff0011223344c1',
  vmfsUuid: '5a1c3e7f-2b4d6e80-91a2-0050569a1c01',
  segmentUuid: '5a1c3e7e-11223344-5566-0050569a1c01',
};
const enc = (s: string) => new TextEncoder().encode(s);

describeEachFlavour('DR plan: CHAP secrets of initiators off the ACL', (flavour) => {
  let catalog: TestCatalog;
  const storage = (acl?: string[]) =>
    enc(
      iscsitgtExport({
        targets: [
          {
            name: 'ds01',
            iqn: 'iqn.1986-03.com.sun:02:ds01',
            ...(acl ? { acl } : {}),
            luns: [{ lun: 0, guid: IDS.deviceId.slice(4), backingStore: '/dev/zvol/rdsk/tank/ds01', blocks: 0x6400000 }],
          },
        ],
        initiators: [
          { name: 'esx01', iqn: 'iqn.1998-01.com.vmware:esx01' },
          { name: 'esx02', iqn: 'iqn.1998-01.com.vmware:esx02' },
        ],
        passwords: true,
      }),
    );

  beforeAll(async () => {
    catalog = await startTestCatalog(flavour);
    const dump = buildVmfsDisk({ lvmMajor: 3, scheme: 'mbr', ...IDS, label: 'prod', lun: 0, dumpLength: 'descriptor' });
    await ingest(catalog, {
      host: 'esx01',
      hostKind: 'esx',
      collectedAt: new Date('2026-11-01T02:00:00Z'),
      artifacts: [{ kind: 'vmfs-header', fileName: `${IDS.deviceId}.hex`, device: IDS.deviceId, bytes: dump }],
    });
    await ingest(catalog, {
      host: 'sol01',
      hostKind: 'solaris',
      collectedAt: new Date('2026-11-01T03:00:00Z'),
      artifacts: [{ kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', bytes: storage() }],
    });
  }, 120_000);
  afterAll(async () => catalog?.close());

  const planText = async () => {
    const res = await catalog.request(`/v1/volumes/${IDS.vmfsUuid}/dr-plan?format=text`);
    expect(res.status).toBe(200);
    return res.text();
  };

  it('a target without an ACL: the CHAP step sets every initiator the export defines', async () => {
    const text = await planText();
    expect(text).toContain('iscsitadm modify admin -C');
    expect(text).toContain('iscsitadm modify initiator -C esx01');
    expect(text).toContain('iscsitadm modify initiator -C esx02');
  });

  it('a target with an ACL of one: the other initiator with a secret is set again too, each once', async () => {
    await ingest(catalog, {
      host: 'sol01',
      hostKind: 'solaris',
      collectedAt: new Date('2026-11-02T03:00:00Z'),
      artifacts: [{ kind: 'iscsitgt-smf', fileName: 'iscsitgt.xml', bytes: storage(['esx01']) }],
    });
    const text = await planText();
    expect(text).toContain('iscsitadm modify target -l esx01 ds01');
    expect(text.split('\n').filter((l) => l.includes('iscsitadm modify initiator -C esx01'))).toHaveLength(1);
    expect(text).toContain('iscsitadm modify initiator -C esx02');
  });
});
