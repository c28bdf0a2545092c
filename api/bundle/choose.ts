/**
 * Which rows a bundle keeps: pure functions of typed rows (api/bundle/types.ts).
 */
import { datasetOfBackingStore } from '../../formats/zfs.js';
import type { TargetView } from '../schemas/catalog.js';
import type { ArtifactRef, BundleSubject, DescriptorRow, ExtentRow } from './types.js';

/** One series: the same host, kind, source path and device, captured again and again. */
export function seriesKey(a: ArtifactRef): string {
  return `${a.host}\u0000${a.kind}\u0000${a.sourcePath}\u0000${a.device ?? ''}`;
}

/** The newest artifact of each series among `rows` (already at or before the bundle time); the first seen wins a tie. */
export function latestPerSeries<T extends { artifact: ArtifactRef }>(rows: readonly T[]): T[] {
  const best = new Map<string, T>();
  for (const r of rows) {
    const k = seriesKey(r.artifact);
    const old = best.get(k);
    if (!old || old.artifact.collectedAt < r.artifact.collectedAt) best.set(k, r);
  }
  return [...best.values()];
}

/** The dump still had the VMFS partition's table entry. */
export function intact(e: ExtentRow): boolean {
  return (e.scheme === 'mbr' || e.scheme === 'gpt') && !e.missing;
}

/**
 * Header dumps to bundle: the newest of each series, plus — when that one lost its
 * partition table (the accident already happened) — the newest one that still had it.
 * `extents` may hold inventory rows too; only header rows are chosen.
 */
export function chooseHeaderDumps(extents: readonly ExtentRow[]): ExtentRow[] {
  const headers = extents.filter((e) => e.source === 'header');
  const chosen: ExtentRow[] = [];
  for (const latest of latestPerSeries(headers)) {
    chosen.push(latest);
    if (!intact(latest)) {
      const good = headers
        .filter((h) => seriesKey(h.artifact) === seriesKey(latest.artifact) && intact(h))
        .sort((a, b) => b.artifact.collectedAt.localeCompare(a.artifact.collectedAt))[0];
      if (good) chosen.push(good);
    }
  }
  return chosen;
}

/** Hosts whose inventories saw the subject (one entry per inventory extent row). */
export function inventoryHostsOf(extents: readonly ExtentRow[]): string[] {
  return extents.filter((e) => e.source !== 'header').map((e) => e.host);
}

/** Devices whose LUs the bundle describes: every device the subject's extents name, and a LUN bundle's own device. */
export function subjectDeviceIds(extents: readonly ExtentRow[], subject: BundleSubject): string[] {
  const ids = [...new Set(extents.map((e) => e.deviceId).filter((d): d is string => !!d))];
  if (subject.deviceId && !ids.includes(subject.deviceId)) ids.push(subject.deviceId);
  return ids;
}

/** ESX-side hosts whose inventories and undelete archives the bundle carries: hosts of the header dumps, inventory rows and descriptors. */
export function esxHostsOf(extents: readonly ExtentRow[], descriptors: readonly DescriptorRow[]): string[] {
  return [
    ...new Set([
      ...extents.filter((e) => e.source === 'header').map((e) => e.artifact.host),
      ...inventoryHostsOf(extents),
      ...descriptors.map((d) => d.artifact.host),
    ]),
  ];
}

/** Storage hosts presenting the subject's devices. */
export function storageHostsOf(targets: readonly TargetView[]): string[] {
  return [...new Set(targets.map((t) => t.storageHost))];
}

/** ZFS datasets backing the targets (zvol paths only). */
export function backingDatasetsOf(targets: readonly TargetView[]): string[] {
  return [...new Set(targets.map((t) => datasetOfBackingStore(t.backingStore)).filter((d): d is string => !!d))];
}
