/**
 * Volumes and hosts written straight into a catalog's tables, each seen a given number of hours
 * after T0 (distinct times, so that ties in similarity are cut alike): what the search tests rank.
 * The lookup tables' triggers add their names (a label's from volume_labels, as a commit writes it).
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';

export const T0 = Date.parse('2026-10-01T00:00:00Z');
export const HOUR = 3_600_000;

/** Volume i labelled `label` (VMFS UUID …-<i>), and ESXi hosts, last seen `hours` after T0. */
export async function seedNames(db: Db, labels: Array<[string, number]>, hosts: Array<[string, number]>): Promise<void> {
  for (const [i, [label, hours]] of labels.entries()) {
    const seen = new Date(T0 + hours * HOUR).toISOString();
    const uuid = `5a1c3e7f-2b4d6e80-91a2-${String(i).padStart(12, '0')}`;
    await queryRows(db, sql`INSERT INTO volumes (vmfs_uuid, label, version, first_seen, last_seen) VALUES (${uuid}, ${label}, 'VMFS-6', ${seen}, ${seen})`);
    await queryRows(db, sql`INSERT INTO volume_labels (vmfs_uuid, label, first_seen, last_seen) VALUES (${uuid}, ${label}, ${seen}, ${seen})`);
  }
  for (const [name, hours] of hosts) {
    const seen = new Date(T0 + hours * HOUR).toISOString();
    await queryRows(db, sql`INSERT INTO hosts (name, kind, first_seen, last_seen) VALUES (${name}, 'esxi', ${seen}, ${seen})`);
  }
}

/** `prefix`01 … `prefix`NN, host h seen h hours after T0. */
export function hostsSeenHourly(prefix: string, n: number): Array<[string, number]> {
  return Array.from({ length: n }, (_, i): [string, number] => [`${prefix}${String(i + 1).padStart(2, '0')}`, i + 1]);
}
