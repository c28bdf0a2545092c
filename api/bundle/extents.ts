/**
 * The restore plan's extents: a pure function of the chosen header dumps and the
 * bundle's files. One extent per device, from the newest dump that still had the
 * partition table (else the newest dump), ordered by LUN, then device id.
 */
import { intact } from './choose.js';
import { expectedIdHex, type RestoreExtent } from './restore-script.js';
import type { BundleFile, ExtentRow } from './types.js';

/** Where restore.sh writes by default: the path the dump was read from, else the ESXi device node. */
export function defaultDevicePath(e: ExtentRow): string {
  for (const p of [e.devicePath, e.artifact.device]) if (p && p.startsWith('/')) return p;
  return `/vmfs/devices/disks/${e.deviceId ?? e.artifact.device ?? 'UNKNOWN-DEVICE'}`;
}

/** One extent per device among `headers`; `headerFile` is the bundle path of the dump `files` carries it at. */
export function restoreExtents(headers: readonly ExtentRow[], files: readonly BundleFile[]): RestoreExtent[] {
  const pathOf = new Map<string, string>();
  for (const f of files) if (!pathOf.has(f.artifactId)) pathOf.set(f.artifactId, f.path);
  const byDevice = new Map<string, ExtentRow[]>();
  for (const h of headers) {
    const k = h.deviceId ?? `${h.artifact.host}:${defaultDevicePath(h)}`;
    byDevice.set(k, [...(byDevice.get(k) ?? []), h]);
  }
  const extents: RestoreExtent[] = [];
  const ordered = [...byDevice.values()].sort((a, b) => (a[0].lun ?? 0) - (b[0].lun ?? 0) || String(a[0].deviceId).localeCompare(String(b[0].deviceId)));
  for (const group of ordered) {
    const sorted = [...group].sort((a, b) => b.artifact.collectedAt.localeCompare(a.artifact.collectedAt));
    const source = sorted.find(intact) ?? sorted[0];
    extents.push({
      number: extents.length + 1,
      host: source.artifact.host,
      deviceId: source.deviceId,
      vml: source.vml,
      lun: source.lun,
      devicePath: defaultDevicePath(source),
      headerFile: pathOf.get(source.artifact.id) ?? null,
      headerCollectedAt: source.artifact.collectedAt,
      partition: {
        scheme: source.scheme === 'mbr' || source.scheme === 'gpt' ? source.scheme : 'none',
        index: source.index ?? 0,
        startLba: source.startLba ?? 0,
        endLba: source.endLba ?? 0,
        type: source.type ?? '',
        missing: source.missing,
      },
      expectedIdHex: expectedIdHex(source.deviceId, source.vml),
    });
  }
  return extents;
}
