/**
 * The restore plan's extents: a pure function of the chosen header dumps and the
 * bundle's files. One extent per device, from the newest dump that still had the
 * partition table (else the newest dump), ordered by LUN, then device id.
 *
 * Disputed extents. Every host of a cluster sees the same LUN, so several hosts commit
 * header dumps of one device, and any host's collector token can commit a dump that
 * claims any device. The extent therefore compares each host's newest intact dump of
 * the device (chooseHeaderDumps keeps every one of them in the bundle): when two hosts'
 * dumps disagree on the VMFS partition entry — scheme, index, start LBA, end LBA or
 * type (GPT GUIDs compared without dashes, in any case) — the extent is disputed, and
 * `dispute` lists one candidate per host, newest first. restore.sh then writes that
 * extent only after the operator names a host (`--source N=HOST`), and RESTORE.md
 * shows each candidate's values and command. The extent's own fields stay the newest
 * intact dump's, as for any extent, so the order, device id and expected id are
 * unchanged; for a disputed extent nothing writes them unpicked. Dumps that agree,
 * and a device only one host dumped, are never disputed; nor is a device without an
 * id, whose dumps are grouped per host and path anyway. The table bytes restore.sh copies
 * from the picked dump (an MBR's first sector, a GPT's sectors 0–33) are compared too
 * (`savedTables`: their SHA-256 per artifact, read by api/bundle/saved-tables.ts), so a dump
 * that agrees on the VMFS entry but carries other entries or another disk signature beside it
 * is a candidate of its own.
 */
import { intact } from './choose.js';
import { expectedIdHex, type RestoreCandidate, type RestoreExtent, type RestorePartition } from './restore-script.js';
import type { BundleFile, ExtentRow } from './types.js';

/** Where restore.sh writes by default: the path the dump was read from, else the ESXi device node. */
export function defaultDevicePath(e: ExtentRow): string {
  for (const p of [e.devicePath, e.artifact.device]) if (p && p.startsWith('/')) return p;
  return `/vmfs/devices/disks/${e.deviceId ?? e.artifact.device ?? 'UNKNOWN-DEVICE'}`;
}

/** The partition entry a dump's extent row holds, as restore.sh writes it; with its saved table's SHA-256 when `savedTables` has it. */
export function partitionOf(row: ExtentRow, savedTables?: ReadonlyMap<string, string>): RestorePartition {
  const savedTable = savedTables?.get(row.artifact.id);
  return {
    ...(savedTable ? { savedTable } : {}),
    scheme: row.scheme === 'mbr' || row.scheme === 'gpt' ? row.scheme : 'none',
    index: row.index ?? 0,
    startLba: row.startLba ?? 0,
    endLba: row.endLba ?? 0,
    type: row.type ?? '',
    missing: row.missing,
  };
}

/** The partition entry as two hosts' dumps are compared: equal keys restore the same table. */
export function partitionKey(p: RestorePartition): string {
  return [p.scheme, p.index, p.startLba, p.endLba, p.type.replace(/-/g, '').toLowerCase(), p.savedTable ?? ''].join(' ');
}

/** Each host's newest intact dump among `newestFirst` (newest first), in that order: what a dispute compares. */
export function newestIntactPerHost(newestFirst: readonly ExtentRow[]): ExtentRow[] {
  const perHost = new Map<string, ExtentRow>();
  for (const h of newestFirst) if (intact(h) && !perHost.has(h.artifact.host)) perHost.set(h.artifact.host, h);
  return [...perHost.values()];
}

/** Each host's newest intact dump among `newestFirst` as a candidate; a dispute when two of them disagree, else null. */
function disputeOf(
  newestFirst: readonly ExtentRow[],
  pathOf: ReadonlyMap<string, string>,
  savedTables?: ReadonlyMap<string, string>,
): RestoreCandidate[] | null {
  const candidates = newestIntactPerHost(newestFirst).map((h) => ({
    host: h.artifact.host,
    lun: h.lun,
    devicePath: defaultDevicePath(h),
    headerFile: pathOf.get(h.artifact.id) ?? null,
    headerCollectedAt: h.artifact.collectedAt,
    partition: partitionOf(h, savedTables),
  }));
  return new Set(candidates.map((c) => partitionKey(c.partition))).size > 1 ? candidates : null;
}

/**
 * One extent per device among `headers`; `headerFile` is the bundle path of the dump `files`
 * carries it at; `savedTables` the SHA-256 of dumps' saved table bytes (see above).
 */
export function restoreExtents(headers: readonly ExtentRow[], files: readonly BundleFile[], savedTables?: ReadonlyMap<string, string>): RestoreExtent[] {
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
      partition: partitionOf(source, savedTables),
      expectedIdHex: expectedIdHex(source.deviceId, source.vml),
      dispute: source.deviceId ? disputeOf(sorted, pathOf, savedTables) : null,
    });
  }
  return extents;
}
