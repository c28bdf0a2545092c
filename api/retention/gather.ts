/**
 * What retention decides on: every committed capture, grouped into series — one per host
 * and artifact source (a device's header dumps, a volume's `.vh.sf`, a target host's SMF
 * export: host + kind + device, or the source path when there is no device; a header dump sent
 * without its device, as `collector import` sends one, is of the device its parse names). The policy
 * (policy.ts) runs on each series on its own. A capture is kept when any of its artifacts
 * is kept by its series — a capture is the unit a manifest, `rebuild` and a restore bundle
 * deal in, so it goes only when no series needs it — and its reasons are the union of the
 * series' reasons. Always kept, whatever the policy: pinned captures ("pinned: <note>") and
 * the newest capture that parsed well for each volume, extent and LU.
 */
import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { applyRetention, CLOCK_SKEW_LIMIT_MS, type RetentionCapture, type RetentionPolicy } from './policy.js';

export interface PlannedCapture {
  captureId: string;
  host: string;
  collectedAt: string;
  /** Sent by `collector import`: bucketed by its collection time, however old (policy.ts). */
  imported: boolean;
  /** The time the rules used (receipt time when the collector's clock was off). */
  time: string;
  decision: 'keep' | 'drop';
  /** Why it is kept (distinct, over every series), or why it is dropped. */
  reasons: string[];
  /** Per series: its label and what that series said. */
  series: Array<{ series: string; reasons: string[] }>;
  manifestKey: string | null;
}

export interface RetentionPlan {
  policy: RetentionPolicy;
  timeZone: string;
  now: string;
  captures: PlannedCapture[];
  keep: number;
  drop: number;
  /** History the run would lose as a whole rather than thin out, per host (see collapseWarnings). */
  warnings: string[];
}

interface Row extends RetentionCapture {
  host: string;
  manifestKey: string | null;
}

/** Rows of a raw query on either driver (postgres.js answers an array, PGlite `{ rows }`). */
export function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

/** The newest good capture of every volume, extent and LU: capture id → reasons. */
async function protectedCaptures(db: Db): Promise<Map<string, Map<string, string[]>>> {
  const result = await db.execute(sql`
    select distinct on (k.key) k.key, a.id as artifact_id, a.capture_id
    from (
      select 'volume ' || e.vmfs_uuid as key, e.artifact_id from extents e where e.vmfs_uuid is not null
      union all select 'volume ' || s.vmfs_uuid, s.artifact_id from segments s
      union all select 'extent ' || e.extent_uuid, e.artifact_id from extents e where e.extent_uuid is not null
      union all select 'LU ' || e.device_id, e.artifact_id from extents e where e.device_id is not null
      union all select 'LU ' || t.device_id, t.artifact_id from targets t where t.device_id is not null
    ) k
    join artifacts a on a.id = k.artifact_id
    join captures c on c.id = a.capture_id and c.state = 'committed'
    where a.parse_status = 'ok'
    order by k.key, a.collected_at desc, a.capture_id desc`);
  // capture id → artifact id → reasons
  const out = new Map<string, Map<string, string[]>>();
  for (const r of rowsOf<{ key: string; artifact_id: string; capture_id: string }>(result)) {
    let byArtifact = out.get(r.capture_id);
    if (!byArtifact) out.set(r.capture_id, (byArtifact = new Map()));
    const list = byArtifact.get(r.artifact_id) ?? [];
    list.push(`newest good capture of ${r.key}`);
    byArtifact.set(r.artifact_id, list);
  }
  return out;
}

/** Decides every committed capture's fate; reads only, changes nothing. */
export async function planRetention(db: Db, policy: RetentionPolicy, timeZone: string, now: Date): Promise<RetentionPlan> {
  const caps = rowsOf<{
    id: string;
    host: string;
    collected_at: string | Date;
    received_at: string | Date;
    imported: boolean;
    manifest_key: string | null;
    note: string | null;
  }>(
    await db.execute(sql`select c.id, c.host, c.collected_at, c.received_at, c.imported, c.manifest_key, p.note
      from captures c left join capture_pins p on p.capture_id = c.id where c.state = 'committed'`),
  );
  const arts = rowsOf<{ id: string; capture_id: string; kind: string; device: string | null; source_path: string }>(
    // A header dump sent without its device (collector import: a year of old cron-script files,
    // each at its own path) is of the device its parse names: one series, as a live collect's are.
    await db.execute(sql`select a.id, a.capture_id, a.kind,
        coalesce(a.device, case when a.kind = 'vmfs-header' then a.parsed->'device'->>'deviceId' end) as device, a.source_path
      from artifacts a
      join captures c on c.id = a.capture_id and c.state = 'committed'`),
  );
  const prot = await protectedCaptures(db);
  const byId = new Map<string, Row>(
    caps.map((c) => [
      c.id,
      {
        id: c.id,
        host: c.host,
        collectedAt: new Date(c.collected_at),
        receivedAt: new Date(c.received_at),
        imported: c.imported === true,
        pinnedNote: c.note,
        manifestKey: c.manifest_key,
      },
    ]),
  );
  // series label → capture id → the capture as that series sees it
  const series = new Map<string, Map<string, Row>>();
  const add = (label: string, cap: Row, protectedBy: string[]) => {
    let s = series.get(label);
    if (!s) series.set(label, (s = new Map()));
    const prev = s.get(cap.id);
    s.set(cap.id, { ...cap, protectedBy: [...new Set([...(prev?.protectedBy ?? []), ...protectedBy])] });
  };
  const withArtifacts = new Set<string>();
  for (const a of arts) {
    const cap = byId.get(a.capture_id);
    if (!cap) continue;
    withArtifacts.add(cap.id);
    add(`${cap.host} ${a.kind} ${a.device ?? a.source_path}`, cap, prot.get(cap.id)?.get(a.id) ?? []);
  }
  for (const cap of byId.values()) if (!withArtifacts.has(cap.id)) add(`${cap.host} (no artifacts)`, cap, []);

  const planned = new Map<string, PlannedCapture>();
  const drops = new Map<string, string>();
  for (const [label, members] of [...series.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    const r = applyRetention([...members.values()], policy, timeZone, now);
    for (const k of r.keep) {
      const p = entry(planned, k.capture, k.time);
      p.decision = 'keep';
      p.series.push({ series: label, reasons: k.reasons });
      for (const reason of k.reasons) if (!p.reasons.includes(reason)) p.reasons.push(reason);
    }
    for (const d of r.drop) {
      const p = entry(planned, d.capture, d.time);
      p.series.push({ series: label, reasons: [d.reason] });
      if (!drops.has(p.captureId)) drops.set(p.captureId, d.reason);
    }
  }
  const captures = [...planned.values()].sort((a, b) => b.time.localeCompare(a.time) || b.captureId.localeCompare(a.captureId));
  for (const p of captures) if (p.decision === 'drop') p.reasons = [drops.get(p.captureId) ?? 'no rule keeps it'];
  const keep = captures.filter((c) => c.decision === 'keep').length;
  return { policy, timeZone, now: now.toISOString(), captures, keep, drop: captures.length - keep, warnings: collapseWarnings(captures, byId) };
}

/**
 * Per host, the dropped captures whose history goes as a whole rather than thinned out:
 * captures collected more than a day before they arrived and not marked imported (an older
 * collector's `import`, or a clock behind) are judged by receipt time, so a year of them that
 * arrived together falls into one week's bucket and all but one or two go; and imported
 * captures the policy drops, bucketed by when they were collected.
 */
function collapseWarnings(captures: PlannedCapture[], byId: ReadonlyMap<string, Row>): string[] {
  const span = (list: PlannedCapture[]) => {
    const times = list.map((c) => c.collectedAt).sort();
    return times.length === 1 ? times[0] : `${times[0]} to ${times[times.length - 1]}`;
  };
  const perHost = new Map<string, { behind: PlannedCapture[]; imported: PlannedCapture[]; importedAll: number }>();
  for (const c of captures) {
    const row = byId.get(c.captureId)!;
    const h = perHost.get(c.host) ?? { behind: [], imported: [], importedAll: 0 };
    perHost.set(c.host, h);
    if (row.imported) h.importedAll++;
    if (c.decision !== 'drop') continue;
    if (row.imported) h.imported.push(c);
    else if (row.receivedAt.getTime() - row.collectedAt.getTime() > CLOCK_SKEW_LIMIT_MS) h.behind.push(c);
  }
  const out: string[] = [];
  for (const [host, h] of [...perHost.entries()].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (h.behind.length)
      out.push(
        `host ${host}: ${h.behind.length} captures collected ${span(h.behind)}, each more than a day before the catalog received it, ` +
          'are not marked as imported, so they are judged by when they arrived (a collector clock behind) and dropped as if all were taken then. ' +
          'If they are old backups brought in by an older collector, pin those to keep (pin CAPTURE_ID --note …) or import the files again with a collector that marks its imports, before a run that deletes.',
      );
    if (h.imported.length)
      out.push(
        `host ${host}: ${h.imported.length} of ${h.importedAll} imported captures (collected ${span(h.imported)}) are dropped by the policy, ` +
          'bucketed by when they were collected; pin any of them to keep.',
      );
  }
  return out;
}

function entry(planned: Map<string, PlannedCapture>, cap: Row, time: Date): PlannedCapture {
  let p = planned.get(cap.id);
  if (!p) {
    p = {
      captureId: cap.id,
      host: cap.host,
      collectedAt: cap.collectedAt.toISOString(),
      imported: cap.imported === true,
      time: time.toISOString(),
      decision: 'drop',
      reasons: [],
      series: [],
      manifestKey: cap.manifestKey,
    };
    planned.set(cap.id, p);
  }
  return p;
}
