/**
 * Storage facts from after a plan's time. A DR plan asked for a time (`?at=`) before the first
 * capture of a LU's storage host found no LU presenting the device and said "never collected",
 * advising a resignature — wrong when the storage host's collector simply started later than
 * the ESX host's. For each device no LU presents at or before the time, this takes the
 * earliest capture after it in which a storage host presents the device: that capture's LU
 * rows, the storage artifacts of that capture (for the COMSTAR details), and the dataset's
 * snapshot list as of the time when the host has one, else its earliest list after the time
 * (the one most likely to still hold snapshots taken before it). The plan says the facts are
 * from then; the snapshot it clones is still chosen only among captured ones taken at or
 * before the time (api/dr/plan.ts chooseSnapshot).
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { datasetOfBackingStore } from '../../formats/zfs.js';
import { inList, iso } from '../read/rows.js';
import { snapshotView, snapshotsOfDatasets, targetsOfDevices } from '../read/volumes.js';
import type { SnapshotView, TargetView } from '../schemas/catalog.js';
import type { StorageFactsFrom } from './plan.js';

/** Artifact kinds a storage host's LU configuration is read from. */
const STORAGE_KINDS = ['iscsitgt-smf', 'stmf-smf', 'comstar-listing'];

type Row = Record<string, unknown>;

export interface LaterStorage {
  /** The LU rows of each storage host's first capture after the time that presents a device. */
  targets: TargetView[];
  /** Snapshot lists of their datasets on their hosts (see above). */
  snapshots: SnapshotView[];
  /** The storage artifacts of those captures (SMF exports, COMSTAR listings). */
  storageArtifactIds: string[];
  /** One per (storage host, device): when its facts are from. */
  from: Omit<StorageFactsFrom, 'message'>[];
}

/** The snapshot list of `dataset` on `host` from the earliest `zfs-snapshots` capture after `at`. */
async function earliestSnapshotsAfter(db: Db, host: string, dataset: string, at: Date): Promise<SnapshotView[]> {
  const rows = await queryRows<Row>(
    db,
    sql`
    WITH first AS (
      SELECT z.artifact_id FROM zfs_snapshots z JOIN artifacts a ON a.id = z.artifact_id
       WHERE z.host = ${host} AND z.dataset = ${dataset} AND a.collected_at > ${at.toISOString()}
       ORDER BY a.collected_at, a.id LIMIT 1
    )
    SELECT z.* FROM zfs_snapshots z JOIN first f ON f.artifact_id = z.artifact_id
     WHERE z.dataset = ${dataset}
     ORDER BY z.created_at DESC, z.name`,
  );
  return rows.map(snapshotView);
}

/** Storage facts from after `at` for `deviceIds`, devices no LU presents at or before it (see above). */
export async function laterStorageFacts(db: Db, deviceIds: string[], at: Date): Promise<LaterStorage> {
  const out: LaterStorage = { targets: [], snapshots: [], storageArtifactIds: [], from: [] };
  if (deviceIds.length === 0) return out;
  const firsts = await queryRows<Row>(
    db,
    sql`
    SELECT DISTINCT ON (t.device_id, t.storage_host) t.device_id, t.storage_host, a.collected_at, a.capture_id
      FROM targets t JOIN artifacts a ON a.id = t.artifact_id
     WHERE t.device_id IN ${inList(deviceIds)} AND a.collected_at > ${at.toISOString()}
     ORDER BY t.device_id, t.storage_host, a.collected_at, a.capture_id`,
  );
  if (firsts.length === 0) return out;
  const hosts = [...new Set(firsts.map((r) => String(r.storage_host)))];
  const earlier = new Set(
    (
      await queryRows<Row>(
        db,
        sql`SELECT DISTINCT host FROM artifacts WHERE host IN ${inList(hosts)} AND kind IN ${inList(STORAGE_KINDS)} AND collected_at <= ${at.toISOString()}`,
      )
    ).map((r) => String(r.host)),
  );
  const captures = [...new Set(firsts.map((f) => String(f.capture_id)))];
  const storage = await queryRows<Row>(
    db,
    sql`SELECT id, capture_id FROM artifacts WHERE capture_id IN ${inList(captures)} AND kind IN ${inList(STORAGE_KINDS)} ORDER BY id`,
  );
  out.storageArtifactIds = storage.map((r) => String(r.id));
  const seen = new Set<string>();
  for (const f of firsts) {
    const host = String(f.storage_host);
    const deviceId = String(f.device_id);
    const collectedAt = iso(f.collected_at)!;
    const artifactIds = storage.filter((r) => String(r.capture_id) === String(f.capture_id)).map((r) => String(r.id));
    out.from.push({ storageHost: host, deviceId, collectedAt, requestedAt: at.toISOString(), capturedBefore: earlier.has(host), artifactIds });
    // Every LU of that host presenting the device as of that capture: none is older than the time.
    for (const t of await targetsOfDevices(db, [deviceId], new Date(collectedAt))) {
      if (t.storageHost !== host || seen.has(t.artifactId + t.deviceId + t.lun + t.iqn)) continue;
      seen.add(t.artifactId + t.deviceId + t.lun + t.iqn);
      out.targets.push(t);
    }
  }
  const datasets = new Map<string, { host: string; dataset: string }>();
  for (const t of out.targets) {
    const dataset = datasetOfBackingStore(t.backingStore);
    if (dataset) datasets.set(`${t.storageHost}\u0000${dataset}`, { host: t.storageHost, dataset });
  }
  for (const { host, dataset } of datasets.values()) {
    const asOf = (await snapshotsOfDatasets(db, [dataset], at)).filter((s) => s.host === host);
    out.snapshots.push(...(asOf.length ? asOf : await earliestSnapshotsAfter(db, host, dataset, at)));
  }
  return out;
}
