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

/**
 * Runs after a capture's commit transaction. Its failure is logged, never the commit's: the
 * next commit or scheduled run evaluates the same conditions again.
 */
export async function afterCommit(services: EventServices, capture: { captureId: string; host: string }): Promise<void> {
  try {
    const at = services.now();
    await services.db.transaction(async (txRaw) => {
      const tx = txRaw as unknown as Db;
      const fresh = await resolveHostStale(tx, capture.host, at);
      const health = await reconcileHealth(tx, at, capture.captureId, healthOptions(services));
      await enqueueEvents(tx, services.config, at, 'event.raised', health.raised);
      await enqueueEvents(tx, services.config, at, 'event.resolved', [...fresh, ...health.resolved]);
    });
  } catch (e) {
    services.logger.warn('health events not evaluated after commit', { captureId: capture.captureId, error: e instanceof Error ? e.message : String(e) });
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
