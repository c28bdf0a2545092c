/**
 * The scheduled maintenance pass: hourly inside the Node server (worker 1, api/server.ts) and
 * as the maintenance function on AWS (api/lambda.ts, an EventBridge rule). It runs commit jobs
 * whose worker vanished, sweeps staged uploads no commit will read, raises host-stale (and
 * re-evaluates the other health events) and sends due webhook deliveries; with
 * RETENTION_SCHEDULED it applies retention; and it lists every chunk key, which vouches for
 * the chunks the store shows (api/ingest/staging.ts `vouchListed`, so a daily run asks the
 * store nothing per chunk); once a day with SCRUB_PERCENT > 0 it re-reads and re-hashes the
 * next slice of chunks (api/retention/check.ts `scrubChunks`). Both walk the chunks a page at
 * a time: the pass holds no list of every chunk, however many the store holds. Then it raises
 * and resolves chunk-missing events (api/events/chunk-missing.ts) from what they doubted.
 */
import { asc, eq, gt } from 'drizzle-orm';
import { blobs, scrubState } from '../db/schema.js';
import type { Services } from './context.js';
import { runStaleCommitJobs, type JobRun } from './ingest/commit-jobs.js';
import { chunkKey } from './store/types.js';
import { sweepStaging, vouchListed, type SweepResult } from './ingest/staging.js';
import { runEventChecks, type EventChecks } from './events/checks.js';
import { type ChunkMissingPass, reconcileChunkMissing } from './events/chunk-missing.js';
import { runRetention } from './retention/run.js';
import { artifactsNaming, SCRUB, scrubChunks } from './retention/check.js';

/**
 * How long after a scrub the next one is due: a day, less an hour, so an hourly pass that
 * comes a little early still scrubs once a day (SCRUB_PERCENT 5 reads the store every 20 days).
 */
export const SCRUB_EVERY_MS = 23 * 3600_000;

export interface Maintenance {
  /** Each of these is null when its step failed (see `failed`). */
  sweptStaging: SweepResult | null;
  events: EventChecks | null;
  /** With RETENTION_SCHEDULED: what retention dropped and freed (null when off). */
  retention: { runId: number; dropped: number; chunksDeleted: number; bytesFreed: number } | null;
  /** The day's scrub, when it was due: the slice of stored chunks re-hashed, the corrupt ones found, and whether all it read was whole and there (null otherwise). */
  scrub: { read: number; corrupt: number; clean: boolean } | null;
  /** Chunks the pass's listing vouched for anew and doubted (not shown at their recorded size). */
  listing: { vouched: number; doubted: number } | null;
  /** chunk-missing events raised and resolved after the listing (null when the listing failed: an unlistable store raises none). */
  chunkMissing: ChunkMissingPass | null;
  /** Commit jobs whose worker vanished (a timeout, a lost invocation), run here: how each ended. */
  commitJobs: Record<JobRun, number> | null;
  /** The steps that failed, with why: the others ran all the same. */
  failed: Array<{ step: string; error: string }>;
}

/**
 * One maintenance pass over the given services (the schedules above, and tests). Each step
 * runs whatever became of the ones before it: with the store down, the staging sweep and the
 * listing fail, and the event checks, which need only the database, still raise host-stale.
 */
export async function runMaintenance(services: Services): Promise<Maintenance> {
  const failed: Maintenance['failed'] = [];
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T | null> => {
    try {
      return await run();
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      failed.push({ step: name, error });
      services.logger.warn('maintenance step failed', { step: name, error });
      return null;
    }
  };
  // First: a commit left to this run holds its capture's staged uploads, which the sweep then spares.
  const commitJobs = await step('commit jobs', () => runStaleCommitJobs(services, 'maintenance'));
  const events = await step('event checks', () => runEventChecks(services));
  const sweptStaging = await step('staging sweep', () => sweepStaging(services));
  const retention = services.config.RETENTION_SCHEDULED
    ? await step('retention', async () => {
        const r = await runRetention(services, { dryRun: false, ranBy: 'maintenance' });
        for (const warning of r.plan.warnings) services.logger.warn('retention', { runId: r.runId, warning });
        return { runId: r.runId, dropped: r.dropped.length, chunksDeleted: r.chunksDeleted, bytesFreed: r.bytesFreed };
      })
    : null;
  const listing = await step('chunk listing', () => vouchForStoredChunks(services));
  let scrub: Maintenance['scrub'] = null;
  if (services.config.SCRUB_PERCENT > 0 && (await step('scrub', () => scrubDue(services)))) {
    const s = await step('scrub', () => scrubChunks(services, services.config.SCRUB_PERCENT, (shas) => artifactsNaming(services.db, shas)));
    if (s) scrub = { read: s.read, corrupt: s.corrupt.length, clean: s.corrupt.length === 0 && s.vanished.length === 0 };
  }
  // After the listing and the scrub have doubted what the store lacks; never after a listing
  // that failed (a chunks directory that is a file, a store that does not answer).
  const chunkMissing = listing ? await step('chunk-missing events', () => reconcileChunkMissing(services)) : null;
  services.logger.info('maintenance done', { sweptStaging, events, retention, scrub, listing, chunkMissing, commitJobs, failed });
  return { sweptStaging, events, retention, scrub, listing, chunkMissing, commitJobs, failed };
}

/** How soon after a self-hosted server starts its first maintenance pass runs: soon, so a server restarted more often than hourly still scrubs and raises host-stale, yet not during the start itself. */
export const FIRST_PASS_AFTER_MS = 60_000;

/** How often a self-hosted server runs the pass after the first (on AWS, the maintenance function's schedule does). */
export const PASS_EVERY_MS = 3_600_000;

/**
 * The server's schedule of passes: the first FIRST_PASS_AFTER_MS after start, then every
 * PASS_EVERY_MS, never two at once; a failed pass is logged and the schedule goes on.
 * Returns the function that stops it. Timers are unref'd: they never keep a process alive.
 */
export function scheduleMaintenance(services: Services, run: (services: Services) => Promise<unknown> = runMaintenance): () => void {
  let running = false;
  const pass = () => {
    if (running) return;
    running = true;
    run(services)
      .catch((e: unknown) => services.logger.warn('maintenance failed', { error: e instanceof Error ? e.message : String(e) }))
      .finally(() => {
        running = false;
      });
  };
  let every: ReturnType<typeof setInterval> | undefined;
  const first = setTimeout(() => {
    pass();
    every = setInterval(pass, PASS_EVERY_MS);
    every.unref();
  }, FIRST_PASS_AFTER_MS);
  first.unref();
  return () => {
    clearTimeout(first);
    if (every) clearInterval(every);
  };
}

/** Whether the last scrub is SCRUB_EVERY_MS old (or there was none). */
async function scrubDue(services: Pick<Services, 'db' | 'now'>): Promise<boolean> {
  const [state] = await services.db.select({ at: scrubState.updatedAt }).from(scrubState).where(eq(scrubState.name, SCRUB));
  return !state || services.now().getTime() - state.at.getTime() >= SCRUB_EVERY_MS;
}

/** `blobs` rows read at a time while a listing is walked. */
const ROWS_PAGE = 5000;

type VouchRow = Parameters<typeof vouchListed>[2][number];

/**
 * One listing of every chunk key, and what it says of the `blobs` rows (vouchListed): both
 * walked in hash order side by side (a chunk key is `chunks/<sha[0:2]>/<sha>`, so key order is
 * hash order), a page of rows at a time, so memory stays flat however many chunks the store
 * holds.
 */
export async function vouchForStoredChunks(
  services: Pick<Services, 'db' | 'store' | 'now'>,
  options: { pageRows?: number } = {},
): Promise<{ vouched: number; doubted: number }> {
  const pageRows = options.pageRows ?? ROWS_PAGE;
  const { db, store } = services;
  const from = services.now();
  const out = { vouched: 0, doubted: 0 };
  let page: VouchRow[] = [];
  let at = 0;
  let last = '';
  let more = true;
  const peek = async (): Promise<VouchRow | undefined> => {
    if (at === page.length && more) {
      page = await db
        .select({ sha256: blobs.sha256, storedSize: blobs.storedSize, firstStored: blobs.firstStored, lastVerified: blobs.lastVerified })
        .from(blobs)
        .where(gt(blobs.sha256, last))
        .orderBy(asc(blobs.sha256))
        .limit(pageRows);
      at = 0;
      more = page.length === pageRows;
      for (const r of page) {
        // Hex compares alike in every collation; were it not so, the walk below would doubt wrongly.
        if (r.sha256 <= last) throw new Error(`blobs rows come back out of hash order (${last} before ${r.sha256})`);
        last = r.sha256;
      }
    }
    return page[at];
  };
  let listed = new Map<string, number>();
  let rows: VouchRow[] = [];
  const settle = async () => {
    const r = await vouchListed(db, listed, rows, from);
    out.vouched += r.vouched;
    out.doubted += r.doubted;
    listed = new Map();
    rows = [];
  };
  for await (const o of store.list('chunks/')) {
    const sha = o.key.slice(o.key.lastIndexOf('/') + 1);
    if (o.key !== chunkKey(sha)) continue;
    // The rows up to this chunk: the ones before it were not listed.
    for (let r = await peek(); r && r.sha256 <= sha; at++, r = await peek()) rows.push(r);
    listed.set(sha, o.size);
    if (rows.length >= pageRows) await settle();
  }
  for (let r = await peek(); r; at++, r = await peek()) {
    rows.push(r);
    if (rows.length >= pageRows) await settle();
  }
  await settle();
  return out;
}
