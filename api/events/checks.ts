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

/** Per database: the health pass running now, and the one queued behind it with the captures it answers for. */
interface PassState {
  running: Promise<void> | null;
  queued: { promise: Promise<void>; captures: CommittedCapture[] } | null;
}
const passes = new WeakMap<object, PassState>();

/**
 * Runs after a capture's commit transaction and resolves once a health pass that started after
 * that commit has run, so the commit's answer already reflects its events. Concurrent commits
 * share passes: while one runs, every commit that arrives waits for the single next pass,
 * which covers all of them — under load the cost is one pass per batch of commits, not one
 * per commit (the pass reads every host's newest LUs and listings). Its failure is logged,
 * never the commit's: the next commit or scheduled run evaluates the same conditions again.
 */
export function afterCommit(services: EventServices, capture: CommittedCapture): Promise<void> {
  let state = passes.get(services.db);
  if (!state) {
    state = { running: null, queued: null };
    passes.set(services.db, state);
  }
  const s = state;
  const start = (captures: CommittedCapture[]): Promise<void> => {
    s.running = healthPass(services, captures).finally(() => {
      s.running = null;
    });
    return s.running;
  };
  if (s.queued) {
    s.queued.captures.push(capture);
    return s.queued.promise;
  }
  if (!s.running) return start([capture]);
  const captures = [capture];
  const promise = s.running.then(() => {
    s.queued = null;
    return start(captures);
  });
  s.queued = { promise, captures };
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
