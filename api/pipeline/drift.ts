/**
 * Drift detection as a pure function: what an extent or volume looked
 * like in the previous capture, what it looks like now → the events an operator
 * should see. The accidents these catch are the ones docs/architecture.md lists: a wiped
 * partition table, a LUN re-presented under another LUN ID, a DR target whose NAA
 * differs from the one written in the VMFS header.
 */
import type { PartitionInfo } from '../../formats/types.js';
import type { DRIFT_EVENT_TYPES } from '../events/types.js';

export type DriftEventType = (typeof DRIFT_EVENT_TYPES)[number];

export type Severity = 'info' | 'warning' | 'critical';

export interface DriftEvent {
  type: DriftEventType;
  severity: Severity;
  vmfsUuid: string | null;
  deviceId: string | null;
  message: string;
  details: Record<string, unknown>;
}

/** One observation of an extent (from a header dump) or a volume (from a `.vh.sf`). */
export interface Observation {
  /** The device id written in the LVM header, canonical. */
  deviceId: string | null;
  /** The device the collector read the bytes from, when it is a device id (`naa.…`). */
  sourceDeviceId?: string | null;
  extentUuid?: string | null;
  vmfsUuid: string | null;
  segmentUuid?: string | null;
  lun?: number | null;
  label?: string | null;
  /** The host whose artifact made the observation; absent for the label a volume shows when no earlier artifact of the kind is known. */
  host?: string;
  version?: string | null;
  blockSize?: number | null;
  sizeBytes?: number | null;
  vendor?: string | null;
  model?: string | null;
  partition?: PartitionInfo | null;
  /** Set when the artifact could not be parsed: the other fields are then empty. */
  parseError?: { code: string; message: string } | null;
  artifactId?: string;
  captureId?: string;
}

function samePartition(a: PartitionInfo, b: PartitionInfo): boolean {
  return a.scheme === b.scheme && a.index === b.index && a.startLba === b.startLba && a.endLba === b.endLba && a.type.toLowerCase() === b.type.toLowerCase();
}

function describePartition(p: PartitionInfo): string {
  return p.missing ? 'no partition table entry' : `${p.scheme} #${p.index} LBA ${p.startLba}–${p.endLba} type ${p.type}`;
}

/**
 * Two VMFS version strings at the precision both have. A dump that stops before the FS
 * descriptor knows only the LVM major (`VMFS-3`); one that reaches it knows the minor too
 * (`VMFS-3.31`, docs/formats.md): those agree unless their majors differ.
 */
export function sameVersion(a: string, b: string): boolean {
  if (a === b) return true;
  const [majorA, minorA] = a.split('.', 2);
  const [majorB, minorB] = b.split('.', 2);
  if (minorA === undefined || minorB === undefined) return majorA === majorB;
  return false;
}

/**
 * Fields compared by `header-changed`: identity facts no other event covers. A field is
 * compared only when both observations have it: a short header dump lacks what only the
 * FS descriptor holds (block size, and the version's minor), which is not a change.
 */
const HEADER_FIELDS = ['segmentUuid', 'extentUuid', 'version', 'blockSize', 'sizeBytes', 'vendor', 'model'] as const;

/** The events between a previous and a current observation of the same extent or volume. */
export function detectDrift(previous: Observation | null, current: Observation): DriftEvent[] {
  const events: DriftEvent[] = [];
  const vmfsUuid = current.vmfsUuid ?? previous?.vmfsUuid ?? null;
  const deviceId = current.deviceId ?? previous?.deviceId ?? null;
  const push = (type: DriftEventType, severity: Severity, message: string, details: Record<string, unknown>) =>
    events.push({ type, severity, vmfsUuid, deviceId, message, details });

  if (current.parseError) {
    push('parse-error', 'warning', `the artifact could not be parsed: ${current.parseError.message}`, { error: current.parseError });
    return events;
  }

  // Within one capture: the bytes came from a device whose id is not the one in its
  // own VMFS header. ESX sees such a LUN as a snapshot and will not mount it unless
  // it is resignatured (docs/formats.md §3).
  if (current.sourceDeviceId && current.deviceId && current.sourceDeviceId !== current.deviceId) {
    push(
      'device-id-changed',
      'critical',
      `the VMFS header on ${current.sourceDeviceId} names device ${current.deviceId}: ESX will treat it as a snapshot LUN`,
      { headerDeviceId: current.deviceId, sourceDeviceId: current.sourceDeviceId },
    );
  }

  const partition = current.partition ?? null;
  if (partition?.missing && !previous?.partition?.missing) {
    push(
      'partition-missing',
      'critical',
      previous?.partition
        ? `the partition table entry for the VMFS partition is gone (was ${describePartition(previous.partition)})`
        : 'a VMFS header was found but no partition table entry describes it',
      { previous: previous?.partition ?? null, current: partition },
    );
  }

  if (!previous || previous.parseError) return events;

  if (previous.deviceId && current.deviceId && previous.deviceId !== current.deviceId) {
    push('device-id-changed', 'critical', `the extent's device id changed from ${previous.deviceId} to ${current.deviceId}`, {
      previous: previous.deviceId,
      current: current.deviceId,
    });
  }
  if (previous.lun != null && current.lun != null && previous.lun !== current.lun) {
    push('lun-id-changed', 'critical', `LUN ${previous.lun} is now presented as LUN ${current.lun}`, { previous: previous.lun, current: current.lun });
  }
  if (previous.partition && partition && !previous.partition.missing && !partition.missing && !samePartition(previous.partition, partition)) {
    push('partition-changed', 'warning', `the VMFS partition changed from ${describePartition(previous.partition)} to ${describePartition(partition)}`, {
      previous: previous.partition,
      current: partition,
    });
  }
  if (previous.label != null && current.label != null && previous.label !== current.label) {
    // A host relabelling what it saw itself is routine; a label another host (or no earlier
    // artifact of the kind) showed, replaced by this host's bytes, is worth a look: it is
    // what the volume is then shown and searched as.
    const sameHost = current.host === undefined || previous.host === current.host;
    const by = sameHost ? '' : ` (reported by ${current.host}${previous.host ? `; "${previous.label}" was ${previous.host}'s` : ''})`;
    push('label-changed', sameHost ? 'info' : 'warning', `the datastore label changed from "${previous.label}" to "${current.label}"${by}`, {
      previous: previous.label,
      current: current.label,
      ...(current.host ? { host: current.host } : {}),
      ...(previous.host ? { previousHost: previous.host } : {}),
    });
  }
  const changed: Record<string, { previous: unknown; current: unknown }> = {};
  for (const f of HEADER_FIELDS) {
    const a = previous[f];
    const b = current[f];
    if (a == null || b == null || a === '' || b === '') continue;
    if (f === 'version' ? !sameVersion(String(a), String(b)) : a !== b) changed[f] = { previous: a, current: b };
  }
  if (Object.keys(changed).length > 0) {
    push('header-changed', 'warning', `the VMFS header changed: ${Object.keys(changed).join(', ')}`, { changed });
  }
  return events;
}
