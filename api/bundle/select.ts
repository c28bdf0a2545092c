/**
 * Select: a restore bundle's files and restore plan for a subject as of a time.
 * `gatherBundleRows` (api/bundle/rows.ts) runs the queries; everything after is a pure
 * function of those typed rows and the time — which header dumps (api/bundle/choose.ts),
 * which files at which paths (api/bundle/files.ts), which extents (api/bundle/extents.ts).
 */
import type { Db } from '../../db/client.js';
import { ApiError } from '../errors.js';
import { chooseHeaderDumps, inventoryHostsOf, latestPerSeries } from './choose.js';
import { restoreExtents } from './extents.js';
import { bundleFiles, bundleRoot } from './files.js';
import { gatherBundleRows } from './rows.js';
import { savedTablesOf } from './saved-tables.js';
import type { BlobStore } from '../store/types.js';
import type { BundleRows, BundleSelection, BundleSubject } from './types.js';

export type { BundleFile, BundleSelection, BundleSubject } from './types.js';
export { safeName } from './files.js';

/**
 * The selection made of `rows` for `subject` as of `at`, generated at `now`; null when
 * the rows hold nothing for the subject (no header dump, descriptor copy, inventory row or LU).
 */
export function composeSelection(
  rows: BundleRows,
  subject: BundleSubject,
  at: Date,
  now: Date,
  savedTables?: ReadonlyMap<string, string>,
): BundleSelection | null {
  const headers = chooseHeaderDumps(rows.extents);
  const descriptors = latestPerSeries(rows.descriptors);
  if (headers.length === 0 && descriptors.length === 0 && rows.targets.length === 0 && inventoryHostsOf(rows.extents).length === 0) return null;
  const files = bundleFiles({ headers, descriptors, inventories: rows.inventories, undelete: rows.undelete, storageConfig: rows.storageConfig });
  const atIso = at.toISOString();
  const generatedAt = now.toISOString();
  const vmfsUuid = subject.vmfsUuid ?? (rows.volumes.length === 1 ? rows.volumes[0] : null);
  const label = rows.volume?.label ?? null;
  return {
    vmfsUuid,
    deviceId: subject.deviceId ?? null,
    label,
    version: rows.volume?.version ?? null,
    at: atIso,
    generatedAt,
    root: bundleRoot(subject.vmfsUuid ?? subject.deviceId, atIso),
    files,
    plan: { vmfsUuid, label, at: atIso, generatedAt, extents: restoreExtents(headers, files, savedTables) },
    targets: rows.targets,
    snapshots: rows.snapshots,
    volumes: rows.volumes,
  };
}

/** `rows` without the artifacts in `leaveOut`: each series then falls back to its next newest capture the rows hold. */
function withoutArtifacts(rows: BundleRows, leaveOut: ReadonlySet<string>): BundleRows {
  if (leaveOut.size === 0) return rows;
  const keep = <T extends { artifact: { id: string } }>(list: T[]) => list.filter((r) => !leaveOut.has(r.artifact.id));
  const keepRefs = (list: BundleRows['inventories']) => list.filter((a) => !leaveOut.has(a.id));
  return {
    ...rows,
    extents: keep(rows.extents),
    descriptors: keep(rows.descriptors),
    inventories: keepRefs(rows.inventories),
    undelete: keepRefs(rows.undelete),
    storageConfig: keepRefs(rows.storageConfig),
  };
}

/**
 * Chooses the bundle's files and restore plan for a subject as of `at`; 404 when nothing is
 * known by then. With the store, the dumps several hosts made of one device are compared by
 * the table bytes restore.sh would copy too (api/bundle/saved-tables.ts). Artifacts in
 * `leaveOut` are not chosen (api/bundle/intact.ts).
 */
export async function selectBundle(
  db: Db,
  subject: BundleSubject,
  at: Date,
  now: Date,
  store?: BlobStore,
  leaveOut: ReadonlySet<string> = new Set(),
): Promise<BundleSelection> {
  const all = await gatherBundleRows(db, subject, at);
  const rows = withoutArtifacts(all, leaveOut);
  const savedTables = store ? await savedTablesOf(store, rows.extents) : undefined;
  const sel = composeSelection(rows, subject, at, now, savedTables);
  if (!sel) {
    const what = subject.vmfsUuid ? `volume ${subject.vmfsUuid}` : `device ${subject.deviceId}`;
    throw new ApiError('not_found', `the catalog holds nothing for ${what} at or before ${at.toISOString()}`);
  }
  // What the left-out dumps said of their devices stays known: api/bundle/fallback.ts compares it.
  sel.deviceFacts = all.extents;
  return sel;
}
