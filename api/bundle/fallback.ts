/**
 * Older dumps: which header dump each extent of a bundle is restored from when that dump is
 * older than the newest capture that saw the device, and whether the two disagree. Pure: a
 * function of the extent rows the catalog holds on the subject (the left-out artifacts'
 * included: the catalog parsed them at commit, so their facts are known even when their bytes
 * no longer read whole) and of the selection.
 *
 * A newer dump can be passed over three ways: it is damaged in the catalog and left out
 * (api/bundle/intact.ts), it had lost the partition table (api/bundle/choose.ts keeps the
 * newest dump that still had it), or the newer capture holds no dump of the device at all,
 * only an inventory row. The restore then rests on an older picture of the device, and when
 * the LUN or the partition entry in it differs from the newest capture's, restore.sh would
 * write a table the device may no longer match, or ESX would see the LU at another LUN: the
 * admin is told which dump went in and what to check before writing.
 *
 * "Newest" is the newest newer header dump of the device when there is one (the facts
 * restore.sh writes from), else the newest newer inventory row (LUN from its vml, partition
 * number). A table lost in the newest dump is the accident the bundle restores, not a
 * difference.
 */
import { intact } from './choose.js';
import { defaultDevicePath, partitionKey, partitionOf } from './extents.js';
import { describePartition, type RestoreExtent } from './restore-script.js';
import type { BundleFile, DumpRef, ExtentRow, FactDifference, OlderDump } from './types.js';
import { visible } from '../../formats/printable.js';

/** The device an extent row is about, keyed as api/bundle/extents.ts groups dumps into extents. */
const deviceKeyOfRow = (r: ExtentRow) => r.deviceId ?? `${r.artifact.host}:${defaultDevicePath(r)}`;
const deviceKeyOfExtent = (e: RestoreExtent) => e.deviceId ?? `${e.host}:${e.devicePath}`;

const dumpRef = (f: BundleFile): DumpRef => ({ artifactId: f.artifactId, captureId: f.captureId, host: f.host, path: f.path, collectedAt: f.collectedAt });

/** The header dump the extent is restored from, as the bundle carries it; null when it has none. */
function usedDump(e: RestoreExtent, files: readonly BundleFile[]): BundleFile | null {
  return e.headerFile ? (files.find((f) => f.path === e.headerFile) ?? null) : null;
}

/**
 * The dump the bundle restores the device of header dump `artifactId` from, when that dump
 * is not in the bundle (left out): any host's, any series; null when no extent of its device
 * has one.
 */
export function dumpInsteadOf(
  facts: readonly ExtentRow[],
  extents: readonly RestoreExtent[],
  files: readonly BundleFile[],
  artifactId: string,
): DumpRef | null {
  const keys = new Set(facts.filter((r) => r.source === 'header' && r.artifact.id === artifactId).map(deviceKeyOfRow));
  for (const e of extents) {
    if (!keys.has(deviceKeyOfExtent(e))) continue;
    const f = usedDump(e, files);
    if (f && f.artifactId !== artifactId) return dumpRef(f);
  }
  return null;
}

function differencesOf(used: ExtentRow, newest: ExtentRow): FactDifference[] {
  const out: FactDifference[] = [];
  if (used.lun !== null && newest.lun !== null && used.lun !== newest.lun) out.push({ fact: 'lun', dump: used.lun, newest: newest.lun });
  if (newest.source === 'header') {
    // A newest dump without the table entry is the wipe the bundle restores; no difference.
    if (intact(newest) && partitionKey(partitionOf(used)) !== partitionKey(partitionOf(newest)))
      out.push({ fact: 'partition', dump: describePartition(partitionOf(used)), newest: describePartition(partitionOf(newest)) });
  } else if (used.index !== null && newest.index !== null && used.index !== newest.index) {
    out.push({ fact: 'partition', dump: `partition ${used.index}`, newest: `partition ${newest.index}` });
  }
  return out;
}

const REASON: Record<OlderDump['reason'], string> = {
  'left-out': 'whose dump of it is damaged in the catalog and left out',
  'lost-table': 'whose dump of it had lost the partition table',
  'no-dump': 'which holds no header dump of it',
};

/** The one sentence RESTORE.md and bundle.json give an older dump that disagrees with the newest capture. */
function warningOf(o: Omit<OlderDump, 'warning'>): string {
  const said = o.differences.map((d) =>
    d.fact === 'lun'
      ? `LUN ${d.dump} in the dump, LUN ${d.newest} in the newer capture`
      : `partition table ${d.dump} in the dump, ${d.newest} in the newer capture`,
  );
  const checks: string[] = [];
  if (o.differences.some((d) => d.fact === 'lun'))
    checks.push(
      'which LUN the storage presents the device at now (COMSTAR `stmfadm list-view -l <GUID>`, iscsitgt `iscsitadm list target -v`) and the host sees (`esxcfg-scsidevs -m`)',
    );
  if (o.differences.some((d) => d.fact === 'partition'))
    checks.push('the partition table on the device as it stands (`partedUtil getptbl <device>`, `fdisk -lu <device>`)');
  return visible(
    `Extent ${o.extent} (${o.deviceId ?? 'unknown device'}) is restored from ${o.used.host}'s header dump of ${o.used.collectedAt} (capture ${o.used.captureId}, artifact ${o.used.artifactId}), older than ${o.newest.host}'s capture of ${o.newest.collectedAt} (capture ${o.newest.captureId}) ${REASON[o.reason]}, and the two differ: ${said.join('; ')} — before running restore.sh --apply, check ${checks.join(', and ')}, and write only once you know which of the two the device matches now.`,
  );
}

/**
 * Each extent restored from a dump older than the newest capture that saw its device:
 * the dump, the newer capture, why, and what differs. `facts`: every extent row on the
 * subject at or before the bundle time, the left-out artifacts' included; `leftOut`: the
 * ids of the artifacts the bundle left out.
 */
export function olderDumps(
  facts: readonly ExtentRow[],
  extents: readonly RestoreExtent[],
  files: readonly BundleFile[],
  leftOut: ReadonlySet<string>,
): OlderDump[] {
  const out: OlderDump[] = [];
  for (const e of extents) {
    const file = usedDump(e, files);
    if (!file) continue;
    const key = deviceKeyOfExtent(e);
    const mine = facts.filter((r) => deviceKeyOfRow(r) === key);
    const used = mine.find((r) => r.source === 'header' && r.artifact.id === file.artifactId);
    if (!used) continue;
    const newer = mine.filter((r) => r.artifact.collectedAt > file.collectedAt).sort((a, b) => b.artifact.collectedAt.localeCompare(a.artifact.collectedAt));
    if (newer.length === 0) continue;
    const newerDumps = newer.filter((r) => r.source === 'header');
    const newest = newerDumps[0] ?? newer[0];
    const reason: OlderDump['reason'] = newerDumps.some((r) => leftOut.has(r.artifact.id))
      ? 'left-out'
      : newerDumps.some((r) => !intact(r))
        ? 'lost-table'
        : 'no-dump';
    const entry: Omit<OlderDump, 'warning'> = {
      extent: e.number,
      deviceId: e.deviceId,
      used: dumpRef(file),
      newest: {
        artifactId: newest.artifact.id,
        captureId: newest.artifact.captureId,
        host: newest.artifact.host,
        kind: newest.artifact.kind,
        fileName: newest.artifact.fileName,
        collectedAt: newest.artifact.collectedAt,
      },
      reason,
      differences: differencesOf(used, newest),
    };
    out.push({ ...entry, warning: entry.differences.length ? warningOf(entry) : null });
  }
  return out;
}
