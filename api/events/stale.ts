/**
 * host-stale: a host whose newest committed capture is older than STALE_AFTER_HOURS at the
 * injected clock's now. Raised by the scheduled run (`scanStaleHosts`), once per host until
 * resolved; resolved by the host's next capture (`resolveHostStale`, from the commit) or by a
 * scan that finds the host fresh again.
 */
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../db/client.js';
import { applyConditions, type HealthCondition, type Reconciled } from './health.js';

type Row = Record<string, unknown>;

/** The host-stale conditions at `now`: one per host whose last capture is older than the limit. */
export function staleConditions(hosts: { name: string; lastSeen: Date }[], now: Date, staleAfterHours: number): HealthCondition[] {
  const limitMs = staleAfterHours * 3_600_000;
  return hosts
    .filter((h) => now.getTime() - h.lastSeen.getTime() > limitMs)
    .map((h) => {
      const hours = Math.floor((now.getTime() - h.lastSeen.getTime()) / 3_600_000);
      return {
        condition: `host-stale:${h.name}`,
        type: 'host-stale' as const,
        severity: 'warning' as const,
        host: h.name,
        vmfsUuid: null,
        deviceId: null,
        message:
          `no capture from ${h.name} for ${hours} h (last collected ${h.lastSeen.toISOString()}; the limit is ${staleAfterHours} h): ` +
          'its collector may have stopped, and what it saves is getting old',
        details: { lastCollectedAt: h.lastSeen.toISOString(), hoursSince: hours, staleAfterHours },
      };
    });
}

/** Raises host-stale for every stale host not reported yet, and resolves those that are fresh again. */
export async function scanStaleHosts(tx: Db, now: Date, staleAfterHours: number): Promise<Reconciled> {
  const rows = await queryRows<Row>(tx, sql`SELECT name, last_seen FROM hosts ORDER BY name`);
  const hosts = rows.map((r) => ({ name: String(r.name), lastSeen: r.last_seen instanceof Date ? r.last_seen : new Date(String(r.last_seen)) }));
  return applyConditions(tx, ['host-stale'], staleConditions(hosts, now, staleAfterHours), now, null);
}

/** Captures of these hosts arrived: their open host-stale events are resolved (one statement for the lot). */
export async function resolveHostStale(tx: Db, hosts: string[], at: Date): Promise<number[]> {
  if (hosts.length === 0) return [];
  const conditions = JSON.stringify([...new Set(hosts)].map((h) => `host-stale:${h}`));
  const rows = await queryRows<Row>(
    tx,
    sql`
    UPDATE events SET resolved_at = ${at.toISOString()}
     WHERE type = 'host-stale' AND resolved_at IS NULL
       AND condition IN (SELECT jsonb_array_elements_text(${conditions}::jsonb)) RETURNING id`,
  );
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}
