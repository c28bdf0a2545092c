/**
 * The captures DR plan tests give the catalog for a volume on a COMSTAR LU: the ESX host's
 * LVM header dump of the device (vendor SUN, model COMSTAR, the NAA and LUN the header
 * records) with the volume's .vh.sf, and the storage host's COMSTAR listings and stmf export.
 */
import { buildVhSf, buildVmfsDisk } from '../fixtures/vmfs-images.js';
import type { TestCatalog } from './catalog.js';
import { ingest, type TestArtifact } from './ingest-client.js';

const enc = (s: string) => new TextEncoder().encode(s);

/** The ESX host's header dump and .vh.sf of one volume. */
export async function ingestComstarEsxVolume(
  catalog: TestCatalog,
  v: { host: string; collectedAt: Date; guid: string; lun: number; vmfsUuid: string; label: string },
): Promise<void> {
  const naa = `naa.${v.guid.toLowerCase()}`;
  await ingest(catalog, {
    host: v.host,
    hostKind: 'esxi',
    collectedAt: v.collectedAt,
    artifacts: [
      {
        kind: 'vmfs-header',
        fileName: `${naa}.bin`,
        sourcePath: `/vmfs/devices/disks/${naa}`,
        device: naa,
        bytes: buildVmfsDisk({
          scheme: 'mbr',
          startLba: 128,
          lvmMajor: 3,
          dumpLength: 'legacy',
          deviceId: naa,
          lun: v.lun,
          vendor: 'SUN',
          model: 'COMSTAR',
          vmfsUuid: v.vmfsUuid,
          label: v.label,
        }),
      },
      {
        kind: 'vh-sf',
        fileName: `${v.label}.vh.sf`,
        sourcePath: `/vmfs/volumes/${v.vmfsUuid}/.vh.sf`,
        bytes: buildVhSf({ vmfsUuid: v.vmfsUuid, label: v.label, lvmMajor: 3 }),
      },
    ],
  });
}

/** The storage host's `stmfadm`/`itadm` listings (one collector file) and `svccfg export -a stmf`, with any other artifacts. */
export async function ingestComstarStorageHost(
  catalog: TestCatalog,
  s: { host: string; collectedAt: Date; listing: string; listingSource: string; stmfExport: string; more?: TestArtifact[] },
): Promise<void> {
  await ingest(catalog, {
    host: s.host,
    hostKind: 'solaris',
    collectedAt: s.collectedAt,
    artifacts: [
      { kind: 'comstar-listing', fileName: 'comstar.txt', sourcePath: s.listingSource, bytes: enc(s.listing) },
      { kind: 'stmf-smf', fileName: 'stmf.xml', sourcePath: 'svccfg export -a stmf', bytes: enc(s.stmfExport) },
      ...(s.more ?? []),
    ],
  });
}
