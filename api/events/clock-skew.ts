/**
 * clock-skew: a host whose collector dated a capture more than the tolerance after the catalog
 * received it (api/ingest/collector-clock.ts; the capture was stored at its receipt time). One
 * open event per host (`clock-skew:<host>`), raised by the health pass after the commit and
 * resolved by the host's next capture whose time is taken as sent.
 */
import type { Db } from '../../db/client.js';
import { describeAhead } from '../ingest/collector-clock.js';
import { applyConditions, type CommittedCapture, type HealthCondition, type Reconciled } from './health.js';

/** The clock-skew conditions of these captures' hosts: each host's newest capture among them decides. */
export function clockSkewConditions(captures: readonly CommittedCapture[]): HealthCondition[] {
  const newest = new Map<string, CommittedCapture>();
  for (const c of captures) newest.set(c.host, c);
  return [...newest.values()].flatMap((c) =>
    c.clock
      ? [
          {
            condition: `clock-skew:${c.host}`,
            type: 'clock-skew' as const,
            severity: 'warning' as const,
            host: c.host,
            vmfsUuid: null,
            deviceId: null,
            message:
              `the clock of ${c.host} is ${describeAhead(c.clock.aheadMs)} ahead of the catalog's: its capture dated ${c.clock.sentAt.toISOString()} ` +
              `was stored as collected at its receipt, ${c.clock.receivedAt.toISOString()}, so restores see it now; set the host's clock right (NTP)`,
            details: {
              captureId: c.captureId,
              collectedAt: c.clock.sentAt.toISOString(),
              receivedAt: c.clock.receivedAt.toISOString(),
              aheadSeconds: Math.floor(c.clock.aheadMs / 1000),
            },
          },
        ]
      : [],
  );
}

/** Raises clock-skew for the hosts whose newest capture here was ahead, and resolves it for the others among them. */
export function reconcileClockSkew(tx: Db, captures: readonly CommittedCapture[], at: Date): Promise<Reconciled> {
  const holding = clockSkewConditions(captures);
  const skewed = captures.filter((c) => c.clock);
  const captureId = skewed.length > 0 ? skewed[skewed.length - 1].captureId : null;
  return applyConditions(tx, ['clock-skew'], holding, at, captureId, { hosts: new Set(captures.map((c) => c.host)), devices: new Set(), vendors: new Set() });
}
