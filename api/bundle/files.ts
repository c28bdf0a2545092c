/**
 * The bundle's files and their paths: pure functions of the chosen rows.
 * Every artifact travels once, at `<host>/<kind>/<file name>` with each part passed
 * through `safeName`; a second artifact on the same path gets its capture time and
 * id in front of the name.
 */
import type { ArtifactRef, BundleFile, DescriptorRow, ExtentRow } from './types.js';

/** Path-safe name: no separators, no leading dot, nothing a shell or sha256sum line would trip on. */
export function safeName(s: string): string {
  const cleaned = s
    .replace(/[^A-Za-z0-9._@+=,-]/g, '_')
    .replace(/^\.+/, '_')
    .slice(0, 120);
  return cleaned || '_';
}

/** `2026-10-01T02:00:00.000Z` → `20261001T020000Z`. */
export function compactTime(isoTime: string): string {
  return isoTime.replace(/[-:]/g, '').replace(/\.\d+/, '');
}

/** The directory at the top of the tar. */
export function bundleRoot(subjectName: string, atIso: string): string {
  return `vmfs-restore-${safeName(subjectName)}-${compactTime(atIso)}`;
}

/** What goes in the bundle, in this order; an artifact named twice travels once, described the first way. */
export interface BundleContents {
  headers: readonly ExtentRow[];
  descriptors: readonly DescriptorRow[];
  inventories: readonly ArtifactRef[];
  undelete: readonly ArtifactRef[];
  storageConfig: readonly ArtifactRef[];
}

/** RESTORE.md's line for a header dump: which device, where it was read, what partition table it held. */
export function describeHeaderDump(h: ExtentRow): string {
  const part =
    h.scheme && h.scheme !== 'none' && !h.missing
      ? `${h.scheme.toUpperCase()} partition ${h.index ?? '?'} (LBA ${h.startLba}–${h.endLba}, type ${h.type})`
      : `no partition table entry (VMFS found at LBA ${h.startLba ?? '?'})`;
  const device = h.deviceId ?? h.artifact.device ?? 'a device';
  const lun = h.lun !== null ? ` LUN ${h.lun}` : '';
  const where = h.devicePath ?? h.artifact.device ?? h.artifact.sourcePath;
  return `header dump of ${device}${lun} read on ${h.artifact.host} from ${where}; ${part}`;
}

function describeStorageConfig(a: ArtifactRef): string {
  const what =
    a.kind === 'iscsitgt-smf'
      ? 'iscsitgt SMF export (targets, LUs, GUIDs, backing stores)'
      : a.kind === 'stmf-smf'
        ? 'COMSTAR stmf SMF export (LUs, views, host/target groups)'
        : a.kind === 'comstar-listing'
          ? 'COMSTAR listing (stmfadm/itadm/sbdadm output)'
          : 'zfs snapshot list';
  return `${what} of storage host ${a.host} (${a.sourcePath})`;
}

/** The bundle's files, one per artifact, with their paths and descriptions. */
export function bundleFiles(c: BundleContents): BundleFile[] {
  const files: BundleFile[] = [];
  const byArtifact = new Set<string>();
  const taken = new Set<string>();
  const add = (a: ArtifactRef, describes: string): void => {
    if (byArtifact.has(a.id)) return;
    let path = `${safeName(a.host)}/${safeName(a.kind)}/${safeName(a.fileName)}`;
    if (taken.has(path)) path = `${safeName(a.host)}/${safeName(a.kind)}/${compactTime(a.collectedAt)}-${a.id.slice(0, 8)}-${safeName(a.fileName)}`;
    taken.add(path);
    byArtifact.add(a.id);
    files.push({
      path,
      artifactId: a.id,
      captureId: a.captureId,
      kind: a.kind,
      host: a.host,
      fileName: a.fileName,
      sourcePath: a.sourcePath,
      device: a.device,
      collectedAt: a.collectedAt,
      size: a.size,
      sha256: a.sha256,
      chunks: a.chunks,
      describes,
    });
  };
  for (const h of c.headers) add(h.artifact, describeHeaderDump(h));
  for (const d of c.descriptors) {
    const what = d.artifact.kind === 'vh-sf' ? '.vh.sf copy' : 'FS descriptor copy';
    add(d.artifact, `${what} of volume ${d.vmfsUuid} from ${d.artifact.host} (${d.artifact.sourcePath})`);
  }
  for (const a of c.inventories) add(a, `ESX inventory of ${a.host} (${a.sourcePath}): device ↔ vmhba ↔ VMFS UUID map`);
  for (const a of c.undelete) add(a, `vmfs-undelete archive from ${a.host} (${a.sourcePath}); opaque, kept as saved`);
  for (const a of c.storageConfig) add(a, describeStorageConfig(a));
  return files;
}
