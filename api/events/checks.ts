/**
 * When the health events run: after each committed capture (`afterCommit`: the host's
 * host-stale is resolved, its clock-skew raised or resolved, the segment-claim-conflicts its FS
 * descriptors take part in raised, the target-guid-mismatch and backing-store-missing conditions the
 * capture can change re-evaluated, the chunk-missing events its chunks ended resolved) and in the scheduled run (`runEventChecks`: host-stale
 * scan, every target-guid-mismatch, backing-store-missing and segment-claim-conflict condition, due
 * webhook deliveries). Both queue webhooks for what they raised and resolved in the same transaction.
 */
import type { Db } from '../../db/client.js';
import type { Services } from '../context.js';
import { reconcileHealth, type CommittedCapture, type Reconciled } from './health.js';
import { resolveHostStale, scanStaleHosts } from './stale.js';
import { reconcileClockSkew } from './clock-skew.js';
import { raiseSegmentClaimConflicts, reconcileSegmentClaimConflicts } from './segment-claims.js';
import { deliverDue, enqueueEvents, kickDelivery, type DeliveryPass } from './webhook.js';
import { resolveChunkMissingAfterCommits } from './chunk-missing.js';

type EventServices = Pick<Services, 'db' | 'config' | 'logger' | 'now'>;

const healthOptions = (s: EventServices) => ({ replicationPeriodHours: s.config.REPLICATION_PERIOD_HOURS });

/** Per database: the last pass scheduled (the chain new ones wait behind), and the one not yet started with the captures it answers for. */
interface PassState {
  tail: Promise<void>;
  queued: { promise: Promise<void>; captures: CommittedCapture[] } | null;
}
const passes = new WeakMap<object, PassState>();

/**
 * Runs after a capture's commit transaction and resolves once a health pass that started after
 * that commit has run, so the commit's answer already reflects its events. A pass evaluates
 * only what its captures can change (healthScopeOf: their hosts' LU and backing-store
 * conditions, and the extent conditions of the devices they added or dropped), so it costs
 * what the captures hold, not what the catalog holds, and starts at once: a commit on an idle
 * catalog waits for nothing else. Passes run one at a time; every commit that arrives while
 * one runs waits for the next, which covers all of them. Its failure is logged, never the
 * commit's: the scheduled run evaluates every condition again.
 */
export function afterCommit(services: EventServices, capture: CommittedCapture): Promise<void> {
  let state = passes.get(services.db);
  if (!state) {
    state = { tail: Promise.resolve(), queued: null };
    passes.set(services.db, state);
  }
  const s = state;
  if (s.queued) {
    s.queued.captures.push(capture);
    return s.queued.promise;
  }
  const captures = [capture];
  const promise = s.tail.then(() => {
    // From here on, a commit that arrives waits for the next pass: this one may not see it.
    s.queued = null;
    return healthPass(services, captures);
  });
  s.queued = { promise, captures };
  s.tail = promise.catch(() => undefined);
  return promise;
}

/**
 * One health pass for the captures committed since the last: their hosts are no longer stale,
 * and the cross-host conditions they can change are re-evaluated.
 */
async function healthPass(services: EventServices, captures: CommittedCapture[]): Promise<void> {
  const newest = captures[captures.length - 1];
  try {
    const at = services.now();
    await services.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const fresh = await resolveHostStale(
        tx,
        captures.map((c) => c.host),
        at,
      );
      const clock = await reconcileClockSkew(tx, captures, at);
      const claims = await raiseSegmentClaimConflicts(tx, captures, at);
      const health = await reconcileHealth(tx, at, newest.captureId, healthOptions(services), captures);
      await enqueueEvents(tx, services.config, at, 'event.raised', [...clock.raised, ...claims.raised, ...health.raised]);
      await enqueueEvents(tx, services.config, at, 'event.resolved', [...fresh, ...clock.resolved, ...health.resolved]);
    });
  } catch (e) {
    services.logger.warn('health events not evaluated after commit', {
      captureIds: captures.map((c) => c.captureId),
      error: e instanceof Error ? e.message : String(e),
    });
  }
  // Chunks stored again (uploaded by these captures, or found in the store by their begins) may
  // be the last a chunk-missing event of their volumes or hosts waited for: one probe for them all.
  await resolveChunkMissingAfterCommits(services, captures);
  kickDelivery(services);
}

/**
 * A full pass over every cross-host condition, its events queued for webhooks, for rows that
 * changed without a commit: a reindex re-parses artifacts, so what they say (devices, GUIDs,
 * zvols) may differ; a retention run may drop rows a condition reads. The passes after
 * commits look only at what a commit changed; without this, those conditions would wait for
 * the scheduled scan.
 */
export async function reevaluateHealth(services: EventServices): Promise<{ raised: number; resolved: number }> {
  const at = services.now();
  const counts = await services.db.transaction((tx) => reconcileEverything(tx as unknown as Db, services, at));
  kickDelivery(services);
  return counts;
}

/** Every cross-host condition evaluated in `tx`, its events (and `also`'s, raised first) queued for webhooks. */
async function reconcileEverything(tx: Db, services: EventServices, at: Date, also: Reconciled = { raised: [], resolved: [] }) {
  const health = await reconcileHealth(tx, at, null, healthOptions(services));
  const claims = await reconcileSegmentClaimConflicts(tx, at);
  const raised = [...also.raised, ...health.raised, ...claims.raised];
  const resolved = [...also.resolved, ...health.resolved, ...claims.resolved];
  await enqueueEvents(tx, services.config, at, 'event.raised', raised);
  await enqueueEvents(tx, services.config, at, 'event.resolved', resolved);
  return { raised: raised.length, resolved: resolved.length };
}

export interface EventChecks {
  raised: number;
  resolved: number;
  webhooks: DeliveryPass;
}

/** The scheduled pass: stale hosts, cross-host conditions, then the due webhook deliveries. */
export async function runEventChecks(services: EventServices): Promise<EventChecks> {
  const at = services.now();
  const counts = await services.db.transaction(async (txRaw) => {
    const tx = txRaw as unknown as Db;
    return reconcileEverything(tx, services, at, await scanStaleHosts(tx, at, services.config.STALE_AFTER_HOURS));
  });
  return { ...counts, webhooks: await deliverDue(services) };
}
