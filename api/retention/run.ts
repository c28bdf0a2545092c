/**
 * A retention run: plan (gather.ts + policy.ts), then — unless a dry run — delete the
 * dropped captures (manifest first, so `rebuild` can never bring one back, then its rows),
 * sweep the chunks no kept artifact references (gc.ts), extend Object Lock dates of what
 * is kept (object-lock.ts), and record the run in `retention_runs`.
 */
import { reevaluateHealth } from '../events/checks.js';
import { eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { artifacts, capturePins, captures, retentionRuns } from '../../db/schema.js';
import type { Services } from '../context.js';
import { deleteArtifactRows } from '../pipeline/indexer.js';
import { pool } from '../ingest/staging.js';
import { chunkKey, manifestKeysOf } from '../store/types.js';
import { planRetention, rowsOf, type RetentionPlan } from './gather.js';
import { sweepUnreferencedChunks } from './gc.js';
import { lockDateFor } from './object-lock.js';
import { describePolicy, type RetentionPolicy } from './policy.js';
import { policyFromConfig } from './settings.js';

export interface RetentionReport {
  runId: number;
  dryRun: boolean;
  policy: string;
  timeZone: string;
  plan: RetentionPlan;
  /** Captures deleted (none on a dry run). */
  dropped: string[];
  /** Dropped by the policy but left: Object Lock holds their manifest. */
  lockedCaptures: Array<{ captureId: string; until: string }>;
  chunksDeleted: number;
  bytesFreed: number;
  /** Chunks left because Object Lock holds them. */
  lockedChunks: Array<{ key: string; until: string }>;
  /** Objects whose Object Lock date this run extended. */
  lockExtended: number;
}

export interface RetentionRunOptions {
  dryRun: boolean;
  /** Who ran it: a token id, 'cli' or 'maintenance'. */
  ranBy: string;
  policy?: RetentionPolicy;
  timeZone?: string;
}

/**
 * Deletes one capture's rows (its manifest is already gone). Its artifacts' rows are held
 * first: a reindex writing one's extents and the like holds it too, so the rows it writes are
 * deleted here after it ends, not left behind naming an artifact that is gone.
 */
async function deleteCaptureRows(db: Db, captureId: string): Promise<void> {
  await db.transaction(async (txRaw) => {
    const tx = txRaw as unknown as Db;
    const ids = (await tx.select({ id: artifacts.id }).from(artifacts).where(eq(artifacts.captureId, captureId)).for('update')).map((r) => r.id);
    await deleteArtifactRows(tx, ids);
    if (ids.length) await tx.delete(artifacts).where(inArray(artifacts.id, ids));
    await tx.delete(capturePins).where(eq(capturePins.captureId, captureId));
    await tx.delete(captures).where(eq(captures.id, captureId));
  });
}

/** `(a, b, …)` of some ids, for `in`. */
function inList(ids: string[]): SQL {
  return sql`(${sql.join(
    ids.map((id) => sql`${id}`),
    sql`, `,
  )})`;
}

/**
 * Extends the Object Lock of every kept manifest and chunk (an artifact's chunks and its chunk
 * list, api/pipeline/chunk-lists.ts) to the end of its longest tier.
 */
async function extendLocks(services: Pick<Services, 'db' | 'store' | 'now' | 'config'>, plan: RetentionPlan): Promise<number> {
  const { db, store, now, config } = services;
  if (!store.extendLock || !store.lockedUntil) return 0;
  const want = new Map<string, Date>();
  const wantAt = (key: string, d: Date) => {
    const p = want.get(key);
    if (!p || p < d) want.set(key, d);
  };
  const kept = plan.captures.filter((c) => c.decision === 'keep');
  const byCapture = new Map<string, Date>();
  for (const c of kept) {
    const d = lockDateFor(c.reasons, new Date(c.time), plan.policy, now(), config.S3_OBJECT_LOCK_MAX_DAYS);
    byCapture.set(c.captureId, d);
    if (c.manifestKey) wantAt(c.manifestKey, d);
  }
  const ids = [...byCapture.keys()];
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    const rows = rowsOf<{ capture_id: string; sha: string }>(
      await db.execute(sql`select a.capture_id, c->>'sha256' as sha
      from artifacts a, jsonb_array_elements(a.chunks) c where a.capture_id in ${inList(part)}
      union select a.capture_id, a.chunk_list as sha from artifacts a where a.chunk_list is not null and a.capture_id in ${inList(part)}`),
    );
    for (const r of rows) wantAt(chunkKey(r.sha), byCapture.get(r.capture_id)!);
  }
  let extended = 0;
  await pool([...want.entries()], 16, async ([key, until]) => {
    const current = await store.lockedUntil!(key);
    if (current && current.getTime() >= until.getTime()) return;
    await store.extendLock!(key, until);
    extended++;
  });
  return extended;
}

/** Plans and (unless dryRun) applies retention; the run is recorded either way. */
export async function runRetention(services: Services, options: RetentionRunOptions): Promise<RetentionReport> {
  const { db, store, now } = services;
  const startedAt = now();
  const configured = policyFromConfig(services.config);
  const policy = options.policy ?? configured.policy;
  const timeZone = options.timeZone ?? configured.timeZone;
  const plan = await planRetention(db, policy, timeZone, startedAt);
  const report: RetentionReport = {
    runId: 0,
    dryRun: options.dryRun,
    policy: describePolicy(policy),
    timeZone,
    plan,
    dropped: [],
    lockedCaptures: [],
    chunksDeleted: 0,
    bytesFreed: 0,
    lockedChunks: [],
    lockExtended: 0,
  };
  if (!options.dryRun) {
    for (const c of plan.captures.filter((x) => x.decision === 'drop')) {
      if (c.manifestKey && store.lockedUntil) {
        const until = await store.lockedUntil(c.manifestKey);
        if (until && until.getTime() > now().getTime()) {
          report.lockedCaptures.push({ captureId: c.captureId, until: until.toISOString() });
          c.reasons.push(`locked until ${until.toISOString()}`);
          continue;
        }
      }
      if (c.manifestKey) {
        // With the capture's manifest of the other format, when an upgrade left one
        // (manifestKeysOf): else a later rebuild would bring the dropped capture back from it.
        // Deleting an absent key succeeds; any other failure stops the run before the rows go.
        await Promise.all(manifestKeysOf(c.manifestKey).map((k) => store.delete(k)));
      }
      await deleteCaptureRows(db, c.captureId);
      report.dropped.push(c.captureId);
    }
    const swept = await sweepUnreferencedChunks(services);
    report.chunksDeleted = swept.chunksDeleted;
    report.bytesFreed = swept.bytesFreed;
    report.lockedChunks = swept.locked;
    report.lockExtended = await extendLocks(services, plan);
    // The newest rows a condition reads may have gone with a dropped capture: evaluate them all now.
    if (report.dropped.length) await reevaluateHealth(services);
  }
  const [row] = await db
    .insert(retentionRuns)
    .values({
      startedAt,
      finishedAt: now(),
      ranBy: options.ranBy,
      dryRun: options.dryRun,
      policy: `${report.policy} (${timeZone})`,
      kept: plan.keep,
      dropped: report.dropped,
      chunksDeleted: report.chunksDeleted,
      bytesFreed: report.bytesFreed,
      locked: [...report.lockedCaptures.map((l) => ({ key: `capture ${l.captureId}`, until: l.until })), ...report.lockedChunks],
    })
    .returning({ id: retentionRuns.id });
  report.runId = row.id;
  return report;
}

/** The report in words: one line per capture, then the totals. */
export function formatRetentionReport(r: RetentionReport): string {
  const lines = [`retention ${r.dryRun ? '(dry run) ' : ''}— ${r.policy}, time zone ${r.timeZone}`];
  for (const c of r.plan.captures) {
    lines.push(`${c.decision === 'keep' ? 'keep' : 'drop'}  ${c.time}  ${c.host}  ${c.captureId}  ${c.reasons.join('; ')}`);
  }
  lines.push(
    `${r.plan.keep} kept, ${r.plan.drop} ${r.dryRun ? 'would be dropped' : 'dropped'}` +
      (r.dryRun ? '' : `; ${r.dropped.length} deleted, ${r.chunksDeleted} chunks swept, ${r.bytesFreed} bytes freed`) +
      (r.lockedCaptures.length + r.lockedChunks.length ? `; ${r.lockedCaptures.length} captures and ${r.lockedChunks.length} chunks locked` : ''),
  );
  for (const l of r.lockedCaptures) lines.push(`  capture ${l.captureId} locked until ${l.until}`);
  for (const l of r.lockedChunks) lines.push(`  ${l.key} locked until ${l.until}`);
  for (const w of r.plan.warnings) lines.push(`warning: ${w}`);
  return lines.join('\n');
}
