/**
 * The scheduled maintenance pass: hourly inside the Node server (worker 1, api/server.ts) and
 * as the maintenance function on AWS (api/lambda.ts, an EventBridge rule). It runs commit jobs
 * whose worker vanished, sweeps staged uploads no commit will read, raises host-stale (and
 * re-evaluates the other health events) and sends due webhook deliveries; with
 * RETENTION_SCHEDULED it applies retention; and it lists every chunk key, which vouches for
 * the chunks the store shows (api/ingest/staging.ts `vouchListed`, so a daily run asks the
 * store nothing per chunk) — once a day with SCRUB_PERCENT > 0 that listing is `check`'s,
 * which also re-reads and re-hashes the next slice of chunks.
 */
import { eq } from 'drizzle-orm';
import { blobs, scrubState } from '../db/schema.js';
import type { Services } from './context.js';
import { runStaleCommitJobs, type JobRun } from './ingest/commit-jobs.js';
import { chunkKey } from './store/types.js';
import { sweepStaging, vouchListed, type SweepResult } from './ingest/staging.js';
import { runEventChecks, type EventChecks } from './events/checks.js';
import { runRetention } from './retention/run.js';
import { checkStore, SCRUB } from './retention/check.js';

/**
 * How long after a scrub the next one is due: a day, less an hour, so an hourly pass that
 * comes a little early still scrubs once a day (SCRUB_PERCENT 5 reads the store every 20 days).
 */
export const SCRUB_EVERY_MS = 23 * 3600_000;

export interface Maintenance {
  sweptStaging: SweepResult;
  events: EventChecks;
  /** With RETENTION_SCHEDULED: what retention dropped and freed (null when off). */
  retention: { runId: number; dropped: number; chunksDeleted: number; bytesFreed: number } | null;
  /** The day's scrub, when it was due: the slice of stored chunks re-hashed, and the corrupt ones found (null otherwise). */
  scrub: { read: number; corrupt: number; clean: boolean } | null;
  /** Chunks the pass's listing vouched for anew and doubted (not shown at their recorded size). */
  listing: { vouched: number; doubted: number };
  /** Commit jobs whose worker vanished (a timeout, a lost invocation), run here: how each ended. */
  commitJobs: Record<JobRun, number>;
}

/** One maintenance pass over the given services (the schedules above, and tests). */
export async function runMaintenance(services: Services): Promise<Maintenance> {
  // First: a commit left to this run holds its capture's staged uploads, which the sweep then spares.
  const commitJobs = await runStaleCommitJobs(services, 'maintenance');
  const sweptStaging = await sweepStaging(services);
  const events = await runEventChecks(services);
  let retention: Maintenance['retention'] = null;
  if (services.config.RETENTION_SCHEDULED) {
    const r = await runRetention(services, { dryRun: false, ranBy: 'maintenance' });
    retention = { runId: r.runId, dropped: r.dropped.length, chunksDeleted: r.chunksDeleted, bytesFreed: r.bytesFreed };
  }
  let scrub: Maintenance['scrub'] = null;
  let listing: Maintenance['listing'];
  if (services.config.SCRUB_PERCENT > 0 && (await scrubDue(services))) {
    const c = await checkStore(services, { readDataPercent: services.config.SCRUB_PERCENT, readManifests: false });
    scrub = { read: c.scrub?.read ?? 0, corrupt: c.scrub?.corrupt.length ?? 0, clean: c.clean };
    listing = c.listing;
  } else listing = await vouchForStoredChunks(services);
  services.logger.info('maintenance done', { sweptStaging, events, retention, scrub, listing, commitJobs });
  return { sweptStaging, events, retention, scrub, listing, commitJobs };
}

/** Whether the last scrub is SCRUB_EVERY_MS old (or there was none). */
async function scrubDue(services: Pick<Services, 'db' | 'now'>): Promise<boolean> {
  const [state] = await services.db.select({ at: scrubState.updatedAt }).from(scrubState).where(eq(scrubState.name, SCRUB));
  return !state || services.now().getTime() - state.at.getTime() >= SCRUB_EVERY_MS;
}

/** One listing of every chunk key, and what it says of the `blobs` rows (vouchListed). */
export async function vouchForStoredChunks(services: Pick<Services, 'db' | 'store' | 'now'>): Promise<Maintenance['listing']> {
  const { db, store } = services;
  const from = services.now();
  const listed = new Map<string, number>();
  for await (const o of store.list('chunks/')) {
    const sha = o.key.slice(o.key.lastIndexOf('/') + 1);
    if (o.key === chunkKey(sha)) listed.set(sha, o.size);
  }
  const rows = await db
    .select({ sha256: blobs.sha256, storedSize: blobs.storedSize, firstStored: blobs.firstStored, lastVerified: blobs.lastVerified })
    .from(blobs);
  return vouchListed(db, listed, rows, from);
}
