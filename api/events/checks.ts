/**
 * When the health events run: after each committed capture (`afterCommit`: the host's
 * host-stale is resolved, target-guid-mismatch and backing-store-missing re-evaluated) and in
 * the scheduled run (`runEventChecks`: host-stale scan, the same re-evaluation, due webhook
 * deliveries). Both queue webhooks for what they raised and resolved in the same transaction.
 */
import type { Db } from '../../db/client.js';
import type { Services } from '../context.js';
import { reconcileHealth } from './health.js';
import { resolveHostStale, scanStaleHosts } from './stale.js';
import { deliverDue, enqueueEvents, kickDelivery, type DeliveryPass } from './webhook.js';

type EventServices = Pick<Services, 'db' | 'config' | 'logger' | 'now'>;

const healthOptions = (s: EventServices) => ({ replicationPeriodHours: s.config.REPLICATION_PERIOD_HOURS });

interface CommittedCapture {
  captureId: string;
  host: string;
}

/**
 * Under load a health pass spends at most this share of the time: the next one starts no sooner
 * than this many times the last one's duration after it ended. A pass reads every storage host's
 * newest LUs and listings, so its cost grows with the catalog, not with the batch it answers for;
 * spaced out, each pass answers for more commits. An idle catalog starts a pass at once.
 */
export const HEALTH_PASS_GAP_FACTOR = 3;
/** The longest a pass waits for that gap: a commit's answer is never held much longer than this for it. */
export const HEALTH_PASS_MAX_GAP_MS = 1000;

/** Per database: the last pass scheduled (the chain new ones wait behind), the one not yet started with the captures it answers for, and when the last one ended and how long it took. */
interface PassState {
  tail: Promise<void>;
  queued: { promise: Promise<void>; captures: CommittedCapture[] } | null;
  lastEnd: number;
  lastMs: number;
}
const passes = new WeakMap<object, PassState>();

/**
 * Runs after a capture's commit transaction and resolves once a health pass that started after
 * that commit has run, so the commit's answer already reflects its events. Concurrent commits
 * share passes: every commit that arrives before the next pass starts waits for that one pass,
 * which covers all of them — under load the cost is one pass per batch of commits, not one
 * per commit (the pass reads every host's newest LUs and listings), and passes are spaced so
 * they take at most a quarter of the time (HEALTH_PASS_GAP_FACTOR). Its failure is logged,
 * never the commit's: the next commit or scheduled run evaluates the same conditions again.
 */
export function afterCommit(services: EventServices, capture: CommittedCapture): Promise<void> {
  let state = passes.get(services.db);
  if (!state) {
    state = { tail: Promise.resolve(), queued: null, lastEnd: 0, lastMs: 0 };
    passes.set(services.db, state);
  }
  const s = state;
  if (s.queued) {
    s.queued.captures.push(capture);
    return s.queued.promise;
  }
  const captures = [capture];
  const promise = s.tail.then(async () => {
    const wait = Math.min(HEALTH_PASS_MAX_GAP_MS, s.lastEnd + HEALTH_PASS_GAP_FACTOR * s.lastMs - performance.now());
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    // From here on, a commit that arrives waits for the next pass: this one may not see it.
    s.queued = null;
    const started = performance.now();
    try {
      await healthPass(services, captures);
    } finally {
      s.lastEnd = performance.now();
      s.lastMs = s.lastEnd - started;
    }
  });
  s.queued = { promise, captures };
  s.tail = promise.catch(() => undefined);
  return promise;
}

/** One health pass for the captures committed since the last: their hosts are no longer stale, and the cross-host conditions are re-evaluated. */
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
      const health = await reconcileHealth(tx, at, newest.captureId, healthOptions(services));
      await enqueueEvents(tx, services.config, at, 'event.raised', health.raised);
      await enqueueEvents(tx, services.config, at, 'event.resolved', [...fresh, ...health.resolved]);
    });
  } catch (e) {
    services.logger.warn('health events not evaluated after commit', {
      captureIds: captures.map((c) => c.captureId),
      error: e instanceof Error ? e.message : String(e),
    });
  }
  kickDelivery(services);
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
    const stale = await scanStaleHosts(tx, at, services.config.STALE_AFTER_HOURS);
    const health = await reconcileHealth(tx, at, null, healthOptions(services));
    const raised = [...stale.raised, ...health.raised];
    const resolved = [...stale.resolved, ...health.resolved];
    await enqueueEvents(tx, services.config, at, 'event.raised', raised);
    await enqueueEvents(tx, services.config, at, 'event.resolved', resolved);
    return { raised: raised.length, resolved: resolved.length };
  });
  return { ...counts, webhooks: await deliverDue(services) };
}
