/** How the console writes sizes, times, ids and a search's reading of the query. */
import type { UnderstoodQuery } from '../read/search.js';

/** Bytes in binary units, one decimal: `2.0 MiB`. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** An ISO time as `2026-10-01 02:00 UTC` (the console writes UTC: sites span time zones). */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** How long ago, roughly: `3 h ago`, `2 d ago`. */
export function ago(iso: string | null | undefined, now: Date): string {
  if (!iso) return 'never';
  const hours = (now.getTime() - new Date(iso).getTime()) / 3_600_000;
  if (hours < 0) return 'in the future';
  if (hours < 1) return `${Math.max(0, Math.round(hours * 60))} min ago`;
  if (hours < 48) return `${Math.round(hours)} h ago`;
  return `${Math.round(hours / 24)} d ago`;
}

/**
 * What a VMFS UUID says about itself (docs/formats.md, "VMFS UUID"): the first 8 hex
 * digits are the creation time in seconds since 1970, the last 12 the MAC of the host that
 * created the volume, in stored order.
 */
export function decodeVmfsUuid(vmfsUuid: string): { createdAt: string; creatorMac: string } | null {
  const m = /^([0-9a-f]{8})-[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f]{12})$/.exec(vmfsUuid);
  if (!m) return null;
  return {
    createdAt: new Date(Number.parseInt(m[1], 16) * 1000).toISOString(),
    creatorMac: m[2].match(/../g)!.join(':'),
  };
}

/** One sentence: how the search read what was pasted. */
export function understood(q: UnderstoodQuery): string {
  const partition = q.partition !== undefined ? `, partition ${q.partition} (a search answers with the whole device)` : '';
  switch (q.type) {
    case 'vmfsUuid':
      return `a VMFS UUID: ${q.vmfsUuid}`;
    case 'uuidPrefix':
      return `the start of a VMFS UUID: ${q.prefix}…`;
    case 'deviceId':
      return `a device id: ${q.deviceId}${partition}`;
    case 'vml':
      return `a vml. id: device ${q.deviceId} seen at LUN ${q.lun}${partition}`;
    case 'iqn':
      return `an iSCSI name (IQN): ${q.iqn}`;
    case 'backingStore':
      return `a path or ZFS name: ${q.path}${q.dataset ? ` (dataset ${q.dataset})` : ''}`;
    case 'hex':
      return `32 hex digits: the VMFS UUID ${q.vmfsUuid}${q.deviceId ? ` or the device ${q.deviceId}` : ''}`;
    case 'text':
      return `text: a label, host name, alias, IQN or path fragment "${q.text}"`;
  }
}

/** A local path to return to after a form or sign-in; anything else (another site, `//host`) is `/`. */
export function localPath(next: unknown): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next.slice(0, 2000);
}
